#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "auth/token.hpp"

// AI-RTC-Agent's API key, for interoperability only. Its key is "S_W_P": W = floor(unix seconds /
// window length), S = chr(65 + int(100 * sqrt(log10(W))) % 26), P = chr(65 + int(100 *
// log1p(W)^3) % 26). It has no secret: anyone who knows the formula can mint a valid key, and a
// key is the same for every request of a window, so it cannot be replay-protected either.
namespace voicedesk::auth {

// The window length its code uses (api_key_generator's expire_time default); its README says 5 s.
inline constexpr std::chrono::seconds kLegacyWindow{60};

std::string mint_legacy_key(TimePoint now, std::chrono::seconds window = kLegacyWindow);

// As the original validates: the key's window is the current one or the one before (a key from a
// later window is refused), and both letters match. Returns valid, malformed, expired, future or
// bad_signature.
TokenStatus check_legacy_key(std::string_view key, TimePoint now,
                             std::chrono::seconds window = kLegacyWindow);

}  // namespace voicedesk::auth
