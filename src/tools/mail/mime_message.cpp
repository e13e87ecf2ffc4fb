#include "tools/mail/mime_message.hpp"

#include <algorithm>
#include <cctype>

#include "tools/mail/mime_codec.hpp"
#include "util/text.hpp"

namespace voicedesk::tools::mail {
namespace {

using util::ascii_lower;
using util::iequals;
using util::trim;

// One line of text: [start, end) without its line break; next is where the
// following line starts.
struct Line {
  std::string_view text;
  std::size_t start = 0;
  std::size_t next = 0;
};

Line line_at(std::string_view text, std::size_t start) {
  std::size_t end = text.find('\n', start);
  const std::size_t next = end == std::string_view::npos ? text.size() : end + 1;
  if (end == std::string_view::npos) end = text.size();
  std::string_view line = text.substr(start, end - start);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  return {line, start, next};
}

// Splits a message into its header block and body at the first empty line.
void split_head_body(std::string_view raw, std::string_view& head, std::string_view& body) {
  for (std::size_t pos = 0; pos < raw.size();) {
    const Line line = line_at(raw, pos);
    if (line.text.empty()) {
      head = raw.substr(0, pos);
      body = raw.substr(line.next);
      return;
    }
    pos = line.next;
  }
  head = raw;
  body = {};
}

MimeHeaders parse_headers(std::string_view head, std::size_t max_fields) {
  MimeHeaders headers;
  bool dropping = false;  // continuation lines of a field that was not kept
  for (std::size_t pos = 0; pos < head.size();) {
    const Line line = line_at(head, pos);
    pos = line.next;
    if (!line.text.empty() && (line.text[0] == ' ' || line.text[0] == '\t')) {
      if (!dropping && !headers.fields.empty()) {
        headers.fields.back().value += "\r\n";
        headers.fields.back().value += line.text;
      }
      continue;
    }
    const auto colon = line.text.find(':');
    const std::string_view name =
        colon == std::string_view::npos ? std::string_view{} : trim(line.text.substr(0, colon));
    dropping = name.empty() || name.find_first_of(" \t") != std::string_view::npos ||
               headers.fields.size() >= max_fields;
    if (dropping) continue;  // "From " mbox lines, garbage, or over the limit
    headers.fields.push_back({std::string(name), std::string(trim(line.text.substr(colon + 1)))});
  }
  return headers;
}

// Splits "a; b=\"c;d\"; e" at semicolons outside quotes.
std::vector<std::string_view> split_params(std::string_view text) {
  std::vector<std::string_view> pieces;
  bool quoted = false;
  std::size_t start = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (quoted && text[i] == '\\') {
      ++i;
    } else if (text[i] == '"') {
      quoted = !quoted;
    } else if (text[i] == ';' && !quoted) {
      pieces.push_back(text.substr(start, i - start));
      start = i + 1;
    }
  }
  pieces.push_back(text.substr(start));
  return pieces;
}

std::string unquote(std::string_view value) {
  value = trim(value);
  if (value.size() < 2 || value.front() != '"' || value.back() != '"') return std::string(value);
  std::string out;
  for (std::size_t i = 1; i + 1 < value.size(); ++i) {
    if (value[i] == '\\' && i + 2 < value.size()) ++i;
    out += value[i];
  }
  return out;
}

std::string percent_decode(std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size()) {
      const std::string hex(text.substr(i + 1, 2));
      if (std::isxdigit(static_cast<unsigned char>(hex[0])) &&
          std::isxdigit(static_cast<unsigned char>(hex[1]))) {
        out += static_cast<char>(std::stoi(hex, nullptr, 16));
        i += 2;
        continue;
      }
    }
    out += text[i];
  }
  return out;
}

