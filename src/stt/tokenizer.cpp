#include "stt/tokenizer.hpp"

#include <algorithm>

namespace voicedesk::stt {
namespace {

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD

struct LeadByte {
  int continuation_bytes;  // -1: never starts a character
  // Range allowed for the first continuation byte; later ones are always 80..BF. The narrower
  // ranges exclude overlong forms, UTF-16 surrogates and code points past U+10FFFF.
  unsigned char low = 0x80;
  unsigned char high = 0xBF;
};

LeadByte lead_byte(unsigned char b) {
  if (b < 0x80) return {0};
  if (b >= 0xC2 && b <= 0xDF) return {1};
  if (b == 0xE0) return {2, 0xA0, 0xBF};
  if (b == 0xED) return {2, 0x80, 0x9F};
  if (b >= 0xE1 && b <= 0xEF) return {2};
  if (b == 0xF0) return {3, 0x90, 0xBF};
  if (b >= 0xF1 && b <= 0xF3) return {3};
  if (b == 0xF4) return {3, 0x80, 0x8F};
  return {-1};
}

bool is_space(unsigned char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}
bool is_digit(unsigned char c) {
  return c >= '0' && c <= '9';
}
bool is_letter(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c >= 0x80;
}
bool is_other(unsigned char c) {
  return !is_space(c) && !is_digit(c) && !is_letter(c);
}

// Length of GPT-2's pre-token starting at `text[i]`, following the alternatives of its pattern
// 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+ in order.
std::size_t pre_token_length(std::string_view text, std::size_t i) {
  const auto at = [&](std::size_t k) { return static_cast<unsigned char>(text[k]); };
  const std::string_view rest = text.substr(i);
  for (std::string_view contraction : {"'s", "'t", "'re", "'ve", "'m", "'ll", "'d"}) {
    if (rest.starts_with(contraction)) return contraction.size();
  }
  const std::size_t start = at(i) == ' ' && i + 1 < text.size() && !is_space(at(i + 1)) ? i + 1 : i;
  for (bool (*same_class)(unsigned char) : {is_letter, is_digit, is_other}) {
    if (same_class(at(start))) {
      std::size_t end = start + 1;
      while (end < text.size() && same_class(at(end))) ++end;
      return end - i;
    }
  }
  std::size_t end = i + 1;
  while (end < text.size() && is_space(at(end))) ++end;
  // A run of several spaces before a word leaves its last space to lead that word.
  if (end < text.size() && end - i > 1) --end;
  return end - i;
}

}  // namespace

std::string Utf8Assembler::append(std::string_view bytes) {
  pending_.append(bytes);
  return convert(false);
}

std::string Utf8Assembler::finish() {
  std::string text = convert(true);
  pending_.clear();
  return text;
}

std::string Utf8Assembler::convert(bool final) {
  std::string out;
  const std::size_t n = pending_.size();
  const auto at = [&](std::size_t k) { return static_cast<unsigned char>(pending_[k]); };
  std::size_t i = 0;
  while (i < n) {
    const LeadByte lead = lead_byte(at(i));
    if (lead.continuation_bytes < 0) {
      out += kReplacement;
      ++i;
      continue;
    }
    // Count the bytes that continue the sequence validly.
    std::size_t valid = 1;
    while (valid <= static_cast<std::size_t>(lead.continuation_bytes) && i + valid < n) {
      const unsigned char c = at(i + valid);
      const unsigned char low = valid == 1 ? lead.low : 0x80;
      const unsigned char high = valid == 1 ? lead.high : 0xBF;
      if (c < low || c > high) break;
      ++valid;
    }
    if (valid == static_cast<std::size_t>(lead.continuation_bytes) + 1) {
      out.append(pending_, i, valid);
    } else if (i + valid == n && !final) {
      break;  // the rest of the character may come with the next token
    } else {
      out += kReplacement;
    }
    i += valid;
  }
  pending_.erase(0, i);
  return out;
}

std::string detokenize(const WhisperModel& model, std::span<const int> tokens) {
  Utf8Assembler assembler;
  std::string text;
  for (const int token : tokens) {
    if (token >= 0 && token < model.tokens.eot) text += assembler.append(model.token_text(token));
  }
  return text + assembler.finish();
}

int language_count(const WhisperModel& model) {
  return std::min(static_cast<int>(kWhisperLanguages.size()),
                  model.tokens.translate - model.tokens.sot - 1);
}

int language_token(const WhisperModel& model, std::string_view code) {
  const auto it = std::find(kWhisperLanguages.begin(), kWhisperLanguages.end(), code);
  if (it == kWhisperLanguages.end()) {
    throw TranscribeError("unknown language code \"" + std::string(code) + "\"");
  }
  const auto index = static_cast<int>(it - kWhisperLanguages.begin());
  if (!model.multilingual() && code != "en") {
    throw TranscribeError("model " + model.file_name + " is English-only; language \"" +
                          std::string(code) + "\" is not available");
  }
  if (index >= language_count(model)) {
    throw TranscribeError("model " + model.file_name + " has no token for language \"" +
                          std::string(code) + "\"");
  }
  return model.tokens.sot + 1 + index;
}

TextEncoder::TextEncoder(const WhisperModel& model) {
  const int ordinary = std::min(model.tokens.eot, static_cast<int>(model.vocab.size()));
  for (int id = 0; id < ordinary; ++id) {
    const std::string& bytes = model.vocab[static_cast<std::size_t>(id)];
    if (bytes.empty()) continue;
    ids_.emplace(bytes, id);  // keeps the first (lowest) id of duplicates
    longest_ = std::max(longest_, bytes.size());
  }
}

std::optional<int> TextEncoder::find(std::string_view bytes) const {
  const auto it = ids_.find(bytes);
  if (it == ids_.end()) return std::nullopt;
  return it->second;
}

std::vector<int> TextEncoder::encode(std::string_view text) const {
  std::vector<int> tokens;
  std::size_t i = 0;
  while (i < text.size()) {
    const std::string_view piece = text.substr(i, pre_token_length(text, i));
    i += piece.size();
    std::size_t k = 0;
    while (k < piece.size()) {
      std::size_t length = std::min(longest_, piece.size() - k);
      std::optional<int> id = find(piece.substr(k, length));
      while (!id && length > 1) id = find(piece.substr(k, --length));
      // Byte-level vocabularies hold every single byte; one that lacks some (a lossy conversion)
      // drops that byte rather than the whole prompt.
      if (id) tokens.push_back(*id);
      k += length;
    }
  }
  return tokens;
}

std::vector<int> non_speech_tokens(const TextEncoder& encoder) {
  static constexpr std::string_view kSymbols[] = {
      "\"", "#",   "(",   ")",  "*",   "+",  "/",  ":",  ";",   "<",  "=",  ">",   "@",   "[",
      "\\", "]",   "^",   "_",  "`",   "{",  "|",  "}",  "~",   "「", "」", "『",  "』",  "<<",
      ">>", "<<<", ">>>", "--", "---", "-(", "-[", "('", "(\"", "((", "))", "(((", ")))", "[[",
      "]]", "{{",  "}}",  "♪♪", "♪♪♪", "♩",  "♪",  "♫",  "♬",   "♭",  "♮",  "♯"};
  std::vector<int> tokens;
  const auto add = [&](std::string_view bytes) {
    if (const auto id = encoder.find(bytes)) tokens.push_back(*id);
  };
  for (const std::string_view symbol : kSymbols) {
    add(symbol);
    add(" " + std::string(symbol));
  }
  add(" -");
  add(" '");
  std::sort(tokens.begin(), tokens.end());
  tokens.erase(std::unique(tokens.begin(), tokens.end()), tokens.end());
  return tokens;
}

}  // namespace voicedesk::stt
