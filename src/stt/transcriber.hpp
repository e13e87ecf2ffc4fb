#pragma once

#include <atomic>
#include <functional>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

namespace voicedesk::stt {

inline constexpr int kSampleRate = 16000;

struct Segment {
  double start = 0;  // seconds from the start of the audio
  double end = 0;
  std::string text;  // UTF-8
};

struct Timings {
  double load_ms = 0;
  double mel_ms = 0;
  double encode_ms = 0;
  double decode_ms = 0;
  double total_ms = 0;
};

struct Transcript {
  std::string text;  // UTF-8, segments joined, surrounding whitespace trimmed
  std::vector<Segment> segments;
  std::string language;  // ISO 639-1 code, e.g. "en"
  Timings timings;
  // The text is a command grammar's match rather than free dictation (only
  // recognizers that take a grammar set it).
  bool command_grammar = false;
};

struct TranscribeOptions {
  std::string language;        // "" = the model's default / detect when multilingual
  std::string initial_prompt;  // text that conditions the first window
  // Called from the transcribing thread with the fraction done, 0..1.
  std::function<void(double)> on_progress;
  // Polled between decoding steps; when it becomes true transcribe() throws Cancelled.
  const std::atomic<bool>* cancel = nullptr;
};

class TranscribeError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class Cancelled : public TranscribeError {
 public:
  Cancelled() : TranscribeError("transcription cancelled") {}
};

// Speech-to-text over 16 kHz mono float audio in [-1, 1]. Implementations
// are loaded once and may be called from several threads at once.
class Transcriber {
 public:
  virtual ~Transcriber() = default;
  virtual Transcript transcribe(std::span<const float> audio_16k,
                                const TranscribeOptions& options) const = 0;
  // Human-readable model description, e.g. "whisper ggml-tiny.en.bin" or "pocketsphinx en-us".
  virtual std::string model_name() const = 0;
  // Touches what the first call would otherwise set up (buffers, caches), so that a server's
  // first request is as fast as later ones. Optional; does nothing by default.
  virtual void warm_up() const {}
};

}  // namespace voicedesk::stt
