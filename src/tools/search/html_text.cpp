#include "tools/search/html_text.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <utility>

#include "util/text.hpp"

namespace voicedesk::tools::search {
namespace {

struct NamedEntity {
  std::string_view name;
  char32_t code_point;
};

// The references search engines actually put in titles and snippets.
constexpr std::array<NamedEntity, 26> kNamedEntities = {{
    {"amp", U'&'},         {"lt", U'<'},         {"gt", U'>'},          {"quot", U'"'},
    {"apos", U'\''},       {"nbsp", U'\u00A0'},  {"hellip", U'\u2026'}, {"mdash", U'\u2014'},
    {"ndash", U'\u2013'},  {"lsquo", U'\u2018'}, {"rsquo", U'\u2019'},  {"ldquo", U'\u201C'},
    {"rdquo", U'\u201D'},  {"laquo", U'\u00AB'}, {"raquo", U'\u00BB'},  {"copy", U'\u00A9'},
    {"reg", U'\u00AE'},    {"trade", U'\u2122'}, {"middot", U'\u00B7'}, {"bull", U'\u2022'},
    {"euro", U'\u20AC'},   {"pound", U'\u00A3'}, {"deg", U'\u00B0'},    {"times", U'\u00D7'},
    {"eacute", U'\u00E9'}, {"uuml", U'\u00FC'},
}};

// Elements that separate words when their markup is removed.
constexpr std::array<std::string_view, 18> kBreakingTags = {
    "br",    "p",  "div", "li", "ul", "ol", "tr", "td", "th",
    "table", "h1", "h2",  "h3", "h4", "h5", "h6", "hr", "section"};

void append_utf8(std::string& out, char32_t cp) {
  if (cp == 0 || (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF) cp = 0xFFFD;
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

// The code point a reference's name (between '&' and ';') stands for.
std::optional<char32_t> resolve_entity(std::string_view name) {
  if (name.size() > 1 && name[0] == '#') {
    const bool hex = name[1] == 'x' || name[1] == 'X';
    const std::string_view digits = name.substr(hex ? 2 : 1);
    std::uint32_t value = 0;
    const auto [end, error] =
        std::from_chars(digits.data(), digits.data() + digits.size(), value, hex ? 16 : 10);
    if (digits.empty() || error != std::errc() || end != digits.data() + digits.size()) {
      return std::nullopt;
    }
    return static_cast<char32_t>(value);
  }
  for (const NamedEntity& entity : kNamedEntities) {
    if (entity.name == name) return entity.code_point;
  }
  return std::nullopt;
}

bool is_space(char c) {
  return std::isspace(static_cast<unsigned char>(c)) != 0;
}
bool is_name_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '-' || c == '_' || c == ':';
}

// Parses the tag whose '<' is at begin; nullopt when it is not a tag.
std::optional<HtmlTag> parse_tag(std::string_view html, std::size_t begin) {
  HtmlTag tag;
  tag.begin = begin;
  std::size_t pos = begin + 1;
  if (pos < html.size() && html[pos] == '/') {
    tag.closing = true;
    ++pos;
  }
  if (pos >= html.size() || !std::isalpha(static_cast<unsigned char>(html[pos]))) {
    return std::nullopt;
  }
  const std::size_t name_begin = pos;
  while (pos < html.size() && is_name_char(html[pos])) ++pos;
  tag.name = util::ascii_lower(html.substr(name_begin, pos - name_begin));
  while (pos < html.size()) {
    while (pos < html.size() && (is_space(html[pos]) || html[pos] == '/')) ++pos;
    if (pos >= html.size()) break;
    if (html[pos] == '>') {
      tag.end = pos + 1;
      return tag;
    }
    const std::size_t attr_begin = pos;
    while (pos < html.size() && !is_space(html[pos]) && html[pos] != '=' && html[pos] != '>' &&
           html[pos] != '/') {
      ++pos;
    }
    std::string name = util::ascii_lower(html.substr(attr_begin, pos - attr_begin));
    if (name.empty()) {
      ++pos;  // a stray '=' or quote: skip it
      continue;
    }
    while (pos < html.size() && is_space(html[pos])) ++pos;
    std::string value;
    if (pos < html.size() && html[pos] == '=') {
      ++pos;
      while (pos < html.size() && is_space(html[pos])) ++pos;
      if (pos < html.size() && (html[pos] == '"' || html[pos] == '\'')) {
        const std::size_t close = html.find(html[pos], pos + 1);
        if (close == std::string_view::npos) return std::nullopt;
        value = decode_html_entities(html.substr(pos + 1, close - pos - 1));
        pos = close + 1;
      } else {
        const std::size_t value_begin = pos;
        while (pos < html.size() && !is_space(html[pos]) && html[pos] != '>') ++pos;
        value = decode_html_entities(html.substr(value_begin, pos - value_begin));
      }
    }
    tag.attributes.emplace_back(std::move(name), std::move(value));
  }
  return std::nullopt;  // the document ended inside the tag
}

}  // namespace

std::string decode_html_entities(std::string_view html) {
  std::string out;
  out.reserve(html.size());
  std::size_t pos = 0;
  while (pos < html.size()) {
    const std::size_t amp = html.find('&', pos);
    if (amp == std::string_view::npos) break;
    out.append(html.substr(pos, amp - pos));
    // References are short; a ';' further away means this '&' is plain text.
    const std::size_t semicolon = html.substr(amp, 12).find(';');
    const std::optional<char32_t> code_point =
        semicolon == std::string_view::npos ? std::nullopt
                                            : resolve_entity(html.substr(amp + 1, semicolon - 1));
    if (code_point) {
      append_utf8(out, *code_point);
      pos = amp + semicolon + 1;
    } else {
      out += '&';
      pos = amp + 1;
    }
  }
  out.append(html.substr(pos));
  return out;
}

std::string html_to_text(std::string_view html) {
  std::string markup_free;
  std::size_t pos = 0;
  while (const std::optional<HtmlTag> tag = next_tag(html, pos)) {
    markup_free.append(html.substr(pos, tag->begin - pos));
    if (std::find(kBreakingTags.begin(), kBreakingTags.end(), tag->name) != kBreakingTags.end()) {
      markup_free += ' ';
    }
    pos = tag->end;
  }
  markup_free.append(html.substr(std::min(pos, html.size())));

  const std::string decoded = decode_html_entities(markup_free);
  std::string text;
  text.reserve(decoded.size());
  bool pending_space = false;
  for (std::size_t i = 0; i < decoded.size(); ++i) {
    const bool nbsp = decoded.compare(i, 2, "\xC2\xA0") == 0;
    if (nbsp || is_space(decoded[i])) {
      pending_space = true;
      if (nbsp) ++i;
      continue;
    }
    if (pending_space && !text.empty()) text += ' ';
    pending_space = false;
    text += decoded[i];
  }
  return text;
}

std::string percent_decode(std::string_view text, bool plus_is_space) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    unsigned value = 0;
    if (text[i] == '%' && i + 2 < text.size() &&
        std::from_chars(text.data() + i + 1, text.data() + i + 3, value, 16).ptr ==
            text.data() + i + 3) {
      out += static_cast<char>(value);
      i += 2;
    } else if (plus_is_space && text[i] == '+') {
      out += ' ';
    } else {
      out += text[i];
    }
  }
  return out;
}

