#pragma once

#include <memory>
#include <string>

#include "util/config.hpp"
#include "util/token_bucket.hpp"

namespace voicedesk::util {

// A token bucket for one tool or upstream service: its rate and burst from
// the given keys, the mode and maximum wait shared by every limiter
// (VOICEDESK_RATE_LIMIT_MODE, VOICEDESK_RATE_LIMIT_MAX_WAIT_MS). name appears
// in its errors.
std::shared_ptr<TokenBucket> configured_rate_limiter(const Config& config, const std::string& name,
                                                     const char* rate_key, const char* burst_key);

}  // namespace voicedesk::util
