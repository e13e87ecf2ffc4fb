#include "tools/mail/message.hpp"

#include <algorithm>
#include <array>
#include <cstdint>
#include <ctime>
#include <random>
#include <set>

#include "tools/tool.hpp"
#include "util/base64.hpp"
#include "util/text.hpp"

namespace voicedesk::tools::mail {
namespace {

// RFC 5322 recommends 78 characters per line; RFC 2047 limits lines with
// encoded-words to 76; 998 is the hard limit.
constexpr std::size_t kFoldAt = 78;
constexpr std::size_t kEncodedLineMax = 76;
constexpr std::size_t kMaxMessageIdBytes = 250;

[[noreturn]] void reject(std::string_view field, const std::string& why) {
  throw ToolError(std::string(field) + ": " + why);
}

// Header injection is impossible when no header field can hold a line break.
void check_header_safe(std::string_view text, std::string_view field) {
  if (text.find_first_of(std::string_view("\r\n\0", 3)) != std::string_view::npos) {
    reject(field, "must not contain line breaks (CR, LF) or NUL characters");
  }
}

bool is_atext(unsigned char c) {
  return std::isalnum(c) != 0 ||
         std::string_view("!#$%&'*+-/=?^_`{|}~").find(static_cast<char>(c)) !=
             std::string_view::npos;
}

bool is_dot_atom(std::string_view text) {
  if (text.empty() || text.front() == '.' || text.back() == '.') return false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c == '.') {
      if (text[i - 1] == '.') return false;
    } else if (!is_atext(c)) {
      return false;
    }
  }
  return true;
}

bool is_host_name(std::string_view domain) {
  if (domain.empty() || domain.size() > 253) return false;
  std::size_t start = 0;
  while (start <= domain.size()) {
    const std::size_t end = std::min(domain.find('.', start), domain.size());
    const std::string_view label = domain.substr(start, end - start);
    if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-') {
      return false;
    }
    for (const char c : label) {
      if (std::isalnum(static_cast<unsigned char>(c)) == 0 && c != '-') return false;
    }
    start = end + 1;
  }
  return true;
}

void check_addr_spec(std::string_view addr, std::string_view field) {
  const auto at = addr.rfind('@');
  if (at == std::string_view::npos) reject(field, "\"" + std::string(addr) + "\" has no @");
  if (std::any_of(addr.begin(), addr.end(), [](char c) { return (c & 0x80) != 0; })) {
    reject(field, "non-ASCII addresses are not supported: " + std::string(addr));
  }
  const std::string_view local = addr.substr(0, at);
  const std::string_view domain = addr.substr(at + 1);
  if (local.size() > 64 || !is_dot_atom(local)) {
    reject(field, "\"" + std::string(addr) + "\" has an invalid part before the @");
  }
  if (!is_host_name(domain)) {
    reject(field, "\"" + std::string(addr) + "\" has an invalid domain after the @");
  }
  if (addr.size() > 254) reject(field, "address longer than 254 characters");
}

std::string unquote(std::string_view quoted, std::string_view field) {
  std::string text;
  for (std::size_t i = 1; i + 1 < quoted.size(); ++i) {
    if (quoted[i] == '\\' && i + 2 < quoted.size()) {
      text += quoted[++i];
    } else if (quoted[i] == '"' || quoted[i] == '\\') {
      reject(field, "unbalanced quotes in the display name");
    } else {
      text += quoted[i];
    }
  }
  return text;
}

bool is_ascii_printable(std::string_view text) {
  return std::all_of(text.begin(), text.end(), [](char c) { return c >= 0x20 && c < 0x7f; });
}

