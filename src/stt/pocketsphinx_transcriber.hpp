#pragma once

#include <cstddef>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>

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
//
// With a command grammar, every utterance is decoded twice more: against the
// grammar, and (when the grammar found something else) against any sequence
// of the words the language model heard, to score the two alike. The
// grammar's words win when they explain the audio about as well: they cover
// nearly as much of the speech, and the words the grammar put in place of what
// the language model heard cost less than a set acoustic penalty per frame.
// Far more commands come out word-exact this way (the language model mostly
// hears espeak's "friday" as "fulbright i"), while speech that is no command
// keeps the language model's text.
class PocketsphinxTranscriber final : public Transcriber {
 public:
  // A JSGF grammar (http://www.w3.org/TR/jsgf/) of the commands an
  // application expects. Its one public rule is the command. It may use the
  // rule <dictation> (and must not define it): the free text of a command,
  // such as the body of a mail or a search query, which is any run of words at
  // the end of what the language model heard for the utterance. <dictation>
  // must end the command. Every word must be in the pronunciation dictionary
  // (see in_vocabulary()).
  struct CommandGrammar {
    std::string jsgf;
  };

  // Where pocketsphinx-en-us installs the model (fixed at build time).
  static std::filesystem::path default_model_dir();

  // Loads `<model_dir>/en-us` (acoustic model), `en-us.lm.bin` and
  // `cmudict-en-us.dict` into the first decoder, so a bad model fails here
  // rather than on the first call. max_decoders 0 = one per hardware thread.
  // Throws TranscribeError naming a missing file, or the directory and
  // pocketsphinx's reason when it cannot load one.
  //
  // pocketsphinx 0.8 leaks about 70 KB each time a grammar search is set (it
  // frees the search, not all that setting it built), and an utterance with a
  // command grammar sets two. So a decoder is retired after
  // grammar_searches_per_decoder of them (the default, about 28 MB) and a
  // fresh one is loaded in the background: no call waits for it.
  static constexpr int kGrammarSearchesPerDecoder = 400;
  explicit PocketsphinxTranscriber(std::filesystem::path model_dir = default_model_dir(),
                                   std::size_t max_decoders = 0,
                                   int grammar_searches_per_decoder = kGrammarSearchesPerDecoder);
  ~PocketsphinxTranscriber() override;

  // One segment per stretch of words between pauses of 0.3 s or more.
  // options.language must be "" or "en"; initial_prompt is ignored (the
  // decoder has no way to use it). Timings: load_ms is the time spent loading
  // a decoder for this call (0 when one was free), mel_ms the MFCC front end,
  // decode_ms the search, encode_ms 0.
  Transcript transcribe(std::span<const float> audio_16k,
                        const TranscribeOptions& options) const override;

  std::string model_name() const override { return "pocketsphinx en-us"; }

  // Whether the pronunciation dictionary has the word (lower case), so a
  // command grammar may use it.
  bool in_vocabulary(std::string_view word) const;

  // Decodes every later utterance against the grammar too (nullopt: no
  // longer). Throws TranscribeError with pocketsphinx's reason when the
  // grammar does not compile, keeping the one before.
  void set_command_grammar(std::optional<CommandGrammar> grammar);

 private:
  class Pool;
  std::unique_ptr<Pool> pool_;
  std::shared_ptr<const CommandGrammar> command_grammar() const;

  mutable std::mutex grammar_mutex_;
  std::shared_ptr<const CommandGrammar> grammar_;  // null: none
};

}  // namespace voicedesk::stt
