#include "auth/legacy.hpp"

#include <gtest/gtest.h>

namespace voicedesk::auth {
namespace {

using std::chrono::seconds;

TimePoint at_window(std::int64_t window, seconds length = kLegacyWindow) {
  return TimePoint(window * length);
}

// Keys computed with AI-RTC-Agent's own formula in Python (math.sqrt/log10/log1p/pow).
TEST(Legacy, KeysMatchTheOriginal) {
  EXPECT_EQ(mint_legacy_key(at_window(1)), "C_1_H");  // sqrt(log10(1)) == 0: falls back to 2
  EXPECT_EQ(mint_legacy_key(at_window(2)), "C_2_C");
  EXPECT_EQ(mint_legacy_key(at_window(10)), "W_10_A");
  EXPECT_EQ(mint_legacy_key(at_window(28'333'333)), "M_28333333_F");
  EXPECT_EQ(mint_legacy_key(at_window(29'166'666) + seconds(59)), "N_29166666_W");
  EXPECT_EQ(mint_legacy_key(at_window(340'000'000, seconds(5)), seconds(5)), "G_340000000_G");
  EXPECT_EQ(mint_legacy_key(at_window(350'123'456, seconds(5)), seconds(5)), "G_350123456_C");
}

TEST(Legacy, AcceptsTheCurrentAndPreviousWindowOnly) {
  const TimePoint now = at_window(29'166'666);
  EXPECT_EQ(check_legacy_key("N_29166666_W", now), TokenStatus::valid);
  EXPECT_EQ(check_legacy_key(mint_legacy_key(now - seconds(60)), now), TokenStatus::valid);
  EXPECT_EQ(check_legacy_key(mint_legacy_key(now - seconds(120)), now), TokenStatus::expired);
  EXPECT_EQ(check_legacy_key(mint_legacy_key(now + seconds(60)), now), TokenStatus::future);
}

TEST(Legacy, RejectsWrongLettersAndMalformedKeys) {
  const TimePoint now = at_window(29'166'666);
  EXPECT_EQ(check_legacy_key("A_29166666_W", now), TokenStatus::bad_signature);
  EXPECT_EQ(check_legacy_key("N_29166666_WX", now), TokenStatus::bad_signature);
  for (const char* key : {"", "not-a-real-key", "N_29166666", "N__W", "N_x_W", "N_-5_W", "A_0_B",
                          "N_29166666_1_W", "N_99999999999999999999_W"}) {
    EXPECT_EQ(check_legacy_key(key, now), TokenStatus::malformed) << key;
  }
}

}  // namespace
}  // namespace voicedesk::auth
