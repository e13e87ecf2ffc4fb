#include "stt/mel.hpp"

#include <fftw3.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <iterator>
#include <limits>
#include <mutex>
#include <new>
#include <numbers>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>

namespace voicedesk::stt {

namespace {

constexpr int kPadStart = MelExtractor::kFftSize / 2;  // reflect padding, as torch.stft(center)
constexpr double kPowerFloor = 1e-10;                  // log10 floor: -10
constexpr double kDynamicRange = 8.0;                  // decades kept below the maximum

// FFTW's planner (plan creation and destruction) is not thread-safe; its execute functions are.
// Every plan this file makes or destroys goes through this lock.
std::mutex& fftw_planner_mutex() {
  static std::mutex mutex;
  return mutex;
}

struct FftwFree {
  void operator()(void* p) const { fftwf_free(p); }
};
template <typename T>
using FftwBuffer = std::unique_ptr<T[], FftwFree>;

// fftwf_malloc gives the SIMD alignment the plan was made with, which the new-array execute
// functions require of every array passed to them.
template <typename T>
FftwBuffer<T> fftw_alloc(int n) {
  auto* p = static_cast<T*>(fftwf_malloc(sizeof(T) * static_cast<std::size_t>(n)));
  if (p == nullptr) throw std::bad_alloc();
  return FftwBuffer<T>(p);
}

// Periodic Hann window (torch.hann_window's default), computed in double; whisper.cpp's
// float cosf version differs by under 1e-7.
const std::array<float, MelExtractor::kFftSize>& hann_window() {
  static const auto window = [] {
    std::array<float, MelExtractor::kFftSize> w{};
    for (int i = 0; i < MelExtractor::kFftSize; ++i) {
      w[static_cast<std::size_t>(i)] = static_cast<float>(
          0.5 * (1.0 - std::cos(2.0 * std::numbers::pi * i / MelExtractor::kFftSize)));
    }
    return w;
  }();
  return window;
}

float log_power(double mel_power) {
  return static_cast<float>(std::log10(std::max(mel_power, kPowerFloor)));
}

// Per-thread FFT arrays: each thread executes the shared plan on its own buffers.
struct FftScratch {
  FftwBuffer<float> in = fftw_alloc<float>(MelExtractor::kFftSize);
  FftwBuffer<fftwf_complex> out = fftw_alloc<fftwf_complex>(MelExtractor::kFftBins);
};

// Frame `frame` of the padded signal, windowed: torch.stft(center=True)'s reflection of
// audio[1..200] before the audio, zeros after it. Read in place rather than from a padded copy,
// which would double the memory compute() touches. torch's reflection needs more than 200 samples;
// shorter clips (where whisper.cpp reads past its input) get zeros where the mirror image runs out.
void window_frame(std::span<const float> audio, int frame, float* out) {
  const auto& window = hann_window();
  const std::int64_t start = std::int64_t{frame} * MelExtractor::kHopLength - kPadStart;
  for (std::size_t j = 0; j < window.size(); ++j) {
    const std::int64_t t = start + static_cast<std::int64_t>(j);
    const auto source = static_cast<std::size_t>(t < 0 ? -t : t);  // padded[200 - k] = audio[k]
    out[j] = source < audio.size() ? window[j] * audio[source] : 0.0f;
  }
}

}  // namespace

struct MelExtractor::FftPlan {
  fftwf_plan plan = nullptr;

