#include "util/token_bucket.hpp"

#include <algorithm>
#include <thread>

namespace voicedesk::util {

RateLimited::RateLimited(const std::string& name, std::chrono::milliseconds retry_after)
    : std::runtime_error("rate limit for " + name + " exceeded; retry in " +
                         std::to_string(retry_after.count()) + " ms"),
      retry_after_(retry_after) {}

TokenBucket::TokenBucket(std::string name, TokenBucketOptions options, Now now, Sleep sleep)
    : name_(std::move(name)),
      options_(options),
      now_(now ? std::move(now) : Now([] { return Clock::now(); })),
      sleep_(sleep ? std::move(sleep)
                   : Sleep([](Clock::duration d) { std::this_thread::sleep_for(d); })),
      tokens_(std::max(1.0, options.burst)),
      last_refill_(now_()) {
  options_.burst = std::max(1.0, options_.burst);
}

TokenBucket::Clock::duration TokenBucket::reserve(bool commit) {
  const Clock::time_point now = now_();
  const std::chrono::duration<double> elapsed = now - last_refill_;
  tokens_ = std::min(options_.burst, tokens_ + elapsed.count() * options_.rate_per_second);
  last_refill_ = now;
  const double deficit = 1.0 - tokens_;  // > 0: this caller must wait for it
  if (commit) tokens_ -= 1.0;
  if (deficit <= 0) return Clock::duration::zero();
  return std::chrono::duration_cast<Clock::duration>(
      std::chrono::duration<double>(deficit / options_.rate_per_second));
}

void TokenBucket::acquire() {
  if (options_.rate_per_second <= 0) return;
  Clock::duration wait;
  {
    std::lock_guard lock(mutex_);
    wait = reserve(false);
    const bool refuse =
        wait > Clock::duration::zero() &&
        (options_.mode == TokenBucketOptions::Mode::hard_fail || wait > options_.max_wait);
    if (refuse) {
      throw RateLimited(name_, std::chrono::ceil<std::chrono::milliseconds>(wait));
    }
    reserve(true);
  }
  if (wait > Clock::duration::zero()) sleep_(wait);
}

bool TokenBucket::try_acquire() {
  if (options_.rate_per_second <= 0) return true;
  std::lock_guard lock(mutex_);
  if (reserve(false) > Clock::duration::zero()) return false;
  reserve(true);
  return true;
}

}  // namespace voicedesk::util
