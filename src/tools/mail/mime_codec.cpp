#include "tools/mail/mime_codec.hpp"

#include <iconv.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <optional>

#include "util/text.hpp"

namespace voicedesk::tools::mail {
namespace {

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD in UTF-8

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

// Length of the valid UTF-8 sequence at text[i], or 0 when it is not one.
std::size_t utf8_sequence_length(std::string_view text, std::size_t i) {
  const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(text[k]); };
  const unsigned char lead = byte(i);
  if (lead < 0x80) return 1;
  std::size_t length = 0;
  unsigned min_second = 0x80, max_second = 0xBF;
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3;
    if (lead == 0xE0) min_second = 0xA0;  // overlong
    if (lead == 0xED) max_second = 0x9F;  // surrogates
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4;
    if (lead == 0xF0) min_second = 0x90;
    if (lead == 0xF4) max_second = 0x8F;
  } else {
    return 0;
  }
  if (i + length > text.size()) return 0;
  if (byte(i + 1) < min_second || byte(i + 1) > max_second) return 0;
  for (std::size_t k = 2; k < length; ++k) {
    if ((byte(i + k) & 0xC0) != 0x80) return 0;
  }
  return length;
}

// A charset label iconv may be given: short, and only the characters charset
// names use (keeps odd input away from iconv_open).
bool plausible_charset(std::string_view name) {
  return !name.empty() && name.size() <= 40 &&
         std::all_of(name.begin(), name.end(), [](unsigned char c) {
           return std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == ':';
         });
}

class Iconv {
 public:
  explicit Iconv(const std::string& from) : cd_(iconv_open("UTF-8", from.c_str())) {}
  ~Iconv() {
    if (valid()) iconv_close(cd_);
  }
  Iconv(const Iconv&) = delete;
  Iconv& operator=(const Iconv&) = delete;

  bool valid() const { return cd_ != reinterpret_cast<iconv_t>(-1); }

  std::string convert(std::string_view bytes) {
    std::string out;
    std::array<char, 4096> buffer;
    char* in = const_cast<char*>(bytes.data());
    std::size_t in_left = bytes.size();
    while (in_left > 0) {
      char* out_ptr = buffer.data();
      std::size_t out_left = buffer.size();
      const std::size_t result = iconv(cd_, &in, &in_left, &out_ptr, &out_left);
      out.append(buffer.data(), buffer.size() - out_left);
      if (result != static_cast<std::size_t>(-1)) continue;
      if (errno == E2BIG) continue;
      // EILSEQ (an invalid byte) or EINVAL (a sequence cut at the end): mark
      // it and go on after the byte, from a clean conversion state.
      out += kReplacement;
      ++in;
      --in_left;
      iconv(cd_, nullptr, nullptr, nullptr, nullptr);
    }
    char* out_ptr = buffer.data();
    std::size_t out_left = buffer.size();
    iconv(cd_, nullptr, nullptr, &out_ptr, &out_left);  // flush shift state
    out.append(buffer.data(), buffer.size() - out_left);
    return out;
  }

 private:
  iconv_t cd_;
};

}  // namespace

std::string sanitize_utf8(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size();) {
    const std::size_t length = utf8_sequence_length(text, i);
    if (length == 0) {
      out += kReplacement;
      ++i;
    } else {
      out.append(text.substr(i, length));
      i += length;
    }
  }
  return out;
}

std::string to_utf8(std::string_view bytes, std::string_view charset) {
  const std::string name = util::ascii_lower(charset);
  // Undeclared or ASCII-declared 8-bit text is UTF-8 far more often than not.
  if (name.empty() || name == "us-ascii" || name == "ascii" || name == "utf-8" || name == "utf8") {
    return sanitize_utf8(bytes);
  }
  if (!plausible_charset(name)) return sanitize_utf8(bytes);
  Iconv converter(name);
  if (!converter.valid()) return sanitize_utf8(bytes);
  return converter.convert(bytes);
}

std::string decode_quoted_printable(std::string_view text, bool in_header) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '_' && in_header) {
      out += ' ';
    } else if (c == '=') {
      // Soft line break: "=" then optional trailing whitespace, then CRLF or LF.
      std::size_t j = i + 1;
      while (j < text.size() && (text[j] == ' ' || text[j] == '\t')) ++j;
      if (j < text.size() && (text[j] == '\r' || text[j] == '\n')) {
        if (text[j] == '\r' && j + 1 < text.size() && text[j + 1] == '\n') ++j;
        i = j;
      } else if (j == text.size()) {
        i = j;
      } else if (i + 2 < text.size() && hex_value(text[i + 1]) >= 0 &&
                 hex_value(text[i + 2]) >= 0) {
        out += static_cast<char>(hex_value(text[i + 1]) * 16 + hex_value(text[i + 2]));
        i += 2;
      } else {
        out += c;  // not an escape: keep it as written
      }
    } else {
      out += c;
    }
  }
  return out;
}

