#include <spdlog/spdlog.h>

#include <chrono>
#include <fstream>
#include <nlohmann/json.hpp>
#include <ostream>
#include <sstream>

#include "app/commands.hpp"
#include "app/settings.hpp"
#include "audio/resampler.hpp"
#include "audio/wav.hpp"
#include "stt/benchmark.hpp"
#include "stt/mel.hpp"
#include "stt/whisper_engine.hpp"

namespace voicedesk::app {
namespace {

using Clock = std::chrono::steady_clock;

std::vector<float> read_16k_mono(const std::filesystem::path& path) {
  return audio::mono_at_rate(audio::read_wav(path), stt::kSampleRate);
}

void write_f32(const std::filesystem::path& path, std::span<const float> values) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(values.data()),
            static_cast<std::streamsize>(values.size() * sizeof(float)));
  if (!out) throw std::runtime_error("cannot write " + path.string());
}

std::vector<int> parse_tokens(const std::string& text, int n_vocab) {
  std::vector<int> tokens;
  std::istringstream in(text);
  std::string word;
  while (in >> word) {
    std::size_t used = 0;
    int id = -1;
    try {
      id = std::stoi(word, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used != word.size() || id < 0 || id >= n_vocab) {
      throw BadInput("--teacher-force: \"" + word + "\" is not a token id (0.." +
                     std::to_string(n_vocab - 1) + ")");
    }
    tokens.push_back(id);
  }
  if (tokens.empty()) throw BadInput("--teacher-force needs at least one token id");
  return tokens;
}

// The reference layouts of ../shared/whisper-ref: mel [bin][frame] for the
// first window, logits one row per forced token.
int run_inspection(const TranscribeRequest& request, const stt::WhisperModel& model,
                   const std::vector<float>& audio, int threads) {
  const stt::MelExtractor extractor(model.hparams.n_mels, model.mel_filters);
  const stt::MelSpectrogram mel = extractor.compute(audio, threads);
  const int window = 2 * model.hparams.n_audio_ctx;
  if (request.dump_mel) {
    const int frames = std::min(window, mel.n_frames);
    std::vector<float> first(static_cast<std::size_t>(mel.n_mels) * frames);
    for (int bin = 0; bin < mel.n_mels; ++bin) {
      std::copy_n(mel.data.begin() + static_cast<std::ptrdiff_t>(bin) * mel.n_frames, frames,
                  first.begin() + static_cast<std::ptrdiff_t>(bin) * frames);
    }
    write_f32(*request.dump_mel, first);
  }
  if (request.teacher_force) {
    const std::vector<int> tokens = parse_tokens(*request.teacher_force, model.hparams.n_vocab);
    if (static_cast<int>(tokens.size()) > model.hparams.n_text_ctx) {
      throw BadInput("--teacher-force: more tokens than the decoder context (" +
                     std::to_string(model.hparams.n_text_ctx) + ")");
    }
    const auto shared = std::shared_ptr<const stt::WhisperModel>(&model, [](const auto*) {});
    const stt::WhisperEngine engine(shared, threads);
    stt::WhisperSession session = engine.new_session();
    engine.encode(session, mel.data, mel.n_frames, 0);
    write_f32(*request.dump_logits, engine.decode(session, tokens, true));
  }
  return kExitOk;
}

nlohmann::ordered_json to_json(const stt::Transcript& t) {
  nlohmann::ordered_json segments = nlohmann::ordered_json::array();
  for (const stt::Segment& s : t.segments) {
    segments.push_back({{"start", s.start}, {"end", s.end}, {"text", s.text}});
  }
  return {{"text", t.text},
          {"segments", segments},
          {"language", t.language},
          {"timings_ms",
           {{"load", t.timings.load_ms},
            {"mel", t.timings.mel_ms},
            {"encode", t.timings.encode_ms},
            {"decode", t.timings.decode_ms},
            {"total", t.timings.total_ms}}}};
}

}  // namespace

int run_transcribe(const util::Config& config, const TranscribeRequest& request,
                   std::ostream& out) {
  const std::string model_path = config.get("VOICEDESK_WHISPER_MODEL");
  const int threads = static_cast<int>(config.get_int("VOICEDESK_STT_THREADS"));
  if ((request.dump_mel || request.teacher_force) && model_path.empty()) {
    throw BadInput("--dump-mel and --teacher-force need a Whisper model (--model PATH)");
  }
  if (request.teacher_force.has_value() != request.dump_logits.has_value()) {
    throw BadInput("--teacher-force and --dump-logits go together");
  }
  const std::vector<float> audio = read_16k_mono(request.wav);

  const auto load_start = Clock::now();
  if (request.dump_mel || request.teacher_force) {
    return run_inspection(request, *stt::WhisperModel::load(model_path), audio, threads);
  }
  const std::shared_ptr<const stt::Transcriber> transcriber = make_transcriber(config);
  const double load_ms =
      std::chrono::duration<double, std::milli>(Clock::now() - load_start).count();

  stt::TranscribeOptions options;
  options.language = config.get("VOICEDESK_STT_LANGUAGE");
  stt::Transcript transcript = transcriber->transcribe(audio, options);
  transcript.timings.load_ms += load_ms;
  transcript.timings.total_ms += load_ms;
  if (request.json) {
    out << to_json(transcript).dump() << '\n';
  } else {
    out << transcript.text << '\n';
  }
  spdlog::info("{}: {} in {:.0f} ms ({})", request.wav.string(), transcriber->model_name(),
               transcript.timings.total_ms, transcript.language);
  return kExitOk;
}

int run_bench_stt(const util::Config& config, bool json, std::ostream& out) {
  const std::string model_path = config.get("VOICEDESK_WHISPER_MODEL");
  if (model_path.empty()) throw BadInput("bench stt needs a Whisper model (--model PATH)");
  const auto result = stt::run_stt_benchmark(
      model_path, static_cast<int>(config.get_int("VOICEDESK_STT_THREADS")), 3);
  out << (json ? result.to_json().dump(2) + "\n" : result.to_text());
  return kExitOk;
}

}  // namespace voicedesk::app
