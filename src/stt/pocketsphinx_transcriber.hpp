#pragma once

#include <cstddef>
#include <filesystem>
#include <memory>
#include <span>
#include <string>

#include "stt/transcriber.hpp"

namespace voicedesk::stt {

// CMU pocketsphinx (Debian's 0.8+5prealpha) with the US English model of the
// pocketsphinx-en-us package: the fallback when no Whisper model is configured,
// so a fresh install transcribes out of the box. Far less accurate than Whisper
// and English only; the text is lower case without punctuation.
//
// A pocketsphinx decoder is not thread-safe and holds about 95 MB, so decoders
// are pooled: created on first need, reused, at most `max_decoders` at once.
// A call that finds all of them busy waits for one to come free (without
// polling options.cancel while it waits).
class PocketsphinxTranscriber final : public Transcriber {
 public:
  // Where pocketsphinx-en-us installs the model (fixed at build time).
  static std::filesystem::path default_model_dir();

  // Loads `<model_dir>/en-us` (acoustic model), `en-us.lm.bin` and
  // `cmudict-en-us.dict` into the first decoder, so a bad model fails here
  // rather than on the first call. max_decoders 0 = one per hardware thread.
  // Throws TranscribeError naming a missing file, or the directory and
  // pocketsphinx's reason when it cannot load one.
  explicit PocketsphinxTranscriber(std::filesystem::path model_dir = default_model_dir(),
                                   std::size_t max_decoders = 0);
  ~PocketsphinxTranscriber() override;

  // One segment per stretch of words between pauses of 0.3 s or more.
  // options.language must be "" or "en"; initial_prompt is ignored (the
  // decoder has no way to use it). Timings: load_ms is the time spent loading
  // a decoder for this call (0 when one was free), mel_ms the MFCC front end,
  // decode_ms the search, encode_ms 0.
  Transcript transcribe(std::span<const float> audio_16k,
                        const TranscribeOptions& options) const override;

  std::string model_name() const override { return "pocketsphinx en-us"; }

 private:
  class Pool;
  std::unique_ptr<Pool> pool_;
};

}  // namespace voicedesk::stt
