// Whole audio front-end (48 -> 16 kHz resampling + WebRTC VAD + endpointing)
// in real-time streams per CPU core, against the cost of the bare VAD on the
// same audio (what AI-RTC-Agent runs per frame after its naive decimation).
//
//   bench_audio_front_end                       full run
//   bench_audio_front_end --benchmark_min_time=0.01   smoke run (CI)
#include <benchmark/benchmark.h>

#include <cmath>
#include <cstdio>
#include <map>
#include <numbers>
#include <string>
#include <vector>

#include "audio/front_end.hpp"
#include "audio/vad.hpp"
#include "ratio_reporter.hpp"

namespace {

using voicedesk::audio::AudioFrontEnd;
using voicedesk::audio::EndpointMode;
using voicedesk::audio::FrontEndHandlers;
using voicedesk::audio::FrontEndOptions;
using voicedesk::audio::kInputRate;
using voicedesk::audio::Utterance;
using voicedesk::audio::VoiceActivityDetector;

constexpr double kSignalSeconds = 20.0;
constexpr std::size_t kChunk = kInputRate / 50;  // 20 ms, as WebRTC delivers

// Conversation-like input: 2 s voiced bursts (pulse train through formant
// resonators), 1.5 s pauses with low hiss, so every stage does real work.
const std::vector<float>& conversation() {
  static const std::vector<float> signal = [] {
    std::vector<float> out(static_cast<std::size_t>(kSignalSeconds * kInputRate));
    double phase = 0;
    double y1 = 0;
    double y2 = 0;
    const double r = std::exp(-std::numbers::pi * 100.0 / kInputRate);
    const double b1 = 2 * r * std::cos(2 * std::numbers::pi * 800.0 / kInputRate);
    std::uint32_t noise = 1;
    for (std::size_t i = 0; i < out.size(); ++i) {
      const double t = static_cast<double>(i) / kInputRate;
      const bool voiced = std::fmod(t, 3.5) < 2.0;
      phase += 130.0 / kInputRate;
      const double pulse = phase >= 1.0 ? (phase -= 1.0, 1.0) : 0.0;
      const double y = pulse + b1 * y1 - r * r * y2;
      y2 = y1;
      y1 = y;
      noise = noise * 1664525u + 1013904223u;
      const double hiss = (static_cast<double>(noise >> 8) / 16777216.0 - 0.5) * 0.002;
      out[i] = static_cast<float>((voiced ? 0.02 * y : 0.0) + hiss);
    }
    return out;
  }();
  return signal;
}

void BM_FrontEnd(benchmark::State& state, EndpointMode mode) {
  const std::vector<float>& signal = conversation();
  FrontEndOptions options;
  options.endpoint.mode = mode;
  std::size_t utterances = 0;
  // One long-lived stream, as in a real session: buffers reach their working
  // size once instead of being allocated (and page-faulted) anew per pass.
  AudioFrontEnd front_end(
      options, FrontEndHandlers{nullptr, nullptr, [&](Utterance&&) { ++utterances; }, nullptr,
                                nullptr, nullptr});
  for (auto _ : state) {
    for (std::size_t i = 0; i < signal.size(); i += kChunk) {
      front_end.push(std::span<const float>(signal).subspan(i, std::min(kChunk, signal.size() - i)),
                     1);
    }
  }
  front_end.finish();
  if (utterances == 0) state.SkipWithError("the benchmark signal produced no utterances");
  state.counters["streams_per_core"] =
      benchmark::Counter(kSignalSeconds, benchmark::Counter::kIsIterationInvariantRate);
}

// Reference: only the WebRTC VAD, on every third sample (no filtering).
void BM_VadOnly(benchmark::State& state) {
  const std::vector<float>& signal = conversation();
  std::vector<std::int16_t> decimated(signal.size() / 3);
  for (std::size_t i = 0; i < decimated.size(); ++i) {
    decimated[i] = static_cast<std::int16_t>(std::lround(signal[3 * i] * 32767.0f));
  }
  constexpr std::size_t kFrame = VoiceActivityDetector::kFrameSamples;
  std::size_t speech = 0;
  for (auto _ : state) {
    VoiceActivityDetector vad;
    for (std::size_t i = 0; i + kFrame <= decimated.size(); i += kFrame) {
      speech += vad.is_speech(std::span<const std::int16_t, kFrame>(decimated.data() + i, kFrame));
    }
  }
  benchmark::DoNotOptimize(speech);
  state.counters["streams_per_core"] =
      benchmark::Counter(kSignalSeconds, benchmark::Counter::kIsIterationInvariantRate);
}

BENCHMARK_CAPTURE(BM_FrontEnd, fast, EndpointMode::Fast)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_FrontEnd, classic, EndpointMode::Classic)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_VadOnly)->Unit(benchmark::kMillisecond);

// Real-time streams per core, and the front-end against the bare VAD.
void summarize(std::map<std::string, double>& streams) {
  const double fast = streams["BM_FrontEnd/fast"];
  const double classic = streams["BM_FrontEnd/classic"];
  const double vad = streams["BM_VadOnly"];
  if (fast <= 0 || vad <= 0) return;
  std::printf("\nfront-end (fast)    : %8.0f real-time streams per core (goal >= 500: %s)\n", fast,
              fast >= 500 ? "met" : "NOT met");
  std::printf("front-end (classic) : %8.0f real-time streams per core\n", classic);
  std::printf("bare VAD reference  : %8.0f real-time streams per core\n", vad);
  std::printf("front-end cost / bare VAD cost: %.2f\n", vad / fast);
}

}  // namespace

int main(int argc, char** argv) {
  voicedesk::bench::RatioReporter reporter("streams_per_core", summarize);
  return voicedesk::bench::run_benchmarks(argc, argv, reporter);
}
