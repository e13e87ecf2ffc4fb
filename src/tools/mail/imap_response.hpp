#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace voicedesk::tools::mail {

// One IMAP data item (RFC 3501 section 4): an atom (numbers and section
// specifiers such as BODY[HEADER.FIELDS (FROM)]<0> included), a string
// (quoted or literal), NIL, or a parenthesized list.
struct ImapValue {
  enum class Kind { atom, string, nil, list };
  Kind kind = Kind::nil;
  std::string text;              // atom or string
  std::vector<ImapValue> items;  // list

  bool is_atom(std::string_view name) const;  // case-insensitive
};

// The untagged responses ("* ...") of a complete server answer, each as its
// values after the "*". Throws MailError on syntax it cannot follow.
std::vector<std::vector<ImapValue>> parse_untagged_responses(std::string_view answer);

// Where one complete response to tag ends in text (just past the tagged
// status line), following literals so their content is never mistaken for a
// status line; nullopt while incomplete.
std::optional<std::size_t> find_tagged_end(std::string_view text, std::string_view tag,
                                           std::size_t& scan_from);

// The tagged status line's condition: "OK", "NO" or "BAD" and its text, from
// the end of a complete answer.
struct ImapStatus {
  std::string condition;
  std::string text;
};
ImapStatus tagged_status(std::string_view answer, std::string_view tag);

// The value after name in a FETCH attribute list ("UID" -> 42), or nullptr.
const ImapValue* fetch_item(const std::vector<ImapValue>& attributes, std::string_view name);

// An IMAP quoted string for text (mailbox names).
std::string imap_quote(std::string_view text);

}  // namespace voicedesk::tools::mail
