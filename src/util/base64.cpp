#include "util/base64.hpp"

#include <array>

namespace voicedesk::util {
namespace {

constexpr std::string_view kAlphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

constexpr std::array<int, 256> make_decode_table() {
  std::array<int, 256> table{};
  table.fill(-1);
  for (std::size_t i = 0; i < kAlphabet.size(); ++i)
    table[static_cast<unsigned char>(kAlphabet[i])] = static_cast<int>(i);
  return table;
}
constexpr std::array<int, 256> kDecode = make_decode_table();

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

}  // namespace

std::string base64_encode(std::span<const std::byte> bytes) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    const auto n = (std::to_integer<unsigned>(bytes[i]) << 16) |
                   (std::to_integer<unsigned>(bytes[i + 1]) << 8) |
                   std::to_integer<unsigned>(bytes[i + 2]);
    out += kAlphabet[(n >> 18) & 63];
    out += kAlphabet[(n >> 12) & 63];
    out += kAlphabet[(n >> 6) & 63];
    out += kAlphabet[n & 63];
  }
  const std::size_t rest = bytes.size() - i;
  if (rest > 0) {
    unsigned n = std::to_integer<unsigned>(bytes[i]) << 16;
    if (rest == 2) n |= std::to_integer<unsigned>(bytes[i + 1]) << 8;
    out += kAlphabet[(n >> 18) & 63];
    out += kAlphabet[(n >> 12) & 63];
    out += rest == 2 ? kAlphabet[(n >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

std::string base64_encode(std::string_view bytes) {
  return base64_encode(std::as_bytes(std::span(bytes.data(), bytes.size())));
}

std::optional<std::vector<std::byte>> base64_decode(std::string_view text) {
  std::vector<std::byte> out;
  out.reserve(text.size() / 4 * 3);
  unsigned accumulator = 0;
  int sextets = 0;
  int padding = 0;
  for (const char c : text) {
    if (is_space(c)) continue;
    if (c == '=') {
      // At most two, and only in the last quantum.
      if (++padding > 2 || sextets < 2) return std::nullopt;
      accumulator <<= 6;
      ++sextets;
    } else {
      const int value = kDecode[static_cast<unsigned char>(c)];
      if (value < 0 || padding > 0) return std::nullopt;
      accumulator = (accumulator << 6) | static_cast<unsigned>(value);
      ++sextets;
    }
    if (sextets == 4) {
      out.push_back(static_cast<std::byte>((accumulator >> 16) & 0xFF));
      if (padding < 2) out.push_back(static_cast<std::byte>((accumulator >> 8) & 0xFF));
      if (padding < 1) out.push_back(static_cast<std::byte>(accumulator & 0xFF));
      accumulator = 0;
      sextets = 0;
      if (padding > 0) padding = 3;  // nothing may follow a padded quantum
    }
  }
  if (sextets != 0) return std::nullopt;
  return out;
}

}  // namespace voicedesk::util