std::optional<std::string> HtmlTag::attribute(std::string_view wanted) const {
  for (const auto& [name, value] : attributes) {
    if (name == wanted) return value;
  }
  return std::nullopt;
}

bool HtmlTag::has_class(std::string_view class_name) const {
  const std::optional<std::string> classes = attribute("class");
  if (!classes) return false;
  std::size_t pos = 0;
  while (pos < classes->size()) {
    while (pos < classes->size() && is_space((*classes)[pos])) ++pos;
    std::size_t end = pos;
    while (end < classes->size() && !is_space((*classes)[end])) ++end;
    if (std::string_view(*classes).substr(pos, end - pos) == class_name) return true;
    pos = end;
  }
  return false;
}

std::optional<HtmlTag> next_tag(std::string_view html, std::size_t from) {
  std::size_t pos = from;
  while (pos < html.size()) {
    const std::size_t open = html.find('<', pos);
    if (open == std::string_view::npos) return std::nullopt;
    const bool comment = html.compare(open, 4, "<!--") == 0;
    if (comment || html.compare(open, 2, "<!") == 0 || html.compare(open, 2, "<?") == 0) {
      const std::size_t close = comment ? html.find("-->", open + 4) : html.find('>', open);
      if (close == std::string_view::npos) return std::nullopt;
      HtmlTag declaration;
      declaration.name = "!";
      declaration.begin = open;
      declaration.end = close + (comment ? 3 : 1);
      return declaration;
    }
    std::optional<HtmlTag> tag = parse_tag(html, open);
    if (!tag) {
      pos = open + 1;  // a '<' in text
      continue;
    }
    if (!tag->closing && (tag->name == "script" || tag->name == "style")) {
      // Their contents are code, not markup: the element is one tag.
      const std::size_t close = util::ifind(html, "</" + tag->name, tag->end);
      const std::size_t close_end = close == std::string_view::npos ? close : html.find('>', close);
      if (close_end == std::string_view::npos) return std::nullopt;
      tag->end = close_end + 1;
    }
    return tag;
  }
  return std::nullopt;
}

std::string_view element_content(std::string_view html, const HtmlTag& open) {
  int depth = 1;
  std::size_t pos = open.end;
  while (const std::optional<HtmlTag> tag = next_tag(html, pos)) {
    if (tag->name == open.name) {
      depth += tag->closing ? -1 : 1;
      if (depth == 0) return html.substr(open.end, tag->begin - open.end);
    }
    pos = tag->end;
  }
  return html.substr(std::min(open.end, html.size()));
}

}  // namespace voicedesk::tools::search
