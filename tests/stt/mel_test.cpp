#include "stt/mel.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <numbers>
#include <optional>
#include <stdexcept>
#include <thread>
#include <vector>

#include "audio/test_signals.hpp"
#include "audio/wav.hpp"

namespace voicedesk::stt {
namespace {

namespace fs = std::filesystem;

fs::path shared_path(const fs::path& relative) {
  const char* env = std::getenv("VOICEDESK_SHARED_DIR");
  return fs::path(env ? env : VOICEDESK_TEST_SHARED_DIR) / relative;
}

struct MelFilters {
  int n_mels = 0;
  std::vector<float> weights;  // n_mels x 201
};

// The mel filter bank of a whisper.cpp (ggml) model file: magic, 11 int32 hyperparameters, then
// int32 n_mel, int32 n_fft and n_mel x n_fft float32, all little-endian like this host.
MelFilters read_model_filters(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  const auto read_i32 = [&in] {
    std::int32_t v = 0;
    in.read(reinterpret_cast<char*>(&v), sizeof v);
    return v;
  };
  if (read_i32() != 0x67676d6c) throw std::runtime_error(path.string() + ": not a ggml model");
  for (int i = 0; i < 11; ++i) read_i32();
  MelFilters filters;
  filters.n_mels = read_i32();
  const std::int32_t n_fft = read_i32();
  if (filters.n_mels < 1 || filters.n_mels > 128 || n_fft != MelExtractor::kFftBins) {
    throw std::runtime_error(path.string() + ": unexpected mel filter shape");
  }
  filters.weights.resize(static_cast<std::size_t>(filters.n_mels) * MelExtractor::kFftBins);
  in.read(reinterpret_cast<char*>(filters.weights.data()),
          static_cast<std::streamsize>(filters.weights.size() * sizeof(float)));
  if (!in) throw std::runtime_error(path.string() + ": truncated mel filters");
  return filters;
}

std::vector<float> read_f32(const fs::path& path, std::size_t count) {
  std::vector<float> values(count);
  std::ifstream in(path, std::ios::binary);
  in.read(reinterpret_cast<char*>(values.data()),
          static_cast<std::streamsize>(count * sizeof(float)));
  if (!in) throw std::runtime_error(path.string() + ": shorter than expected");
  return values;
}

bool bit_identical(const MelSpectrogram& a, const MelSpectrogram& b) {
  return a.n_frames == b.n_frames && a.data.size() == b.data.size() &&
         std::memcmp(a.data.data(), b.data.data(), a.data.size() * sizeof(float)) == 0;
}

// Index of the mel with the largest value in one frame.
int loudest_mel(const MelSpectrogram& mel, int frame) {
  int best = 0;
  for (int m = 1; m < mel.n_mels; ++m) {
    if (mel.at(m, frame) > mel.at(best, frame)) best = m;
  }
  return best;
}

class Mel : public ::testing::Test {
 protected:
  void SetUp() override {
    const fs::path model = shared_path("whisper-ref/ggml-micro-random.en-f32.bin");
    if (!fs::exists(model)) GTEST_SKIP() << model << " is missing (the Whisper reference model)";
    filters_ = read_model_filters(model);
    extractor_.emplace(filters_.n_mels, filters_.weights);
  }

  // A filter's centre frequency: the weighted mean of its bins' frequencies.
  double filter_centre_hz(int mel) const {
    constexpr double kBinHz = double{kSampleRate} / MelExtractor::kFftSize;
    double weighted = 0;
    double total = 0;
    for (int k = 0; k < MelExtractor::kFftBins; ++k) {
      const double w = filters_.weights[static_cast<std::size_t>(mel * MelExtractor::kFftBins + k)];
      weighted += w * k * kBinHz;
      total += w;
    }
    return weighted / total;
  }

