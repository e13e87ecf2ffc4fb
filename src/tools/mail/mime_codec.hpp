#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace voicedesk::tools::mail {

// Decoders for the pieces of an RFC 5322 / MIME message. All of them accept
// anything: malformed input gives a best-effort result, never an exception.

// Converts bytes in charset (any name iconv knows, matched case-insensitively;
// empty means US-ASCII) to UTF-8. Bytes that cannot be converted, and text in
// an unknown charset that is not valid UTF-8, become U+FFFD.
std::string to_utf8(std::string_view bytes, std::string_view charset);

// Replaces invalid UTF-8 sequences with U+FFFD.
std::string sanitize_utf8(std::string_view text);

// Quoted-printable (RFC 2045 6.7); in_header decodes "_" as a space (RFC 2047 Q).
std::string decode_quoted_printable(std::string_view text, bool in_header = false);

// Base64, lenient: characters outside the alphabet (line breaks, junk) are
// skipped and missing padding is tolerated. url_alphabet takes "-_" for "+/"
// (base64url, RFC 4648 section 5), as the Gmail API sends.
std::string decode_base64(std::string_view text, bool url_alphabet = false);

// A header field's value as UTF-8 text: folding removed (RFC 5322 2.2.3) and
// encoded-words (RFC 2047, B and Q, any charset, RFC 2231 language suffix)
// decoded; whitespace between adjacent encoded-words dropped.
std::string decode_header_value(std::string_view raw);

// The first max_chars code points of UTF-8 text, whitespace runs collapsed to
// one space, with "..." appended when cut.
std::string make_snippet(std::string_view text, std::size_t max_chars);

}  // namespace voicedesk::tools::mail
