#pragma once

#include <array>
#include <cstddef>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "stt/transcriber.hpp"
#include "stt/whisper_model.hpp"

namespace voicedesk::stt {

// Turns a stream of token bytes into valid UTF-8. Whisper's tokens are byte-level BPE pieces, so a
// character may be split over several tokens and a model may emit byte sequences that are not
// UTF-8 at all. Complete characters come out as soon as their last byte arrives; an incomplete
// trailing sequence waits for the next append. Each maximal ill-formed subpart becomes one U+FFFD,
// the replacement Python's bytes.decode("utf-8", "replace") makes (OpenAI's tokenizer decodes that
// way), so the text matches the reference implementation's byte for byte.
class Utf8Assembler {
 public:
  // Returns the text completed by `bytes`.
  std::string append(std::string_view bytes);
  // Returns what is still pending (an incomplete sequence becomes U+FFFD) and starts afresh.
  std::string finish();

 private:
  std::string convert(bool final);

  std::string pending_;
};

// The text of `tokens`, special tokens (id >= eot: <|endoftext|>, timestamps, ...) skipped.
std::string detokenize(const WhisperModel& model, std::span<const int> tokens);

// Whisper's language codes in the order of their tokens (<|en|> = sot + 1, ...). Models before
// large-v3 have tokens for the first 99; large-v3 adds "yue".
inline constexpr std::array<std::string_view, 100> kWhisperLanguages = {
    "en", "zh", "de", "es",  "ru", "ko", "fr", "ja", "pt", "tr", "pl", "ca", "nl", "ar", "sv",
    "it", "id", "hi", "fi",  "vi", "he", "uk", "el", "ms", "cs", "ro", "da", "hu", "ta", "no",
    "th", "ur", "hr", "bg",  "lt", "la", "mi", "ml", "cy", "sk", "te", "fa", "lv", "bn", "sr",
    "az", "sl", "kn", "et",  "mk", "br", "eu", "is", "hy", "ne", "mn", "bs", "kk", "sq", "sw",
    "gl", "mr", "pa", "si",  "km", "sn", "yo", "so", "af", "oc", "ka", "be", "tg", "sd", "gu",
    "am", "yi", "lo", "uz",  "fo", "ht", "ps", "tk", "nn", "mt", "sa", "lb", "my", "bo", "tl",
    "mg", "as", "tt", "haw", "ln", "ha", "ba", "jw", "su", "yue"};

// How many language tokens the model has: those between <|startoftranscript|> and <|translate|>.
int language_count(const WhisperModel& model);

// The token of language `code` (sot + 1 + its index). Throws TranscribeError for a code that is not
// a Whisper language, one this model has no token for, or any code but "en" on an English-only
// model (whose language tokens exist but were never trained).
int language_token(const WhisperModel& model, std::string_view code);

// Ids of the ordinary (non-special) tokens by their bytes, and text -> tokens for prompts.
class TextEncoder {
 public:
  // Keeps no reference to `model`.
  explicit TextEncoder(const WhisperModel& model);

  // The token whose bytes are exactly `bytes`; the lowest id when several share them.
  std::optional<int> find(std::string_view bytes) const;

  // An approximation of GPT-2's BPE, the way whisper.cpp's whisper_tokenize does it: the text is
  // split into GPT-2's pre-tokens (contractions, optionally space-led runs of letters, of digits or
  // of other symbols, whitespace), then each piece is covered greedily by the longest tokens in the
  // vocabulary. Real BPE applies the ranked merges instead; the two agree on common words but can
  // split rarer ones differently. The model file holds no merge table, so this is the closest
  // encoding available, good enough for conditioning a prompt. Bytes >= 0x80 count as letters
  // (GPT-2's \p{L} covers most non-ASCII text).
  std::vector<int> encode(std::string_view text) const;

 private:
  // Transparent, so that lookups by string_view need no temporary string.
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  std::unordered_map<std::string, int, Hash, std::equal_to<>> ids_;
  std::size_t longest_ = 0;  // bytes in the longest token
};

// Whisper's non-speech token set as whisper.cpp computes it: the tokens that are exactly one of
// Whisper's symbol strings (quotes, brackets, "--", musical signs, ...) with or without a leading
// space, plus " -" and " '" (allowed inside words, not at their start). Sorted, no duplicates.
std::vector<int> non_speech_tokens(const TextEncoder& encoder);

}  // namespace voicedesk::stt
