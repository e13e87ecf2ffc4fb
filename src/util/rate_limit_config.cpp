#include "util/rate_limit_config.hpp"

#include <chrono>

namespace voicedesk::util {

std::shared_ptr<TokenBucket> configured_rate_limiter(const Config& config, const std::string& name,
                                                     const char* rate_key, const char* burst_key) {
  TokenBucketOptions options;
  options.rate_per_second = config.get_number(rate_key);
  options.burst = static_cast<double>(config.get_int(burst_key));
  options.mode = config.get("VOICEDESK_RATE_LIMIT_MODE") == "hard"
                     ? TokenBucketOptions::Mode::hard_fail
                     : TokenBucketOptions::Mode::soft_wait;
  options.max_wait = std::chrono::milliseconds(config.get_int("VOICEDESK_RATE_LIMIT_MAX_WAIT_MS"));
  return std::make_shared<TokenBucket>(name, options);
}

}  // namespace voicedesk::util
