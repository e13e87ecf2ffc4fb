#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace voicedesk::tools::mail {

// A mail to send, as the tools and the outbox hand it around: plain values,
// UTF-8 text, addresses as "addr@example.com" or "Name <addr@example.com>".
// Formatting it as RFC 5322 validates every field (no CR/LF injection).
struct OutgoingMail {
  std::string from;
  std::vector<std::string> to;
  std::vector<std::string> cc;
  std::string subject;
  std::string body;  // plain text
  // Threading, for replies: the answered mail's Message-ID ("<id@host>") and
  // its References followed by that Message-ID.
  std::string in_reply_to;
  std::vector<std::string> references;
};

// Limits on what the tools accept, so one call cannot queue a huge message.
inline constexpr std::size_t kMaxSubjectBytes = 2000;
inline constexpr std::size_t kMaxBodyBytes = 1u << 20;
inline constexpr std::size_t kMaxRecipients = 100;

// An address split into its parts: addr_spec "local@domain" (ASCII only) and
// an optional display name (UTF-8).
struct Address {
  std::string display_name;
  std::string addr_spec;
};

// Parses "a@b", "<a@b>", "Name <a@b>" or "\"Quoted, Name\" <a@b>". The
// addr-spec must be a dot-atom local part (at most 64 bytes) at a host name
// (letters, digits, hyphens, dots); at most 254 bytes in all. Throws
// ToolError naming `field` ("to_email: ...").
Address parse_address(std::string_view text, std::string_view field);

// "<random@domain>": 128 random bits at the sender's domain. Generated once
// per message, at enqueue, so a resend carries the same Message-ID.
std::string make_message_id(const Address& from);

// "Wed, 25 Nov 2026 17:40:26 +0000" (RFC 5322 date-time, in UTC).
std::string format_date(std::chrono::system_clock::time_point time);

// A formatted message and the SMTP envelope it travels in.
struct FormattedMail {
  std::string message_id;               // "<...>", as in the header
  std::string envelope_from;            // addr-spec for MAIL FROM
  std::vector<std::string> recipients;  // addr-specs of to and cc, once each, for RCPT TO
  std::string raw;                      // RFC 5322 message, CRLF line endings
};

// Validates every field and formats mail as a MIME text/plain UTF-8 message:
// headers within 78 characters where possible (never over 998), non-ASCII
// subject and display names as RFC 2047 encoded-words, the body
// quoted-printable (base64 when mostly non-ASCII). Throws ToolError naming
// the field: CR, LF or NUL in any header field, a bad address, a body that is
// not UTF-8, a size over the limits above.
FormattedMail format_mail(const OutgoingMail& mail, const std::string& message_id,
                          std::chrono::system_clock::time_point date);

// The encoders format_mail uses, exposed for tests.
// Quoted-printable (RFC 2045): lines of text (any line ending) to CRLF lines
// of at most 76 characters, with soft line breaks.
std::string encode_quoted_printable(std::string_view text);
// A header value: as is when it is short printable ASCII (folded at spaces),
// else UTF-8 "B" encoded-words, each line at most 76 characters. first_line_used
// is how much of the first line the header name took ("Subject: " = 9).
std::string encode_header_text(std::string_view text, std::size_t first_line_used);
// Whether text is well-formed UTF-8 (no overlongs, surrogates or values over U+10FFFF).
bool is_valid_utf8(std::string_view text);

}  // namespace voicedesk::tools::mail