// Up to max_bytes of text from start, not splitting a UTF-8 sequence (at least one character).
std::size_t utf8_chunk(std::string_view text, std::size_t start, std::size_t max_bytes) {
  std::size_t end = std::min(text.size(), start + max_bytes);
  while (end > start && end < text.size() &&
         (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) {
    --end;
  }
  if (end == start) {  // a budget smaller than one character: take the character anyway
    end = start + 1;
    while (end < text.size() && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) ++end;
  }
  return end - start;
}

std::string encoded_words(std::string_view text, std::size_t first_line_used) {
  static constexpr std::string_view kPrefix = "=?UTF-8?B?";
  static constexpr std::size_t kOverhead = kPrefix.size() + 2;  // "=?UTF-8?B?" + "?="
  std::string out;
  std::size_t used = first_line_used;
  for (std::size_t start = 0; start < text.size();) {
    if (start > 0) {
      out += "\r\n ";
      used = 1;
    }
    const std::size_t room =
        kEncodedLineMax > used + kOverhead ? kEncodedLineMax - used - kOverhead : 0;
    const std::size_t length = utf8_chunk(text, start, room / 4 * 3);
    out += kPrefix;
    out += util::base64_encode(text.substr(start, length));
    out += "?=";
    start += length;
  }
  return out;
}

// Joins items with ", ", folding before an item that would pass kFoldAt.
std::string fold_list(const std::vector<std::string>& items, std::string_view separator,
                      std::size_t first_line_used) {
  std::string out;
  std::size_t used = first_line_used;
  for (std::size_t i = 0; i < items.size(); ++i) {
    const std::string& item = items[i];
    if (i > 0) {
      out += separator;
      used += separator.size();
      const std::size_t item_first_line = item.find("\r\n");
      if (used + 1 + std::min(item_first_line, item.size()) > kFoldAt) {
        out += "\r\n";
        used = 0;
      }
      out += ' ';
      ++used;
    }
    out += item;
    const auto last_break = item.rfind("\r\n");
    used = last_break == std::string::npos ? used + item.size() : item.size() - last_break - 2;
  }
  return out;
}

std::string format_address(const Address& address, std::size_t first_line_used) {
  const std::string angle = "<" + address.addr_spec + ">";
  const std::string& name = address.display_name;
  if (name.empty()) return address.addr_spec;
  if (!is_ascii_printable(name) || name.find("=?") != std::string::npos) {
    return encoded_words(name, first_line_used) + " " + angle;
  }
  const bool plain_phrase = std::all_of(name.begin(), name.end(), [](char c) {
    return c == ' ' || is_atext(static_cast<unsigned char>(c));
  });
  if (plain_phrase) return name + " " + angle;
  std::string quoted = "\"";
  for (const char c : name) {
    if (c == '"' || c == '\\') quoted += '\\';
    quoted += c;
  }
  return quoted + "\" " + angle;
}

void check_message_id(std::string_view id, std::string_view field) {
  const bool shaped = id.size() >= 5 && id.size() <= kMaxMessageIdBytes && id.front() == '<' &&
                      id.back() == '>' && id.find('@') != std::string_view::npos;
  const std::string_view inner = shaped ? id.substr(1, id.size() - 2) : id;
  const bool clean = std::all_of(inner.begin(), inner.end(), [](char c) {
    return c > 0x20 && c < 0x7f && c != '<' && c != '>';
  });
  if (!shaped || !clean) reject(field, "not a Message-ID of the form <id@host>");
}

void check_text(std::string_view text, std::string_view field, std::size_t max_bytes) {
  if (text.size() > max_bytes) {
    reject(field, "longer than the " + std::to_string(max_bytes) + "-byte limit");
  }
  if (!is_valid_utf8(text)) reject(field, "not valid UTF-8");
}

std::string normalize_line_endings(std::string_view text) {
  std::string out;
  out.reserve(text.size() + text.size() / 32);
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\r') {
      out += "\r\n";
      if (i + 1 < text.size() && text[i + 1] == '\n') ++i;
    } else if (text[i] == '\n') {
      out += "\r\n";
    } else {
      out += text[i];
    }
  }
  return out;
}

std::string base64_lines(std::string_view text) {
  const std::string encoded = util::base64_encode(text);
  std::string out;
  for (std::size_t i = 0; i < encoded.size(); i += kEncodedLineMax) {
    out += encoded.substr(i, kEncodedLineMax);
    out += "\r\n";
  }
  return out;
}

void add_header(std::string& raw, std::string_view name, std::string_view value) {
  raw += name;
  raw += ':';
  if (!value.empty()) {
    raw += ' ';
    raw += value;
  }
  raw += "\r\n";
}

std::vector<std::string> formatted_addresses(const std::vector<Address>& addresses,
                                             std::size_t first_line_used) {
  std::vector<std::string> items;
  for (const Address& address : addresses) {
    items.push_back(format_address(address, items.empty() ? first_line_used : 1));
  }
  return items;
}

}  // namespace

