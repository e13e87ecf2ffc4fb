#include "util/env_file.hpp"

#include <cerrno>
#include <cstdio>
#include <memory>
#include <optional>
#include <system_error>

#include "util/text.hpp"

namespace voicedesk::util {
namespace {

// Anything larger is almost certainly not a hand-written env file (a log, a binary picked by
// mistake); refusing keeps a typo in --config from reading gigabytes.
constexpr std::size_t kMaxFileBytes = std::size_t{1} << 20;

bool is_blank(char c) {
  return c == ' ' || c == '\t';
}

bool is_valid_key(std::string_view key) {
  auto is_alpha = [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
  };
  auto is_digit = [](char c) { return c >= '0' && c <= '9'; };
  if (key.empty() || !is_alpha(key.front())) return false;
  for (char c : key) {
    if (!is_alpha(c) && !is_digit(c)) return false;
  }
  return true;
}

class LineParser {
 public:
  LineParser(const std::string& origin, int line) : origin_(origin), line_(line) {}

  std::optional<EnvEntry> parse(std::string_view text) const {
    if (text.find('\0') != std::string_view::npos) {
      fail("NUL byte in file (is this a binary file?)");
    }
    std::string_view rest = trim_left(text, kBlank);
    if (rest.empty() || rest.front() == '#') return std::nullopt;
    rest = strip_export(rest);

    const auto eq = rest.find('=');
    if (eq == std::string_view::npos) {
      // Only the first word is echoed: the rest may be a secret missing its '='.
      const std::string_view first_word = rest.substr(0, rest.find_first_of(" \t"));
      fail("expected KEY=VALUE, got a line without '=' starting with " +
           quote_env_value(first_word));
    }
    const std::string_view key = trim_right(rest.substr(0, eq), kBlank);
    if (!is_valid_key(key)) {
      fail("invalid key " + quote_env_value(key) +
           ": use letters, digits and underscores, not starting with a digit");
    }
    return EnvEntry{std::string(key), parse_value(key, rest.substr(eq + 1)), line_};
  }

 private:
  [[noreturn]] void fail(const std::string& what) const {
    throw ConfigError(origin_ + ":" + std::to_string(line_) + ": " + what);
  }

  // Lets a file double as a shell script (`source voicedesk.env`).
  static std::string_view strip_export(std::string_view rest) {
    constexpr std::string_view kExport = "export";
    if (rest.size() > kExport.size() && rest.starts_with(kExport) &&
        is_blank(rest[kExport.size()])) {
      return trim_left(rest.substr(kExport.size()), kBlank);
    }
    return rest;
  }

  std::string parse_value(std::string_view key, std::string_view after_equals) const {
    const std::string_view raw = trim_left(after_equals, kBlank);
    if (raw.starts_with('\'')) {
      const auto close = raw.find('\'', 1);
      if (close == std::string_view::npos) unterminated("single", key);
      check_after_quote(key, raw.substr(close + 1));
      return std::string(raw.substr(1, close - 1));
    }
    if (raw.starts_with('"')) return parse_double_quoted(key, raw);
    // '#' only starts a comment after whitespace, so URL fragments and passwords such as "pa#ss"
    // survive unquoted. Scanning from before the blanks that follow '=' makes template lines like
    // `OPENAI_API_KEY=  # paste yours` empty, where python-dotenv would read "# paste yours".
    for (std::size_t i = 1; i < after_equals.size(); ++i) {
      if (after_equals[i] == '#' && is_blank(after_equals[i - 1])) {
        return std::string(trim(after_equals.substr(0, i), kBlank));
      }
    }
    return std::string(trim_right(raw, kBlank));
  }

  std::string parse_double_quoted(std::string_view key, std::string_view raw) const {
    std::string value;
    for (std::size_t i = 1; i < raw.size(); ++i) {
      const char c = raw[i];
      if (c == '"') {
        check_after_quote(key, raw.substr(i + 1));
        return value;
      }
      if (c != '\\' || i + 1 == raw.size()) {
        value += c;
        continue;
      }
      const char next = raw[++i];
      switch (next) {
        case 'n':
          value += '\n';
          break;
        case 't':
          value += '\t';
          break;
        case '"':
        case '\\':
        case '$':
          value += next;
          break;
        default:
          // Windows paths such as "C:\Users\me" are common; keeping unknown escapes literally
          // makes them work without doubling every backslash.
          value += '\\';
          value += next;
      }
    }
    unterminated("double", key);
  }

  void check_after_quote(std::string_view key, std::string_view tail) const {
    tail = trim_left(tail, kBlank);
    if (!tail.empty() && tail.front() != '#') {
      fail("unexpected text after the closing quote of " + std::string(key) +
           " (put the whole value inside the quotes)");
    }
  }

  [[noreturn]] void unterminated(std::string_view kind, std::string_view key) const {
    fail("unterminated " + std::string(kind) + "-quoted value for " + std::string(key) +
         " (multi-line values are not supported)");
  }

  const std::string& origin_;
  int line_;
};

}  // namespace

std::vector<EnvEntry> parse_env_file(std::string_view text, const std::string& origin_for_errors) {
  constexpr std::string_view kUtf8Bom = "\xEF\xBB\xBF";
  if (text.starts_with(kUtf8Bom)) text.remove_prefix(kUtf8Bom.size());

  std::vector<EnvEntry> entries;
  int line_number = 0;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(start, end - start);
    start = end + 1;
    ++line_number;
    if (line.ends_with('\r')) line.remove_suffix(1);
    if (auto entry = LineParser(origin_for_errors, line_number).parse(line)) {
      entries.push_back(std::move(*entry));
    }
  }
  return entries;
}

std::vector<EnvEntry> read_env_file(const std::filesystem::path& path) {
  const std::string origin = path.string();
  auto cannot_read = [&origin](int error) {
    return ConfigError(origin + ": cannot read: " + std::generic_category().message(error));
  };

  const std::unique_ptr<std::FILE, int (*)(std::FILE*)> file(std::fopen(path.c_str(), "rb"),
                                                             &std::fclose);
  if (!file) throw cannot_read(errno);

  std::string text(kMaxFileBytes + 1, '\0');
  const std::size_t size = std::fread(text.data(), 1, text.size(), file.get());
  if (std::ferror(file.get())) throw cannot_read(errno);
  if (size > kMaxFileBytes) {
    throw ConfigError(origin + ": larger than 1 MiB; this does not look like an env file");
  }
  text.resize(size);
  return parse_env_file(text, origin);
}

std::string quote_env_value(std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string quoted = "\"";
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      quoted += '\\';
      quoted += c;
    } else if (c == '\n') {
      quoted += "\\n";
    } else if (c == '\t') {
      quoted += "\\t";
    } else if (byte < 0x20 || byte == 0x7f) {
      quoted += "\\x";
      quoted += kHex[byte >> 4];
      quoted += kHex[byte & 0xf];
    } else {
      quoted += c;
    }
  }
  quoted += '"';
  return quoted;
}

}  // namespace voicedesk::util
