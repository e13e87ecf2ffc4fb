#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "auth/secret.hpp"

namespace voicedesk::auth {

using TimePoint = std::chrono::system_clock::time_point;
// Injectable for tests; the default is std::chrono::system_clock::now.
using Clock = std::function<TimePoint()>;

// Service token, fixed format (other programs mint and parse it):
//   vd1.WINDOW.NONCE.MAC
//   WINDOW = floor(unix seconds / 5), decimal
//   NONCE  = 16 lowercase hex digits (8 random bytes, fresh per token)
//   MAC    = lowercase hex of HMAC-SHA256(secret, "vd1|" WINDOW "|" NONCE "|" AUDIENCE)
inline constexpr std::chrono::seconds kTokenWindow{5};
// A token is accepted in windows [now - kWindowSkew, now + kWindowSkew].
inline constexpr std::int64_t kWindowSkew = 1;
inline constexpr std::string_view kTokenPrefix = "vd1.";
inline constexpr std::size_t kMaxTokenLength = 256;

// floor(unix seconds / length): the window of `length` that `time` falls in. Throws
// std::invalid_argument for a length under one second.
std::int64_t window_index(TimePoint time, std::chrono::seconds length);
// The token window (kTokenWindow) that `time` falls in.
inline std::int64_t token_window(TimePoint time) {
  return window_index(time, kTokenWindow);
}

// What an audience (the name of the receiving service, e.g. "mcp") may be.
inline constexpr std::string_view kAudienceRule = "1 to 64 characters from a-z, 0-9, '.', '_', '-'";
bool is_valid_audience(std::string_view audience);

// A fresh token for `audience` (one HMAC and 8 random bytes). Throws std::invalid_argument for an
// invalid audience.
std::string mint_token(const ServiceSecret& secret, std::string_view audience, TimePoint now);

enum class TokenStatus { valid, malformed, expired, future, bad_signature };

struct TokenCheck {
  TokenStatus status = TokenStatus::malformed;
  // Set once the token parsed; `nonce` points into the checked token.
  std::int64_t window = 0;
  std::string_view nonce{};
};

// Format, window range and MAC (compared in constant time); replays are the caller's concern
// (see Authenticator). A token minted for another audience fails as bad_signature.
TokenCheck check_token(const ServiceSecret& secret, std::string_view token,
                       std::string_view audience, TimePoint now);

}  // namespace voicedesk::auth
