#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "util/config_error.hpp"

namespace voicedesk::util {

// One KEY=VALUE assignment, with its 1-based line number for messages.
struct EnvEntry {
  std::string key;
  std::string value;
  int line = 0;
};

// Parses the dotenv dialect users of python-dotenv already write: comments, `export `, unquoted,
// 'single-quoted' and "double-quoted" values (escapes \n \t \" \\ \$), CRLF and a UTF-8 BOM.
// Variable interpolation and multi-line values are not supported. Throws ConfigError
// "ORIGIN:LINE: what is wrong" on the first malformed line.
std::vector<EnvEntry> parse_env_file(std::string_view text, const std::string& origin_for_errors);

// Reads and parses `path`; files over 1 MiB are refused. Throws ConfigError naming the path when
// the file cannot be read.
std::vector<EnvEntry> read_env_file(const std::filesystem::path& path);

// `text` as a double-quoted value that parse_env_file reads back unchanged when `text` has no
// control characters other than tab and newline; other control bytes become \xNN, which keeps
// messages about invalid values on one line.
std::string quote_env_value(std::string_view text);

}  // namespace voicedesk::util
