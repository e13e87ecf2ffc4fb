#pragma once

#include <atomic>
#include <chrono>

#include "auth/token.hpp"

namespace voicedesk::test_support {

// A settable clock for auth::Clock; starts at a fixed instant on a token-window boundary.
class FakeClock {
 public:
  static constexpr std::int64_t kStartSeconds = 1'700'000'000;  // token window 340000000

  auth::TimePoint now() const { return auth::TimePoint(std::chrono::seconds(seconds_.load())); }
  void advance(std::chrono::seconds by) { seconds_ += by.count(); }
  auth::Clock function() {
    return [this] { return now(); };
  }

 private:
  std::atomic<std::int64_t> seconds_{kStartSeconds};
};

// 00 01 02 ... 1f
inline constexpr const char* kTestSecretHex =
    "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

}  // namespace voicedesk::test_support
