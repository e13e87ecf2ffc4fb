#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "stt/mel.hpp"
#include "stt/tokenizer.hpp"
#include "stt/transcriber.hpp"
#include "stt/whisper_engine.hpp"
#include "stt/whisper_model.hpp"

namespace voicedesk::stt {

// Whisper's decoding parameters, defaulting to OpenAI transcribe()'s. Not part of the Transcriber
// interface: tests and benchmarks adjust them.
struct DecodeOptions {
  bool timestamps = true;  // false: <|notimestamps|> in the prompt, one segment per window
  // Tried in order while a window's decoding looks like a failure (see needs_fallback); the last
  // one's result is kept whatever it looks like. {0} disables the fallback.
  std::vector<float> temperatures = {0.0f, 0.2f, 0.4f, 0.6f, 0.8f, 1.0f};
  double compression_ratio_threshold = 2.4;  // above: too repetitive
  double logprob_threshold = -1.0;           // average log-probability below: too unlikely
  double no_speech_threshold = 0.6;          // <|nospeech|> probability above: maybe silence
  double max_initial_timestamp = 1.0;        // seconds; 0 lets a window start anywhere
  bool suppress_blank = true;                // no " " or <|endoftext|> as a window's first token
  bool suppress_non_speech = true;           // see non_speech_tokens()
  // Most tokens sampled per window, timestamps included; 0 = Whisper's own limit (n_text_ctx / 2
  // - 4). A bound on the time one window can take when decoding runs away (repeats itself).
  int max_tokens = 0;
  std::uint32_t seed = 0;  // of the sampler used at temperatures > 0
};

// The per-step rules that keep Whisper's output well formed, applied to one step's logits before
// sampling (OpenAI decoding.py's SuppressBlank, SuppressTokens and ApplyTimestampRules;
// whisper.cpp's whisper_process_logits):
// - at a window's first step, " " and <|endoftext|> are suppressed (suppress_blank);
// - the non-speech symbols (suppress_non_speech) and every special token other than <|endoftext|>
//   and the timestamps are never sampled; without timestamps, timestamps are not either;
// - timestamps come in pairs (a segment's end and the next one's start), except right before
//   <|endoftext|>: after text and one timestamp, only a timestamp or <|endoftext|> may follow;
//   after two timestamps (or one opening the window), text or <|endoftext|>;
// - timestamps never decrease, and a segment's end is later than its start (OpenAI's rule;
//   whisper.cpp only forbids decreasing ones, which allows empty segments);
// - the first timestamp of a window is at most max_initial_timestamp;
// - when the timestamps' summed probability exceeds that of the likeliest other token, a
//   timestamp is forced.
// Like whisper.cpp, and unlike OpenAI, a window may start with text rather than a timestamp: the
// reference outputs this project is checked against come from whisper.cpp.
class LogitFilter {
 public:
  LogitFilter(const WhisperModel& model, const TextEncoder& encoder, const DecodeOptions& options);

  // `sampled`: this window's tokens so far, the prompt excluded. `logits`: one row of n_vocab;
  // suppressed tokens become -infinity.
  void apply(std::span<const int> sampled, std::span<float> logits) const;

