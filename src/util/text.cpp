#include "util/text.hpp"

#include <algorithm>

namespace voicedesk::util {
namespace {

char lower_char(char c) {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

bool same_ignoring_case(char a, char b) {
  return lower_char(a) == lower_char(b);
}

}  // namespace

std::string ascii_lower(std::string_view text) {
  std::string lower(text);
  std::ranges::transform(lower, lower.begin(), lower_char);
  return lower;
}

std::string_view trim(std::string_view text, std::string_view characters) {
  return trim_right(trim_left(text, characters), characters);
}

std::string_view trim_left(std::string_view text, std::string_view characters) {
  text.remove_prefix(std::min(text.find_first_not_of(characters), text.size()));
  return text;
}

std::string_view trim_right(std::string_view text, std::string_view characters) {
  const std::size_t last = text.find_last_not_of(characters);
  return last == std::string_view::npos ? text.substr(0, 0) : text.substr(0, last + 1);
}

bool iequals(std::string_view a, std::string_view b) {
  return std::ranges::equal(a, b, same_ignoring_case);
}

bool istarts_with(std::string_view text, std::string_view prefix) {
  return text.size() >= prefix.size() && iequals(text.substr(0, prefix.size()), prefix);
}

std::size_t ifind(std::string_view haystack, std::string_view needle, std::size_t from) {
  if (from > haystack.size()) return std::string_view::npos;
  const std::string_view rest = haystack.substr(from);
  const auto found = std::ranges::search(rest, needle, same_ignoring_case);
  if (found.empty() && !needle.empty()) return std::string_view::npos;
  return from + static_cast<std::size_t>(found.begin() - rest.begin());
}

}  // namespace voicedesk::util
