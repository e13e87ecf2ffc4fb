#include "auth/authenticator.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <stdexcept>
#include <thread>
#include <vector>

#include "auth/test_clock.hpp"

namespace voicedesk::auth {
namespace {

using std::chrono::seconds;
using test_support::FakeClock;
using ::testing::HasSubstr;

class Auth : public ::testing::Test {
 protected:
  Authenticator make(Mode mode = Mode::hmac, std::size_t replay_capacity = 100'000) {
    AuthenticatorOptions options;
    options.mode = mode;
    options.secret = secret_;
    options.replay_capacity = replay_capacity;
    options.clock = clock_.function();
    return Authenticator(std::move(options));
  }
  std::string mint(std::string_view audience = "mcp", seconds offset = seconds(0)) const {
    return mint_token(secret_, audience, clock_.now() + offset);
  }

  ServiceSecret secret_ = ServiceSecret::from_hex(test_support::kTestSecretHex);
  FakeClock clock_;
};

void expect_rejected(const AuthResult& result, std::string_view reason) {
  EXPECT_FALSE(result.ok);
  EXPECT_THAT(result.reason, HasSubstr(std::string(reason)));
  EXPECT_EQ(result.error_body(),
            (nlohmann::json{{"error", "unauthorized"}, {"message", result.reason}}));
}

TEST_F(Auth, ValidTokenIsAcceptedFromEitherHeader) {
  Authenticator auth = make();
  const std::string a = mint();
  const std::string b = mint();
  EXPECT_TRUE(auth.check("mcp", a, std::nullopt).ok);
  EXPECT_TRUE(auth.check("mcp", std::nullopt, "Bearer " + b).ok);
  EXPECT_TRUE(auth.check("mcp", std::nullopt, "bearer  " + mint() + " ").ok);
  EXPECT_TRUE(auth.verify(mint(), "mcp").reason.empty());
}

TEST_F(Auth, ExpiredTwoWindowsOld) {
  Authenticator auth = make();
  expect_rejected(auth.verify(mint("mcp", -2 * kTokenWindow), "mcp"), "expired");
  EXPECT_TRUE(auth.verify(mint("mcp", -kTokenWindow), "mcp").ok);
}

TEST_F(Auth, FromTheFuture) {
  Authenticator auth = make();
  expect_rejected(auth.verify(mint("mcp", 2 * kTokenWindow), "mcp"), "future");
  EXPECT_TRUE(auth.verify(mint("mcp", kTokenWindow), "mcp").ok);
}

TEST_F(Auth, ReplayedTokenIsRejected) {
  Authenticator auth = make();
  const std::string token = mint();
  EXPECT_TRUE(auth.verify(token, "mcp").ok);
  expect_rejected(auth.verify(token, "mcp"), "already used");
  clock_.advance(seconds(5));  // still inside the skew range
  expect_rejected(auth.verify(token, "mcp"), "already used");
}

TEST_F(Auth, ForgedTokenIsRejected) {
  Authenticator auth = make();
  expect_rejected(auth.verify(mint_token(ServiceSecret::generate(), "mcp", clock_.now()), "mcp"),
                  "invalid signature");
  std::string token = mint();
  token.back() = token.back() == 'f' ? 'e' : 'f';
  expect_rejected(auth.verify(token, "mcp"), "invalid signature");
}

TEST_F(Auth, WrongAudienceIsRejected) {
  Authenticator auth = make();
  expect_rejected(auth.verify(mint("tts"), "mcp"), "another audience");
}

TEST_F(Auth, MissingCredentials) {
  Authenticator auth = make();
  expect_rejected(auth.check("mcp", std::nullopt, std::nullopt), "missing");
  expect_rejected(auth.check("mcp", "", " "), "missing");
}

TEST_F(Auth, MalformedCredentials) {
  Authenticator auth = make();
  expect_rejected(auth.check("mcp", "vd1.1.2.3", std::nullopt), "malformed");
  expect_rejected(auth.check("mcp", std::nullopt, "Basic dXNlcjpwYXNz"), "must be Bearer");
  expect_rejected(auth.check("mcp", std::nullopt, "Bearer"), "must be Bearer");
  expect_rejected(auth.check("mcp", std::nullopt, "Bearer a b"), "must be Bearer");
  // The original's key is not a token in hmac mode.
  expect_rejected(auth.check("mcp", mint_legacy_key(clock_.now()), std::nullopt), "malformed");
}

TEST_F(Auth, ExtractTokenPrefersXApiKey) {
  EXPECT_EQ(extract_token(" abc ", "Bearer def").token, "abc");
  EXPECT_EQ(extract_token(std::nullopt, "BEARER def").token, "def");
  EXPECT_FALSE(extract_token(std::nullopt, std::nullopt).error.empty());
}

TEST_F(Auth, ReplayCacheForgetsWindowsOutsideTheSkewAndIsBounded) {
  Authenticator auth = make(Mode::hmac, 2);
  const std::string first = mint();
  EXPECT_TRUE(auth.verify(first, "mcp").ok);
  EXPECT_TRUE(auth.verify(mint(), "mcp").ok);
  expect_rejected(auth.verify(mint(), "mcp"), "replay cache full");
  expect_rejected(auth.verify(first, "mcp"), "already used");  // a replay still says so
  // A forged token never takes a place in the cache, whatever its nonce.
  expect_rejected(auth.verify(mint_token(ServiceSecret::generate(), "mcp", clock_.now()), "mcp"),
                  "invalid signature");

  clock_.advance(2 * kTokenWindow);  // the first window is now outside [now-1, now+1]
  EXPECT_TRUE(auth.verify(mint(), "mcp").ok);
  EXPECT_TRUE(auth.verify(mint(), "mcp").ok);
  expect_rejected(auth.verify(mint(), "mcp"), "replay cache full");
}

TEST_F(Auth, ConcurrentVerificationAcceptsEachTokenExactlyOnce) {
  Authenticator auth = make();
  constexpr int kThreads = 8;
  constexpr int kTokensPerThread = 300;
  const std::string shared = mint();
  std::atomic<int> shared_accepted = 0;
  std::atomic<int> own_accepted = 0;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kTokensPerThread; ++i) {
        own_accepted += auth.verify(mint(), "mcp").ok;
        shared_accepted += auth.verify(shared, "mcp").ok;
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(shared_accepted, 1);
  EXPECT_EQ(own_accepted, kThreads * kTokensPerThread);
}

TEST_F(Auth, LegacyModeAcceptsTheOriginalsKeysAndOurTokens) {
  Authenticator auth = make(Mode::legacy);
  const std::string key = mint_legacy_key(clock_.now());
  EXPECT_TRUE(auth.check("mcp", key, std::nullopt).ok);
  EXPECT_TRUE(auth.check("mcp", key, std::nullopt).ok);  // identical per window: no replay check
  EXPECT_TRUE(auth.check("mcp", mint(), std::nullopt).ok);
  const std::string token = mint();
  EXPECT_TRUE(auth.verify(token, "mcp").ok);
  expect_rejected(auth.verify(token, "mcp"), "already used");
  std::string wrong = key;
  wrong[0] = wrong[0] == 'A' ? 'B' : 'A';
  expect_rejected(auth.verify(wrong, "mcp"), "invalid legacy key");
  expect_rejected(auth.verify("not-a-real-key", "mcp"), "malformed");
}

TEST_F(Auth, OffModeAcceptsEverythingAndNeedsNoSecret) {
  AuthenticatorOptions options;
  options.mode = Mode::off;
  Authenticator auth(std::move(options));
  EXPECT_TRUE(auth.check("mcp", std::nullopt, std::nullopt).ok);
  EXPECT_TRUE(auth.verify("anything", "mcp").ok);
}

TEST_F(Auth, BadOptionsAreRefused) {
  EXPECT_THROW(Authenticator(AuthenticatorOptions{}), std::invalid_argument);  // no secret
  AuthenticatorOptions options;
  options.secret = secret_;
  options.legacy_window = seconds(0);
  EXPECT_THROW(Authenticator(std::move(options)), std::invalid_argument);
}

TEST(AuthMode, ParseAndPrint) {
  EXPECT_EQ(parse_mode("hmac"), Mode::hmac);
  EXPECT_EQ(parse_mode("legacy"), Mode::legacy);
  EXPECT_EQ(parse_mode("off"), Mode::off);
  EXPECT_EQ(parse_mode("none"), std::nullopt);
  EXPECT_EQ(to_string(Mode::legacy), "legacy");
}

TEST(AuthMode, LoopbackHosts) {
  for (const char* host :
       {"127.0.0.1", "127.1.2.3", "::1", "[::1]", "localhost", "LocalHost", "::ffff:127.0.0.1"}) {
    EXPECT_TRUE(is_loopback_host(host)) << host;
  }
  for (const char* host : {"0.0.0.0", "::", "192.168.1.2", "128.0.0.1", "example.com",
                           "localhost.example.com", "", "::ffff:10.0.0.1"}) {
    EXPECT_FALSE(is_loopback_host(host)) << host;
  }
}

}  // namespace
}  // namespace voicedesk::auth
