#pragma once

#include <filesystem>
#include <string_view>

namespace voicedesk::util {

// Where voicedesk keeps a data file by default: $XDG_DATA_HOME/voicedesk/<file_name>, else
// ~/.local/share/voicedesk/<file_name>. Throws ConfigError naming setting_name (the key
// that overrides the default) when neither XDG_DATA_HOME nor HOME is an absolute path.
std::filesystem::path default_data_file(std::string_view file_name, std::string_view setting_name);

}  // namespace voicedesk::util
