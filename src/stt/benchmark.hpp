#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

namespace voicedesk::stt {

struct SttBenchmarkResult {
  std::string model;
  int threads = 0;
  double load_ms = 0;
  double encoder_ms = 0;            // median over runs, one 30 s window
  double encoder_gflops = 0;        // useful FLOPs of the encoder / encoder time
  double decoder_ms_per_token = 0;  // median single-token step with the KV cache
  double sgemm_gflops = 0;          // OpenBLAS SGEMM, same threads, same run
  double peak_rss_mb = 0;
  double file_mb = 0;
  int runs = 0;

  double encoder_fraction_of_sgemm() const {
    return sgemm_gflops > 0 ? encoder_gflops / sgemm_gflops : 0;
  }
  nlohmann::json to_json() const;
  std::string to_text() const;
};

// Measures the Whisper engine on `model_path` against OpenBLAS SGEMM in the
// same process: what `voicedesk bench stt` and bench/stt_bench print.
// `runs` encoder passes (the first is a warm-up and not counted).
SttBenchmarkResult run_stt_benchmark(const std::filesystem::path& model_path, int threads,
                                     int runs);

}  // namespace voicedesk::stt
