#include "audio/barge_in.hpp"

#include <algorithm>

namespace voicedesk::audio {

BargeInDetector::BargeInDetector(int voice_ms)
    : frames_needed_(std::max(1, (voice_ms + kFrameMs - 1) / kFrameMs)) {}

bool BargeInDetector::push(bool active) {
  if (!active) {
    run_ = 0;
    return false;
  }
  // Saturates at the threshold so a long run cannot overflow or fire again.
  if (run_ == frames_needed_) return false;
  return ++run_ == frames_needed_;
}

}  // namespace voicedesk::audio