  FftPlan() {
    // FFTW_ESTIMATE picks the algorithm by rule rather than by timing trials, so every extractor
    // computes bit-identical spectra and construction stays cheap.
    const std::lock_guard lock(fftw_planner_mutex());
    FftScratch scratch;
    plan = fftwf_plan_dft_r2c_1d(kFftSize, scratch.in.get(), scratch.out.get(), FFTW_ESTIMATE);
    if (plan == nullptr) throw std::runtime_error("FFTW could not plan a 400-point real FFT");
  }
  ~FftPlan() {
    const std::lock_guard lock(fftw_planner_mutex());
    fftwf_destroy_plan(plan);
  }
  FftPlan(const FftPlan&) = delete;
  FftPlan& operator=(const FftPlan&) = delete;
};

MelExtractor::MelExtractor(int n_mels, std::vector<float> filters)
    : n_mels_(n_mels), filters_(std::move(filters)) {
  if (n_mels < 1) {
    throw std::invalid_argument("mel filter bank needs at least one mel, got " +
                                std::to_string(n_mels));
  }
  const std::size_t expected = static_cast<std::size_t>(n_mels) * kFftBins;
  if (filters_.size() != expected) {
    throw std::invalid_argument("mel filter bank has " + std::to_string(filters_.size()) +
                                " weights, expected " + std::to_string(n_mels) + " x " +
                                std::to_string(kFftBins) + " = " + std::to_string(expected));
  }
  filter_begin_.resize(static_cast<std::size_t>(n_mels));
  filter_end_.resize(static_cast<std::size_t>(n_mels));
  for (std::size_t m = 0; m < static_cast<std::size_t>(n_mels); ++m) {
    const auto row = filters_.begin() + static_cast<std::ptrdiff_t>(m * kFftBins);
    const auto nonzero = [](float w) { return w != 0.0f; };
    const auto first = std::find_if(row, row + kFftBins, nonzero);
    const auto last = std::find_if(std::make_reverse_iterator(row + kFftBins),
                                   std::make_reverse_iterator(first), nonzero)
                          .base();
    filter_begin_[m] = static_cast<int>(first - row);
    filter_end_[m] = static_cast<int>(last - row);
  }
  plan_ = std::make_shared<const FftPlan>();
}

MelSpectrogram MelExtractor::compute(std::span<const float> audio_16k, int threads) const {
  if (threads < 1) {
    throw std::invalid_argument("mel threads must be >= 1, got " + std::to_string(threads));
  }
  if (audio_16k.size() > static_cast<std::size_t>(std::numeric_limits<int>::max())) {
    throw std::length_error(
        "audio too long for a mel spectrogram: " + std::to_string(audio_16k.size()) + " samples");
  }
  const auto n_samples = static_cast<std::int64_t>(audio_16k.size());

  MelSpectrogram mel;
  mel.n_mels = n_mels_;
  // whisper.cpp's frame count: torch.stft(center=True) over audio + 30 s of zeros gives
  // 1 + (n + 480000) / 160 frames, and Whisper drops the last one.
  mel.n_frames = static_cast<int>((n_samples + kPaddingSamples) / kHopLength);
  mel.n_frames_audio = static_cast<int>(1 + (n_samples + kPadStart - kFftSize) / kHopLength);

  // Frames lying wholly in the appended zeros have zero power; they start as that value and only
  // the frames starting before the end of the audio (frame * 160 - 200 < n) are transformed. Those
  // are always fewer than n_frames, since the 30 s of zeros is longer than one window.
  const int n_audible = static_cast<int>((n_samples + kPadStart + kHopLength - 1) / kHopLength);
  mel.data.assign(static_cast<std::size_t>(n_mels_) * static_cast<std::size_t>(mel.n_frames),
                  log_power(0.0));

  const auto transform_frames = [&](FftScratch& scratch, int first, int last) {
    std::array<float, kFftBins> power{};
    for (int frame = first; frame < last; ++frame) {
      window_frame(audio_16k, frame, scratch.in.get());
      fftwf_execute_dft_r2c(plan_->plan, scratch.in.get(), scratch.out.get());
      for (std::size_t k = 0; k < kFftBins; ++k) {
        const float re = scratch.out[k][0];
        const float im = scratch.out[k][1];
        power[k] = re * re + im * im;
      }
      for (std::size_t m = 0; m < static_cast<std::size_t>(n_mels_); ++m) {
        const float* weights = filters_.data() + m * kFftBins;
        double sum = 0.0;  // double, as whisper.cpp accumulates
        for (int k = filter_begin_[m]; k < filter_end_[m]; ++k) {
          sum += static_cast<double>(power[static_cast<std::size_t>(k)]) * weights[k];
        }
        mel.data[m * static_cast<std::size_t>(mel.n_frames) + static_cast<std::size_t>(frame)] =
            log_power(sum);
      }
    }
  };

  // Frames are independent and each is computed the same way whichever thread takes it, so the
  // result is bit-identical for any thread count. Scratch buffers are allocated before any thread
  // starts, so a failed allocation throws here rather than terminating a worker.
  const int n_workers = std::min(threads, n_audible);
  std::vector<FftScratch> scratch(static_cast<std::size_t>(n_workers));
  const auto chunk_begin = [&](int w) {
    return static_cast<int>(static_cast<std::int64_t>(n_audible) * w / n_workers);
  };
  {
    std::vector<std::jthread> workers;
    workers.reserve(static_cast<std::size_t>(n_workers - 1));
    for (int w = 1; w < n_workers; ++w) {
      workers.emplace_back(transform_frames, std::ref(scratch[static_cast<std::size_t>(w)]),
                           chunk_begin(w), chunk_begin(w + 1));
    }
    transform_frames(scratch[0], chunk_begin(0), chunk_begin(1));
  }

  // Like whisper.cpp, the clamp floor is rounded to float and the scaling done in double.
  const auto floor = static_cast<float>(
      static_cast<double>(*std::max_element(mel.data.begin(), mel.data.end())) - kDynamicRange);
  for (float& v : mel.data) v = static_cast<float>((std::max(v, floor) + 4.0) / 4.0);
  return mel;
}

}  // namespace voicedesk::stt
