#include "tools/mail/imap_response.hpp"

#include <algorithm>
#include <cctype>

#include "tools/mail/mail_reader.hpp"
#include "util/text.hpp"

namespace voicedesk::tools::mail {
namespace {

constexpr std::size_t kMaxListDepth = 32;

using util::iequals;

// The size of the literal announced at the end of line ("... {123}"), if any.
std::optional<std::size_t> literal_size(std::string_view line) {
  if (line.empty() || line.back() != '}') return std::nullopt;
  const auto open = line.rfind('{');
  if (open == std::string_view::npos) return std::nullopt;
  std::string_view digits = line.substr(open + 1, line.size() - open - 2);
  if (!digits.empty() && digits.back() == '+') digits.remove_suffix(1);  // LITERAL+
  if (digits.empty() || digits.size() > 12 ||
      !std::all_of(digits.begin(), digits.end(), [](unsigned char c) { return std::isdigit(c); })) {
    return std::nullopt;
  }
  return std::stoull(std::string(digits));
}

std::string_view strip_line_end(std::string_view line) {
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.remove_suffix(1);
  return line;
}

class Parser {
 public:
  explicit Parser(std::string_view text) : text_(text) {}

  bool done() const { return pos_ >= text_.size(); }

  // One response: untagged ones parsed, others (tagged, continuation) skipped.
  std::optional<std::vector<ImapValue>> next_response() {
    if (text_.substr(pos_, 2) != "* ") {
      skip_line();
      return std::nullopt;
    }
    pos_ += 2;
    std::vector<ImapValue> values;
    while (true) {
      skip_spaces();
      if (done()) break;
      if (text_[pos_] == '\r' || text_[pos_] == '\n') {
        skip_line();
        break;
      }
      values.push_back(value(0));
      // Status responses carry free text, which need not be valid IMAP syntax.
      if (values.size() == 1 && is_status(values[0])) {
        values.push_back(ImapValue{ImapValue::Kind::string, rest_of_line(), {}});
        break;
      }
    }
    return values;
  }

 private:
  static bool is_status(const ImapValue& value) {
    return value.is_atom("OK") || value.is_atom("NO") || value.is_atom("BAD") ||
           value.is_atom("BYE") || value.is_atom("PREAUTH");
  }

  [[noreturn]] static void fail(const std::string& what) {
    throw MailError("IMAP server answer not understood: " + what);
  }

  void skip_spaces() {
    while (!done() && text_[pos_] == ' ') ++pos_;
  }
  void skip_line() {
    const auto end = text_.find('\n', pos_);
    pos_ = end == std::string_view::npos ? text_.size() : end + 1;
  }
  std::string rest_of_line() {
    const std::size_t start = pos_;
    skip_line();
    return std::string(strip_line_end(text_.substr(start, pos_ - start)));
  }

  ImapValue value(std::size_t depth) {
    if (done()) fail("unexpected end");
    const char c = text_[pos_];
    if (c == '(') return list(depth);
    if (c == '"') return quoted();
    if (c == '{') return literal();
    return atom();
  }

  ImapValue list(std::size_t depth) {
    if (depth >= kMaxListDepth) fail("lists nested too deeply");
    ++pos_;
    ImapValue result{ImapValue::Kind::list, {}, {}};
    while (true) {
      skip_spaces();
      if (done() || text_[pos_] == '\r' || text_[pos_] == '\n') fail("unterminated list");
      if (text_[pos_] == ')') {
        ++pos_;
        return result;
      }
      result.items.push_back(value(depth + 1));
    }
  }

  ImapValue quoted() {
    ++pos_;
    ImapValue result{ImapValue::Kind::string, {}, {}};
    while (!done()) {
      char c = text_[pos_++];
      if (c == '"') return result;
      if (c == '\r' || c == '\n') break;
      if (c == '\\' && !done()) c = text_[pos_++];
      result.text += c;
    }
    fail("unterminated quoted string");
  }