// A leaf's body after undoing its Content-Transfer-Encoding.
std::string transfer_decode(std::string_view body, const MimeHeaders& headers) {
  const std::string declared = headers.raw("Content-Transfer-Encoding").value_or("");
  const std::string encoding = ascii_lower(trim(declared));
  if (encoding == "base64") return decode_base64(body);
  if (encoding == "quoted-printable") return decode_quoted_printable(body);
  return std::string(body);
}

// The parts of a multipart body between its boundary delimiters; empty when
// there is no delimiter at all.
std::vector<std::string_view> split_multipart(std::string_view body, std::string_view boundary) {
  std::vector<std::string_view> parts;
  const std::string delimiter = "--" + std::string(boundary);
  std::optional<std::size_t> part_start;
  for (std::size_t pos = 0; pos < body.size();) {
    const Line line = line_at(body, pos);
    pos = line.next;
    if (line.text.substr(0, delimiter.size()) != delimiter) continue;
    std::string_view rest = line.text.substr(delimiter.size());
    const bool closing = rest.substr(0, 2) == "--";
    if (closing) rest.remove_prefix(2);
    if (!trim(rest).empty()) continue;  // a longer boundary that merely starts alike
    if (part_start) {
      // The line break before a delimiter belongs to the delimiter.
      std::size_t end = line.start;
      if (end > *part_start && body[end - 1] == '\n') --end;
      if (end > *part_start && body[end - 1] == '\r') --end;
      parts.push_back(body.substr(*part_start, end - *part_start));
    }
    if (closing) return parts;
    part_start = line.next;
  }
  if (part_start && *part_start < body.size()) parts.push_back(body.substr(*part_start));
  return parts;
}

MimePart parse_entity(std::string_view raw, std::size_t depth, const MimeLimits& limits,
                      std::size_t& parts_made) {
  ++parts_made;
  MimePart part;
  std::string_view head, body;
  split_head_body(raw, head, body);
  part.headers = parse_headers(head, limits.max_header_fields);
  if (auto type = part.headers.raw("Content-Type")) part.content_type = parse_content_type(*type);
  if (auto disposition = part.headers.raw("Content-Disposition")) {
    part.attachment = iequals(trim(split_params(*disposition).front()), "attachment");
  }
  const std::string boundary = part.content_type.param("boundary");
  if (part.content_type.media_type.rfind("multipart/", 0) == 0 && !boundary.empty() &&
      depth < limits.max_depth) {
    for (const std::string_view child : split_multipart(body, boundary)) {
      if (parts_made >= limits.max_parts) break;
      part.children.push_back(parse_entity(child, depth + 1, limits, parts_made));
    }
    if (!part.children.empty()) return part;
  }
  if (part.content_type.media_type.rfind("multipart/", 0) == 0) {
    // Not understood (no boundary, no delimiter, too deep): show it as text.
    part.content_type = ContentType{};
  }
  part.body = transfer_decode(body, part.headers);
  return part;
}

const MimePart* find_leaf(const MimePart& part, std::string_view media_type) {
  if (part.children.empty()) {
    return !part.attachment && part.content_type.media_type == media_type ? &part : nullptr;
  }
  for (const MimePart& child : part.children) {
    if (const MimePart* found = find_leaf(child, media_type)) return found;
  }
  return nullptr;
}

std::string normalize_newlines(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\r') {
      out += '\n';
      if (i + 1 < text.size() && text[i + 1] == '\n') ++i;
    } else {
      out += text[i];
    }
  }
  return out;
}

// Cuts UTF-8 text to at most max_bytes without splitting a character.
void truncate_utf8(std::string& text, std::size_t max_bytes) {
  if (text.size() <= max_bytes) return;
  std::size_t end = max_bytes;
  while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) --end;
  text.resize(end);
}

