// Whisper engine benchmark: encoder time for one 30 s window, encoder GFLOP/s
// against OpenBLAS SGEMM measured in the same run, decoder ms per token and
// peak RSS. scripts/bench-stt makes the tiny.en-shaped model and runs this.
//
//   bench_stt MODEL.bin [--threads N] [--runs N] [--json]
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <string>

#include "stt/benchmark.hpp"

int main(int argc, char** argv) {
  std::string model;
  int threads = 2;
  int runs = 3;
  bool json = false;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--threads" && i + 1 < argc) {
      threads = std::atoi(argv[++i]);
    } else if (arg == "--runs" && i + 1 < argc) {
      runs = std::atoi(argv[++i]);
    } else if (arg == "--json") {
      json = true;
    } else if (model.empty() && arg.rfind("--", 0) != 0) {
      model = arg;
    } else {
      std::cerr << "usage: bench_stt MODEL.bin [--threads N] [--runs N] [--json]\n";
      return 2;
    }
  }
  if (model.empty() || threads < 1 || runs < 1) {
    std::cerr << "usage: bench_stt MODEL.bin [--threads N] [--runs N] [--json]\n";
    return 2;
  }
  if (!std::filesystem::exists(model)) {
    std::cout << "skipped: " << model << " not found\n";
    return 77;  // ctest's SKIP_RETURN_CODE
  }
  const auto result = voicedesk::stt::run_stt_benchmark(model, threads, runs);
  std::cout << (json ? result.to_json().dump(2) + "\n" : result.to_text());
  return 0;
}
