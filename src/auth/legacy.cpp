#include "auth/legacy.hpp"

#include <charconv>
#include <cmath>
#include <cstdint>
#include <optional>

namespace voicedesk::auth {
namespace {

constexpr std::size_t kMaxWindowDigits = 18;
constexpr std::int64_t kGraceWindows = 1;

// Python's `f(w) or f(w + 1)`: a result of exactly 0 (w == 1 for the suffix) falls back to w + 1.
template <typename F>
double nonzero_or_next(F f, std::int64_t window) {
  const double value = f(static_cast<double>(window));
  return value != 0.0 ? value : f(static_cast<double>(window + 1));
}

char letter(double value) {
  return static_cast<char>('A' + static_cast<std::int64_t>(value * 100) % 26);
}

// Defined for windows >= 1 (the original raises on log10 of 0 and so rejects window 0).
std::string legacy_key(std::int64_t window) {
  const double suffix = nonzero_or_next([](double w) { return std::sqrt(std::log10(w)); }, window);
  const double prefix =
      nonzero_or_next([](double w) { return std::pow(std::log1p(w), 3.0); }, window);
  std::string key(1, letter(suffix));
  key += '_';
  key += std::to_string(window);
  key += '_';
  key += letter(prefix);
  return key;
}

std::optional<std::int64_t> parse_window(std::string_view text) {
  if (text.empty() || text.size() > kMaxWindowDigits) return std::nullopt;
  std::int64_t window = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), window);
  if (error != std::errc{} || end != text.data() + text.size() || window < 1) return std::nullopt;
  return window;
}

}  // namespace

std::string mint_legacy_key(TimePoint now, std::chrono::seconds window) {
  return legacy_key(window_index(now, window));
}

TokenStatus check_legacy_key(std::string_view key, TimePoint now, std::chrono::seconds window) {
  const std::size_t first = key.find('_');
  const std::size_t last = key.rfind('_');
  if (first == std::string_view::npos || first == last) return TokenStatus::malformed;
  const auto key_window = parse_window(key.substr(first + 1, last - first - 1));
  if (!key_window) return TokenStatus::malformed;
  const std::int64_t current = window_index(now, window);
  if (*key_window > current) return TokenStatus::future;
  if (current - *key_window > kGraceWindows) return TokenStatus::expired;
  return key == legacy_key(*key_window) ? TokenStatus::valid : TokenStatus::bad_signature;
}

}  // namespace voicedesk::auth
