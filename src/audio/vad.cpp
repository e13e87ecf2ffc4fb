#include "audio/vad.hpp"

#include <webrtc/modules/audio_processing/include/audio_processing.h>
#include <webrtc/modules/interface/module_common_types.h>

#include <algorithm>
#include <stdexcept>
#include <string>

namespace voicedesk::audio {
namespace {

void check(int status, const char* what) {
  if (status != webrtc::AudioProcessing::kNoError) {
    throw std::runtime_error(std::string("webrtc audio processing: ") + what + " failed (" +
                             std::to_string(status) + ")");
  }
}

// The APM exposes webrtcvad's modes as likelihoods, in reverse order:
// kVeryLowLikelihood is mode 3, the most aggressive.
webrtc::VoiceDetection::Likelihood likelihood_for(int aggressiveness) {
  switch (aggressiveness) {
    case 0:
      return webrtc::VoiceDetection::kHighLikelihood;
    case 1:
      return webrtc::VoiceDetection::kModerateLikelihood;
    case 2:
      return webrtc::VoiceDetection::kLowLikelihood;
    case 3:
      return webrtc::VoiceDetection::kVeryLowLikelihood;
    default:
      throw std::invalid_argument("VAD aggressiveness must be 0..3, got " +
                                  std::to_string(aggressiveness));
  }
}

webrtc::NoiseSuppression::Level level_for(NoiseSuppression ns) {
  switch (ns) {
    case NoiseSuppression::Low:
      return webrtc::NoiseSuppression::kLow;
    case NoiseSuppression::Moderate:
      return webrtc::NoiseSuppression::kModerate;
    case NoiseSuppression::High:
      return webrtc::NoiseSuppression::kHigh;
    case NoiseSuppression::VeryHigh:
    case NoiseSuppression::Off:
      break;
  }
  return webrtc::NoiseSuppression::kVeryHigh;
}

}  // namespace

struct VoiceActivityDetector::Impl {
  std::unique_ptr<webrtc::AudioProcessing> apm;
  webrtc::AudioFrame frame;
};

VoiceActivityDetector::VoiceActivityDetector(const VadOptions& options) : impl_(new Impl) {
  impl_->apm.reset(webrtc::AudioProcessing::Create());
  if (!impl_->apm) throw std::runtime_error("webrtc audio processing: Create failed");
  webrtc::AudioProcessing& apm = *impl_->apm;
  check(apm.Initialize(kSampleRate, kSampleRate, kSampleRate, webrtc::AudioProcessing::kMono,
                       webrtc::AudioProcessing::kMono, webrtc::AudioProcessing::kMono),
        "Initialize");
  check(apm.high_pass_filter()->Enable(options.high_pass), "high-pass filter");
  if (options.noise_suppression != NoiseSuppression::Off) {
    check(apm.noise_suppression()->set_level(level_for(options.noise_suppression)),
          "noise suppression level");
    check(apm.noise_suppression()->Enable(true), "noise suppression");
  }
  // The APM's VAD reads frame_size_ms of samples from each 10 ms capture
  // buffer, so any size but 10 would read past it; longer decisions are made
  // by the caller from consecutive 10 ms ones.
  check(apm.voice_detection()->set_frame_size_ms(10), "VAD frame size");
  check(apm.voice_detection()->set_likelihood(likelihood_for(options.aggressiveness)),
        "VAD likelihood");
  check(apm.voice_detection()->Enable(true), "VAD");

  webrtc::AudioFrame& frame = impl_->frame;
  frame.sample_rate_hz_ = kSampleRate;
  frame.num_channels_ = 1;
  frame.samples_per_channel_ = kFrameSamples;
}

VoiceActivityDetector::~VoiceActivityDetector() = default;
VoiceActivityDetector::VoiceActivityDetector(VoiceActivityDetector&&) noexcept = default;
VoiceActivityDetector& VoiceActivityDetector::operator=(VoiceActivityDetector&&) noexcept = default;

bool VoiceActivityDetector::is_speech(std::span<const std::int16_t, kFrameSamples> samples) {
  webrtc::AudioFrame& frame = impl_->frame;
  std::copy(samples.begin(), samples.end(), frame.data_);
  check(impl_->apm->ProcessStream(&frame), "ProcessStream");
  return impl_->apm->voice_detection()->stream_has_voice();
}

}  // namespace voicedesk::audio