bool is_valid_utf8(std::string_view text) {
  std::size_t i = 0;
  while (i < text.size()) {
    const auto lead = static_cast<unsigned char>(text[i]);
    std::size_t length = 0;
    std::uint32_t code = 0;
    if (lead < 0x80) {
      ++i;
      continue;
    } else if ((lead & 0xE0) == 0xC0) {
      length = 2;
      code = lead & 0x1F;
    } else if ((lead & 0xF0) == 0xE0) {
      length = 3;
      code = lead & 0x0F;
    } else if ((lead & 0xF8) == 0xF0) {
      length = 4;
      code = lead & 0x07;
    } else {
      return false;
    }
    if (i + length > text.size()) return false;
    for (std::size_t k = 1; k < length; ++k) {
      const auto next = static_cast<unsigned char>(text[i + k]);
      if ((next & 0xC0) != 0x80) return false;
      code = (code << 6) | (next & 0x3F);
    }
    static constexpr std::array<std::uint32_t, 5> kSmallest = {0, 0, 0x80, 0x800, 0x10000};
    if (code < kSmallest[length] || code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF)) {
      return false;
    }
    i += length;
  }
  return true;
}

Address parse_address(std::string_view text, std::string_view field) {
  check_header_safe(text, field);
  if (!is_valid_utf8(text)) reject(field, "not valid UTF-8");
  const std::string_view trimmed = util::trim(text, util::kBlank);
  if (trimmed.empty()) reject(field, "empty address");
  Address address;
  if (trimmed.back() == '>') {
    const auto open = trimmed.rfind('<');
    if (open == std::string_view::npos)
      reject(field, "unbalanced <> in \"" + std::string(text) + "\"");
    address.addr_spec = std::string(trimmed.substr(open + 1, trimmed.size() - open - 2));
    const std::string_view name = util::trim(trimmed.substr(0, open), util::kBlank);
    if (name.size() >= 2 && name.front() == '"' && name.back() == '"') {
      address.display_name = unquote(name, field);
    } else if (name.find_first_of("\"<>@,;:\\") != std::string_view::npos) {
      reject(field, "put a display name with special characters in double quotes: \"" +
                        std::string(text) + "\"");
    } else {
      address.display_name = std::string(name);
    }
  } else {
    address.addr_spec = std::string(trimmed);
  }
  if (address.addr_spec.find_first_of("<> \t\"") != std::string::npos) {
    reject(field, "\"" + std::string(text) + "\" is not an address of the form a@b or Name <a@b>");
  }
  check_addr_spec(address.addr_spec, field);
  return address;
}

std::string make_message_id(const Address& from) {
  std::random_device random;  // the kernel's CSPRNG on Linux
  std::string id = "<";
  static constexpr char kHex[] = "0123456789abcdef";
  for (int i = 0; i < 4; ++i) {
    const std::uint32_t word = random();
    for (int shift = 28; shift >= 0; shift -= 4) id += kHex[(word >> shift) & 0xF];
  }
  return id + "@" + from.addr_spec.substr(from.addr_spec.rfind('@') + 1) + ">";
}

std::string format_date(std::chrono::system_clock::time_point time) {
  const std::time_t seconds = std::chrono::system_clock::to_time_t(time);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  static constexpr std::array<const char*, 7> kDays = {"Sun", "Mon", "Tue", "Wed",
                                                       "Thu", "Fri", "Sat"};
  static constexpr std::array<const char*, 12> kMonths = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                          "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  char text[64];
  std::snprintf(text, sizeof text, "%s, %02d %s %04d %02d:%02d:%02d +0000", kDays[utc.tm_wday],
                utc.tm_mday, kMonths[utc.tm_mon], utc.tm_year + 1900, utc.tm_hour, utc.tm_min,
                utc.tm_sec);
  return text;
}

std::string encode_quoted_printable(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  const std::string lines = normalize_line_endings(text);
  std::string out;
  std::size_t used = 0;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    const auto c = static_cast<unsigned char>(lines[i]);
    if (c == '\r' && i + 1 < lines.size() && lines[i + 1] == '\n') {
      out += "\r\n";
      used = 0;
      ++i;
      continue;
    }
    const bool line_end = i + 1 == lines.size() || lines[i + 1] == '\r';
    const bool literal =
        (c >= 33 && c <= 126 && c != '=') || ((c == ' ' || c == '\t') && !line_end);
    std::string token = literal ? std::string(1, static_cast<char>(c))
                                : std::string{'=', kHex[c >> 4], kHex[c & 0xF]};
    // The last token of a line may use the 76th column; others leave it for a soft break.
    if (used + token.size() > (line_end ? kEncodedLineMax : kEncodedLineMax - 1)) {
      out += "=\r\n";
      used = 0;
    }
    out += token;
    used += token.size();
  }
  return out;
}