  ImapValue literal() {
    const auto close = text_.find('}', pos_);
    if (close == std::string_view::npos) fail("bad literal");
    const auto size = literal_size(text_.substr(pos_, close - pos_ + 1));
    if (!size) fail("bad literal size");
    pos_ = close + 1;
    if (text_.substr(pos_, 2) == "\r\n") {
      pos_ += 2;
    } else if (text_.substr(pos_, 1) == "\n") {
      pos_ += 1;
    } else {
      fail("literal without line break");
    }
    if (*size > text_.size() - pos_) fail("literal longer than the answer");
    ImapValue result{ImapValue::Kind::string, std::string(text_.substr(pos_, *size)), {}};
    pos_ += *size;
    return result;
  }

  // An atom, with bracketed parts (section specifiers, response codes) kept
  // whole even when they hold spaces or parentheses.
  ImapValue atom() {
    std::string text;
    int brackets = 0;
    while (!done()) {
      const char c = text_[pos_];
      if (c == '\r' || c == '\n') break;
      if (brackets == 0 && (c == ' ' || c == '(' || c == ')')) break;
      if (c == '[') ++brackets;
      if (c == ']' && brackets > 0) --brackets;
      text += c;
      ++pos_;
    }
    if (text.empty()) fail(std::string("unexpected character '") + text_[pos_] + "'");
    if (iequals(text, "NIL")) return ImapValue{};
    return ImapValue{ImapValue::Kind::atom, std::move(text), {}};
  }

  std::string_view text_;
  std::size_t pos_ = 0;
};

}  // namespace

bool ImapValue::is_atom(std::string_view name) const {
  return kind == Kind::atom && iequals(text, name);
}

std::vector<std::vector<ImapValue>> parse_untagged_responses(std::string_view answer) {
  std::vector<std::vector<ImapValue>> responses;
  Parser parser(answer);
  while (!parser.done()) {
    if (auto response = parser.next_response()) responses.push_back(std::move(*response));
  }
  return responses;
}

std::optional<std::size_t> find_tagged_end(std::string_view text, std::string_view tag,
                                           std::size_t& scan_from) {
  while (scan_from < text.size()) {
    const auto newline = text.find('\n', scan_from);
    if (newline == std::string_view::npos) return std::nullopt;
    const std::string_view line = strip_line_end(text.substr(scan_from, newline - scan_from));
    if (line.size() > tag.size() && line.substr(0, tag.size()) == tag && line[tag.size()] == ' ') {
      return newline + 1;
    }
    if (const auto size = literal_size(line)) {
      if (*size > text.size() - (newline + 1)) return std::nullopt;  // literal not all here yet
      scan_from = newline + 1 + *size;
    } else {
      scan_from = newline + 1;
    }
  }
  return std::nullopt;
}

ImapStatus tagged_status(std::string_view answer, std::string_view tag) {
  std::string_view line = strip_line_end(answer);
  const auto last_break = line.rfind('\n');
  if (last_break != std::string_view::npos) line = line.substr(last_break + 1);
  ImapStatus status;
  if (line.substr(0, tag.size()) != tag) return status;
  line.remove_prefix(std::min(line.size(), tag.size() + 1));
  const auto space = line.find(' ');
  status.condition = std::string(line.substr(0, space));
  std::transform(status.condition.begin(), status.condition.end(), status.condition.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  if (space != std::string_view::npos) status.text = std::string(line.substr(space + 1));
  return status;
}

const ImapValue* fetch_item(const std::vector<ImapValue>& attributes, std::string_view name) {
  for (std::size_t i = 0; i + 1 < attributes.size(); i += 2) {
    if (attributes[i].kind == ImapValue::Kind::atom && iequals(attributes[i].text, name)) {
      return &attributes[i + 1];
    }
  }
  return nullptr;
}

std::string imap_quote(std::string_view text) {
  std::string quoted = "\"";
  for (const char c : text) {
    if (c == '"' || c == '\\') quoted += '\\';
    quoted += c;
  }
  return quoted + "\"";
}

}  // namespace voicedesk::tools::mail
