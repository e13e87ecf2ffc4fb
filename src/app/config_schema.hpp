#pragma once

#include <vector>

#include "util/config.hpp"

namespace voicedesk::app {

// Every configuration key voicedesk knows, in the order `voicedesk config` and the README list
// them.
const std::vector<util::ConfigKey>& config_schema();

}  // namespace voicedesk::app
