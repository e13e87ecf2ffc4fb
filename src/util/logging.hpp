#pragma once

#include <string_view>

namespace voicedesk::util {

enum class LogFormat { Text, Json };

// Installs the process-wide logger (stderr, thread-safe) once at start-up.
// `level` is one of trace, debug, info, warn, error, critical, off.
// JSON output is one object per line: {"time","level","logger","thread","msg"}.
void setup_logging(std::string_view level, LogFormat format);

}  // namespace voicedesk::util