std::string decode_base64(std::string_view text, bool url_alphabet) {
  const auto value = [url_alphabet](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == (url_alphabet ? '-' : '+')) return 62;
    if (c == (url_alphabet ? '_' : '/')) return 63;
    return -1;
  };
  std::string out;
  out.reserve(text.size() / 4 * 3 + 3);
  unsigned accumulator = 0;
  int bits = 0;
  for (const char c : text) {
    if (c == '=') break;  // padding ends the data
    const int v = value(c);
    if (v < 0) continue;
    accumulator = (accumulator << 6) | static_cast<unsigned>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((accumulator >> bits) & 0xFF);
    }
  }
  return out;
}

namespace {

// Decodes the encoded-word "=?charset?enc?text?=" starting at text[start];
// sets end past it. nullopt when it is not a well-formed encoded-word.
std::optional<std::string> decode_encoded_word(std::string_view text, std::size_t start,
                                               std::size_t& end) {
  if (text.substr(start, 2) != "=?") return std::nullopt;
  const std::size_t charset_end = text.find('?', start + 2);
  if (charset_end == std::string_view::npos || charset_end + 2 >= text.size() ||
      text[charset_end + 2] != '?') {
    return std::nullopt;
  }
  const char encoding =
      static_cast<char>(std::toupper(static_cast<unsigned char>(text[charset_end + 1])));
  if (encoding != 'B' && encoding != 'Q') return std::nullopt;
  const std::size_t payload_start = charset_end + 3;
  const std::size_t payload_end = text.find("?=", payload_start);
  if (payload_end == std::string_view::npos) return std::nullopt;
  const std::string_view payload = text.substr(payload_start, payload_end - payload_start);
  if (payload.find_first_of(" \t\r\n") != std::string_view::npos) return std::nullopt;
  std::string_view charset = text.substr(start + 2, charset_end - start - 2);
  charset = charset.substr(0, charset.find('*'));  // RFC 2231 language: "utf-8*en"
  end = payload_end + 2;
  const std::string bytes =
      encoding == 'B' ? decode_base64(payload) : decode_quoted_printable(payload, true);
  return to_utf8(bytes, charset);
}

}  // namespace

std::string decode_header_value(std::string_view raw) {
  // Unfold: CRLF (or a lone LF) followed by whitespace is just that whitespace.
  std::string unfolded;
  unfolded.reserve(raw.size());
  for (std::size_t i = 0; i < raw.size(); ++i) {
    if (raw[i] == '\r' || raw[i] == '\n') continue;
    unfolded += raw[i];
  }
  const std::string_view text = unfolded;

  std::string out;
  std::string pending_space;  // whitespace after an encoded-word, dropped if another follows
  bool after_encoded_word = false;
  std::string plain;  // a run of unencoded text, converted as a whole
  const auto flush_plain = [&] {
    out += sanitize_utf8(plain);
    plain.clear();
  };
  for (std::size_t i = 0; i < text.size();) {
    std::size_t end = 0;
    if (text[i] == '=' && i + 1 < text.size() && text[i + 1] == '?') {
      if (auto word = decode_encoded_word(text, i, end)) {
        flush_plain();
        if (!after_encoded_word) out += pending_space;
        pending_space.clear();
        out += *word;
        after_encoded_word = true;
        i = end;
        continue;
      }
    }
    if (text[i] == ' ' || text[i] == '\t') {
      if (after_encoded_word) {
        pending_space += text[i];
      } else {
        plain += text[i];
      }
      ++i;
      continue;
    }
    if (after_encoded_word) {
      plain += pending_space;
      pending_space.clear();
      after_encoded_word = false;
    }
    plain += text[i];
    ++i;
  }
  plain += pending_space;
  flush_plain();
  return std::string(util::trim(out, util::kBlank));
}

std::string make_snippet(std::string_view text, std::size_t max_chars) {
  std::string out;
  std::size_t chars = 0;
  bool space = false;
  for (std::size_t i = 0; i < text.size();) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    if (std::isspace(c)) {
      space = !out.empty();
      ++i;
      continue;
    }
    if (chars >= max_chars) {
      out += "...";
      return out;
    }
    if (space) {
      out += ' ';
      ++chars;
      space = false;
      if (chars >= max_chars) {
        out.pop_back();
        out += "...";
        return out;
      }
    }
    std::size_t length = utf8_sequence_length(text, i);
    if (length == 0) {
      out += kReplacement;
      length = 1;
    } else {
      out.append(text.substr(i, length));
    }
    i += length;
    ++chars;
  }
  return out;
}

}  // namespace voicedesk::tools::mail