  MelFilters filters_;
  std::optional<MelExtractor> extractor_;
};

TEST_F(Mel, MatchesWhisperCppOnJfk) {
  const fs::path wav_path = shared_path("audio/jfk.wav");
  const fs::path reference_path = shared_path("whisper-ref/reference-f32/mel_jfk_80x3000.f32");
  if (!fs::exists(wav_path)) GTEST_SKIP() << wav_path << " is missing (the shared speech clips)";
  if (!fs::exists(reference_path)) GTEST_SKIP() << reference_path << " is missing";
  const audio::WavAudio wav = audio::read_wav(wav_path);
  ASSERT_EQ(wav.sample_rate, kSampleRate);
  ASSERT_EQ(wav.channels, 1);
  ASSERT_EQ(wav.frames(), 176000u);

  const MelSpectrogram mel = extractor_->compute(wav.samples);
  // whisper.cpp: n_len = (176000 + 480000) / 160, n_len_org = 1 + (176000 + 200 - 400) / 160.
  EXPECT_EQ(mel.n_mels, 80);
  EXPECT_EQ(mel.n_frames, 4100);
  EXPECT_EQ(mel.n_frames_audio, 1099);
  ASSERT_EQ(mel.data.size(), 80u * 4100u);

  constexpr int kRefFrames = 3000;
  const std::vector<float> reference = read_f32(reference_path, 80u * kRefFrames);
  double max_diff = 0;
  int worst_mel = 0;
  int worst_frame = 0;
  for (int m = 0; m < 80; ++m) {
    for (int f = 0; f < kRefFrames; ++f) {
      const double diff =
          std::abs(mel.at(m, f) - reference[static_cast<std::size_t>(m * kRefFrames + f)]);
      if (diff > max_diff) {
        max_diff = diff;
        worst_mel = m;
        worst_frame = f;
      }
    }
  }
  std::cout << "max |ours - whisper.cpp| over 80 x 3000 mel values: " << max_diff << " (mel "
            << worst_mel << ", frame " << worst_frame << ")\n";
  RecordProperty("max_mel_diff", std::to_string(max_diff));
  EXPECT_LE(max_diff, 2e-3) << "at mel " << worst_mel << ", frame " << worst_frame;
}

TEST_F(Mel, ThreadCountDoesNotChangeTheResult) {
  const std::vector<float> speech = test::speech_like(7.3, kSampleRate);
  const MelSpectrogram single = extractor_->compute(speech, 1);
  for (int threads : {2, 3, 8}) {
    EXPECT_TRUE(bit_identical(single, extractor_->compute(speech, threads)))
        << threads << " threads";
  }
}

TEST_F(Mel, OneExtractorServesConcurrentCallers) {
  const std::vector<float> speech = test::speech_like(5.0, kSampleRate);
  const MelSpectrogram expected = extractor_->compute(speech);
  std::vector<MelSpectrogram> results(4);
  {
    std::vector<std::jthread> callers;
    for (MelSpectrogram& result : results) {
      callers.emplace_back([&] { result = extractor_->compute(speech, 2); });
    }
  }
  for (const MelSpectrogram& result : results) EXPECT_TRUE(bit_identical(expected, result));
}

TEST_F(Mel, SinePeaksInTheFilterCentredNearestItsFrequency) {
  constexpr double kToneHz = 1000.0;
  const std::vector<float> tone = test::sine(kToneHz, 0.5, kSampleRate, kSampleRate);
  const MelSpectrogram mel = extractor_->compute(tone);
  int nearest = 0;
  for (int m = 1; m < mel.n_mels; ++m) {
    if (std::abs(filter_centre_hz(m) - kToneHz) < std::abs(filter_centre_hz(nearest) - kToneHz)) {
      nearest = m;
    }
  }
  for (int frame : {10, 50, 90}) EXPECT_EQ(loudest_mel(mel, frame), nearest) << "frame " << frame;
}

// A tone between two FFT bins leaks into every bin; the Hann window's side lobes fall so fast
// that filters an octave away see over 60 dB less, where a rectangular window gives about 30.
TEST_F(Mel, HannWindowKeepsOffBinToneLeakageLow) {
  constexpr double kToneHz = 1020.0;  // half-way between bins 25 and 26
  const std::vector<float> tone = test::sine(kToneHz, 0.5, kSampleRate, kSampleRate);
  const MelSpectrogram mel = extractor_->compute(tone);
  constexpr int kFrame = 50;
  const float peak = mel.at(loudest_mel(mel, kFrame), kFrame);
  float distant = -100;
  for (int m = 0; m < mel.n_mels; ++m) {
    const double centre = filter_centre_hz(m);
    if (centre < kToneHz / 2 || centre > kToneHz * 2)
      distant = std::max(distant, mel.at(m, kFrame));
  }
  // Values are log10(power) / 4, so 60 dB is 6 decades is 1.5.
  EXPECT_GT(peak - distant, 1.5f) << "peak " << peak << ", loudest distant filter " << distant;
}

// Reflect padding makes the first frame, centred on sample 0, see the mirror image of the audio
// before it. A cosine is its own mirror image about 0, and at 1 kHz a hop is exactly 10 periods,
// so every frame sees the same samples; zero padding would dim frame 0 instead.
TEST_F(Mel, StartIsReflectPadded) {
  std::vector<float> cosine(kSampleRate);
  for (std::size_t i = 0; i < cosine.size(); ++i) {
    cosine[i] = static_cast<float>(
        0.5 * std::cos(2.0 * std::numbers::pi * 1000.0 * static_cast<double>(i) / kSampleRate));
  }
  const MelSpectrogram mel = extractor_->compute(cosine);
  for (int m = 0; m < mel.n_mels; ++m) {
    for (int frame : {0, 1}) {
      EXPECT_NEAR(mel.at(m, frame), mel.at(m, 10), 1e-4) << "mel " << m << ", frame " << frame;
    }
  }
}

TEST_F(Mel, SilenceSitsAtTheLogFloor) {
  // log10(1e-10) = -10, (-10 + 4) / 4 = -1.5; the clamp to max - 8 changes nothing.
  const MelSpectrogram mel = extractor_->compute(std::vector<float>(5 * kSampleRate, 0.0f));
  EXPECT_EQ(mel.n_frames, 3500);
  EXPECT_EQ(mel.n_frames_audio, 499);
  EXPECT_EQ(std::count(mel.data.begin(), mel.data.end(), -1.5f),
            static_cast<std::ptrdiff_t>(mel.data.size()));
}

// whisper.cpp's reflect padding reads past clips of 200 samples or fewer; ours must not (the
// sanitizer build checks), and the frame counts still follow whisper.cpp's arithmetic.
TEST_F(Mel, ClipsShorterThanTheWindowAreSafe) {
  struct Case {
    std::size_t samples;
    int n_frames;
    int n_frames_audio;
  };
  for (const Case c : {Case{0, 3000, 0}, Case{1, 3000, 0}, Case{40, 3000, 0}, Case{41, 3000, 1},
                       Case{199, 3001, 1}, Case{200, 3001, 1}, Case{360, 3002, 2}}) {
    const MelSpectrogram mel = extractor_->compute(std::vector<float>(c.samples, 0.25f), 2);
    EXPECT_EQ(mel.n_frames, c.n_frames) << c.samples << " samples";
    EXPECT_EQ(mel.n_frames_audio, c.n_frames_audio) << c.samples << " samples";
    EXPECT_EQ(mel.data.size(), static_cast<std::size_t>(80 * c.n_frames));
    EXPECT_TRUE(
        std::all_of(mel.data.begin(), mel.data.end(), [](float v) { return std::isfinite(v); }));
  }
}

TEST(MelExtractor, RejectsBadArguments) {
  EXPECT_THROW(MelExtractor(80, std::vector<float>(80 * MelExtractor::kFftBins - 1)),
               std::invalid_argument);
  EXPECT_THROW(MelExtractor(128, std::vector<float>(80 * MelExtractor::kFftBins)),
               std::invalid_argument);
  EXPECT_THROW(MelExtractor(0, {}), std::invalid_argument);
  const MelExtractor extractor(2, std::vector<float>(2 * MelExtractor::kFftBins, 1.0f));
  EXPECT_THROW(extractor.compute(std::vector<float>(100), 0), std::invalid_argument);
  EXPECT_THROW(extractor.compute(std::vector<float>(100)).at(2, 0), std::out_of_range);
}

}  // namespace
}  // namespace voicedesk::stt
