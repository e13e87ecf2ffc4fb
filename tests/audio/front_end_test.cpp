#include "audio/front_end.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <numbers>
#include <string>

#include "audio/resampler.hpp"
#include "audio/test_signals.hpp"
#include "audio/wav.hpp"

namespace voicedesk::audio {
namespace {

using test::db;
using test::rms;
using test::sine;
using test::speech_like;

// Everything a front-end run reports, for comparisons across runs.
struct Trace {
  std::vector<float> stream_16k;
  std::string decisions;  // '#' active, '.' inactive, one per 30 ms frame
  std::vector<Utterance> utterances;
  int started = 0;
  std::vector<Utterance> tentative;
  int withdrawn = 0;
};

template <typename Sample>
Trace run(std::span<const Sample> input, const FrontEndOptions& options, std::size_t chunk,
          int channels = 1) {
  Trace trace;
  AudioFrontEnd front_end(
      options,
      FrontEndHandlers{[&](const VadFrame& f) {
                         EXPECT_EQ(f.index, static_cast<std::int64_t>(trace.decisions.size()));
                         trace.stream_16k.insert(trace.stream_16k.end(), f.audio_16k.begin(),
                                                 f.audio_16k.end());
                         trace.decisions += f.active ? '#' : '.';
                       },
                       [&](const SpeechStarted&) { ++trace.started; },
                       [&](Utterance&& u) { trace.utterances.push_back(std::move(u)); }, nullptr,
                       [&](Utterance&& u) { trace.tentative.push_back(std::move(u)); },
                       [&] { ++trace.withdrawn; }});
  const std::size_t step = chunk * static_cast<std::size_t>(channels);
  for (std::size_t i = 0; i < input.size(); i += step) {
    front_end.push(input.subspan(i, std::min(step, input.size() - i)), channels);
  }
  front_end.finish();
  return trace;
}

Trace run(const std::vector<float>& input, const FrontEndOptions& options = {},
          std::size_t chunk = 960) {
  return run(std::span<const float>(input), options, chunk);
}

void append_silence(std::vector<float>& signal, double seconds) {
  signal.insert(signal.end(), static_cast<std::size_t>(seconds * kInputRate), 0.0f);
}

// Speech-like bursts of 1.5 s separated by the given silences, at 48 kHz.
std::vector<float> bursts(std::initializer_list<double> gaps) {
  std::vector<float> signal;
  append_silence(signal, 0.5);
  unsigned seed = 0;
  for (double gap : gaps) {
    const auto burst = speech_like(1.5, kInputRate, ++seed);
    signal.insert(signal.end(), burst.begin(), burst.end());
    append_silence(signal, gap);
  }
  return signal;
}

TEST(AudioFrontEnd, SixteenKilohertzStreamIsBitIdenticalWhateverTheChunking) {
  std::vector<float> input = bursts({0.7, 1.0});
  const auto tone = sine(1000, 0.05, kInputRate, input.size());
  for (std::size_t i = 0; i < input.size(); ++i) input[i] += tone[i];

  const Trace reference = run(input, {}, 4800);
  ASSERT_EQ(reference.utterances.size(), 2u);
  for (std::size_t chunk : {1u, 7u, 480u}) {
    const Trace trace = run(input, {}, chunk);
    ASSERT_EQ(trace.stream_16k.size(), reference.stream_16k.size()) << "chunk " << chunk;
    EXPECT_EQ(0, std::memcmp(trace.stream_16k.data(), reference.stream_16k.data(),
                             trace.stream_16k.size() * sizeof(float)))
        << "chunk " << chunk;
    EXPECT_EQ(trace.decisions, reference.decisions) << "chunk " << chunk;
    ASSERT_EQ(trace.utterances.size(), reference.utterances.size());
    for (std::size_t u = 0; u < trace.utterances.size(); ++u) {
      EXPECT_EQ(trace.utterances[u].start, reference.utterances[u].start);
      EXPECT_EQ(trace.utterances[u].end, reference.utterances[u].end);
      EXPECT_EQ(trace.utterances[u].audio_48k, reference.utterances[u].audio_48k);
    }
  }
}

TEST(AudioFrontEnd, OneKilohertzToneKeepsLevelAndFrequencyAtSixteenKilohertz) {
  const Trace trace = run(sine(1000, 0.5, kInputRate, 2 * kInputRate));
  ASSERT_NEAR(static_cast<double>(trace.stream_16k.size()), 2.0 * kVadRate, kVadFrameSamples);
  const std::span<const float> steady =
      std::span<const float>(trace.stream_16k).subspan(kVadRate / 4, kVadRate);
  EXPECT_LT(std::abs(db(rms(steady) / (0.5 / std::sqrt(2.0)))), 0.1);
  // Counting zero crossings over one second gives the frequency.
  int crossings = 0;
  for (std::size_t i = 1; i < steady.size(); ++i) {
    crossings += (steady[i - 1] < 0) != (steady[i] < 0) ? 1 : 0;
  }
  EXPECT_NEAR(crossings / 2.0, 1000.0, 1.0);
}

TEST(AudioFrontEnd, TenKilohertzToneIsRejectedBeforeTheVad) {
  const Trace trace = run(sine(10000, 0.5, kInputRate, 2 * kInputRate));
  const std::span<const float> steady =
      std::span<const float>(trace.stream_16k).subspan(kVadRate / 4, kVadRate);
  EXPECT_LT(db(rms(steady) / (0.5 / std::sqrt(2.0))), -60.0);
}

TEST(AudioFrontEnd, StereoInt16IsDownmixedToTheSameStreamAsMonoFloat) {
  const std::vector<float> mono = bursts({1.0});
  std::vector<std::int16_t> stereo(mono.size() * 2);
  std::vector<float> quantised(mono.size());
  for (std::size_t i = 0; i < mono.size(); ++i) {
    const auto s = static_cast<std::int16_t>(std::lround(mono[i] * 32767.0f));
    stereo[2 * i] = stereo[2 * i + 1] = s;
    quantised[i] = static_cast<float>(s) / 32768.0f;
  }
  const Trace from_stereo = run(std::span<const std::int16_t>(stereo), {}, 441, 2);
  const Trace from_mono = run(quantised);
  EXPECT_EQ(from_stereo.stream_16k, from_mono.stream_16k);
  ASSERT_EQ(from_stereo.utterances.size(), 1u);
  EXPECT_EQ(from_stereo.utterances[0].audio_48k, from_mono.utterances[0].audio_48k);

  // Opposite channels cancel: nothing is heard.
  for (std::size_t i = 0; i < mono.size(); ++i)
    stereo[2 * i + 1] = static_cast<std::int16_t>(-stereo[2 * i]);
  EXPECT_TRUE(run(std::span<const std::int16_t>(stereo), {}, 960, 2).utterances.empty());
}

TEST(AudioFrontEnd, RejectsUnsupportedChannelCountsAndUseAfterFinish) {
  AudioFrontEnd front_end({}, {});
  const std::vector<float> samples(9, 0.0f);
  EXPECT_THROW(front_end.push(std::span<const float>(samples), 3), std::invalid_argument);
  EXPECT_THROW(front_end.push(std::span<const float>(samples), 2), std::invalid_argument);
  front_end.finish();
  EXPECT_THROW(front_end.push(std::span<const float>(samples), 1), std::logic_error);
}

// A line-by-line port of AI-RTC-Agent's AudioSession.add_frame decision loop
// (server/audio_processor.py), run on the same 30 ms decisions: the classic
// mode must keep exactly the frames the original would have kept.
std::vector<std::pair<std::int64_t, std::int64_t>> original_utterances(const std::string& vad) {
  std::vector<std::pair<std::int64_t, std::int64_t>> kept;  // [first frame, end frame)
  std::vector<int> window;
  bool speaking = false;
  int silence_frames = 0;
  std::int64_t history_start = 0;
  std::int64_t speech_start = 0;
  for (std::int64_t f = 0; f < static_cast<std::int64_t>(vad.size()); ++f) {
    window.push_back(vad[static_cast<std::size_t>(f)] == '#' ? 1 : 0);
    if (window.size() > 10) window.erase(window.begin());
    int active = 0;
    for (int v : window) active += v;
    if (!speaking) {
      history_start = std::max(history_start, f - 9);
      if (active >= 6) {
        speaking = true;
        speech_start = history_start;
        silence_frames = 0;
      }
    } else if (active <= 1) {
      ++silence_frames;
      if (silence_frames * 30 / 1000.0 >= 2.0) {
        kept.emplace_back(speech_start, f + 1);
        speaking = false;
        silence_frames = 0;
        window.clear();
        history_start = f + 1;
      }
    } else {
      silence_frames = 0;
    }
  }
  if (speaking) kept.emplace_back(speech_start, static_cast<std::int64_t>(vad.size()));
  return kept;
}

TEST(AudioFrontEnd, ClassicModeReproducesTheOriginalOnSyntheticSpeech) {
  FrontEndOptions options;
  options.endpoint.mode = EndpointMode::Classic;
  const Trace trace = run(bursts({0.5, 1.9, 2.1, 3.0, 1.0}), options);

  // The original's 2.0 s counter only starts once the 10-frame window holds
  // at most one active frame, so 0.5, 1.9 and 2.1 s pauses stay inside an
  // utterance and the 3.0 s one splits.
  ASSERT_EQ(trace.utterances.size(), 2u);
  const auto expected = original_utterances(trace.decisions);
  ASSERT_EQ(expected.size(), trace.utterances.size());
  for (std::size_t i = 0; i < expected.size(); ++i) {
    const Utterance& u = trace.utterances[i];
    EXPECT_EQ(u.audio_start, expected[i].first * static_cast<std::int64_t>(kInputFrameSamples));
    EXPECT_EQ(u.audio_start + static_cast<std::int64_t>(u.audio_48k.size()),
              std::min<std::int64_t>(expected[i].second * kInputFrameSamples,
                                     static_cast<std::int64_t>(trace.stream_16k.size()) * 3));
  }
  // First burst starts at 0.5 s; speech onset is reported within a frame of it.
  EXPECT_NEAR(trace.utterances[0].start_seconds(), 0.5, 0.035);
  // The end detection comes 2.0 s after the window went quiet, i.e. more
  // than 2.0 s after the reported end of speech.
  const Utterance& first = trace.utterances[0];
  EXPECT_GT(Utterance::seconds(first.detected - first.end), 2.0);
  EXPECT_LT(Utterance::seconds(first.detected - first.end), 2.0 + 0.3 + 0.03);
}

TEST(AudioFrontEnd, FastModeUtteranceCarriesBothRatesAndTimes) {
  const Trace trace = run(bursts({1.0, 1.0}));
  ASSERT_EQ(trace.utterances.size(), 2u);
  EXPECT_EQ(trace.started, 2);
  const Utterance& u = trace.utterances[0];
  EXPECT_EQ(u.reason, EndReason::Silence);
  EXPECT_NEAR(u.start_seconds(), 0.5, 0.035);
  EXPECT_NEAR(u.end_seconds(), 2.0, 0.15);
  EXPECT_EQ(u.audio_start, u.start - static_cast<std::int64_t>(0.3 * kInputRate));  // pre-roll
  EXPECT_EQ(u.audio_48k.size(), 3 * u.audio_16k.size());
  EXPECT_EQ(u.audio_start + static_cast<std::int64_t>(u.audio_48k.size()), u.end);
  // Detected 600 ms of trailing silence after the end (plus resampler delay).
  EXPECT_NEAR(Utterance::seconds(u.detected - u.end), 0.6, 0.035);
  EXPECT_NE(u.detected_at, std::chrono::steady_clock::time_point{});
  EXPECT_GT(u.stats.active_frames, 40);
  EXPECT_LE(u.stats.active_frames, u.stats.frames);
  EXPECT_GT(u.stats.rms_dbfs, -40.0);
  EXPECT_GT(u.stats.peak, 0.05f);
  // The 48 kHz audio is the input itself, sample for sample.
  const std::vector<float> input = bursts({1.0, 1.0});
  EXPECT_TRUE(std::equal(u.audio_48k.begin(), u.audio_48k.end(),
                         input.begin() + static_cast<std::ptrdiff_t>(u.audio_start)));
}

FrontEndOptions speculative() {
  FrontEndOptions options;
  options.endpoint.speculative_after_ms = 200;
  return options;
}

void expect_same_utterance(const Utterance& a, const Utterance& b) {
  EXPECT_EQ(a.audio_start, b.audio_start);
  EXPECT_EQ(a.start, b.start);
  EXPECT_EQ(a.end, b.end);
  EXPECT_EQ(a.audio_48k, b.audio_48k);
  EXPECT_EQ(a.audio_16k, b.audio_16k);
  EXPECT_EQ(a.stats.frames, b.stats.frames);
  EXPECT_EQ(a.stats.active_frames, b.stats.active_frames);
}

TEST(AudioFrontEnd, FastModeReportsTheTentativeUtteranceDuringTheTrailingSilence) {
  const std::vector<float> input = bursts({1.0});
  const Trace trace = run(input, speculative());
  ASSERT_EQ(trace.tentative.size(), 1u);
  ASSERT_EQ(trace.utterances.size(), 1u);
  EXPECT_EQ(trace.withdrawn, 0);
  const Utterance& tentative = trace.tentative[0];
  const Utterance& final = trace.utterances[0];
  EXPECT_FALSE(tentative.as_tentative);
  EXPECT_TRUE(final.as_tentative);
  expect_same_utterance(tentative, final);
  // 210 ms (7 frames) of silence instead of 600 ms: 390 ms before the endpoint.
  EXPECT_EQ(final.detected - tentative.detected,
            13 * static_cast<std::int64_t>(kInputFrameSamples));
  EXPECT_LT(tentative.detected_at, final.detected_at);
  // The same utterance as without speculation.
  const Trace plain = run(input);
  ASSERT_EQ(plain.utterances.size(), 1u);
  expect_same_utterance(plain.utterances[0], final);
  EXPECT_EQ(plain.utterances[0].detected, final.detected);
  EXPECT_FALSE(plain.utterances[0].as_tentative);
  EXPECT_TRUE(plain.tentative.empty());
}

TEST(AudioFrontEnd, FastModeWithdrawsTheTentativeUtteranceWhenSpeechResumes) {
  // A 400 ms pause: longer than the speculative silence, shorter than the endpoint's.
  const std::vector<float> input = bursts({0.4, 1.0});
  const Trace trace = run(input, speculative());
  ASSERT_EQ(trace.utterances.size(), 1u);
  ASSERT_GE(trace.tentative.size(), 2u);
  EXPECT_EQ(trace.withdrawn, static_cast<int>(trace.tentative.size()) - 1);
  EXPECT_LT(trace.tentative[0].end, trace.utterances[0].end);
  expect_same_utterance(trace.tentative.back(), trace.utterances[0]);
  EXPECT_TRUE(trace.utterances[0].as_tentative);
  const Trace plain = run(input);
  ASSERT_EQ(plain.utterances.size(), 1u);
  expect_same_utterance(plain.utterances[0], trace.utterances[0]);
}

TEST(AudioFrontEnd, FastModeSplitsLongSpeechAtTheMaximumLength) {
  FrontEndOptions options;
  options.endpoint.max_utterance_ms = 5000;
  std::vector<float> input;
  append_silence(input, 0.5);
  const auto speech = speech_like(12.0, kInputRate);
  input.insert(input.end(), speech.begin(), speech.end());
  append_silence(input, 1.0);
  const Trace trace = run(input, options);
  ASSERT_GE(trace.utterances.size(), 3u);
  for (std::size_t i = 0; i < trace.utterances.size(); ++i) {
    EXPECT_LE(trace.utterances[i].audio_48k.size(), 5u * kInputRate);
    if (i > 0) {
      EXPECT_EQ(trace.utterances[i].audio_start,
                trace.utterances[i - 1].audio_start +
                    static_cast<std::int64_t>(trace.utterances[i - 1].audio_48k.size()));
    }
  }
  EXPECT_EQ(trace.utterances[0].reason, EndReason::MaxLength);
}

TEST(AudioFrontEnd, SilenceAndNoiseMakeNoUtterances) {
  std::vector<float> input(5 * kInputRate, 0.0f);
  EXPECT_TRUE(run(input).utterances.empty());
  std::uint32_t state = 12345;
  for (float& x : input) {
    state = state * 1664525u + 1013904223u;
    x = (static_cast<float>(state >> 8) / 16777216.0f - 0.5f) * 0.002f;  // -60 dBFS hiss
  }
  EXPECT_TRUE(run(input).utterances.empty());
}

// espeak-ng speech: the truth is where the synthesiser's output is not silent.
struct Spoken {
  std::vector<float> audio;  // 48 kHz mono
  double speech_begin = 0;
  double speech_end = 0;
};

Spoken speak(const std::string& text, const std::filesystem::path& dir) {
  const std::filesystem::path wav = dir / "spoken.wav";
  const std::string command = "espeak-ng -v en-us -s 160 -w '" + wav.string() + "' '" + text + "'";
  if (std::system(command.c_str()) != 0) return {};
  const WavAudio audio = read_wav(wav);
  Spoken spoken;
  spoken.audio = resample_interleaved(audio.samples, audio.channels, audio.sample_rate, kInputRate);
  const std::size_t window = kInputRate / 100;
  std::vector<std::size_t> loud;
  for (std::size_t i = 0; i + window <= spoken.audio.size(); i += window) {
    if (rms(std::span<const float>(spoken.audio).subspan(i, window)) > 0.003) loud.push_back(i);
  }
  if (loud.empty()) return {};
  spoken.speech_begin = static_cast<double>(loud.front()) / kInputRate;
  spoken.speech_end = static_cast<double>(loud.back() + window) / kInputRate;
  return spoken;
}

TEST(AudioFrontEnd, FastModeSplitsEspeakSentencesSeparatedByOneSecond) {
  if (std::system("command -v espeak-ng >/dev/null 2>&1") != 0) {
    GTEST_SKIP() << "espeak-ng is not installed (scripts/deps installs it)";
  }
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("vd-espeak-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const std::vector<std::string> sentences = {
      "Send an email to Alice saying the meeting moved to three.",
      "What is on my calendar for Friday?",
      "Schedule a meeting with Bob tomorrow at ten in the morning.", "Read my latest email."};
  std::vector<float> input;
  std::vector<std::pair<double, double>> truth;
  append_silence(input, 0.5);
  for (const auto& sentence : sentences) {
    const Spoken spoken = speak(sentence, dir);
    ASSERT_FALSE(spoken.audio.empty()) << "espeak-ng produced no speech for: " << sentence;
    // Only the voiced part is kept, so the pauses between sentences are exactly 1 s.
    const auto begin = static_cast<std::ptrdiff_t>(spoken.speech_begin * kInputRate);
    const auto end = static_cast<std::ptrdiff_t>(spoken.speech_end * kInputRate);
    const double offset = static_cast<double>(input.size()) / kInputRate;
    truth.emplace_back(offset, offset + static_cast<double>(end - begin) / kInputRate);
    input.insert(input.end(), spoken.audio.begin() + begin, spoken.audio.begin() + end);
    append_silence(input, 1.0);
  }
  std::filesystem::remove_all(dir);

  const Trace trace = run(input, {}, 960);  // 20 ms chunks, as WebRTC delivers
  ASSERT_EQ(trace.utterances.size(), sentences.size()) << trace.decisions;
  for (std::size_t i = 0; i < truth.size(); ++i) {
    EXPECT_NEAR(trace.utterances[i].start_seconds(), truth[i].first, 0.15) << "utterance " << i;
    EXPECT_NEAR(trace.utterances[i].end_seconds(), truth[i].second, 0.15) << "utterance " << i;
  }
}

}  // namespace
}  // namespace voicedesk::audio
