#pragma once

#include <chrono>
#include <functional>
#include <mutex>
#include <stdexcept>
#include <string>

namespace voicedesk::util {

// The limiter refused a request: hard-fail mode, or the wait would exceed
// max_wait in soft-wait mode.
class RateLimited : public std::runtime_error {
 public:
  RateLimited(const std::string& name, std::chrono::milliseconds retry_after);
  std::chrono::milliseconds retry_after() const { return retry_after_; }

 private:
  std::chrono::milliseconds retry_after_;
};

struct TokenBucketOptions {
  double rate_per_second = 1.0;  // tokens added per second; <= 0 disables the limit
  double burst = 1.0;            // bucket size: requests allowed at once after idling
  // Soft-wait: acquire() sleeps until a token is free, unless that would take
  // longer than max_wait. Hard-fail: acquire() throws at once when empty.
  enum class Mode { soft_wait, hard_fail } mode = Mode::soft_wait;
  std::chrono::milliseconds max_wait{5000};
};

// A thread-safe token-bucket rate limiter (one per tool or upstream service).
// Waiting callers reserve their token before sleeping, so concurrent callers
// are served in order and the long-run rate never exceeds rate_per_second.
class TokenBucket {
 public:
  using Clock = std::chrono::steady_clock;
  using Now = std::function<Clock::time_point()>;
  using Sleep = std::function<void(Clock::duration)>;

  // name appears in errors ("rate limit for transcribe exceeded ...").
  // now/sleep default to the steady clock and this_thread::sleep_for;
  // tests inject a fake clock.
  TokenBucket(std::string name, TokenBucketOptions options, Now now = {}, Sleep sleep = {});

  // Takes one token, waiting (soft mode) or throwing RateLimited.
  void acquire();
  // Takes one token if one is free now; never waits.
  bool try_acquire();

  const TokenBucketOptions& options() const { return options_; }

 private:
  // Time until a token is free once this caller is queued; the caller's token
  // is reserved (tokens_ may go negative) when commit is true.
  Clock::duration reserve(bool commit);

  std::string name_;
  TokenBucketOptions options_;
  Now now_;
  Sleep sleep_;
  std::mutex mutex_;
  double tokens_;
  Clock::time_point last_refill_;
};

}  // namespace voicedesk::util
