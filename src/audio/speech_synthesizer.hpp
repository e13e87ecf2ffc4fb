#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace voicedesk::audio {

struct SpeechOptions {
  // An espeak-ng voice name ("en-us", "en-gb", "de", ...; `espeak-ng --voices`).
  std::string voice = "en-us";
  // Speaking rate in words per minute, 80 to 450.
  int words_per_minute = 175;
};

// Text to speech with espeak-ng: 16-bit mono PCM at sample_rate(), streamed
// as espeak-ng produces it (one clause at a time, well ahead of real time).
// espeak-ng keeps one global engine per process: synthesis runs one text at
// a time across every SpeechSynthesizer, the others wait. Thread-safe.
class SpeechSynthesizer {
 public:
  // Receives each chunk of audio as it is produced; returning false stops
  // the synthesis early.
  using ChunkHandler = std::function<bool(std::span<const std::int16_t>)>;

  // Throws std::invalid_argument for an unknown voice or a rate out of
  // range, std::runtime_error when espeak-ng cannot start (data missing).
  explicit SpeechSynthesizer(SpeechOptions options = {});

  // espeak-ng's output rate (22050 Hz with the standard voices).
  int sample_rate() const;
  const SpeechOptions& options() const { return options_; }

  // Speaks text (UTF-8, plain text, not SSML) into on_chunk; true when it
  // ran to the end, false when on_chunk stopped it. Text without anything to
  // say gives no audio. An exception from on_chunk stops the synthesis and
  // propagates.
  bool synthesize(std::string_view text, const ChunkHandler& on_chunk) const;
  // The whole audio of text at once.
  std::vector<std::int16_t> synthesize(std::string_view text) const;

 private:
  SpeechOptions options_;
};

}  // namespace voicedesk::audio
