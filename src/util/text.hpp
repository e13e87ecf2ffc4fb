#pragma once

#include <concepts>
#include <cstddef>
#include <string>
#include <string_view>

// Small ASCII text helpers. They never look at the locale: protocol keywords, header names and
// config values compare the same everywhere, and bytes >= 0x80 (UTF-8) pass through unchanged.
namespace voicedesk::util {

// Sets of characters to trim.
inline constexpr std::string_view kBlank = " \t";           // within one line
inline constexpr std::string_view kWhitespace = " \t\r\n";  // line breaks too
// What std::isspace matches in the C locale: adds vertical tab and form feed.
inline constexpr std::string_view kAsciiSpace = " \t\n\v\f\r";

// text with A-Z mapped to a-z.
std::string ascii_lower(std::string_view text);

// text without any of `characters` at its start and end (trim), start (trim_left) or end
// (trim_right). The result views text: keep text alive as long as the result.
std::string_view trim(std::string_view text, std::string_view characters = kWhitespace);
std::string_view trim_left(std::string_view text, std::string_view characters = kWhitespace);
std::string_view trim_right(std::string_view text, std::string_view characters = kWhitespace);

// A view into a temporary std::string would dangle at the end of the statement: refuse it at
// compile time (copy the result, or name the string first).
template <typename String>
requires std::same_as<String, std::string> std::string_view trim(
    String&& text, std::string_view characters = kWhitespace)
= delete;
template <typename String>
requires std::same_as<String, std::string> std::string_view trim_left(
    String&& text, std::string_view characters = kWhitespace)
= delete;
template <typename String>
requires std::same_as<String, std::string> std::string_view trim_right(
    String&& text, std::string_view characters = kWhitespace)
= delete;

// Equality and prefix test ignoring ASCII case.
bool iequals(std::string_view a, std::string_view b);
bool istarts_with(std::string_view text, std::string_view prefix);

// Position of the first occurrence of needle at or after `from`, ignoring ASCII case; npos when
// there is none.
std::size_t ifind(std::string_view haystack, std::string_view needle, std::size_t from = 0);

}  // namespace voicedesk::util
