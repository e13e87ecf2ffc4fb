#include "auth/token.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <optional>
#include <stdexcept>

#include "auth/hex.hpp"

namespace voicedesk::auth {
namespace {

constexpr std::size_t kNonceBytes = 8;
constexpr std::size_t kMacBytes = 32;
// Up to 18 digits cannot overflow int64; real windows have 9.
constexpr std::size_t kMaxWindowDigits = 18;

std::string mac_hex(const ServiceSecret& secret, std::int64_t window, std::string_view nonce,
                    std::string_view audience) {
  std::string message = "vd1|";
  message += std::to_string(window);
  message += '|';
  message += nonce;
  message += '|';
  message += audience;
  std::array<unsigned char, EVP_MAX_MD_SIZE> mac{};
  unsigned int size = 0;
  const auto key = secret.bytes();
  if (HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
           reinterpret_cast<const unsigned char*>(message.data()), message.size(), mac.data(),
           &size) == nullptr ||
      size != kMacBytes) {
    throw std::runtime_error("HMAC-SHA256 failed");
  }
  return hex::encode(std::span(mac.data(), kMacBytes));
}

// Canonical decimal only (no sign, no leading zero), so that one window has one spelling: the MAC
// covers the number as minted.
std::optional<std::int64_t> parse_window(std::string_view text) {
  if (text.empty() || text.size() > kMaxWindowDigits || (text.size() > 1 && text[0] == '0') ||
      !std::ranges::all_of(text, [](char c) { return c >= '0' && c <= '9'; })) {
    return std::nullopt;
  }
  std::int64_t window = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), window);
  if (error != std::errc{} || end != text.data() + text.size()) return std::nullopt;
  return window;
}

}  // namespace

std::int64_t window_index(TimePoint time, std::chrono::seconds length) {
  const std::int64_t seconds =
      std::chrono::floor<std::chrono::seconds>(time.time_since_epoch()).count();
  const std::int64_t n = length.count();
  if (n <= 0) throw std::invalid_argument("a window must be at least one second long");
  return seconds / n - (seconds % n < 0 ? 1 : 0);
}

bool is_valid_audience(std::string_view audience) {
  if (audience.empty() || audience.size() > 64) return false;
  for (const char c : audience) {
    const bool allowed =
        (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
    if (!allowed) return false;
  }
  return true;
}

std::string mint_token(const ServiceSecret& secret, std::string_view audience, TimePoint now) {
  if (!is_valid_audience(audience)) {
    throw std::invalid_argument("invalid audience \"" + std::string(audience) + "\": expected " +
                                std::string(kAudienceRule));
  }
  std::array<unsigned char, kNonceBytes> nonce_bytes{};
  if (RAND_bytes(nonce_bytes.data(), static_cast<int>(nonce_bytes.size())) != 1) {
    throw std::runtime_error("the system random number generator failed");
  }
  const std::int64_t window = token_window(now);
  const std::string nonce = hex::encode(nonce_bytes);
  std::string token(kTokenPrefix);
  token += std::to_string(window);
  token += '.';
  token += nonce;
  token += '.';
  token += mac_hex(secret, window, nonce, audience);
  return token;
}

TokenCheck check_token(const ServiceSecret& secret, std::string_view token,
                       std::string_view audience, TimePoint now) {
  TokenCheck check;
  if (token.size() > kMaxTokenLength || !token.starts_with(kTokenPrefix)) return check;
  std::string_view rest = token.substr(kTokenPrefix.size());
  const std::size_t first_dot = rest.find('.');
  if (first_dot == std::string_view::npos) return check;
  const std::size_t second_dot = rest.find('.', first_dot + 1);
  if (second_dot == std::string_view::npos) return check;
  const auto window = parse_window(rest.substr(0, first_dot));
  const std::string_view nonce = rest.substr(first_dot + 1, second_dot - first_dot - 1);
  const std::string_view mac = rest.substr(second_dot + 1);
  if (!window || nonce.size() != 2 * kNonceBytes || !hex::is_lower_hex(nonce) ||
      mac.size() != 2 * kMacBytes || !hex::is_lower_hex(mac)) {
    return check;
  }
  check.window = *window;
  check.nonce = nonce;

  const std::int64_t current = token_window(now);
  if (*window < current - kWindowSkew) {
    check.status = TokenStatus::expired;
  } else if (*window > current + kWindowSkew) {
    check.status = TokenStatus::future;
  } else {
    const std::string expected = mac_hex(secret, *window, nonce, audience);
    check.status = CRYPTO_memcmp(expected.data(), mac.data(), expected.size()) == 0
                       ? TokenStatus::valid
                       : TokenStatus::bad_signature;
  }
  return check;
}

}  // namespace voicedesk::auth
