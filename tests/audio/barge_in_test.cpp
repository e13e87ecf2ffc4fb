#include "audio/barge_in.hpp"

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include "audio/front_end.hpp"
#include "audio/test_signals.hpp"

namespace voicedesk::audio {
namespace {

// '#' = active 30 ms frame, '.' = inactive; the frames at which it fired.
std::vector<int> fired(BargeInDetector& detector, const std::string& pattern) {
  std::vector<int> frames;
  for (std::size_t i = 0; i < pattern.size(); ++i) {
    if (detector.push(pattern[i] == '#')) frames.push_back(static_cast<int>(i));
  }
  return frames;
}

std::vector<int> fired(int voice_ms, const std::string& pattern) {
  BargeInDetector detector(voice_ms);
  return fired(detector, pattern);
}

TEST(BargeInDetector, RoundsUpToWholeFrames) {
  EXPECT_EQ(BargeInDetector(90).frames_needed(), 3);
  EXPECT_EQ(BargeInDetector(91).frames_needed(), 4);
  EXPECT_EQ(BargeInDetector(120).frames_needed(), 4);
  EXPECT_EQ(BargeInDetector(1).frames_needed(), 1);
  EXPECT_EQ(BargeInDetector(0).frames_needed(), 1);
}

TEST(BargeInDetector, FiresOnTheFrameThatCompletesARun) {
  EXPECT_EQ(fired(90, "....###"), std::vector<int>{6});
  EXPECT_EQ(fired(120, "..####"), std::vector<int>{5});
  EXPECT_EQ(fired(30, ".#"), std::vector<int>{1});
}

TEST(BargeInDetector, IgnoresIsolatedFramesAndShortRuns) {
  EXPECT_TRUE(fired(90, "#.#.#.#.#.#.#.#.#.#.").empty());
  EXPECT_TRUE(fired(90, "##.##.##..##.").empty());
  EXPECT_TRUE(fired(120, "###.###.###.").empty());
}

TEST(BargeInDetector, FiresOncePerRunAndAgainAfterABreak) {
  EXPECT_EQ(fired(90, "##########"), std::vector<int>{2});
  EXPECT_EQ(fired(90, "#####.....####.###"), (std::vector<int>{2, 12, 17}));
  // A single inactive frame starts the count over.
  EXPECT_EQ(fired(90, "##.##.###"), std::vector<int>{8});
}

TEST(BargeInDetector, KeepsItsCountAcrossCalls) {
  BargeInDetector detector(120);
  EXPECT_TRUE(fired(detector, "..##").empty());
  EXPECT_EQ(fired(detector, "##"), std::vector<int>{1});
  EXPECT_TRUE(fired(detector, "###").empty());
}

// On the front end's decisions for speech after silence: the detector fires
// a few frames into the speech, well before the endpointer's onset.
TEST(BargeInDetector, FiresOnSpeechBeforeTheEndpointerOnset) {
  constexpr double kSpeechBeginsMs = 500;
  std::vector<float> input(static_cast<std::size_t>(kSpeechBeginsMs / 1000 * kInputRate), 0.0f);
  const std::vector<float> speech = test::speech_like(1.5, kInputRate);
  input.insert(input.end(), speech.begin(), speech.end());

  // Both signals come while a 30 ms frame is judged: the frame they came on.
  BargeInDetector detector(90);
  std::int64_t frame = -1;
  std::optional<std::int64_t> voice_frame;
  std::optional<std::int64_t> onset_frame;
  FrontEndHandlers handlers;
  handlers.on_vad_frame = [&](const VadFrame& f) {
    frame = f.index;
    if (detector.push(f.active) && !voice_frame) voice_frame = frame;
  };
  handlers.on_speech_started = [&](const SpeechStarted&) {
    if (!onset_frame) onset_frame = frame;
  };
  AudioFrontEnd front_end({}, std::move(handlers));
  front_end.push(std::span<const float>(input), 1);
  front_end.finish();

  ASSERT_TRUE(voice_frame.has_value());
  ASSERT_TRUE(onset_frame.has_value());
  // Where the frame ends, in ms into the speech.
  auto into_speech = [&](std::int64_t f) {
    return static_cast<double>((f + 1) * kFrameMs) - kSpeechBeginsMs;
  };
  std::printf("[ audio    ] voice activity %.0f ms, endpointer onset %.0f ms into the speech\n",
              into_speech(*voice_frame), into_speech(*onset_frame));
  // Three frames of speech, and the frame it began in.
  EXPECT_LE(into_speech(*voice_frame), 4 * kFrameMs);
  EXPECT_LT(*voice_frame, *onset_frame);
}

}  // namespace
}  // namespace voicedesk::audio
