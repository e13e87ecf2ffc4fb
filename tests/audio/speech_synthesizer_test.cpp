#include "audio/speech_synthesizer.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <stdexcept>
#include <thread>
#include <vector>

namespace voicedesk::audio {
namespace {

using Clock = std::chrono::steady_clock;

constexpr const char* kSentence = "Hello, this is voicedesk. Your next meeting starts at three.";

double rms(std::span<const std::int16_t> samples) {
  if (samples.empty()) return 0;
  double sum = 0;
  for (const std::int16_t sample : samples) sum += static_cast<double>(sample) * sample;
  return std::sqrt(sum / static_cast<double>(samples.size()));
}

// espeak-ng varies its output from one run to the next: by up to 2.5 % (a
// pause some 80 ms longer or shorter) when several processes synthesize at
// once, as under ctest -j. A stop or a lost chunk is far more.
void expect_about_as_long(std::size_t actual, std::size_t expected) {
  EXPECT_NEAR(static_cast<double>(actual), static_cast<double>(expected), expected * 0.05);
}

double seconds(std::size_t samples, int rate) {
  return static_cast<double>(samples) / rate;
}

TEST(SpeechSynthesizer, SpeaksASentenceAudibly) {
  const SpeechSynthesizer synthesizer;
  const int rate = synthesizer.sample_rate();
  std::printf("[ tts      ] espeak-ng sample rate %d Hz\n", rate);
  EXPECT_GE(rate, 8000);
  const auto started = Clock::now();
  const std::vector<std::int16_t> audio = synthesizer.synthesize(kSentence);
  const double elapsed = std::chrono::duration<double>(Clock::now() - started).count();
  const double duration = seconds(audio.size(), rate);
  std::printf("[ tts      ] %.2f s of audio in %.0f ms, RMS %.0f\n", duration, elapsed * 1000,
              rms(audio));
  // About ten words at 175 words per minute.
  EXPECT_GT(duration, 2.0);
  EXPECT_LT(duration, 8.0);
  EXPECT_GT(rms(audio), 500);
}

TEST(SpeechSynthesizer, StreamsChunksBeforeTheEnd) {
  const SpeechSynthesizer synthesizer;
  const auto started = Clock::now();
  std::size_t chunks = 0;
  std::size_t samples = 0;
  Clock::duration first_chunk{};
  std::size_t first_chunk_samples = 0;
  const bool finished = synthesizer.synthesize(kSentence, [&](std::span<const std::int16_t> chunk) {
    if (chunks++ == 0) {
      first_chunk = Clock::now() - started;
      first_chunk_samples = chunk.size();
    }
    samples += chunk.size();
    return true;
  });
  const auto total = Clock::now() - started;
  std::printf("[ tts      ] first chunk after %.3f ms, %zu chunks (%.2f s of audio) in %.3f ms\n",
              std::chrono::duration<double, std::milli>(first_chunk).count(), chunks,
              seconds(samples, synthesizer.sample_rate()),
              std::chrono::duration<double, std::milli>(total).count());
  EXPECT_TRUE(finished);
  EXPECT_GT(chunks, 10u);
  // Streamed: the first piece is a small part of the whole (wall-clock times
  // are printed, not asserted: they depend on the machine's load).
  EXPECT_LT(first_chunk_samples, samples / 10);
  expect_about_as_long(samples, synthesizer.synthesize(kSentence).size());
}

TEST(SpeechSynthesizer, StopsWhenTheHandlerSaysSo) {
  const SpeechSynthesizer synthesizer;
  const std::size_t whole = synthesizer.synthesize(kSentence).size();
  std::size_t chunks = 0;
  std::size_t samples = 0;
  const bool finished = synthesizer.synthesize(kSentence, [&](std::span<const std::int16_t> chunk) {
    samples += chunk.size();
    return ++chunks < 3;
  });
  EXPECT_FALSE(finished);
  EXPECT_EQ(chunks, 3u);
  EXPECT_LT(samples, whole / 2);
  // The engine is usable again right after.
  expect_about_as_long(synthesizer.synthesize(kSentence).size(), whole);
}

TEST(SpeechSynthesizer, HandlerExceptionsPropagate) {
  const SpeechSynthesizer synthesizer;
  EXPECT_THROW(synthesizer.synthesize(kSentence,
                                      [](std::span<const std::int16_t>) -> bool {
                                        throw std::runtime_error("sink failed");
                                      }),
               std::runtime_error);
  EXPECT_FALSE(synthesizer.synthesize("Still working.").empty());
}

TEST(SpeechSynthesizer, BlankTextGivesNoAudio) {
  const SpeechSynthesizer synthesizer;
  EXPECT_TRUE(synthesizer.synthesize("").empty());
  EXPECT_TRUE(synthesizer.synthesize(" \n\t ").empty());
}

TEST(SpeechSynthesizer, RefusesBadOptions) {
  EXPECT_THROW(SpeechSynthesizer({.voice = "no-such-voice"}), std::invalid_argument);
  EXPECT_THROW(SpeechSynthesizer({.words_per_minute = 10}), std::invalid_argument);
  // A faster rate gives shorter audio.
  const SpeechSynthesizer normal;
  const SpeechSynthesizer fast({.words_per_minute = 350});
  EXPECT_LT(fast.synthesize(kSentence).size(), normal.synthesize(kSentence).size() * 3 / 4);
}

TEST(SpeechSynthesizer, TwoThreadsGetWhatEachGetsAlone) {
  const SpeechSynthesizer synthesizer;
  const SpeechSynthesizer fast({.words_per_minute = 300});
  const std::vector<std::int16_t> expected = synthesizer.synthesize(kSentence);
  const std::vector<std::int16_t> expected_fast = fast.synthesize(kSentence);
  std::vector<std::int16_t> first;
  std::vector<std::int16_t> second;
  {
    std::jthread a([&] {
      for (int i = 0; i < 3; ++i) first = synthesizer.synthesize(kSentence);
    });
    std::jthread b([&] {
      for (int i = 0; i < 3; ++i) second = fast.synthesize(kSentence);
    });
  }
  // Interleaved engines would mix the voices' rates and lengths.
  expect_about_as_long(first.size(), expected.size());
  expect_about_as_long(second.size(), expected_fast.size());
  EXPECT_NEAR(rms(first), rms(expected), rms(expected) * 0.05);
  EXPECT_NEAR(rms(second), rms(expected_fast), rms(expected_fast) * 0.05);
}

}  // namespace
}  // namespace voicedesk::audio
