#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string_view>

namespace voicedesk::audio {

// Endpointing decides where utterances begin and end from a stream of 30 ms
// voice-activity decisions. Frame indices count 30 ms frames from stream start.
inline constexpr int kFrameMs = 30;

enum class EndpointMode {
  // Reproduces AI-RTC-Agent's audio_processor.py decision for decision: onset
  // at >= 6 active of the last 10 frames; a silence counter that runs while
  // at most 1 of the last 10 frames is active (resetting otherwise) ends the
  // utterance once it reaches classic_silence_ms; the audio kept runs from the
  // 10-frame look-back to the deciding frame, trailing silence included.
  Classic,
  // Same onset; ends after trailing_silence_ms without an active frame, keeps
  // preroll_ms before the onset, splits at max_utterance_ms and drops bursts
  // with less than min_speech_ms of active frames.
  Fast,
};

std::string_view to_string(EndpointMode mode);

struct EndpointerOptions {
  EndpointMode mode = EndpointMode::Fast;
  int trailing_silence_ms = 600;
  int preroll_ms = 300;
  int max_utterance_ms = 30000;
  int min_speech_ms = 250;
  int classic_silence_ms = 2000;
  // Fast mode: once this much silence followed speech, the speech so far is
  // reported as a tentative segment (see EndpointerStep::tentative) so that
  // speech-to-text can start before the endpoint; 0 (or not less than
  // trailing_silence_ms) disables it. Classic mode never speculates: its
  // segments keep their trailing silence, so a tentative one would differ.
  // Off here; `voicedesk up` sets VOICEDESK_SPECULATIVE_STT_MS (200).
  int speculative_after_ms = 0;
};

enum class EndReason { Silence, MaxLength, EndOfStream };
std::string_view to_string(EndReason reason);

// A finished stretch of speech, in frame indices. Half-open ranges.
struct SpeechSegment {
  std::int64_t audio_begin = 0;  // first frame of audio to keep (pre-roll / look-back included)
  std::int64_t onset = 0;        // first active frame of the speech
  std::int64_t speech_end = 0;   // one past the last active frame
  std::int64_t audio_end = 0;    // one past the last frame of audio to keep
  std::int64_t decided = 0;      // the frame whose decision ended the segment
  EndReason reason = EndReason::Silence;
  int active_frames = 0;  // active decisions between onset and speech_end
};

struct EndpointerStep {
  // Speech began at this frame (a split at max length also starts one).
  std::optional<std::int64_t> onset;
  std::optional<SpeechSegment> finished;
  // A burst ended but was shorter than min_speech_ms and is not an utterance.
  std::optional<SpeechSegment> discarded;
  // speculative_after_ms of silence followed speech: the segment as it would
  // finish if no speech came before the endpoint (its `decided` is this
  // frame). At most one per silence stretch.
  std::optional<SpeechSegment> tentative;
  // The last tentative segment will not be finished as reported (speech
  // resumed, or a split cut it differently): whatever was started from it
  // can go.
  bool tentative_withdrawn = false;
  // `finished` is exactly the last tentative segment (same audio and speech
  // range), so work started from that one stands for it.
  bool finished_as_tentative = false;
};

class Endpointer {
 public:
  static constexpr int kOnsetWindow = 10;
  static constexpr int kOnsetActive = 6;
  // Classic mode's "mostly silent" threshold: at most 1 active in the window.
  static constexpr int kClassicQuietMax = 1;

  explicit Endpointer(const EndpointerOptions& options);

  EndpointerStep push(bool active);
  // Ends the stream; an open utterance is finished with EndReason::EndOfStream.
  EndpointerStep finish();

  bool in_speech() const { return in_speech_; }
  std::int64_t frames_seen() const { return next_frame_; }
  // Frames before this one can never become part of an utterance again.
  std::int64_t oldest_needed_frame() const;

 private:
  static int frames_for(int ms) { return (ms + kFrameMs - 1) / kFrameMs; }
  void start_speech(std::int64_t onset, std::int64_t audio_begin, int active_frames);
  // Finishes (or discards) the open segment into step.
  void end_speech(EndReason reason, std::int64_t audio_end, EndpointerStep& step);
  bool is_utterance(const SpeechSegment& segment) const;
  bool speculates() const;

  EndpointerOptions options_;
  std::array<bool, kOnsetWindow> window_{};
  int window_filled_ = 0;
  int window_count_ = 0;
  std::int64_t next_frame_ = 0;
  // Audio before this frame belongs to an earlier utterance (or, in classic
  // mode, to a look-back history that was cleared).
  std::int64_t floor_frame_ = 0;

  bool in_speech_ = false;
  SpeechSegment current_;
  int silence_run_ = 0;           // fast: frames since the last active one
  int classic_quiet_frames_ = 0;  // classic: frames counted by the silence counter
  // The segment last reported as tentative, until it is finished or withdrawn.
  std::optional<SpeechSegment> tentative_;
};

}  // namespace voicedesk::audio
