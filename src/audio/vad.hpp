#pragma once

#include <cstdint>
#include <memory>
#include <span>

namespace voicedesk::audio {

enum class NoiseSuppression { Off, Low, Moderate, High, VeryHigh };

struct VadOptions {
  // 0..3 as in py-webrtcvad: 3 rejects the most non-speech (and clips the most speech).
  int aggressiveness = 3;
  bool high_pass = false;
  NoiseSuppression noise_suppression = NoiseSuppression::Off;
};

// WebRTC's voice activity detector, as shipped in Debian's
// libwebrtc-audio-processing 0.3, on 16 kHz mono audio in 10 ms frames.
class VoiceActivityDetector {
 public:
  static constexpr int kSampleRate = 16000;
  static constexpr std::size_t kFrameSamples = 160;  // 10 ms

  explicit VoiceActivityDetector(const VadOptions& options = {});
  ~VoiceActivityDetector();
  VoiceActivityDetector(VoiceActivityDetector&&) noexcept;
  VoiceActivityDetector& operator=(VoiceActivityDetector&&) noexcept;

  // Classifies one 10 ms frame. Earlier frames matter: the detector adapts
  // its noise model and applies a hangover after speech.
  bool is_speech(std::span<const std::int16_t, kFrameSamples> frame);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace voicedesk::audio
