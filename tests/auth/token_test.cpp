#include "auth/token.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <stdexcept>

#include "auth/test_clock.hpp"

namespace voicedesk::auth {
namespace {

using std::chrono::seconds;
using test_support::FakeClock;

class Token : public ::testing::Test {
 protected:
  ServiceSecret secret_ = ServiceSecret::from_hex(test_support::kTestSecretHex);
  FakeClock clock_;
};

TEST_F(Token, WindowIsUnixSecondsOverFiveFloored) {
  EXPECT_EQ(token_window(TimePoint(seconds(1'700'000'000))), 340'000'000);
  EXPECT_EQ(token_window(TimePoint(seconds(1'700'000'004))), 340'000'000);
  EXPECT_EQ(token_window(TimePoint(seconds(1'700'000'005))), 340'000'001);
  EXPECT_EQ(token_window(TimePoint(std::chrono::milliseconds(4'999))), 0);
  EXPECT_EQ(token_window(TimePoint(seconds(-1))), -1);
}

TEST_F(Token, MintedTokensHaveTheFixedFormatAndFreshNonces) {
  const std::string a = mint_token(secret_, "mcp", clock_.now());
  const std::string b = mint_token(secret_, "mcp", clock_.now());
  EXPECT_THAT(a, ::testing::MatchesRegex("vd1\\.340000000\\.[0-9a-f]{16}\\.[0-9a-f]{64}"));
  EXPECT_NE(a.substr(14, 16), b.substr(14, 16));
  EXPECT_EQ(check_token(secret_, a, "mcp", clock_.now()).status, TokenStatus::valid);
}

// The MAC computed independently (Python's hmac module) for a fixed window, nonce and audience:
// pins the format that other programs implement.
TEST_F(Token, KnownAnswer) {
  const std::string token =
      "vd1.340000000.0123456789abcdef."
      "dfa1cdd64766e08ce833f16eb39898bac18715ab77bd4c19053c346437f5d860";
  const TokenCheck check = check_token(secret_, token, "mcp", clock_.now());
  EXPECT_EQ(check.status, TokenStatus::valid);
  EXPECT_EQ(check.window, 340'000'000);
  EXPECT_EQ(check.nonce, "0123456789abcdef");
  EXPECT_EQ(check_token(secret_, token, "tts", clock_.now()).status, TokenStatus::bad_signature);
}

TEST_F(Token, OneWindowOfSkewEitherWay) {
  const std::string token = mint_token(secret_, "mcp", clock_.now());
  for (const int offset : {-5, 0, 5, 9}) {
    EXPECT_EQ(check_token(secret_, token, "mcp", clock_.now() + seconds(offset)).status,
              TokenStatus::valid)
        << offset;
  }
  EXPECT_EQ(check_token(secret_, token, "mcp", clock_.now() + seconds(10)).status,
            TokenStatus::expired);
  EXPECT_EQ(check_token(secret_, token, "mcp", clock_.now() - seconds(6)).status,
            TokenStatus::future);
}

TEST_F(Token, ForgedMacsAndOtherSecretsFail) {
  std::string token = mint_token(secret_, "mcp", clock_.now());
  const ServiceSecret other = ServiceSecret::generate();
  EXPECT_EQ(check_token(other, token, "mcp", clock_.now()).status, TokenStatus::bad_signature);
  for (const std::size_t position : {token.size() - 64, token.size() - 1}) {
    std::string forged = token;
    forged[position] = forged[position] == '0' ? '1' : '0';
    EXPECT_EQ(check_token(secret_, forged, "mcp", clock_.now()).status, TokenStatus::bad_signature);
  }
}

TEST_F(Token, MalformedTokens) {
  const std::string good = mint_token(secret_, "mcp", clock_.now());
  const std::string nonce_and_mac = good.substr(13);  // ".NONCE.MAC"
  std::string upper = good;
  upper.back() = 'A';
  for (const std::string& token :
       {std::string(), std::string("vd1."), std::string("vd1.x.y.z"), std::string("not-a-token"),
        "vd2" + good.substr(3), "vd1.0340000000" + nonce_and_mac, "vd1.-34000000" + nonce_and_mac,
        "vd1.+34000000" + nonce_and_mac, upper, good + "0", good + ".",
        good.substr(0, good.size() - 1), good + std::string(300, 'a'),
        "vd1.340000000.0123456789abcdeg" + good.substr(30)}) {
    EXPECT_EQ(check_token(secret_, token, "mcp", clock_.now()).status, TokenStatus::malformed)
        << token;
  }
}

TEST_F(Token, Audiences) {
  EXPECT_TRUE(is_valid_audience("mcp"));
  EXPECT_TRUE(is_valid_audience("rtc.gateway-2_x"));
  EXPECT_FALSE(is_valid_audience(""));
  EXPECT_FALSE(is_valid_audience("MCP"));
  EXPECT_FALSE(is_valid_audience("a|b"));
  EXPECT_FALSE(is_valid_audience(std::string(65, 'a')));
  EXPECT_THROW(mint_token(secret_, "a b", clock_.now()), std::invalid_argument);
}

}  // namespace
}  // namespace voicedesk::auth
