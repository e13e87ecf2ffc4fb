#pragma once

#include "audio/endpointer.hpp"

namespace voicedesk::audio {

// Tells, from the front end's 30 ms voice-activity decisions, that the user
// has started to talk, well before the endpointer's onset (6 active of the
// last 10 frames, 180-300 ms into the speech): for barge-in, stopping a
// spoken reply, where every 30 ms of the reply heard over the user counts.
//
// It asks for a run of consecutive active frames. Speech onsets give
// unbroken runs (a syllable is voiced for 100 ms and more), while what the
// VAD wrongly calls speech comes as isolated frames (a click, a pop on the
// line, a burst of noise), which never complete a run and so never stop a
// reply. Speech that flickers from the start completes no run either; the
// endpointer's onset catches it, so the caller stops the reply on whichever
// signal comes first.
class BargeInDetector {
 public:
  // voice_ms: the length of the run, rounded up to whole frames (at least one).
  explicit BargeInDetector(int voice_ms);

  // One 30 ms decision, in stream order. True on the frame that completes a
  // run, once per run: an inactive frame starts the count over.
  bool push(bool active);

  int frames_needed() const { return frames_needed_; }

 private:
  int frames_needed_;
  int run_ = 0;  // consecutive active frames up to the last one pushed
};

}  // namespace voicedesk::audio
