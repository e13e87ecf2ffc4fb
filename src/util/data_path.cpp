#include "util/data_path.hpp"

#include <string>

#include "util/config_error.hpp"

namespace voicedesk::util {
namespace {

// The XDG base directory rule: $<variable>/voicedesk/<file_name> when the
// variable is an absolute path, else ~/<home_relative>/voicedesk/<file_name>.
std::optional<std::filesystem::path> xdg_file(const char* variable, std::string_view home_relative,
                                              std::string_view file_name, const GetEnv& getenv) {
  if (const char* base = getenv(variable);
      base != nullptr && std::filesystem::path(base).is_absolute()) {
    return std::filesystem::path(base) / "voicedesk" / file_name;
  }
  if (const char* home = getenv("HOME");
      home != nullptr && std::filesystem::path(home).is_absolute()) {
    return std::filesystem::path(home) / home_relative / "voicedesk" / file_name;
  }
  return std::nullopt;
}

}  // namespace

std::filesystem::path default_data_file(std::string_view file_name, std::string_view setting_name) {
  if (auto file = xdg_file("XDG_DATA_HOME", ".local/share", file_name, ::getenv)) return *file;
  throw ConfigError("cannot place " + std::string(file_name) + ": set " +
                    std::string(setting_name) +
                    " (neither XDG_DATA_HOME nor HOME is an absolute path)");
}

std::optional<std::filesystem::path> default_config_file(std::string_view file_name,
                                                         const GetEnv& getenv) {
  return xdg_file("XDG_CONFIG_HOME", ".config", file_name, getenv);
}

}  // namespace voicedesk::util
