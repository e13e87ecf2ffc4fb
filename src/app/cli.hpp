#pragma once

namespace voicedesk::app {

// The `voicedesk` command line. Returns the process exit code: 0 success,
// 1 runtime failure, 2 bad input (usage, configuration, unreadable files).
int run_cli(int argc, char** argv);

}  // namespace voicedesk::app
