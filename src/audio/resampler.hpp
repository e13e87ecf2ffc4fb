#pragma once

#include <cstddef>
#include <memory>
#include <span>
#include <vector>

#include "audio/wav.hpp"

namespace voicedesk::audio {

// Streaming mono resampler over libsoxr. Filter state is kept across calls, so
// the output depends only on the samples fed, never on how they were chunked.
class StreamResampler {
 public:
  StreamResampler(double input_rate, double output_rate);
  ~StreamResampler();
  StreamResampler(StreamResampler&&) noexcept;
  StreamResampler& operator=(StreamResampler&&) noexcept;

  // Appends every output sample that `input` makes available to `output`.
  void process(std::span<const float> input, std::vector<float>& output);
  // Drains the filter's delay line at end of stream; the resampler is then spent.
  void flush(std::vector<float>& output);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Resamples a whole interleaved buffer at once (file input), best quality.
std::vector<float> resample_interleaved(std::span<const float> interleaved, int channels,
                                        double input_rate, double output_rate);

// A decoded file as mono (channels averaged) at sample_rate, best quality: what
// every transcriber takes, whether the file came from disk or over the network.
std::vector<float> mono_at_rate(const WavAudio& wav, int sample_rate);

}  // namespace voicedesk::audio