 private:
  SpecialTokens specials_;
  std::optional<int> blank_;     // " "
  std::vector<int> suppressed_;  // at every step
  bool timestamps_;
  bool suppress_blank_;
  std::optional<int> max_initial_timestamp_;  // as a timestamp index
};

struct SampledToken {
  int id = 0;
  double logprob = 0;  // log-softmax of the filtered logits at temperature 1, as OpenAI scores it
};

// Greedy (the first maximum) at temperature 0, else a draw from softmax(logits / temperature).
SampledToken sample_token(std::span<const float> logits, float temperature, std::mt19937& rng);

// Bytes of `text` over bytes of its zlib compression at the default level (Python's
// zlib.compress, as OpenAI measures repetitiveness). 0 for empty text.
double compression_ratio(std::string_view text);

// One window decoded at one temperature.
struct WindowDecoding {
  std::vector<int> tokens;  // sampled, timestamps included, <|endoftext|> excluded
  std::string text;
  float temperature = 0;
  // Sum of the sampled tokens' log-probabilities, <|endoftext|>'s included, over tokens + 1.
  double avg_logprob = 0;
  double compression_ratio = 0;
  double no_speech_prob = 0;  // of <|nospeech|> at <|startoftranscript|>, before any filtering
};

// OpenAI's fallback test: too repetitive or too unlikely, unless it looks like silence.
bool needs_fallback(const WindowDecoding& decoding, const DecodeOptions& options);

// OpenAI's no-speech test: such a window is skipped, producing no segment.
bool is_silence(const WindowDecoding& decoding, const DecodeOptions& options);

struct WindowSegments {
  std::vector<Segment> segments;  // in seconds from the start of the audio; empty text dropped
  int advance_frames = 0;         // where the next window starts, relative to this one
};

// Splits a window's tokens into segments at each pair of consecutive timestamps and says how far
// to seek, as OpenAI's transcribe() does. `seek` is the window's first mel frame and
// `window_frames` the frames of audio it covers (3000, or fewer at the end of the audio). With
// pairs, the next window starts at the last pair's first timestamp, or after this window when the
// tokens end with a single timestamp (the last segment is complete); without, a single segment
// spans the window (up to its last timestamp, if any) and the next window follows it. Text before
// a window's first timestamp starts at the window's start.
WindowSegments split_segments(const WhisperModel& model, std::span<const int> tokens, int seek,
                              int window_frames);

// The language whose token `logits` (the decoder's output after <|startoftranscript|>) favour.
std::string_view detect_language(const WhisperModel& model, std::span<const float> logits);

// What transcribe() decided for each window, for tests and diagnostics.
struct DecodedWindow {
  int seek = 0;  // first mel frame (10 ms each)
  WindowDecoding decoding;
  bool silence = false;  // skipped as no speech
};

struct DetailedTranscript {
  Transcript transcript;
  std::vector<DecodedWindow> windows;
};

// Whisper speech-to-text: the log-mel front end, the encoder once per 30 s window and the decoder
// token by token, with Whisper's logit rules, temperature fallback and seeking over long audio.
// transcribe() is const and may run on several threads at once: each call has its own session
// (kept for a later call once it is done).
class WhisperTranscriber final : public Transcriber {
 public:
  // `threads` >= 1 for the mel spectrogram and the matrix products.
  WhisperTranscriber(std::shared_ptr<const WhisperModel> model, int threads,
                     DecodeOptions decode = {});

  // options.on_progress gets the fraction of the audio seeked past as each window has been
  // encoded, then 1.0; options.cancel is polled before each window and between decoder steps.
  // options.initial_prompt conditions the first window only. Throws TranscribeError for a
  // language the model lacks or a code that is not Whisper's, Cancelled when cancelled.
  // Timings: decode_ms includes sampling; load_ms stays 0 (the caller loads the model).
  Transcript transcribe(std::span<const float> audio_16k,
                        const TranscribeOptions& options) const override;
  DetailedTranscript transcribe_detailed(std::span<const float> audio_16k,
                                         const TranscribeOptions& options) const;

  std::string model_name() const override { return "whisper " + model_->file_name; }
  // Runs the encoder over a second of silence and one decoder step in a session that is then
  // kept for the first call: that call no longer pays for the session's first-touch page faults
  // (~0.4 s of a 0.9 s first call for tiny on a 2-core VM).
  void warm_up() const override;

 private:
  class Run;  // the state of one call

  // A session of an earlier call when one is idle, else a new one. Reusing them matters: a new
  // session's caches and scratch buffers (about 100 MB for tiny) are first touched during the
  // call, and those page faults took 150-200 ms of a ~600 ms call on a 2-core VM.
  WhisperSession acquire_session() const;
  void release_session(WhisperSession session) const noexcept;

  std::shared_ptr<const WhisperModel> model_;
  int threads_;
  DecodeOptions decode_;
  WhisperEngine engine_;
  MelExtractor mel_;
  TextEncoder encoder_;
  LogitFilter filter_;
  // Sessions of finished calls, at most as many as calls ever ran at once.
  mutable std::mutex idle_mutex_;
  mutable std::vector<WhisperSession> idle_sessions_;
};

}  // namespace voicedesk::stt
