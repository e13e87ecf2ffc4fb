#pragma once

#include <benchmark/benchmark.h>

#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace voicedesk::bench {

// Prints the console table, then the figures that matter as ratios taken in
// this same run (the machines are noisy; absolute rates are not comparable
// across runs). Collects one user counter per benchmark (its median under
// --benchmark_repetitions) and hands them, by benchmark name, to `summarize`.
class RatioReporter : public benchmark::ConsoleReporter {
 public:
  using Summary = std::function<void(std::map<std::string, double>& values)>;

  RatioReporter(std::string counter, Summary summarize)
      : counter_(std::move(counter)), summarize_(std::move(summarize)) {}

  void ReportRuns(const std::vector<Run>& runs) override {
    ConsoleReporter::ReportRuns(runs);
    for (const Run& run : runs) {
      const auto it = run.counters.find(counter_);
      if (it == run.counters.end() || run.error_occurred) continue;
      const bool median = run.run_type == Run::RT_Aggregate && run.aggregate_name == "median";
      if (run.run_type == Run::RT_Iteration || median)
        values_[run.run_name.str()] = it->second.value;
    }
  }

  void Finalize() override {
    ConsoleReporter::Finalize();
    summarize_(values_);
  }

 private:
  std::string counter_;
  Summary summarize_;
  std::map<std::string, double> values_;
};

// The shared main(): runs the selected benchmarks through reporter.
inline int run_benchmarks(int argc, char** argv, RatioReporter& reporter) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 2;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();
  return 0;
}

}  // namespace voicedesk::bench
