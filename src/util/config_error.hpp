#pragma once

#include <stdexcept>

namespace voicedesk::util {

// A mistake in the user's configuration (file, environment or command line). The message is one
// line meant to be shown to the user as is, so it never contains a secret value.
class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace voicedesk::util
