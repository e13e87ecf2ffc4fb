#include "util/token_bucket.hpp"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

namespace voicedesk::util {
namespace {

using namespace std::chrono_literals;
using Clock = TokenBucket::Clock;

// A manual clock: sleeping advances it, so waits are observable and instant.
struct FakeClock {
  Clock::time_point now{};
  std::vector<Clock::duration> sleeps;
  TokenBucket make(TokenBucketOptions options) {
    return TokenBucket(
        "stt", options, [this] { return now; },
        [this](Clock::duration d) {
          sleeps.push_back(d);
          now += d;
        });
  }
};

TEST(TokenBucket, BurstThenRate) {
  FakeClock clock;
  TokenBucket bucket = clock.make({.rate_per_second = 2, .burst = 2});
  EXPECT_TRUE(bucket.try_acquire());
  EXPECT_TRUE(bucket.try_acquire());
  EXPECT_FALSE(bucket.try_acquire());
  clock.now += 499ms;
  EXPECT_FALSE(bucket.try_acquire());
  clock.now += 1ms;
  EXPECT_TRUE(bucket.try_acquire());
  clock.now += 10s;  // refills only up to the burst
  EXPECT_TRUE(bucket.try_acquire());
  EXPECT_TRUE(bucket.try_acquire());
  EXPECT_FALSE(bucket.try_acquire());
}

TEST(TokenBucket, SoftWaitSleepsForTheNextToken) {
  FakeClock clock;
  TokenBucket bucket = clock.make({.rate_per_second = 0.5, .burst = 1});
  bucket.acquire();
  EXPECT_TRUE(clock.sleeps.empty());
  bucket.acquire();  // Gmail's 0.5/s: the second call waits 2 s
  ASSERT_EQ(clock.sleeps.size(), 1u);
  EXPECT_EQ(std::chrono::duration_cast<std::chrono::milliseconds>(clock.sleeps[0]), 2000ms);
}

TEST(TokenBucket, SoftWaitRefusesWaitsLongerThanTheMaximum) {
  FakeClock clock;
  TokenBucket bucket = clock.make({.rate_per_second = 0.5,
                                   .burst = 1,
                                   .mode = TokenBucketOptions::Mode::soft_wait,
                                   .max_wait = 1s});
  bucket.acquire();
  try {
    bucket.acquire();
    FAIL() << "expected RateLimited";
  } catch (const RateLimited& e) {
    EXPECT_EQ(e.retry_after(), 2000ms);
    EXPECT_NE(std::string(e.what()).find("stt"), std::string::npos);
  }
  clock.now += 2s;  // the refused call took no token
  EXPECT_NO_THROW(bucket.acquire());
}

TEST(TokenBucket, HardFailThrowsAtOnce) {
  FakeClock clock;
  TokenBucket bucket =
      clock.make({.rate_per_second = 1, .burst = 1, .mode = TokenBucketOptions::Mode::hard_fail});
  bucket.acquire();
  EXPECT_THROW(bucket.acquire(), RateLimited);
  EXPECT_TRUE(clock.sleeps.empty());
}

TEST(TokenBucket, ZeroRateMeansUnlimited) {
  FakeClock clock;
  TokenBucket bucket = clock.make({.rate_per_second = 0});
  for (int i = 0; i < 1000; ++i) bucket.acquire();
  EXPECT_TRUE(clock.sleeps.empty());
}

TEST(TokenBucket, ConcurrentWaitersQueueInsteadOfBursting) {
  // Real clock: 4 threads at 20/s with burst 1 need at least 3 intervals.
  TokenBucket bucket("search", {.rate_per_second = 20, .burst = 1});
  const auto start = Clock::now();
  std::vector<std::jthread> threads;
  for (int i = 0; i < 4; ++i) threads.emplace_back([&] { bucket.acquire(); });
  threads.clear();
  EXPECT_GE(Clock::now() - start, 140ms);
}

}  // namespace
}  // namespace voicedesk::util
