#include "util/base64.hpp"

#include <gtest/gtest.h>

namespace voicedesk::util {
namespace {

std::string decode_text(std::string_view text) {
  const auto bytes = base64_decode(text);
  if (!bytes) return "<invalid>";
  return {reinterpret_cast<const char*>(bytes->data()), bytes->size()};
}

TEST(Base64, Rfc4648Vectors) {
  const std::pair<const char*, const char*> vectors[] = {{"", ""},
                                                         {"f", "Zg=="},
                                                         {"fo", "Zm8="},
                                                         {"foo", "Zm9v"},
                                                         {"foob", "Zm9vYg=="},
                                                         {"fooba", "Zm9vYmE="},
                                                         {"foobar", "Zm9vYmFy"}};
  for (const auto& [plain, encoded] : vectors) {
    EXPECT_EQ(base64_encode(std::string_view(plain)), encoded);
    EXPECT_EQ(decode_text(encoded), plain);
  }
}

TEST(Base64, RoundTripsEveryByte) {
  std::vector<std::byte> bytes;
  for (int i = 0; i < 256; ++i) bytes.push_back(static_cast<std::byte>(i));
  EXPECT_EQ(base64_decode(base64_encode(bytes)), bytes);
}

TEST(Base64, SkipsLineBreaks) {
  EXPECT_EQ(decode_text("Zm9v\r\nYmFy\n"), "foobar");
}

TEST(Base64, RejectsMalformedInput) {
  for (const char* bad : {"Zg", "Zg=", "Z===", "Zm9v!", "Zg==Zg==", "=Zg=", "Zm9-", "Zm=v"}) {
    EXPECT_FALSE(base64_decode(bad).has_value()) << bad;
  }
}

}  // namespace
}  // namespace voicedesk::util