std::string encode_header_text(std::string_view text, std::size_t first_line_used) {
  std::vector<std::string> words;
  for (std::size_t start = 0; start <= text.size();) {
    const std::size_t end = std::min(text.find(' ', start), text.size());
    words.emplace_back(text.substr(start, end - start));
    start = end + 1;
  }
  const bool plain = is_ascii_printable(text) && text.find("=?") == std::string_view::npos &&
                     std::all_of(words.begin(), words.end(),
                                 [](const std::string& word) { return word.size() < kFoldAt; });
  if (!plain) return encoded_words(text, first_line_used);
  std::string out;
  std::size_t used = first_line_used;
  for (std::size_t i = 0; i < words.size(); ++i) {
    if (i > 0) {
      // Fold only before a word: a folded line must not be whitespace only.
      if (!words[i].empty() && used + 1 + words[i].size() > kFoldAt) {
        out += "\r\n";
        used = 0;
      }
      out += ' ';
      ++used;
    }
    out += words[i];
    used += words[i].size();
  }
  return out;
}

FormattedMail format_mail(const OutgoingMail& mail, const std::string& message_id,
                          std::chrono::system_clock::time_point date) {
  const Address from = parse_address(mail.from, "from");
  if (mail.to.empty()) reject("to", "at least one recipient is required");
  if (mail.to.size() + mail.cc.size() > kMaxRecipients) {
    reject("to", "more than " + std::to_string(kMaxRecipients) + " recipients");
  }
  std::vector<Address> to;
  std::vector<Address> cc;
  for (const std::string& text : mail.to) to.push_back(parse_address(text, "to"));
  for (const std::string& text : mail.cc) cc.push_back(parse_address(text, "cc"));
  check_header_safe(mail.subject, "subject");
  check_text(mail.subject, "subject", kMaxSubjectBytes);
  if (mail.body.find('\0') != std::string::npos) reject("body", "must not contain NUL characters");
  check_text(mail.body, "body", kMaxBodyBytes);
  check_message_id(message_id, "message_id");
  if (!mail.in_reply_to.empty()) check_message_id(mail.in_reply_to, "in_reply_to");
  for (const std::string& reference : mail.references) check_message_id(reference, "references");

  FormattedMail formatted;
  formatted.message_id = message_id;
  formatted.envelope_from = from.addr_spec;
  std::set<std::string> seen;
  for (const auto* list : {&to, &cc}) {
    for (const Address& address : *list) {
      if (seen.insert(util::ascii_lower(address.addr_spec)).second) {
        formatted.recipients.push_back(address.addr_spec);
      }
    }
  }

  std::string& raw = formatted.raw;
  add_header(raw, "Date", format_date(date));
  add_header(raw, "From", format_address(from, 6));
  add_header(raw, "To", fold_list(formatted_addresses(to, 4), ",", 4));
  if (!cc.empty()) add_header(raw, "Cc", fold_list(formatted_addresses(cc, 4), ",", 4));
  add_header(raw, "Subject", encode_header_text(util::trim(mail.subject, util::kBlank), 9));
  add_header(raw, "Message-ID", message_id);
  if (!mail.in_reply_to.empty()) add_header(raw, "In-Reply-To", mail.in_reply_to);
  if (!mail.references.empty()) add_header(raw, "References", fold_list(mail.references, "", 12));
  add_header(raw, "MIME-Version", "1.0");
  add_header(raw, "Content-Type", "text/plain; charset=utf-8");
  // Quoted-printable keeps mostly-ASCII text readable; base64 is a third
  // smaller than it for mostly non-ASCII text (each such byte costs 3 in QP).
  const auto high_bytes = static_cast<std::size_t>(
      std::count_if(mail.body.begin(), mail.body.end(), [](char c) { return (c & 0x80) != 0; }));
  const bool use_base64 = high_bytes * 3 > mail.body.size();
  add_header(raw, "Content-Transfer-Encoding", use_base64 ? "base64" : "quoted-printable");
  raw += "\r\n";
  if (use_base64) {
    raw += base64_lines(normalize_line_endings(mail.body));
  } else {
    raw += encode_quoted_printable(mail.body);
    // SMTP data ends with a line break; a soft one adds nothing to the text.
    if (!mail.body.empty() && mail.body.back() != '\n' && mail.body.back() != '\r') {
      raw += "=\r\n";
    }
  }
  return formatted;
}

}  // namespace voicedesk::tools::mail
