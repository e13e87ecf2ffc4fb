#include "auth/authenticator.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <spdlog/spdlog.h>

#include <stdexcept>

#include "util/text.hpp"

namespace voicedesk::auth {
namespace {

using util::iequals;
using util::kBlank;

// Header values are a single line: only spaces and tabs surround them.
std::string_view trim(std::string_view text) {
  return util::trim(text, kBlank);
}

std::string reason_for(TokenStatus status, bool legacy_key) {
  switch (status) {
    case TokenStatus::valid:
      return {};
    case TokenStatus::malformed:
      return "malformed token";
    case TokenStatus::expired:
      return "token expired";
    case TokenStatus::future:
      return "token is from the future (are the clocks in sync?)";
    case TokenStatus::bad_signature:
      return legacy_key ? "invalid legacy key"
                        : "invalid signature (forged, or minted for another audience)";
  }
  throw std::logic_error("unhandled TokenStatus");
}

}  // namespace

std::optional<Mode> parse_mode(std::string_view text) {
  for (const Mode mode : {Mode::hmac, Mode::legacy, Mode::off}) {
    if (text == to_string(mode)) return mode;
  }
  return std::nullopt;
}

std::string_view to_string(Mode mode) {
  switch (mode) {
    case Mode::hmac:
      return "hmac";
    case Mode::legacy:
      return "legacy";
    case Mode::off:
      return "off";
  }
  throw std::logic_error("unhandled auth::Mode");
}

bool is_loopback_host(std::string_view host) {
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  if (iequals(host, "localhost")) return true;
  const std::string text(host);
  in_addr v4{};
  if (::inet_pton(AF_INET, text.c_str(), &v4) == 1) return (ntohl(v4.s_addr) >> 24) == 127;
  in6_addr v6{};
  if (::inet_pton(AF_INET6, text.c_str(), &v6) == 1) {
    return IN6_IS_ADDR_LOOPBACK(&v6) || (IN6_IS_ADDR_V4MAPPED(&v6) && v6.s6_addr[12] == 127);
  }
  return false;
}

nlohmann::json AuthResult::error_body() const {
  return {{"error", "unauthorized"}, {"message", reason}};
}

PresentedToken extract_token(std::optional<std::string_view> x_api_key,
                             std::optional<std::string_view> authorization) {
  if (x_api_key && !trim(*x_api_key).empty()) return {trim(*x_api_key), {}};
  if (authorization && !trim(*authorization).empty()) {
    const std::string_view value = trim(*authorization);
    const std::size_t space = value.find_first_of(kBlank);
    const std::string_view token =
        space == std::string_view::npos ? std::string_view{} : trim(value.substr(space));
    if (!iequals(value.substr(0, space), "bearer") || token.empty() ||
        token.find_first_of(kBlank) != std::string_view::npos) {
      return {{}, "Authorization must be Bearer"};
    }
    return {token, {}};
  }
  return {{}, "missing credentials: send an X-API-Key header or Authorization: Bearer"};
}

Authenticator::Authenticator(AuthenticatorOptions options) : options_(std::move(options)) {
  if (options_.mode != Mode::off && !options_.secret) {
    throw std::invalid_argument("authentication mode " + std::string(to_string(options_.mode)) +
                                " needs the service secret");
  }
  if (options_.legacy_window < std::chrono::seconds(1)) {
    throw std::invalid_argument("the legacy key window must be at least one second long");
  }
  if (options_.mode == Mode::legacy) {
    spdlog::warn(
        "auth: LEGACY MODE: also accepting AI-RTC-Agent's clock-derived API keys, which anyone "
        "who knows the formula can compute; use it only to talk to the original's services");
  } else if (options_.mode == Mode::off) {
    spdlog::warn("auth: authentication is OFF: every request is accepted without credentials");
  }
}

AuthResult Authenticator::check(std::string_view audience,
                                std::optional<std::string_view> x_api_key,
                                std::optional<std::string_view> authorization) {
  if (options_.mode == Mode::off) return AuthResult::accept();
  const PresentedToken presented = extract_token(x_api_key, authorization);
  if (!presented.error.empty()) return AuthResult::reject(presented.error);
  return verify_token(presented.token, audience);
}

AuthResult Authenticator::verify(std::string_view token, std::string_view audience) {
  if (options_.mode == Mode::off) return AuthResult::accept();
  return verify_token(token, audience);
}

AuthResult Authenticator::verify_token(std::string_view token, std::string_view audience) {
  const TimePoint now = options_.clock();
  if (options_.mode == Mode::legacy && !token.starts_with(kTokenPrefix)) {
    const TokenStatus status = check_legacy_key(token, now, options_.legacy_window);
    if (status == TokenStatus::valid) return AuthResult::accept();
    return AuthResult::reject(reason_for(status, true));
  }
  const TokenCheck check = check_token(*options_.secret, token, audience, now);
  if (check.status != TokenStatus::valid)
    return AuthResult::reject(reason_for(check.status, false));
  return remember(audience, check, token_window(now));
}

AuthResult Authenticator::remember(std::string_view audience, const TokenCheck& check,
                                   std::int64_t current) {
  std::string key(check.nonce);
  key += '|';
  key += audience;
  const std::lock_guard lock(replay_mutex_);
  // Tokens of windows that check_token no longer accepts cannot be replayed: forget them.
  const auto live = seen_.lower_bound(current - kWindowSkew);
  for (auto it = seen_.begin(); it != live; ++it) seen_count_ -= it->second.size();
  seen_.erase(seen_.begin(), live);

  std::unordered_set<std::string>& window = seen_[check.window];
  if (window.contains(key)) return AuthResult::reject("token already used");
  if (seen_count_ >= options_.replay_capacity) return AuthResult::reject("replay cache full");
  window.insert(std::move(key));
  ++seen_count_;
  return AuthResult::accept();
}

}  // namespace voicedesk::auth
