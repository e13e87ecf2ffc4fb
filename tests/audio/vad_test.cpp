#include "audio/vad.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "audio/test_signals.hpp"

namespace voicedesk::audio {
namespace {

// Fraction of 10 ms frames judged speech.
double speech_fraction(const std::vector<float>& signal, const VadOptions& options) {
  VoiceActivityDetector vad(options);
  std::vector<std::int16_t> pcm(signal.size());
  for (std::size_t i = 0; i < signal.size(); ++i) {
    pcm[i] = static_cast<std::int16_t>(std::lround(signal[i] * 32767.0f));
  }
  int speech = 0;
  int frames = 0;
  for (std::size_t i = 0; i + VoiceActivityDetector::kFrameSamples <= pcm.size();
       i += VoiceActivityDetector::kFrameSamples, ++frames) {
    speech += vad.is_speech(std::span<const std::int16_t, VoiceActivityDetector::kFrameSamples>(
                  pcm.data() + i, VoiceActivityDetector::kFrameSamples))
                  ? 1
                  : 0;
  }
  return static_cast<double>(speech) / frames;
}

TEST(VoiceActivityDetector, HearsSpeechLikeSignalAndNotSilence) {
  const auto speech = test::speech_like(3.0, 16000);
  EXPECT_GT(speech_fraction(speech, {}), 0.8);
  EXPECT_EQ(speech_fraction(std::vector<float>(16000 * 2, 0.0f), {}), 0.0);
}

TEST(VoiceActivityDetector, HigherAggressivenessFlagsNoMoreFrames) {
  // Speech at a low level in hiss: a borderline case where the modes differ.
  auto signal = test::speech_like(4.0, 16000);
  std::uint32_t state = 7;
  for (float& x : signal) {
    state = state * 1664525u + 1013904223u;
    x = x * 0.15f + (static_cast<float>(state >> 8) / 16777216.0f - 0.5f) * 0.03f;
  }
  double previous = 1.0;
  for (int aggressiveness = 0; aggressiveness <= 3; ++aggressiveness) {
    const double fraction = speech_fraction(signal, {aggressiveness, false, NoiseSuppression::Off});
    EXPECT_LE(fraction, previous + 1e-9) << "aggressiveness " << aggressiveness;
    previous = fraction;
  }
  EXPECT_LT(speech_fraction(signal, {3, false, NoiseSuppression::Off}),
            speech_fraction(signal, {0, false, NoiseSuppression::Off}));
}

TEST(VoiceActivityDetector, OptionalHighPassAndNoiseSuppressionStillHearSpeech) {
  const auto speech = test::speech_like(3.0, 16000);
  EXPECT_GT(speech_fraction(speech, {3, true, NoiseSuppression::High}), 0.5);
}

TEST(VoiceActivityDetector, RejectsAggressivenessOutOfRange) {
  EXPECT_THROW(VoiceActivityDetector({4, false, NoiseSuppression::Off}), std::invalid_argument);
  EXPECT_THROW(VoiceActivityDetector({-1, false, NoiseSuppression::Off}), std::invalid_argument);
}

}  // namespace
}  // namespace voicedesk::audio
