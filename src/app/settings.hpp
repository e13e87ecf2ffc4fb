#pragma once

#include "audio/front_end.hpp"
#include "util/config.hpp"
#include "util/logging.hpp"

namespace voicedesk::app {

// Typed views of the configuration for each stage; the stages themselves
// never see Config, so they stay usable (and testable) on their own.
audio::FrontEndOptions front_end_options(const util::Config& config);
util::LogFormat log_format(const util::Config& config);

struct ListenAddress {
  std::string host;
  int port = 0;
};
ListenAddress parse_listen_address(const std::string& host_port);

}  // namespace voicedesk::app
