#include "audio/resampler.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <numbers>

#include "audio/test_signals.hpp"

namespace voicedesk::audio {
namespace {

using test::db;
using test::rms;
using test::sine;

std::vector<float> resample_in_chunks(std::span<const float> input, std::size_t chunk) {
  StreamResampler resampler(48000, 16000);
  std::vector<float> out;
  for (std::size_t i = 0; i < input.size(); i += chunk) {
    resampler.process(input.subspan(i, std::min(chunk, input.size() - i)), out);
  }
  resampler.flush(out);
  return out;
}

// Steady-state part of a resampled tone: skips the filter's start-up and tail.
std::span<const float> steady(const std::vector<float>& x) {
  return std::span<const float>(x).subspan(1600, x.size() - 3200);
}

TEST(StreamResampler, OneKilohertzKeepsLevelWithinATenthOfADecibel) {
  const auto input = sine(1000, 0.5, 48000, 48000);
  const auto out = resample_in_chunks(input, 480);
  ASSERT_NEAR(static_cast<double>(out.size()), 16000.0, 2.0);
  const double gain_db = db(rms(steady(out)) / (0.5 / std::sqrt(2.0)));
  EXPECT_LT(std::abs(gain_db), 0.1) << "gain " << gain_db << " dB";
}

TEST(StreamResampler, OneKilohertzKeepsFrequency) {
  const auto out = resample_in_chunks(sine(1000, 0.5, 48000, 48000), 480);
  // Correlate with 1 kHz at 16 kHz: a shifted frequency would decorrelate over a second.
  const auto s = steady(out);
  double in_phase = 0;
  double quadrature = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const double phase = 2.0 * std::numbers::pi * 1000.0 * static_cast<double>(i) / 16000.0;
    in_phase += s[i] * std::sin(phase);
    quadrature += s[i] * std::cos(phase);
  }
  const double amplitude = 2.0 * std::hypot(in_phase, quadrature) / static_cast<double>(s.size());
  EXPECT_NEAR(amplitude, 0.5, 0.005);
}

TEST(StreamResampler, TenKilohertzIsAttenuatedBySixtyDecibels) {
  const auto out = resample_in_chunks(sine(10000, 0.5, 48000, 48000), 480);
  const double attenuation_db = db(rms(steady(out)) / (0.5 / std::sqrt(2.0)));
  EXPECT_LT(attenuation_db, -60.0) << "attenuation " << attenuation_db << " dB";
}

TEST(StreamResampler, OutputIsBitIdenticalWhateverTheChunking) {
  // A non-periodic signal so that a misplaced sample cannot hide.
  std::vector<float> input = sine(440, 0.3, 48000, 48000 * 2);
  const auto chirp = sine(3100, 0.2, 48000 * 1.37, input.size());
  for (std::size_t i = 0; i < input.size(); ++i)
    input[i] += chirp[i] * static_cast<float>(i % 97) / 97.0f;

  const auto reference = resample_in_chunks(input, 4800);
  for (std::size_t chunk : {1u, 7u, 480u}) {
    const auto out = resample_in_chunks(input, chunk);
    ASSERT_EQ(out.size(), reference.size()) << "chunk " << chunk;
    EXPECT_EQ(0, std::memcmp(out.data(), reference.data(), out.size() * sizeof(float)))
        << "chunk " << chunk;
  }
}

TEST(ResampleInterleaved, StereoSixteenToFortyEightKeepsChannelsApart) {
  const auto left = sine(500, 0.4, 16000, 16000);
  std::vector<float> stereo(left.size() * 2);
  for (std::size_t i = 0; i < left.size(); ++i) stereo[2 * i] = left[i];
  const auto out = resample_interleaved(stereo, 2, 16000, 48000);
  ASSERT_NEAR(static_cast<double>(out.size()), 96000.0, 4.0);
  std::vector<float> out_left;
  std::vector<float> out_right;
  for (std::size_t i = 0; i + 1 < out.size(); i += 2) {
    out_left.push_back(out[i]);
    out_right.push_back(out[i + 1]);
  }
  EXPECT_NEAR(rms(steady(out_left)), 0.4 / std::sqrt(2.0), 0.004);
  EXPECT_LT(rms(out_right), 1e-6);
}

}  // namespace
}  // namespace voicedesk::audio
