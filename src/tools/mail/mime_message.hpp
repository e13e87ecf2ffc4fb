#pragma once

#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace voicedesk::tools::mail {

// Bounds on what parsing a message may build, whatever its size or shape.
struct MimeLimits {
  std::size_t max_depth = 10;               // nested multiparts; deeper ones stay opaque
  std::size_t max_parts = 256;              // parts in all; later ones are dropped
  std::size_t max_header_fields = 500;      // per part; later ones are dropped
  std::size_t max_text_bytes = 256u << 10;  // of the body text returned (UTF-8)
};

struct HeaderField {
  std::string name;   // as written
  std::string value;  // raw: folded, encoded-words still encoded
};

// A part's header fields in order, looked up case-insensitively.
struct MimeHeaders {
  std::vector<HeaderField> fields;

  // The first field named name, raw; nullopt when absent.
  std::optional<std::string> raw(std::string_view name) const;
  // The first field named name as UTF-8 text (unfolded, encoded-words decoded); "" when absent.
  std::string text(std::string_view name) const;
};

// "type/subtype; name=value; ..." with the media type lower-cased, parameter
// names lower-cased and values unquoted. Defaults to text/plain.
struct ContentType {
  std::string media_type = "text/plain";
  std::map<std::string, std::string> params;

  std::string param(const std::string& name) const;
};
ContentType parse_content_type(std::string_view raw);

// One node of a MIME tree. Leaves hold their content with the transfer
// encoding (base64, quoted-printable) undone but still in their charset.
struct MimePart {
  MimeHeaders headers;
  ContentType content_type;
  bool attachment = false;  // Content-Disposition: attachment
  std::string body;         // leaves only
  std::vector<MimePart> children;
};

// Parses an RFC 5322 message (or a MIME entity) into a tree. Never throws on
// malformed input: what cannot be understood becomes a text/plain leaf.
MimePart parse_mime(std::string_view raw, const MimeLimits& limits = {});

// The readable text of a message tree as UTF-8: its first inline text/plain
// part, else its first text/html part reduced to text; "" when it has neither.
// Cut at limits.max_text_bytes (on a character boundary).
std::string readable_text(const MimePart& root, const MimeLimits& limits = {});

// HTML reduced to plain text: scripts and styles dropped, block elements as
// line breaks, tags removed, character references decoded.
std::string html_to_text(std::string_view html);

// The "<id@host>" message identifiers in a Message-ID, In-Reply-To or
// References value, in order.
std::vector<std::string> parse_message_ids(std::string_view value);

// A mailbox "Name <addr@host>" or "addr@host" split into its parts.
struct Mailbox {
  std::string name;
  std::string address;
};
// The first mailbox of an address-list header value (already decoded).
Mailbox parse_mailbox(std::string_view value);
// "Name <addr>" when the name needs no quoting, else just the address.
std::string format_mailbox(const Mailbox& mailbox);

// The fields of a message the mail tools show and reply with, as UTF-8.
struct MailMessage {
  std::string from;
  std::string to;
  std::string cc;
  std::string reply_to;
  std::string subject;
  std::string date;
  std::string message_id;  // "<id@host>", or "" when absent
  std::vector<std::string> references;
  std::string body;
};
MailMessage parse_mail(std::string_view raw, const MimeLimits& limits = {});
// The same from an already parsed tree.
MailMessage mail_from_tree(const MimePart& root, const MimeLimits& limits = {});

}  // namespace voicedesk::tools::mail
