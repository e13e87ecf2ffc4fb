#pragma once

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "util/config_error.hpp"

namespace voicedesk::util {

enum class ValueType { String, Int, Number, Bool, Enum, HostPort, Url, Path };

// Every member has an initializer so that designated initializers can leave any of them out
// without tripping -Wmissing-field-initializers.
struct ConfigKey {
  std::string name{};  // e.g. "VOICEDESK_LISTEN", "MAIL_PORT"
  ValueType type = ValueType::String;
  std::string default_value{};         // "" means unset
  std::string description{};           // one line, for `voicedesk config` and the README
  bool secret = false;                 // masked when printed, never put in messages
  std::vector<std::string> choices{};  // Enum only; matched case-insensitively, stored lower-case
  std::int64_t min = std::numeric_limits<std::int64_t>::min();  // Int and Number only
  std::int64_t max = std::numeric_limits<std::int64_t>::max();  // Int and Number only
};

struct ValueSource {
  enum class Kind { Default, File, Environment, CommandLine };
  Kind kind = Kind::Default;
  std::string file{};  // File only; initialized for the same reason as ConfigKey's members
  int line = 0;        // File only

  // "default", "file ./voicedesk.env:3", "environment" or "command line".
  std::string describe() const;
};

// Values for a fixed schema of keys, layered from lowest to highest precedence: built-in
// defaults, an env-style file, environment variables, command-line overrides. Every value is
// validated against its key's type when applied; an empty value means "unset" and is valid for
// every type, so a higher layer can unset a default with KEY=.
//
// An apply_* call that throws ConfigError leaves the Config unchanged.
class Config {
 public:
  // Throws std::logic_error when the schema itself is wrong (duplicate names, invalid default).
  explicit Config(std::vector<ConfigKey> schema);

  // Unknown keys and keys set twice only produce warnings: a .env shared with other tools (such
  // as the Python predecessor) legitimately holds keys this program does not know.
  void apply_file(const std::filesystem::path& path);

  // Looks up every schema key with `getenv_fn`. Names in `all_env_names` that start with
  // VOICEDESK_ but are not in the schema produce warnings, since they are most likely typos.
  void apply_environment(const std::function<const char*(const char*)>& getenv_fn = ::getenv,
                         const std::vector<std::string>& all_env_names = {});

  // An unknown key is an error here, with a "did you mean" hint when a key is close.
  void apply_override(std::string_view key, std::string_view value);

  const std::vector<std::string>& warnings() const& { return warnings_; }
  // By value on a temporary, so `for (auto& w : load_config(...).warnings())` does not iterate a
  // destroyed Config.
  std::vector<std::string> warnings() && { return std::move(warnings_); }

  // All accessors throw std::out_of_range for a key not in the schema.
  const std::string& get(std::string_view key) const;
  // Throw std::logic_error when the key has another type, ConfigError when it is unset.
  std::int64_t get_int(std::string_view key) const;
  double get_number(std::string_view key) const;
  bool get_bool(std::string_view key) const;
  bool is_set(std::string_view key) const;
  const ValueSource& source(std::string_view key) const;

  struct Entry {
    const ConfigKey& key;
    const std::string& value;
    const ValueSource& source;
  };
  // In schema order; the references live as long as this Config and its values stay unchanged.
  std::vector<Entry> entries() const&;
  // Entries refer into the Config, so on a temporary they would dangle at once.
  std::vector<Entry> entries() && = delete;

  // Secrets become "********" when set and "" when unset.
  std::string display_value(std::string_view key) const;
  // One `KEY=value  # source` line per key, aligned, secrets masked. Values that would not read
  // back as themselves from an env file are double-quoted.
  std::string render_text() const;
  // {"KEY": {"value": display_value, "source": "..."}}, secrets masked.
  nlohmann::json to_json() const;

 private:
  struct Assignment {
    std::size_t index;
    std::string value;
    ValueSource source;
  };

  std::size_t index_of(std::string_view key) const;
  const std::string& required_value(std::string_view key, ValueType type) const;
  std::string masked_value(std::size_t index) const;
  Assignment validated(std::size_t index, std::string_view value, ValueSource source) const;
  void commit(std::vector<Assignment> assignments, std::vector<std::string> warnings);

  std::vector<ConfigKey> schema_;
  std::vector<std::string> values_;
  std::vector<ValueSource> sources_;
  std::map<std::string, std::size_t, std::less<>> index_;
  std::vector<std::string> warnings_;
};

struct LoadOptions {
  // --config FILE: must exist. Without it, working_dir/voicedesk.env is read if it is a regular
  // file, otherwise working_dir/.env if it is one, otherwise no file.
  std::optional<std::filesystem::path> config_file;
  std::vector<std::pair<std::string, std::string>> overrides;  // from CLI flags, applied in order
  std::filesystem::path working_dir = ".";
  std::function<const char*(const char*)> getenv_fn = ::getenv;
  std::vector<std::string> env_names;  // names present in the environment, for warnings
};

// Builds the Config from all layers; throws ConfigError for anything the user has to fix.
Config load_config(std::vector<ConfigKey> schema, const LoadOptions& options);

}  // namespace voicedesk::util
