#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace voicedesk::tools::search {

// Replaces character references (&amp; &#39; &#x2019; and the common named
// ones) with UTF-8; unknown or malformed references are kept as written.
std::string decode_html_entities(std::string_view html);

// Markup to one line of plain text: tags (and script/style contents) removed,
// entities decoded, runs of white space collapsed, ends trimmed.
std::string html_to_text(std::string_view html);

// %XX escapes decoded; '+' becomes a space when plus_is_space (query strings).
std::string percent_decode(std::string_view text, bool plus_is_space);

// One HTML tag found by next_tag: its lower-case name, whether it closes
// (</a>), its attributes (names lower-case, values entity-decoded) and where
// it lies in the document.
struct HtmlTag {
  std::string name;
  bool closing = false;
  std::vector<std::pair<std::string, std::string>> attributes;
  std::size_t begin = 0;  // offset of '<'
  std::size_t end = 0;    // offset just past '>'

  std::optional<std::string> attribute(std::string_view name) const;
  // Whether the class attribute holds this class name as one of its words.
  bool has_class(std::string_view class_name) const;
};

// The next tag at or after from; nullopt at the end of the document. A
// comment, doctype or processing instruction is one tag named "!", and a
// script or style element one tag that ends past its closing tag (their
// contents are not markup).
std::optional<HtmlTag> next_tag(std::string_view html, std::size_t from);

// The markup between an opening tag and its matching closing tag (nested
// elements of the same name counted); up to the end of the document when the
// element is never closed.
std::string_view element_content(std::string_view html, const HtmlTag& open);

}  // namespace voicedesk::tools::search
