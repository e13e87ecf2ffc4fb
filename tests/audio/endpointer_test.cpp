#include "audio/endpointer.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace voicedesk::audio {
namespace {

struct Outcome {
  std::vector<SpeechSegment> finished;
  std::vector<SpeechSegment> discarded;
  std::vector<std::int64_t> onsets;
  std::vector<SpeechSegment> tentative;
  int withdrawn = 0;
  std::vector<bool> finished_as_tentative;  // one per finished segment
};

// '#' = active 30 ms frame, '.' = inactive.
Outcome run(const std::string& pattern, const EndpointerOptions& options, bool finish = true) {
  Endpointer endpointer(options);
  Outcome result;
  auto collect = [&](const EndpointerStep& step) {
    if (step.onset) result.onsets.push_back(*step.onset);
    if (step.finished) {
      result.finished.push_back(*step.finished);
      result.finished_as_tentative.push_back(step.finished_as_tentative);
    }
    if (step.tentative) result.tentative.push_back(*step.tentative);
    result.withdrawn += step.tentative_withdrawn ? 1 : 0;
    if (step.discarded) result.discarded.push_back(*step.discarded);
  };
  for (char c : pattern) collect(endpointer.push(c == '#'));
  if (finish) collect(endpointer.finish());
  return result;
}

std::string frames(char c, double seconds) {
  return std::string(static_cast<std::size_t>(seconds * 1000 / kFrameMs + 0.5), c);
}

EndpointerOptions classic() {
  EndpointerOptions o;
  o.mode = EndpointMode::Classic;
  return o;
}

TEST(Endpointer, OnsetNeedsSixOfTheLastTenFrames) {
  EXPECT_TRUE(run("#####.....#####.....", EndpointerOptions{}).onsets.empty());
  EXPECT_TRUE(run("#.#.#.#.#.#.#.#.......", EndpointerOptions{}).onsets.empty());
  const Outcome r = run(".......#.#####.........", EndpointerOptions{}, false);
  ASSERT_EQ(r.onsets.size(), 1u);
  // Onset is the first active frame inside the window that triggered.
  EXPECT_EQ(r.onsets[0], 7);
}

TEST(Endpointer, ClassicEndsAfterTwoSecondsOfAMostlyQuietWindow) {
  // After the last active frame (49) the 10-frame window holds <= 1 active
  // frame from frame 58 on; the silence counter reaches 2.0 s (67 frames,
  // 2.01 s) at frame 124, as in AI-RTC-Agent.
  const Outcome r = run(frames('#', 1.5) + frames('.', 4.0), classic());
  ASSERT_EQ(r.finished.size(), 1u);
  const SpeechSegment& s = r.finished[0];
  const std::int64_t quiet_from = 58;
  EXPECT_EQ(s.decided, 124);
  EXPECT_NEAR((s.decided + 1 - quiet_from) * kFrameMs, 2000, kFrameMs);
  EXPECT_EQ(s.onset, 0);
  EXPECT_EQ(s.speech_end, 50);
  EXPECT_EQ(s.audio_begin, 0);
  EXPECT_EQ(s.audio_end, 125);  // the original keeps the trailing silence
  EXPECT_EQ(s.reason, EndReason::Silence);
}

TEST(Endpointer, ClassicBoundaryFallsWithinOneFrameOfTheRule) {
  // A gap splits only if the counter reaches 67 frames: 8 frames for the
  // window to drain to one active frame, then 67 counted ones. As in the
  // original, the first active frame after the gap still counts as quiet
  // (the window then holds just that one), so a 74-frame gap splits.
  const std::string burst = frames('#', 1.5);
  EXPECT_EQ(run(burst + std::string(73, '.') + burst + frames('.', 3), classic()).finished.size(),
            1u);
  EXPECT_EQ(run(burst + std::string(74, '.') + burst + frames('.', 3), classic()).finished.size(),
            2u);
}

TEST(Endpointer, ClassicCountsForTheIssueSilences) {
  const std::string burst = frames('#', 1.5);
  std::string pattern = frames('.', 0.5);
  for (double gap : {0.5, 1.9, 2.1, 3.0}) pattern += burst + frames('.', gap);
  pattern += burst + frames('.', 3.0);
  const Outcome r = run(pattern, classic());
  // 0.5, 1.9 and 2.1 s stay inside one utterance; 3.0 s splits.
  ASSERT_EQ(r.finished.size(), 2u);
  EXPECT_EQ(r.finished[0].onset, 17);
}

TEST(Endpointer, ClassicLookBackIsTheTenFrameHistory) {
  const Outcome r =
      run(frames('.', 1.0) + "..#.######" + frames('#', 1.0) + frames('.', 3.0), classic());
  ASSERT_EQ(r.finished.size(), 1u);
  EXPECT_EQ(r.finished[0].onset, 35);
  EXPECT_EQ(r.finished[0].audio_begin, 41 - 9);  // the whole 10-frame window at onset (frame 41)
}

TEST(Endpointer, ClassicWindowIsClearedAfterAnUtterance) {
  // Right after an end the window starts empty: 6 new active frames are
  // needed even though the history had activity.
  const Outcome r =
      run(frames('#', 1.0) + std::string(75, '.') + "#####" + frames('.', 3), classic());
  EXPECT_EQ(r.finished.size(), 1u);
  EXPECT_TRUE(r.discarded.empty());
}

TEST(Endpointer, FastEndsAfterTheTrailingSilence) {
  EndpointerOptions o;  // 600 ms = 20 frames
  const std::string burst = frames('#', 1.0);
  EXPECT_EQ(run(burst + std::string(19, '.') + burst + frames('.', 1), o).finished.size(), 1u);
  const Outcome r =
      run(frames('.', 1.0) + burst + std::string(20, '.') + burst + frames('.', 1), o);
  ASSERT_EQ(r.finished.size(), 2u);
  const SpeechSegment& s = r.finished[0];
  EXPECT_EQ(s.onset, 33);
  EXPECT_EQ(s.speech_end, 33 + 33);
  EXPECT_EQ(s.audio_begin, 33 - 10);  // 300 ms pre-roll
  EXPECT_EQ(s.audio_end, s.speech_end);
  EXPECT_EQ(s.decided, s.speech_end + 19);
  // The second utterance's pre-roll never reaches back into the first one.
  EXPECT_GE(r.finished[1].audio_begin, s.audio_end);
}

TEST(Endpointer, FastTrailingSilenceIsConfigurable) {
  EndpointerOptions o;
  o.trailing_silence_ms = 300;
  const std::string burst = frames('#', 1.0);
  EXPECT_EQ(run(burst + std::string(10, '.') + burst + frames('.', 1), o).finished.size(), 2u);
  EXPECT_EQ(run(burst + std::string(9, '.') + burst + frames('.', 1), o).finished.size(), 1u);
}

TEST(Endpointer, FastDropsBurstsShorterThanMinimumSpeech) {
  EndpointerOptions o;
  o.min_speech_ms = 250;  // 9 frames
  const Outcome clicks = run(frames('.', 1) + "########" + frames('.', 1), o);
  EXPECT_TRUE(clicks.finished.empty());
  EXPECT_EQ(clicks.discarded.size(), 1u);
  const Outcome word = run(frames('.', 1) + "#########" + frames('.', 1), o);
  EXPECT_EQ(word.finished.size(), 1u);
}

TEST(Endpointer, FastSplitsAtMaximumLength) {
  EndpointerOptions o;
  o.max_utterance_ms = 3000;  // 100 frames, pre-roll included
  const Outcome r = run(frames('.', 1) + frames('#', 7.0) + frames('.', 1), o);
  ASSERT_EQ(r.finished.size(), 3u);
  EXPECT_EQ(r.finished[0].reason, EndReason::MaxLength);
  EXPECT_EQ(r.finished[0].audio_end - r.finished[0].audio_begin, 100);
  EXPECT_EQ(r.finished[1].audio_begin, r.finished[0].audio_end);  // seamless
  EXPECT_EQ(r.finished[1].onset, r.finished[0].audio_end);
  EXPECT_EQ(r.finished[2].reason, EndReason::Silence);
  int active = 0;
  for (const auto& s : r.finished) active += s.active_frames;
  EXPECT_EQ(active, 233);  // every active frame belongs to exactly one utterance
}

TEST(Endpointer, EndOfStreamFinishesAnOpenUtterance) {
  const Outcome r = run(frames('.', 0.5) + frames('#', 1.0), EndpointerOptions{});
  ASSERT_EQ(r.finished.size(), 1u);
  EXPECT_EQ(r.finished[0].reason, EndReason::EndOfStream);
  EXPECT_EQ(r.finished[0].speech_end, 17 + 33);
}

EndpointerOptions speculative(int after_ms = 200) {
  EndpointerOptions o;
  o.speculative_after_ms = after_ms;
  return o;
}

bool same_speech(const SpeechSegment& a, const SpeechSegment& b) {
  return a.audio_begin == b.audio_begin && a.onset == b.onset && a.speech_end == b.speech_end &&
         a.audio_end == b.audio_end && a.active_frames == b.active_frames;
}

void expect_same_finished(const Outcome& a, const Outcome& b) {
  ASSERT_EQ(a.finished.size(), b.finished.size());
  for (std::size_t i = 0; i < a.finished.size(); ++i) {
    EXPECT_TRUE(same_speech(a.finished[i], b.finished[i])) << i;
    EXPECT_EQ(a.finished[i].decided, b.finished[i].decided) << i;
    EXPECT_EQ(a.finished[i].reason, b.finished[i].reason) << i;
  }
  EXPECT_EQ(a.onsets, b.onsets);
}

TEST(Endpointer, FastReportsTheTentativeSegmentOnceAfterTheSpeculativeSilence) {
  const std::string input = frames('.', 1.0) + frames('#', 1.0) + frames('.', 2.0);
  const Outcome r = run(input, speculative());  // 200 ms = 7 frames
  ASSERT_EQ(r.tentative.size(), 1u);
  ASSERT_EQ(r.finished.size(), 1u);
  const SpeechSegment& t = r.tentative[0];
  EXPECT_EQ(t.decided, t.speech_end + 6);  // the 7th silent frame
  EXPECT_EQ(t.reason, EndReason::Silence);
  EXPECT_TRUE(same_speech(t, r.finished[0]));
  EXPECT_EQ(r.finished_as_tentative, std::vector<bool>{true});
  EXPECT_EQ(r.withdrawn, 0);
  // Speculation changes nothing about the utterances themselves.
  expect_same_finished(r, run(input, EndpointerOptions{}));
}

TEST(Endpointer, FastWithdrawsTheTentativeSegmentWhenSpeechResumes) {
  const std::string burst = frames('#', 1.0);
  // 300 ms pause: a tentative segment, then speech before the 600 ms endpoint.
  const std::string input = frames('.', 1.0) + burst + std::string(10, '.') + burst +
                            std::string(10, '.') + burst + frames('.', 2.0);
  const Outcome r = run(input, speculative());
  ASSERT_EQ(r.finished.size(), 1u);
  ASSERT_EQ(r.tentative.size(), 3u);  // one per silence stretch
  EXPECT_EQ(r.withdrawn, 2);
  EXPECT_EQ(r.tentative[0].speech_end, 33 + 33);
  EXPECT_EQ(r.tentative[0].decided, 33 + 33 + 6);
  EXPECT_TRUE(same_speech(r.tentative[2], r.finished[0]));
  EXPECT_EQ(r.finished_as_tentative, std::vector<bool>{true});
  expect_same_finished(r, run(input, EndpointerOptions{}));
  // A pause shorter than the speculative silence reports nothing tentative.
  const Outcome short_pause =
      run(frames('.', 1.0) + burst + std::string(6, '.') + burst, speculative());
  EXPECT_TRUE(short_pause.tentative.empty());
  EXPECT_EQ(short_pause.finished.size(), 1u);
}

TEST(Endpointer, FastWithdrawsTheTentativeSegmentThatASplitCutsDifferently) {
  EndpointerOptions o = speculative();
  o.max_utterance_ms = 3000;  // 100 frames from audio_begin 23: a split at frame 122
  const std::string input = frames('.', 1.0) + std::string(77, '#') + frames('.', 2.0);
  const Outcome r = run(input, o);
  ASSERT_EQ(r.tentative.size(), 1u);
  EXPECT_EQ(r.tentative[0].decided, 116);
  EXPECT_EQ(r.withdrawn, 1);
  ASSERT_EQ(r.finished.size(), 1u);
  EXPECT_EQ(r.finished[0].reason, EndReason::MaxLength);
  EXPECT_EQ(r.finished_as_tentative, std::vector<bool>{false});
  o.speculative_after_ms = 0;
  expect_same_finished(r, run(input, o));
}

TEST(Endpointer, EndOfStreamFinishesTheTentativeSegmentAsReported) {
  const Outcome r = run(frames('.', 0.5) + frames('#', 1.0) + frames('.', 0.3), speculative());
  ASSERT_EQ(r.finished.size(), 1u);
  EXPECT_EQ(r.finished[0].reason, EndReason::EndOfStream);
  EXPECT_EQ(r.finished_as_tentative, std::vector<bool>{true});
}

TEST(Endpointer, SpeculationIsOffWhenDisabledTooLateTooShortOrClassic) {
  const std::string input = frames('.', 1.0) + frames('#', 1.0) + frames('.', 3.0);
  EXPECT_TRUE(run(input, speculative(0)).tentative.empty());
  EXPECT_TRUE(run(input, speculative(600)).tentative.empty());  // not before the endpoint
  EXPECT_TRUE(run(input, speculative(580)).tentative.empty());  // the same 20th frame
  EXPECT_EQ(run(input, speculative(570)).tentative.size(), 1u);
  EXPECT_TRUE(run(frames('.', 1) + "########" + frames('.', 1), speculative()).tentative.empty());
  EndpointerOptions o = classic();
  o.speculative_after_ms = 200;
  EXPECT_TRUE(run(input, o).tentative.empty());
}

TEST(Endpointer, OldestNeededFrameCoversPreRollAndOpenUtterance) {
  Endpointer e(EndpointerOptions{});
  for (int i = 0; i < 100; ++i) e.push(false);
  EXPECT_EQ(e.oldest_needed_frame(), 100 - 10 - 10);
  for (int i = 0; i < 50; ++i) e.push(true);
  EXPECT_EQ(e.oldest_needed_frame(), 100 - 10);
}

}  // namespace
}  // namespace voicedesk::audio
