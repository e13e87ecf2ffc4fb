#include "util/config.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <iterator>
#include <numeric>
#include <set>
#include <stdexcept>

#include "util/env_file.hpp"
#include "util/text.hpp"

namespace voicedesk::util {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kDigits = "0123456789";
constexpr std::string_view kMask = "********";
// Far enough to catch a dropped prefix or a transposition, close enough not to suggest nonsense.
constexpr std::size_t kMaxSuggestionDistance = 3;

bool has_control_chars(std::string_view text) {
  return std::ranges::any_of(text, [](char c) {
    const auto byte = static_cast<unsigned char>(c);
    return (byte < 0x20 && c != '\t') || byte == 0x7f;
  });
}

// Optional sign and decimal digits only: from_chars alone would accept "12abc" as 12.
std::optional<std::int64_t> parse_int(std::string_view text) {
  const bool negative = text.starts_with('-');
  const std::string_view digits = (negative || text.starts_with('+')) ? text.substr(1) : text;
  if (digits.empty() || digits.find_first_not_of(kDigits) != std::string_view::npos) {
    return std::nullopt;
  }
  const std::string_view number = negative ? text : digits;  // from_chars rejects a '+'
  std::int64_t value = 0;
  if (std::from_chars(number.data(), number.data() + number.size(), value).ec != std::errc{}) {
    return std::nullopt;
  }
  return value;
}

// A plain decimal such as "2", "0.5" or "-1.25" (no exponent, no inf/nan).
std::optional<double> parse_number(std::string_view text) {
  if (text.empty() || text.find_first_not_of("+-.0123456789") != std::string_view::npos) {
    return std::nullopt;
  }
  const std::string_view digits = text.starts_with('+') ? text.substr(1) : text;
  double value = 0;
  const auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
  if (error != std::errc{} || end != digits.data() + digits.size()) return std::nullopt;
  return value;
}

std::optional<std::string> parse_bool(std::string_view text) {
  static constexpr std::array<std::pair<std::string_view, bool>, 8> kWords{{{"true", true},
                                                                            {"false", false},
                                                                            {"1", true},
                                                                            {"0", false},
                                                                            {"yes", true},
                                                                            {"no", false},
                                                                            {"on", true},
                                                                            {"off", false}}};
  const std::string lower = ascii_lower(text);
  for (const auto& [word, meaning] : kWords) {
    if (lower == word) return meaning ? "true" : "false";
  }
  return std::nullopt;
}

bool is_port(std::string_view text) {
  if (text.empty() || text.find_first_not_of(kDigits) != std::string_view::npos) return false;
  const auto port = parse_int(text);
  return port && *port >= 1 && *port <= 65535;
}

bool is_host_port(std::string_view text) {
  constexpr std::string_view kIpv6Chars = "0123456789abcdefABCDEF:.";
  constexpr std::string_view kHostChars =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._";
  std::string_view host;
  std::string_view port;
  std::string_view allowed;
  if (text.starts_with('[')) {
    const auto close = text.find("]:");
    if (close == std::string_view::npos) return false;
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
    allowed = kIpv6Chars;
  } else {
    // A bare IPv6 address has several colons and no way to tell the port apart, hence the
    // brackets; its colons land in `host` and fail the character check.
    const auto colon = text.rfind(':');
    if (colon == std::string_view::npos) return false;
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
    allowed = kHostChars;
  }
  return !host.empty() && host.find_first_not_of(allowed) == std::string_view::npos &&
         is_port(port);
}

bool is_url(std::string_view text) {
  const std::string lower = ascii_lower(text);
  std::string_view rest;
  for (const std::string_view scheme : {"http://", "https://"}) {
    if (lower.starts_with(scheme)) rest = text.substr(scheme.size());
  }
  const std::string_view authority = rest.substr(0, rest.find_first_of("/?#"));
  return !authority.empty() && !authority.starts_with(':') &&
         text.find_first_of(" \t") == std::string_view::npos && !has_control_chars(text);
}

std::string join(const std::vector<std::string>& items, std::string_view separator) {
  std::string joined;
  for (const auto& item : items) {
    if (!joined.empty()) joined += separator;
    joined += item;
  }
  return joined;
}

// The normalized form of a non-empty `value`, or nullopt when `key` does not accept it.
std::optional<std::string> normalize(const ConfigKey& key, std::string_view value) {
  switch (key.type) {
    case ValueType::String:
    case ValueType::Path:
      if (has_control_chars(value)) return std::nullopt;
      return std::string(value);
    case ValueType::Int: {
      const auto number = parse_int(value);
      if (!number || *number < key.min || *number > key.max) return std::nullopt;
      return std::to_string(*number);
    }
    case ValueType::Number: {
      const auto number = parse_number(value);
      if (!number || *number < static_cast<double>(key.min) ||
          *number > static_cast<double>(key.max)) {
        return std::nullopt;
      }
      return std::string(value.starts_with('+') ? value.substr(1) : value);
    }
    case ValueType::Bool:
      return parse_bool(value);
    case ValueType::Enum: {
      std::string lower = ascii_lower(value);
      if (std::ranges::find(key.choices, lower) == key.choices.end()) return std::nullopt;
      return lower;
    }
    case ValueType::HostPort:
      if (!is_host_port(value)) return std::nullopt;
      return std::string(value);
    case ValueType::Url:
      if (!is_url(value)) return std::nullopt;
      return std::string(value);
  }
  throw std::logic_error("unhandled ValueType for " + key.name);
}

std::string int_expectation(const ConfigKey& key) {
  const bool has_min = key.min != std::numeric_limits<std::int64_t>::min();
  const bool has_max = key.max != std::numeric_limits<std::int64_t>::max();
  if (has_min && has_max) {
    return "an integer from " + std::to_string(key.min) + " to " + std::to_string(key.max);
  }
  if (has_min) return "an integer of at least " + std::to_string(key.min);
  if (has_max) return "an integer of at most " + std::to_string(key.max);
  return "a 64-bit integer";
}

std::string expectation(const ConfigKey& key) {
  switch (key.type) {
    case ValueType::String:
      return "text without control characters";
    case ValueType::Path:
      return "a path without control characters";
    case ValueType::Int:
      return int_expectation(key);
    case ValueType::Number:
      return "a decimal number from " + std::to_string(key.min) + " to " + std::to_string(key.max);
    case ValueType::Bool:
      return "true/false, yes/no, on/off or 1/0";
    case ValueType::Enum:
      return "one of " + join(key.choices, ", ");
    case ValueType::HostPort:
      return "HOST:PORT with a port from 1 to 65535 (IPv6 as [::1]:8080)";
    case ValueType::Url:
      return "an http:// or https:// URL with a host";
  }
  throw std::logic_error("unhandled ValueType for " + key.name);
}

std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  std::iota(row.begin(), row.end(), std::size_t{0});
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t above = row[j];
      row[j] = std::min({above + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

std::string unknown_key_message(std::string_view key, const std::vector<ConfigKey>& schema) {
  std::string message = "unknown configuration key " + std::string(key);
  // Case-insensitive, so "voicedesk_listen" points at VOICEDESK_LISTEN.
  const std::string wanted = ascii_lower(key);
  const ConfigKey* closest = nullptr;
  std::size_t closest_distance = kMaxSuggestionDistance + 1;
  for (const auto& candidate : schema) {
    const std::size_t distance = edit_distance(wanted, ascii_lower(candidate.name));
    if (distance < closest_distance) {
      closest = &candidate;
      closest_distance = distance;
    }
  }
  if (closest != nullptr) message += " (did you mean " + closest->name + "?)";
  return message;
}

// Plain values stay readable; anything an env-file reader could misread (spaces, '#', quotes,
// backslashes) is quoted so `voicedesk config > voicedesk.env` reads back the same values.
std::string render_value(std::string_view value) {
  if (value.find_first_of(" \t#\"'\\") == std::string_view::npos) return std::string(value);
  return quote_env_value(value);
}

std::optional<fs::path> find_default_file(const fs::path& dir) {
  for (const char* name : {"voicedesk.env", ".env"}) {
    fs::path candidate = dir / name;
    std::error_code error;
    // is_regular_file rather than exists: `python -m venv .env` makes a directory of that name.
    if (fs::is_regular_file(candidate, error)) return candidate;
  }
  return std::nullopt;
}

}  // namespace

std::string ValueSource::describe() const {
  switch (kind) {
    case Kind::Default:
      return "default";
    case Kind::File:
      return "file " + file + ":" + std::to_string(line);
    case Kind::Environment:
      return "environment";
    case Kind::CommandLine:
      return "command line";
  }
  throw std::logic_error("unhandled ValueSource::Kind");
}

Config::Config(std::vector<ConfigKey> schema) : schema_(std::move(schema)) {
  values_.reserve(schema_.size());
  sources_.resize(schema_.size());
  for (std::size_t i = 0; i < schema_.size(); ++i) {
    ConfigKey& key = schema_[i];
    if (!index_.emplace(key.name, i).second) {
      throw std::logic_error("configuration key " + key.name + " is declared twice");
    }
    if (key.type == ValueType::Enum && key.choices.empty()) {
      throw std::logic_error("enum configuration key " + key.name + " has no choices");
    }
    for (auto& choice : key.choices) choice = ascii_lower(choice);
    try {
      values_.push_back(validated(i, key.default_value, ValueSource{}).value);
    } catch (const ConfigError& error) {
      throw std::logic_error(std::string("bad built-in default: ") + error.what());
    }
  }
}

void Config::apply_file(const fs::path& path) {
  const std::string origin = path.string();
  std::vector<Assignment> assignments;
  std::vector<std::string> warnings;
  std::set<std::string, std::less<>> seen;
  for (const EnvEntry& entry : read_env_file(path)) {
    const std::string where = origin + ":" + std::to_string(entry.line) + ": ";
    const auto known = index_.find(entry.key);
    if (known == index_.end()) {
      warnings.push_back(where + "unknown key " + entry.key + " (ignored)");
      continue;
    }
    if (!seen.insert(entry.key).second) {
      warnings.push_back(where + entry.key + " set twice; the later value wins");
    }
    assignments.push_back(
        validated(known->second, entry.value, {ValueSource::Kind::File, origin, entry.line}));
  }
  commit(std::move(assignments), std::move(warnings));
}

void Config::apply_environment(const std::function<const char*(const char*)>& getenv_fn,
                               const std::vector<std::string>& all_env_names) {
  std::vector<Assignment> assignments;
  for (std::size_t i = 0; i < schema_.size(); ++i) {
    if (const char* value = getenv_fn(schema_[i].name.c_str())) {
      assignments.push_back(validated(i, value, {ValueSource::Kind::Environment}));
    }
  }
  std::vector<std::string> warnings;
  for (const auto& name : all_env_names) {
    if (name.starts_with("VOICEDESK_") && !index_.contains(name)) {
      warnings.push_back("environment: unknown key " + name + " (ignored)");
    }
  }
  commit(std::move(assignments), std::move(warnings));
}

void Config::apply_override(std::string_view key, std::string_view value) {
  const auto known = index_.find(key);
  if (known == index_.end()) throw ConfigError(unknown_key_message(key, schema_));
  commit({validated(known->second, value, {ValueSource::Kind::CommandLine})}, {});
}

const std::string& Config::get(std::string_view key) const {
  return values_[index_of(key)];
}

std::int64_t Config::get_int(std::string_view key) const {
  return *parse_int(required_value(key, ValueType::Int));
}

double Config::get_number(std::string_view key) const {
  return *parse_number(required_value(key, ValueType::Number));
}

bool Config::get_bool(std::string_view key) const {
  return required_value(key, ValueType::Bool) == "true";
}

bool Config::is_set(std::string_view key) const {
  return !get(key).empty();
}

const ValueSource& Config::source(std::string_view key) const {
  return sources_[index_of(key)];
}

std::vector<Config::Entry> Config::entries() const& {
  std::vector<Entry> result;
  result.reserve(schema_.size());
  for (std::size_t i = 0; i < schema_.size(); ++i) {
    result.push_back({schema_[i], values_[i], sources_[i]});
  }
  return result;
}

std::string Config::display_value(std::string_view key) const {
  return masked_value(index_of(key));
}

std::string Config::render_text() const {
  std::vector<std::string> assignments;
  std::size_t width = 0;
  for (std::size_t i = 0; i < schema_.size(); ++i) {
    assignments.push_back(schema_[i].name + "=" + render_value(masked_value(i)));
    width = std::max(width, assignments.back().size());
  }
  std::string text;
  for (std::size_t i = 0; i < schema_.size(); ++i) {
    text += assignments[i];
    text.append(width - assignments[i].size() + 2, ' ');
    text += "# " + sources_[i].describe() + "\n";
  }
  return text;
}

nlohmann::json Config::to_json() const {
  auto json = nlohmann::json::object();
  for (std::size_t i = 0; i < schema_.size(); ++i) {
    json[schema_[i].name] = {{"value", masked_value(i)}, {"source", sources_[i].describe()}};
  }
  return json;
}

std::size_t Config::index_of(std::string_view key) const {
  const auto found = index_.find(key);
  if (found == index_.end()) {
    throw std::out_of_range("unknown configuration key " + std::string(key));
  }
  return found->second;
}

const std::string& Config::required_value(std::string_view key, ValueType type) const {
  const std::size_t index = index_of(key);
  if (schema_[index].type != type) {
    throw std::logic_error("configuration key " + schema_[index].name +
                           " is read with the wrong type");
  }
  if (values_[index].empty()) throw ConfigError(schema_[index].name + " is not set");
  return values_[index];
}

std::string Config::masked_value(std::size_t index) const {
  const std::string& value = values_[index];
  return schema_[index].secret && !value.empty() ? std::string(kMask) : value;
}

Config::Assignment Config::validated(std::size_t index, std::string_view value,
                                     ValueSource source) const {
  const ConfigKey& key = schema_[index];
  std::optional<std::string> normalized =
      value.empty() ? std::optional<std::string>(std::string()) : normalize(key, value);
  if (!normalized) {
    std::string message = "invalid value for " + key.name + " (" + source.describe() +
                          "): expected " + expectation(key);
    if (!key.secret) message += ", got " + quote_env_value(value);
    throw ConfigError(message);
  }
  return {index, std::move(*normalized), std::move(source)};
}

void Config::commit(std::vector<Assignment> assignments, std::vector<std::string> warnings) {
  for (auto& assignment : assignments) {
    values_[assignment.index] = std::move(assignment.value);
    sources_[assignment.index] = std::move(assignment.source);
  }
  std::ranges::move(warnings, std::back_inserter(warnings_));
}

Config load_config(std::vector<ConfigKey> schema, const LoadOptions& options) {
  Config config(std::move(schema));
  if (const auto file =
          options.config_file ? options.config_file : find_default_file(options.working_dir)) {
    config.apply_file(*file);
  }
  config.apply_environment(options.getenv_fn, options.env_names);
  for (const auto& [key, value] : options.overrides) config.apply_override(key, value);
  return config;
}

}  // namespace voicedesk::util
