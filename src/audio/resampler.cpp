#include "audio/resampler.hpp"

#include <soxr.h>

#include <stdexcept>
#include <string>

namespace voicedesk::audio {
namespace {

struct SoxrDeleter {
  void operator()(soxr_t handle) const { soxr_delete(handle); }
};
using SoxrHandle = std::unique_ptr<soxr, SoxrDeleter>;

SoxrHandle make_soxr(double input_rate, double output_rate, unsigned channels,
                     unsigned long quality_recipe) {
  soxr_error_t error = nullptr;
  const soxr_io_spec_t io = soxr_io_spec(SOXR_FLOAT32_I, SOXR_FLOAT32_I);
  const soxr_quality_spec_t quality = soxr_quality_spec(quality_recipe, 0);
  // One thread: a stream is one of hundreds per core, and soxr's OpenMP split
  // would only add scheduling noise.
  const soxr_runtime_spec_t runtime = soxr_runtime_spec(1);
  soxr_t handle = soxr_create(input_rate, output_rate, channels, &error, &io, &quality, &runtime);
  if (error != nullptr) {
    throw std::runtime_error(std::string("libsoxr: ") + error);
  }
  return SoxrHandle(handle);
}

}  // namespace

struct StreamResampler::Impl {
  SoxrHandle soxr;
  double ratio;
};

// SOXR_LQ keeps the 1 kHz passband flat to well under 0.1 dB and rejects the
// band above the 16 kHz Nyquist by more than 90 dB, which is all the VAD needs,
// at a fraction of the HQ filter's cost (see bench/).
StreamResampler::StreamResampler(double input_rate, double output_rate)
    : impl_(new Impl{make_soxr(input_rate, output_rate, 1, SOXR_LQ), output_rate / input_rate}) {}

StreamResampler::~StreamResampler() = default;
StreamResampler::StreamResampler(StreamResampler&&) noexcept = default;
StreamResampler& StreamResampler::operator=(StreamResampler&&) noexcept = default;

void StreamResampler::process(std::span<const float> input, std::vector<float>& output) {
  if (input.empty()) return;
  const std::size_t offset = output.size();
  // soxr emits at most ratio * input plus what its FIFO already held.
  const std::size_t capacity =
      static_cast<std::size_t>(static_cast<double>(input.size()) * impl_->ratio) + 64;
  output.resize(offset + capacity);
  std::size_t consumed = 0;
  std::size_t produced = 0;
  soxr_error_t error = soxr_process(impl_->soxr.get(), input.data(), input.size(), &consumed,
                                    output.data() + offset, capacity, &produced);
  if (error != nullptr) throw std::runtime_error(std::string("libsoxr: ") + error);
  output.resize(offset + produced);
  if (consumed != input.size()) throw std::logic_error("libsoxr left input unconsumed");
}

void StreamResampler::flush(std::vector<float>& output) {
  constexpr std::size_t kChunk = 1024;
  for (;;) {
    const std::size_t offset = output.size();
    output.resize(offset + kChunk);
    std::size_t produced = 0;
    soxr_error_t error = soxr_process(impl_->soxr.get(), nullptr, 0, nullptr,
                                      output.data() + offset, kChunk, &produced);
    if (error != nullptr) throw std::runtime_error(std::string("libsoxr: ") + error);
    output.resize(offset + produced);
    if (produced < kChunk) return;
  }
}

std::vector<float> resample_interleaved(std::span<const float> interleaved, int channels,
                                        double input_rate, double output_rate) {
  if (channels <= 0) throw std::invalid_argument("resample_interleaved: channels must be > 0");
  if (input_rate == output_rate) return {interleaved.begin(), interleaved.end()};
  const std::size_t frames = interleaved.size() / static_cast<std::size_t>(channels);
  const auto out_frames =
      static_cast<std::size_t>(static_cast<double>(frames) * output_rate / input_rate + 0.5);
  std::vector<float> output(out_frames * static_cast<std::size_t>(channels));
  SoxrHandle soxr = make_soxr(input_rate, output_rate, static_cast<unsigned>(channels), SOXR_VHQ);
  std::size_t produced = 0;
  soxr_error_t error = soxr_process(soxr.get(), interleaved.data(), frames, nullptr, output.data(),
                                    out_frames, &produced);
  std::size_t total = produced;
  // A null input marks end of stream so soxr drains its delay line.
  while (error == nullptr && total < out_frames) {
    error = soxr_process(soxr.get(), nullptr, 0, nullptr,
                         output.data() + total * static_cast<std::size_t>(channels),
                         out_frames - total, &produced);
    if (produced == 0) break;
    total += produced;
  }
  if (error != nullptr) throw std::runtime_error(std::string("libsoxr: ") + error);
  output.resize(total * static_cast<std::size_t>(channels));
  return output;
}

std::vector<float> mono_at_rate(const WavAudio& wav, int sample_rate) {
  std::vector<float> mono(wav.frames());
  const auto channels = static_cast<std::size_t>(wav.channels);
  for (std::size_t i = 0; i < mono.size(); ++i) {
    float sum = 0;
    for (std::size_t c = 0; c < channels; ++c) sum += wav.samples[i * channels + c];
    mono[i] = sum / static_cast<float>(channels);
  }
  return resample_interleaved(mono, 1, wav.sample_rate, sample_rate);
}

}  // namespace voicedesk::audio
