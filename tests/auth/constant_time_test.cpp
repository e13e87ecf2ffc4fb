// The MAC comparison must not leak, through its timing, how many leading bytes of a forged MAC
// were right. Timing cannot be measured reliably in a test, so this checks the means instead:
// verification compares the MAC with OpenSSL's CRYPTO_memcmp. The definition below interposes the
// library's (the executable's symbol wins at link time), counts calls, and forwards them.
#include <dlfcn.h>
#include <gtest/gtest.h>

#include <atomic>
#include <cstddef>

#include "auth/test_clock.hpp"
#include "auth/token.hpp"

namespace {

std::atomic<int> mac_compares = 0;

}  // namespace

extern "C" int CRYPTO_memcmp(const void* a, const void* b, std::size_t length) {
  using Compare = int (*)(const void*, const void*, std::size_t);
  static const auto real = reinterpret_cast<Compare>(::dlsym(RTLD_NEXT, "CRYPTO_memcmp"));
  if (length == 64) ++mac_compares;  // the hex MAC
  return real(a, b, length);
}

namespace voicedesk::auth {
namespace {

TEST(ConstantTime, TheMacIsComparedWithCryptoMemcmp) {
  const ServiceSecret secret = ServiceSecret::from_hex(test_support::kTestSecretHex);
  test_support::FakeClock clock;
  std::string token = mint_token(secret, "mcp", clock.now());

  mac_compares = 0;
  EXPECT_EQ(check_token(secret, token, "mcp", clock.now()).status, TokenStatus::valid);
  EXPECT_EQ(mac_compares, 1);

  token.back() = token.back() == '0' ? '1' : '0';
  EXPECT_EQ(check_token(secret, token, "mcp", clock.now()).status, TokenStatus::bad_signature);
  EXPECT_EQ(mac_compares, 2);
}

}  // namespace
}  // namespace voicedesk::auth
