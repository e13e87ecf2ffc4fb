#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <vector>

#include "audio/endpointer.hpp"
#include "audio/vad.hpp"

namespace voicedesk::audio {

inline constexpr int kInputRate = 48000;
inline constexpr int kVadRate = 16000;
inline constexpr std::size_t kInputFrameSamples = kInputRate * kFrameMs / 1000;  // 1440
inline constexpr std::size_t kVadFrameSamples = kVadRate * kFrameMs / 1000;      // 480

struct FrontEndOptions {
  VadOptions vad;
  EndpointerOptions endpoint;
};

struct VadStats {
  int frames = 0;          // 30 ms frames from onset to end of speech
  int active_frames = 0;   // of those, judged speech
  float peak = 0;          // absolute peak of the kept 16 kHz audio
  double rms_dbfs = -120;  // level of the kept 16 kHz audio
};

// One utterance. Sample positions count 48 kHz input samples (per channel)
// from the start of the stream.
struct Utterance {
  std::vector<float> audio_48k;                       // mono, pre-roll included, for speech-to-text
  std::vector<float> audio_16k;                       // the same stretch as the VAD heard it
  std::int64_t audio_start = 0;                       // position of audio_48k[0]
  std::int64_t start = 0;                             // speech onset (pre-roll not counted)
  std::int64_t end = 0;                               // end of the last active frame
  std::int64_t detected = 0;                          // input position at which the end was decided
  std::chrono::steady_clock::time_point detected_at;  // wall clock at that moment
  EndReason reason = EndReason::Silence;
  VadStats stats;
  // The same audio as the last tentative utterance (FrontEndHandlers::
  // on_tentative_utterance), so its transcription stands for this one's.
  bool as_tentative = false;

  static double seconds(std::int64_t position) {
    return static_cast<double>(position) / kInputRate;
  }
  double start_seconds() const { return seconds(start); }
  double end_seconds() const { return seconds(end); }
  double duration_seconds() const { return seconds(end - start); }
};

struct VadFrame {
  std::int64_t index = 0;            // 30 ms frame number
  bool active = false;               // the 30 ms decision
  std::span<const float> audio_16k;  // the 480 samples the VAD judged
};

struct SpeechStarted {
  std::int64_t start = 0;     // onset position, 48 kHz samples
  std::int64_t detected = 0;  // input position at which onset was decided
};

// Callbacks run synchronously inside push()/finish(), in stream order.
struct FrontEndHandlers {
  std::function<void(const VadFrame&)> on_vad_frame;
  std::function<void(const SpeechStarted&)> on_speech_started;
  std::function<void(Utterance&&)> on_utterance;
  // Speech that ended too short to be an utterance (clicks, coughs).
  std::function<void(const SpeechStarted&)> on_speech_discarded;
  // EndpointerOptions::speculative_after_ms of silence followed speech: the
  // utterance as it will be if no speech comes before the endpoint (same
  // audio, bounds and statistics; `detected` is now). Either an utterance
  // with as_tentative follows, or on_tentative_withdrawn (speech resumed, or
  // a split cut it elsewhere) before any other tentative one.
  std::function<void(Utterance&&)> on_tentative_utterance;
  std::function<void()> on_tentative_withdrawn;
};

// The audio front-end of one stream: 48 kHz PCM in (any chunk size, mono or
// interleaved stereo), utterances out. Internally one 30 ms loop keeps the
// full-rate audio and, in parallel, a 16 kHz stream (libsoxr) that feeds
// WebRTC's VAD and the endpointer. Not thread-safe: one per stream.
class AudioFrontEnd {
 public:
  AudioFrontEnd(const FrontEndOptions& options, FrontEndHandlers handlers);
  ~AudioFrontEnd();
  AudioFrontEnd(AudioFrontEnd&&) noexcept;
  AudioFrontEnd& operator=(AudioFrontEnd&&) noexcept;

  void push(std::span<const std::int16_t> interleaved, int channels);
  void push(std::span<const float> interleaved, int channels);
  // End of stream: drains the resampler and finishes an open utterance.
  void finish();

  std::int64_t samples_received() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace voicedesk::audio
