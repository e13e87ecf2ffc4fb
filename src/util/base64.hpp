#pragma once

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace voicedesk::util {

// Standard alphabet with padding (RFC 4648 section 4).
std::string base64_encode(std::span<const std::byte> bytes);
std::string base64_encode(std::string_view bytes);
// Strict: only the standard alphabet, length a multiple of 4, padding only at
// the end; ASCII whitespace (line breaks of MIME bodies) is skipped. nullopt
// for anything else.
std::optional<std::vector<std::byte>> base64_decode(std::string_view text);

}  // namespace voicedesk::util
