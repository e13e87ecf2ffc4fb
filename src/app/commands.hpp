#pragma once

#include <filesystem>
#include <iosfwd>
#include <optional>

#include "util/config.hpp"

namespace voicedesk::app {

// Exit codes shared by every subcommand.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;
inline constexpr int kExitBadInput = 2;

struct SegmentRequest {
  std::filesystem::path wav;
  bool json = false;
  std::optional<std::filesystem::path> write_dir;
};

// `voicedesk segment`: runs a WAV file through the streaming front-end.
int run_segment(const util::Config& config, const SegmentRequest& request, std::ostream& out);

// `voicedesk up`: serves until SIGINT/SIGTERM.
int run_up(const util::Config& config);

}  // namespace voicedesk::app
