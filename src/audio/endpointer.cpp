#include "audio/endpointer.hpp"

#include <algorithm>

namespace voicedesk::audio {

std::string_view to_string(EndpointMode mode) {
  return mode == EndpointMode::Classic ? "classic" : "fast";
}

std::string_view to_string(EndReason reason) {
  switch (reason) {
    case EndReason::Silence:
      return "silence";
    case EndReason::MaxLength:
      return "max_length";
    case EndReason::EndOfStream:
      return "end_of_stream";
  }
  return "unknown";
}

Endpointer::Endpointer(const EndpointerOptions& options) : options_(options) {}

std::int64_t Endpointer::oldest_needed_frame() const {
  if (in_speech_) return current_.audio_begin;
  const int look_back = options_.mode == EndpointMode::Classic
                            ? kOnsetWindow
                            : kOnsetWindow + frames_for(options_.preroll_ms);
  return std::max(floor_frame_, next_frame_ - look_back);
}

void Endpointer::start_speech(std::int64_t onset, std::int64_t audio_begin, int active_frames) {
  in_speech_ = true;
  current_ = SpeechSegment{};
  current_.onset = onset;
  current_.audio_begin = std::max(audio_begin, floor_frame_);
  current_.speech_end = active_frames > 0 ? next_frame_ + 1 : onset;
  current_.active_frames = active_frames;
  silence_run_ = 0;
  classic_quiet_frames_ = 0;
}

bool Endpointer::is_utterance(const SpeechSegment& segment) const {
  const bool long_enough = options_.mode == EndpointMode::Classic ||
                           segment.active_frames * kFrameMs >= options_.min_speech_ms;
  return segment.active_frames > 0 && long_enough;
}

bool Endpointer::speculates() const {
  return options_.mode == EndpointMode::Fast && options_.speculative_after_ms > 0 &&
         frames_for(options_.speculative_after_ms) < frames_for(options_.trailing_silence_ms);
}

void Endpointer::end_speech(EndReason reason, std::int64_t audio_end, EndpointerStep& step) {
  in_speech_ = false;
  current_.reason = reason;
  current_.audio_end = audio_end;
  current_.decided = next_frame_;
  floor_frame_ = audio_end;
  if (is_utterance(current_)) {
    step.finished = current_;
  } else {
    step.discarded = current_;
  }
  if (tentative_) {
    const SpeechSegment& t = *tentative_;
    const bool same = step.finished && t.audio_begin == current_.audio_begin &&
                      t.onset == current_.onset && t.speech_end == current_.speech_end &&
                      t.audio_end == current_.audio_end &&
                      t.active_frames == current_.active_frames;
    (same ? step.finished_as_tentative : step.tentative_withdrawn) = true;
    tentative_.reset();
  }
  if (options_.mode == EndpointMode::Classic) {
    // The original clears its sliding window and look-back after every utterance.
    window_filled_ = 0;
    window_count_ = 0;
  }
}

EndpointerStep Endpointer::push(bool active) {
  const std::int64_t frame = next_frame_;
  // Slide the onset window (a ring indexed by frame number).
  const auto slot = static_cast<std::size_t>(frame % kOnsetWindow);
  if (window_filled_ == kOnsetWindow) {
    window_count_ -= window_[slot] ? 1 : 0;
  } else {
    ++window_filled_;
  }
  window_[slot] = active;
  window_count_ += active ? 1 : 0;

  EndpointerStep step;
  if (!in_speech_) {
    if (window_count_ >= kOnsetActive) {
      // Onset is the first active frame still inside the window.
      std::int64_t onset = frame;
      for (std::int64_t f = frame - window_filled_ + 1; f <= frame; ++f) {
        if (window_[static_cast<std::size_t>(f % kOnsetWindow)]) {
          onset = f;
          break;
        }
      }
      const std::int64_t audio_begin = options_.mode == EndpointMode::Classic
                                           ? frame - window_filled_ + 1
                                           : onset - frames_for(options_.preroll_ms);
      start_speech(onset, audio_begin, window_count_);
      step.onset = onset;
    }
    ++next_frame_;
    return step;
  }

  if (active) {
    if (current_.active_frames == 0) current_.onset = frame;  // first speech after a split
    ++current_.active_frames;
    current_.speech_end = frame + 1;
    silence_run_ = 0;
    if (tentative_) {
      tentative_.reset();
      step.tentative_withdrawn = true;
    }
  } else {
    ++silence_run_;
  }

  if (options_.mode == EndpointMode::Classic) {
    if (window_count_ <= kClassicQuietMax) {
      ++classic_quiet_frames_;
      if (classic_quiet_frames_ * kFrameMs >= options_.classic_silence_ms) {
        end_speech(EndReason::Silence, frame + 1, step);
      }
    } else {
      classic_quiet_frames_ = 0;
    }
  } else if (silence_run_ * kFrameMs >= options_.trailing_silence_ms) {
    end_speech(EndReason::Silence, current_.speech_end, step);
  }

  // Split before the next frame would take the utterance past the maximum.
  if (in_speech_ && (frame + 2 - current_.audio_begin) * kFrameMs > options_.max_utterance_ms) {
    // Split mid-speech: the cut is this utterance's end, and the next one
    // continues seamlessly from the following frame.
    current_.speech_end = frame + 1;
    end_speech(EndReason::MaxLength, frame + 1, step);
    ++next_frame_;
    start_speech(next_frame_, next_frame_, 0);
    step.onset = next_frame_;
    return step;
  }
  if (in_speech_ && speculates() && silence_run_ == frames_for(options_.speculative_after_ms) &&
      is_utterance(current_)) {
    // What end_speech() would finish if silence lasts until the endpoint.
    tentative_ = current_;
    tentative_->reason = EndReason::Silence;
    tentative_->audio_end = current_.speech_end;
    tentative_->decided = frame;
    step.tentative = tentative_;
  }
  ++next_frame_;
  return step;
}

EndpointerStep Endpointer::finish() {
  if (!in_speech_) return {};
  const std::int64_t audio_end =
      options_.mode == EndpointMode::Classic ? next_frame_ : current_.speech_end;
  EndpointerStep step;
  end_speech(EndReason::EndOfStream, audio_end, step);
  return step;
}

}  // namespace voicedesk::audio
