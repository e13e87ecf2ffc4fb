#pragma once

#include <cstddef>
#include <memory>
#include <span>
#include <stdexcept>
#include <vector>

#include "stt/transcriber.hpp"

namespace voicedesk::stt {

// Whisper's log-mel spectrogram of 16 kHz audio: log10 of the mel power, raised to at least 8
// decades below the loudest value, then mapped by (x + 4) / 4, the scale the models expect.
struct MelSpectrogram {
  int n_mels = 0;
  // All frames, including those over the 30 s of zeros appended after the audio, so that a
  // 3000-frame decoding window starting anywhere in the audio is always complete.
  int n_frames = 0;
  // whisper.cpp's n_len_org, which whisper.cpp takes as the end of the audio when it seeks through
  // it: 1 + (n_samples + 200 - 400) / 160 in C++'s truncating division. From 200 samples on, that
  // is the number of frames whose whole 400-sample window lies inside the reflect pad plus the
  // audio; for 41..199 samples the truncation makes it 1 (no window fits), for 0..40 it is 0.
  int n_frames_audio = 0;
  std::vector<float> data;  // row-major [mel][frame]

  // Throws std::out_of_range outside [0, n_mels) x [0, n_frames), like std::vector::at.
  float at(int mel, int frame) const {
    if (mel < 0 || mel >= n_mels || frame < 0 || frame >= n_frames) {
      throw std::out_of_range("MelSpectrogram::at: index out of range");
    }
    return data[static_cast<std::size_t>(mel) * static_cast<std::size_t>(n_frames) +
                static_cast<std::size_t>(frame)];
  }
};

// Computes Whisper's front end numerically as whisper.cpp does (the reference our engine is checked
// against): periodic Hann window of 400 samples, hop 160, |FFT|^2 over 201 bins, the model's mel
// filter bank, log10(max(x, 1e-10)), the clamp and the scaling above. Audio is reflect-padded by
// 200 samples at the start and followed by 30 s of zeros. Immutable once built, so one extractor
// may serve several threads at once.
class MelExtractor {
 public:
  static constexpr int kFftSize = 400;                      // 25 ms at 16 kHz
  static constexpr int kHopLength = 160;                    // 10 ms
  static constexpr int kFftBins = kFftSize / 2 + 1;         // DC .. Nyquist
  static constexpr int kPaddingSamples = 30 * kSampleRate;  // zeros appended after the audio

  // `filters` is the model's mel filter bank: n_mels rows of kFftBins weights (80 or 128 mels in
  // released models). Throws std::invalid_argument when n_mels < 1 or filters has another size.
  MelExtractor(int n_mels, std::vector<float> filters);

  int n_mels() const { return n_mels_; }

  // `audio_16k`: 16 kHz mono samples, normally in [-1, 1]. `threads` >= 1 splits the frames among
  // that many threads (the calling one included); the result does not depend on it. Throws
  // std::invalid_argument when threads < 1 and std::length_error for audio over INT_MAX samples
  // (37 hours), whose frame count would not fit MelSpectrogram.
  MelSpectrogram compute(std::span<const float> audio_16k, int threads = 1) const;

 private:
  struct FftPlan;  // FFTW's plan, kept out of this header

  int n_mels_;
  std::vector<float> filters_;
  // Each filter row's nonzero bins are [filter_begin_[m], filter_end_[m]): the triangles span a few
  // bins each, so skipping the zeros makes the filter bank product about forty times cheaper.
  std::vector<int> filter_begin_;
  std::vector<int> filter_end_;
  // Shared so that copies of an extractor reuse one plan; FFTW only reads it when executing.
  std::shared_ptr<const FftPlan> plan_;
};

}  // namespace voicedesk::stt
