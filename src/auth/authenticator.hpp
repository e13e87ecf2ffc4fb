#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_set>

#include "auth/legacy.hpp"
#include "auth/secret.hpp"
#include "auth/token.hpp"

namespace voicedesk::auth {

// hmac: vd1 tokens only. legacy: vd1 tokens, and AI-RTC-Agent's keys (forgeable: interop only).
// off: every request is accepted; a server must refuse it unless it listens on loopback.
enum class Mode { hmac, legacy, off };

// "hmac", "legacy" or "off" (as VOICEDESK_AUTH stores them); nullopt otherwise.
std::optional<Mode> parse_mode(std::string_view text);
std::string_view to_string(Mode mode);

// 127.0.0.0/8, ::1 (also bracketed, or IPv4-mapped 127.x) and "localhost" in any case.
bool is_loopback_host(std::string_view host);

struct AuthResult {
  bool ok = false;
  std::string reason;  // why it was rejected; empty when ok

  static AuthResult accept() { return {true, {}}; }
  static AuthResult reject(std::string reason) { return {false, std::move(reason)}; }

  // The body of the 401 response: {"error":"unauthorized","message":reason}.
  nlohmann::json error_body() const;
};

// The credential a request presents: the X-API-Key header, else "Authorization: Bearer TOKEN"
// (scheme in any case). `error` is set, and `token` empty, when there is none or Authorization
// has another scheme.
struct PresentedToken {
  std::string_view token{};
  std::string error{};
};
PresentedToken extract_token(std::optional<std::string_view> x_api_key,
                             std::optional<std::string_view> authorization);

struct AuthenticatorOptions {
  Mode mode = Mode::hmac;
  std::optional<ServiceSecret> secret{};  // required unless mode is off
  // Tokens remembered against replay; when full, new tokens are refused rather than the memory
  // grown (entries leave as their window falls out of the skew range, within 15 s).
  std::size_t replay_capacity = 100'000;
  std::chrono::seconds legacy_window = kLegacyWindow;
  Clock clock = std::chrono::system_clock::now;
};

// Verifies the credentials of incoming requests. Thread-safe: one instance serves all of a
// server's threads, and must, since it holds the replay cache (each token is accepted once per
// audience). Construction logs a warning for the legacy and off modes.
class Authenticator {
 public:
  // Throws std::invalid_argument when the mode needs a secret and none is given, or the legacy
  // window is shorter than a second.
  explicit Authenticator(AuthenticatorOptions options);

  Mode mode() const { return options_.mode; }

  // One token, for the service named `audience`.
  AuthResult verify(std::string_view token, std::string_view audience);
  // A request's headers: extract_token, then verify.
  AuthResult check(std::string_view audience, std::optional<std::string_view> x_api_key,
                   std::optional<std::string_view> authorization);

 private:
  AuthResult verify_token(std::string_view token, std::string_view audience);
  AuthResult remember(std::string_view audience, const TokenCheck& check, std::int64_t current);

  AuthenticatorOptions options_;
  std::mutex replay_mutex_;
  // window -> "nonce|audience" of the tokens accepted in that window.
  std::map<std::int64_t, std::unordered_set<std::string>> seen_;
  std::size_t seen_count_ = 0;
};

}  // namespace voicedesk::auth
