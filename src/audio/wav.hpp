#pragma once

#include <cstddef>
#include <filesystem>
#include <span>
#include <stdexcept>
#include <vector>

namespace voicedesk::audio {

// Every rejection of a WAV file or WAV I/O failure. what() is a single line meant for the user.
class WavError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

enum class SampleFormat { Pcm16, Pcm24, Float32 };

struct WavAudio {
  int sample_rate = 0;
  int channels = 0;
  SampleFormat format = SampleFormat::Pcm16;  // as stored in the file
  // Interleaved. Integer formats are scaled by 1/32768 (16-bit) or 1/8388608 (24-bit); float
  // samples are clamped to [-1, 1] so hostile values such as 1e38 cannot overflow later DSP.
  std::vector<float> samples;

  std::size_t frames() const {
    return channels > 0 ? samples.size() / static_cast<std::size_t>(channels) : 0;
  }
};

// Accepts RIFF/WAVE holding PCM 16/24-bit or float 32-bit (plain or WAVE_FORMAT_EXTENSIBLE),
// mono or stereo, 8000..48000 Hz. Input may be hostile: every header field is checked against the
// bytes actually present, so a malformed file throws WavError rather than over-reading or
// over-allocating.
WavAudio parse_wav(std::span<const std::byte> bytes);

// Files over 1 GiB are refused before reading. Error messages start with "PATH: ".
WavAudio read_wav(const std::filesystem::path& path);

// Samples are clamped to [-1, 1] (NaN becomes 0) and rounded to the nearest 16-bit value. Throws
// WavError for a sample rate or channel count parse_wav would refuse, or a partial last frame.
std::vector<std::byte> encode_wav_pcm16(std::span<const float> interleaved, int sample_rate,
                                        int channels);

// Writes PATH.tmp and renames it over PATH, so readers never see a half-written file. Error
// messages start with "PATH: ".
void write_wav_pcm16(const std::filesystem::path& path, std::span<const float> interleaved,
                     int sample_rate, int channels);

}  // namespace voicedesk::audio