void append_utf8(std::string& out, unsigned long code_point) {
  if (code_point == 0 || code_point > 0x10FFFF || (code_point >= 0xD800 && code_point <= 0xDFFF)) {
    code_point = 0xFFFD;
  }
  if (code_point < 0x80) {
    out += static_cast<char>(code_point);
  } else if (code_point < 0x800) {
    out += static_cast<char>(0xC0 | (code_point >> 6));
    out += static_cast<char>(0x80 | (code_point & 0x3F));
  } else if (code_point < 0x10000) {
    out += static_cast<char>(0xE0 | (code_point >> 12));
    out += static_cast<char>(0x80 | ((code_point >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (code_point & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (code_point >> 18));
    out += static_cast<char>(0x80 | ((code_point >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((code_point >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (code_point & 0x3F));
  }
}

// Decodes the character reference at html[i] ("&amp;", "&#233;", "&#xE9;");
// returns false, consuming nothing, when it is not one we know.
bool decode_entity(std::string_view html, std::size_t& i, std::string& out) {
  const std::size_t semicolon = html.find(';', i);
  if (semicolon == std::string_view::npos || semicolon - i > 10) return false;
  const std::string_view name = html.substr(i + 1, semicolon - i - 1);
  static const std::pair<std::string_view, std::string_view> kNamed[] = {{"amp", "&"},
                                                                         {"lt", "<"},
                                                                         {"gt", ">"},
                                                                         {"quot", "\""},
                                                                         {"apos", "'"},
                                                                         {"nbsp", " "},
                                                                         {"copy", "\xC2\xA9"},
                                                                         {"hellip", "\xE2\x80\xA6"},
                                                                         {"mdash", "\xE2\x80\x94"},
                                                                         {"ndash", "\xE2\x80\x93"},
                                                                         {"euro", "\xE2\x82\xAC"}};
  if (!name.empty() && name[0] == '#') {
    const bool hex = name.size() > 1 && (name[1] == 'x' || name[1] == 'X');
    const std::string digits(name.substr(hex ? 2 : 1));
    if (digits.empty() || digits.size() > 7) return false;
    for (const char c : digits) {
      if (!(hex ? std::isxdigit(static_cast<unsigned char>(c))
                : std::isdigit(static_cast<unsigned char>(c)))) {
        return false;
      }
    }
    append_utf8(out, std::stoul(digits, nullptr, hex ? 16 : 10));
    i = semicolon + 1;
    return true;
  }
  for (const auto& [entity, text] : kNamed) {
    if (name == entity) {
      out += text;
      i = semicolon + 1;
      return true;
    }
  }
  return false;
}

}  // namespace

std::optional<std::string> MimeHeaders::raw(std::string_view name) const {
  for (const HeaderField& field : fields) {
    if (iequals(field.name, name)) return field.value;
  }
  return std::nullopt;
}

std::string MimeHeaders::text(std::string_view name) const {
  const auto value = raw(name);
  return value ? decode_header_value(*value) : std::string();
}

std::string ContentType::param(const std::string& name) const {
  const auto it = params.find(name);
  return it == params.end() ? std::string() : it->second;
}

ContentType parse_content_type(std::string_view raw) {
  std::string unfolded;
  for (const char c : raw) {
    if (c != '\r' && c != '\n') unfolded += c;
  }
  const auto pieces = split_params(unfolded);
  ContentType type;
  const std::string media_type = ascii_lower(trim(pieces.front()));
  if (media_type.find('/') != std::string::npos &&
      media_type.find_first_of(" \t\"") == std::string::npos) {
    type.media_type = media_type;
  }
  // RFC 2231: name*0, name*1*... sections joined in order; a trailing "*"
  // marks charset'language'%XX-encoded text.
  struct Section {
    std::string value;
    bool extended = false;
  };
  std::map<std::string, std::map<int, Section>> sectioned;
  for (std::size_t i = 1; i < pieces.size(); ++i) {
    const auto equals = pieces[i].find('=');
    if (equals == std::string_view::npos) continue;
    std::string name = ascii_lower(trim(pieces[i].substr(0, equals)));
    const std::string value = unquote(pieces[i].substr(equals + 1));
    if (name.empty()) continue;
    const auto star = name.find('*');
    if (star == std::string::npos) {
      type.params.emplace(name, value);
      continue;
    }
    Section section{value, name.back() == '*'};
    const std::string number =
        name.substr(star + 1, name.size() - star - 1 - (section.extended ? 1 : 0));
    int index = 0;
    if (!number.empty()) {
      if (number.size() > 3 || !std::all_of(number.begin(), number.end(),
                                            [](unsigned char c) { return std::isdigit(c); }))
        continue;
      index = std::stoi(number);
    }
    sectioned[name.substr(0, star)][index] = std::move(section);
  }
  for (auto& [name, sections] : sectioned) {
    std::string bytes;
    std::string charset;
    for (auto& [index, section] : sections) {
      std::string_view value = section.value;
      if (section.extended && index == sections.begin()->first) {
        const auto first_quote = value.find('\'');
        const auto second_quote = first_quote == std::string_view::npos
                                      ? std::string_view::npos
                                      : value.find('\'', first_quote + 1);
        if (second_quote != std::string_view::npos) {
          charset = std::string(value.substr(0, first_quote));
          value = value.substr(second_quote + 1);
        }
      }
      bytes += section.extended ? percent_decode(value) : std::string(value);
    }
    type.params[name] = to_utf8(bytes, charset);
  }
  return type;
}

MimePart parse_mime(std::string_view raw, const MimeLimits& limits) {
  std::size_t parts_made = 0;
  return parse_entity(raw, 0, limits, parts_made);
}

std::string html_to_text(std::string_view html) {
  static constexpr std::string_view kBreakTags[] = {
      "br",  "p",   "/p",  "div",    "/div",       "li",          "/li", "tr",  "/tr",
      "h1",  "h2",  "h3",  "h4",     "h5",         "h6",          "/h1", "/h2", "/h3",
      "/h4", "/h5", "/h6", "/table", "blockquote", "/blockquote", "hr"};
  std::string text;
  for (std::size_t i = 0; i < html.size();) {
    const char c = html[i];
    if (c == '<') {
      if (html.substr(i, 4) == "<!--") {
        const auto end = html.find("-->", i + 4);
        i = end == std::string_view::npos ? html.size() : end + 3;
        continue;
      }
      const auto close = html.find('>', i);
      if (close == std::string_view::npos) break;
      std::string_view tag = html.substr(i + 1, close - i - 1);
      const auto name_end = tag.find_first_of(" \t\r\n/>", tag.size() > 0 && tag[0] == '/' ? 1 : 0);
      const std::string name = ascii_lower(tag.substr(0, name_end));
      i = close + 1;
      if (name == "script" || name == "style" || name == "head" || name == "title") {
        // Their content is not text: skip to the closing tag.
        const auto end = util::ifind(html.substr(i, 1u << 20), "</" + name);
        if (end == std::string_view::npos) break;
        i += end;
        continue;
      }
      if (std::find(std::begin(kBreakTags), std::end(kBreakTags), name) != std::end(kBreakTags)) {
        text += '\n';
      }
      continue;
    }
    if (c == '&' && decode_entity(html, i, text)) continue;
    text += (c == '\r' || c == '\n' || c == '\t') ? ' ' : c;
    ++i;
  }
  // Tidy: trim each line, collapse runs of spaces and of empty lines.
  std::string out;
  std::size_t empty_lines = 0;
  for (std::size_t pos = 0; pos < text.size();) {
    const Line line = line_at(text, pos);
    pos = line.next;
    std::string collapsed;
    for (const char ch : trim(line.text)) {
      if (ch == ' ' && !collapsed.empty() && collapsed.back() == ' ') continue;
      collapsed += ch;
    }
    if (collapsed.empty()) {
      if (++empty_lines > 1 || out.empty()) continue;
    } else {
      empty_lines = 0;
    }
    out += collapsed;
    out += '\n';
  }
  while (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

std::string readable_text(const MimePart& root, const MimeLimits& limits) {
  std::string text;
  if (const MimePart* plain = find_leaf(root, "text/plain")) {
    text = normalize_newlines(to_utf8(plain->body, plain->content_type.param("charset")));
  } else if (const MimePart* html = find_leaf(root, "text/html")) {
    text = html_to_text(to_utf8(html->body, html->content_type.param("charset")));
  }
  truncate_utf8(text, limits.max_text_bytes);
  return text;
}

std::vector<std::string> parse_message_ids(std::string_view value) {
  std::vector<std::string> ids;
  for (std::size_t pos = 0;;) {
    const auto open = value.find('<', pos);
    if (open == std::string_view::npos) break;
    const auto close = value.find('>', open);
    if (close == std::string_view::npos) break;
    const std::string_view id = value.substr(open, close - open + 1);
    if (id.size() > 2 && id.find_first_of(" \t\r\n<", 1) == std::string_view::npos) {
      ids.emplace_back(id);
    }
    pos = close + 1;
  }
  return ids;
}

Mailbox parse_mailbox(std::string_view value) {
  // The first entry of the list: up to a comma outside quotes and brackets.
  bool quoted = false;
  bool bracketed = false;
  std::size_t end = value.size();
  for (std::size_t i = 0; i < value.size(); ++i) {
    if (quoted && value[i] == '\\') {
      ++i;
    } else if (value[i] == '"') {
      quoted = !quoted;
    } else if (!quoted && value[i] == '<') {
      bracketed = true;
    } else if (!quoted && value[i] == '>') {
      bracketed = false;
    } else if (!quoted && !bracketed && value[i] == ',') {
      end = i;
      break;
    }
  }
  const std::string_view entry = trim(value.substr(0, end));
  Mailbox mailbox;
  const auto open = entry.rfind('<');
  const auto close = open == std::string_view::npos ? open : entry.find('>', open);
  if (close != std::string_view::npos) {
    mailbox.address = std::string(trim(entry.substr(open + 1, close - open - 1)));
    mailbox.name = unquote(entry.substr(0, open));
    return mailbox;
  }
  // "addr@host (Name)"
  const auto paren = entry.find('(');
  mailbox.address = std::string(trim(entry.substr(0, paren)));
  if (paren != std::string_view::npos) {
    const auto paren_close = entry.find(')', paren);
    mailbox.name = std::string(trim(entry.substr(paren + 1, paren_close == std::string_view::npos
                                                                ? std::string_view::npos
                                                                : paren_close - paren - 1)));
  }
  return mailbox;
}

std::string format_mailbox(const Mailbox& mailbox) {
  const std::string_view name = trim(mailbox.name);
  if (mailbox.address.empty()) return {};
  if (name.empty() || name.find_first_of("\",;<>()[]\\:@\r\n") != std::string_view::npos) {
    return mailbox.address;
  }
  return std::string(name) + " <" + mailbox.address + ">";
}

MailMessage mail_from_tree(const MimePart& root, const MimeLimits& limits) {
  const MimeHeaders& headers = root.headers;
  MailMessage mail;
  mail.from = headers.text("From");
  mail.to = headers.text("To");
  mail.cc = headers.text("Cc");
  mail.reply_to = headers.text("Reply-To");
  mail.subject = headers.text("Subject");
  mail.date = headers.text("Date");
  const auto ids = parse_message_ids(headers.raw("Message-ID").value_or(""));
  if (!ids.empty()) mail.message_id = ids.front();
  mail.references = parse_message_ids(headers.raw("References").value_or(""));
  if (mail.references.empty()) {
    // Some mailers thread with In-Reply-To only.
    mail.references = parse_message_ids(headers.raw("In-Reply-To").value_or(""));
  }
  mail.body = readable_text(root, limits);
  return mail;
}

MailMessage parse_mail(std::string_view raw, const MimeLimits& limits) {
  return mail_from_tree(parse_mime(raw, limits), limits);
}

}  // namespace voicedesk::tools::mail
