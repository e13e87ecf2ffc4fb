#include "util/data_path.hpp"

#include <cstdlib>
#include <string>

#include "util/config_error.hpp"

namespace voicedesk::util {

std::filesystem::path default_data_file(std::string_view file_name, std::string_view setting_name) {
  const char* data_home = std::getenv("XDG_DATA_HOME");
  if (data_home != nullptr && std::filesystem::path(data_home).is_absolute()) {
    return std::filesystem::path(data_home) / "voicedesk" / file_name;
  }
  const char* home = std::getenv("HOME");
  if (home == nullptr || !std::filesystem::path(home).is_absolute()) {
    throw ConfigError("cannot place " + std::string(file_name) + ": set " +
                      std::string(setting_name) +
                      " (neither XDG_DATA_HOME nor HOME is an absolute path)");
  }
  return std::filesystem::path(home) / ".local" / "share" / "voicedesk" / file_name;
}

}  // namespace voicedesk::util
