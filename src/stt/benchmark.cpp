#include "stt/benchmark.hpp"

#include <cblas.h>
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <vector>

#include "stt/whisper_engine.hpp"

namespace voicedesk::stt {
namespace {

using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  const std::size_t n = values.size();
  return n == 0 ? 0 : n % 2 ? values[n / 2] : 0.5 * (values[n / 2 - 1] + values[n / 2]);
}

// FLOPs of one encoder window, counting multiply-adds as 2: the convolutions,
// every block's projections, attention products and MLP, and the decoder's
// cross-attention keys/values that encode() also computes.
double encoder_flops(const WhisperHparams& h) {
  const double n = h.n_audio_ctx;
  const double frames = 2.0 * n;
  const double d = h.n_audio_state;
  const double conv = 2 * frames * d * (h.n_mels * 3.0) + 2 * n * d * (d * 3);
  const double block = 4 * 2 * n * d * d + 2 * 2 * n * d * 4 * d + 2 * 2 * n * n * d;
  const double cross = h.n_text_layer * 2 * 2 * n * d * h.n_text_state;
  return conv + h.n_audio_layer * block + cross;
}

// Best of a few runs of a large square SGEMM: the machine's practical peak
// through OpenBLAS with the same thread count.
double sgemm_gflops(int threads) {
  openblas_set_num_threads(threads);
  constexpr int kN = 1536;
  std::vector<float> a(static_cast<std::size_t>(kN) * kN, 0.5f);
  std::vector<float> b(a.size(), 0.25f);
  std::vector<float> c(a.size());
  double best = 0;
  for (int run = 0; run < 5; ++run) {
    const auto start = Clock::now();
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, kN, kN, kN, 1.0f, a.data(), kN, b.data(),
                kN, 0.0f, c.data(), kN);
    best = std::max(best, 2.0 * kN * kN * kN / (ms_since(start) * 1e6));
  }
  return best;
}

double peak_rss_mb() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_maxrss) / 1024.0;
}

}  // namespace

SttBenchmarkResult run_stt_benchmark(const std::filesystem::path& model_path, int threads,
                                     int runs) {
  SttBenchmarkResult r;
  r.threads = threads;
  r.runs = std::max(1, runs);
  const auto load_start = Clock::now();
  const auto model = WhisperModel::load(model_path);
  r.load_ms = ms_since(load_start);
  r.model = model->file_name;
  r.file_mb = static_cast<double>(model->file_bytes) / (1024.0 * 1024.0);
  const WhisperEngine engine(model, threads);
  WhisperSession session = engine.new_session();

  // A synthetic window: the encoder's cost does not depend on the values.
  const WhisperHparams& h = model->hparams;
  const int frames = 2 * h.n_audio_ctx;
  std::vector<float> mel(static_cast<std::size_t>(h.n_mels) * frames);
  for (std::size_t i = 0; i < mel.size(); ++i) mel[i] = static_cast<float>(i % 97) / 97.0f - 0.5f;
  std::vector<double> encode_ms;
  for (int run = 0; run <= r.runs; ++run) {
    const auto start = Clock::now();
    engine.encode(session, mel, frames, 0);
    if (run > 0) encode_ms.push_back(ms_since(start));
  }
  r.encoder_ms = median(encode_ms);
  r.encoder_gflops = encoder_flops(h) / (r.encoder_ms * 1e6);

  const std::vector<int> prompt = {model->tokens.sot, model->tokens.no_timestamps};
  engine.decode(session, prompt, false);
  std::vector<double> step_ms;
  constexpr int kSteps = 64;
  for (int step = 0; step < kSteps; ++step) {
    const std::vector<int> token = {1000 + step * 37};
    const auto start = Clock::now();
    engine.decode(session, token, false);
    step_ms.push_back(ms_since(start));
  }
  r.decoder_ms_per_token = median(step_ms);
  r.sgemm_gflops = sgemm_gflops(threads);
  r.peak_rss_mb = peak_rss_mb();
  return r;
}

nlohmann::json SttBenchmarkResult::to_json() const {
  return {{"model", model},
          {"threads", threads},
          {"load_ms", load_ms},
          {"encoder_ms", encoder_ms},
          {"encoder_gflops", encoder_gflops},
          {"sgemm_gflops", sgemm_gflops},
          {"encoder_fraction_of_sgemm", encoder_fraction_of_sgemm()},
          {"decoder_ms_per_token", decoder_ms_per_token},
          {"peak_rss_mb", peak_rss_mb},
          {"file_mb", file_mb},
          {"runs", runs}};
}

std::string SttBenchmarkResult::to_text() const {
  char text[1024];
  std::snprintf(text, sizeof text,
                "model                 %s (%.1f MB), %d threads\n"
                "load                  %8.1f ms\n"
                "encoder, 30 s window  %8.1f ms (median of %d)\n"
                "encoder               %8.1f GFLOP/s\n"
                "OpenBLAS SGEMM        %8.1f GFLOP/s (same run, same threads)\n"
                "encoder / SGEMM       %8.2f\n"
                "decoder               %8.2f ms per token (median, KV cache)\n"
                "peak RSS              %8.1f MB (file + %.1f MB)\n",
                model.c_str(), file_mb, threads, load_ms, encoder_ms, runs, encoder_gflops,
                sgemm_gflops, encoder_fraction_of_sgemm(), decoder_ms_per_token, peak_rss_mb,
                peak_rss_mb - file_mb);
  return text;
}

}  // namespace voicedesk::stt
