#pragma once

#include <cstdlib>
#include <filesystem>
#include <functional>
#include <optional>
#include <string_view>

namespace voicedesk::util {

// Reads an environment variable; tests pass their own.
using GetEnv = std::function<const char*(const char*)>;

// Where voicedesk keeps a data file by default: $XDG_DATA_HOME/voicedesk/<file_name>, else
// ~/.local/share/voicedesk/<file_name>. Throws ConfigError naming setting_name (the key
// that overrides the default) when neither XDG_DATA_HOME nor HOME is an absolute path.
std::filesystem::path default_data_file(std::string_view file_name, std::string_view setting_name);

// Where voicedesk keeps a configuration file by default: $XDG_CONFIG_HOME/voicedesk/<file_name>,
// else ~/.config/voicedesk/<file_name>; nullopt when neither XDG_CONFIG_HOME nor HOME is an
// absolute path.
std::optional<std::filesystem::path> default_config_file(std::string_view file_name,
                                                         const GetEnv& getenv = ::getenv);

}  // namespace voicedesk::util
