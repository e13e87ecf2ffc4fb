#include "auth/secret.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <optional>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "util/temp_dir.hpp"

namespace voicedesk::auth {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;

bool same(const ServiceSecret& a, const ServiceSecret& b) {
  return std::ranges::equal(a.bytes(), b.bytes());
}

mode_t permissions(const fs::path& path) {
  struct stat info {};
  EXPECT_EQ(::stat(path.c_str(), &info), 0) << path;
  return info.st_mode & 07777;
}

std::string slurp(const fs::path& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

std::string secret_error(const fs::path& path) {
  try {
    load_or_create_secret(path);
  } catch (const SecretError& e) {
    return e.what();
  }
  ADD_FAILURE() << "no SecretError for " << path;
  return {};
}

TEST(Secret, FromHex) {
  const std::string hex = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
  EXPECT_EQ(ServiceSecret::from_hex(hex).bytes()[31], 0x1f);
  std::string upper = hex;
  std::ranges::transform(upper, upper.begin(), ::toupper);
  EXPECT_TRUE(same(ServiceSecret::from_hex(upper), ServiceSecret::from_hex(hex)));
  EXPECT_THROW(ServiceSecret::from_hex(hex.substr(1)), SecretError);
  EXPECT_THROW(ServiceSecret::from_hex(hex + "0"), SecretError);
  EXPECT_THROW(ServiceSecret::from_hex("zz" + hex.substr(2)), SecretError);
  EXPECT_FALSE(same(ServiceSecret::generate(), ServiceSecret::generate()));
}

TEST(Secret, DefaultPath) {
  auto getenv_from = [](std::map<std::string, std::string> env) {
    return [env = std::move(env)](const char* name) -> const char* {
      const auto it = env.find(name);
      return it == env.end() ? nullptr : it->second.c_str();
    };
  };
  EXPECT_EQ(default_secret_path(getenv_from({{"XDG_CONFIG_HOME", "/x"}, {"HOME", "/h"}})),
            "/x/voicedesk/service.key");
  EXPECT_EQ(default_secret_path(getenv_from({{"XDG_CONFIG_HOME", "rel"}, {"HOME", "/h"}})),
            "/h/.config/voicedesk/service.key");
  EXPECT_THROW(default_secret_path(getenv_from({})), SecretError);
}

TEST(Secret, FirstUseCreatesA0600FileInA0700DirectoryAndLaterUsesReadIt) {
  const test_support::TempDir dir;
  const fs::path path = dir.path() / "config" / "voicedesk" / "service.key";
  const ServiceSecret created = load_or_create_secret(path);
  EXPECT_EQ(permissions(path), 0600);
  EXPECT_EQ(permissions(path.parent_path()), 0700);
  EXPECT_EQ(permissions(path.parent_path().parent_path()), 0700);
  EXPECT_TRUE(std::regex_match(slurp(path), std::regex("[0-9a-f]{64}\n")));
  EXPECT_TRUE(same(load_or_create_secret(path), created));
  EXPECT_EQ(std::distance(fs::directory_iterator(path.parent_path()), {}), 1)
      << "the temporary file was left behind";
}

TEST(Secret, ProcessesStartingAtOnceAgreeOnOneSecret) {
  const test_support::TempDir dir;
  const fs::path path = dir.path() / "voicedesk" / "service.key";
  std::vector<std::optional<ServiceSecret>> secrets(8);
  std::vector<std::thread> threads;
  for (auto& secret : secrets) {
    threads.emplace_back([&] { secret = load_or_create_secret(path); });
  }
  for (std::thread& thread : threads) thread.join();
  for (const auto& secret : secrets) EXPECT_TRUE(same(*secret, *secrets[0]));
}

TEST(Secret, RefusesAFileThatOthersCanRead) {
  const test_support::TempDir dir;
  const std::string hex(64, 'a');
  const fs::path path = dir.write("service.key", hex + "\n");
  ::chmod(path.c_str(), 0644);
  const std::string error = secret_error(path);
  EXPECT_THAT(error, HasSubstr("0644"));
  EXPECT_THAT(error, HasSubstr("chmod 600"));
  EXPECT_THAT(error, Not(HasSubstr(hex)));
  ::chmod(path.c_str(), 0640);
  EXPECT_THAT(secret_error(path), HasSubstr("0640"));
  ::chmod(path.c_str(), 0600);
  EXPECT_TRUE(same(load_or_create_secret(path), ServiceSecret::from_hex(hex)));
}

TEST(Secret, MalformedContentIsAClearErrorThatDoesNotQuoteIt) {
  const test_support::TempDir dir;
  for (const std::string& content :
       {std::string(), std::string(63, 'a') + "\n", std::string(64, 'a') + "\n\n",
        std::string(64, 'g'), "secret-" + std::string(60, 'b')}) {
    const fs::path path = dir.write("service.key", content);
    ::chmod(path.c_str(), 0600);
    const std::string error = secret_error(path);
    EXPECT_THAT(error, HasSubstr("malformed"));
    EXPECT_THAT(error, HasSubstr("64 hex digits"));
    if (!content.empty()) {
      EXPECT_THAT(error, Not(HasSubstr(content.substr(0, 20))));
    }
  }
}

TEST(Secret, RefusesADirectoryAndAPathUnderAFile) {
  const test_support::TempDir dir;
  EXPECT_THAT(secret_error(dir.path()), HasSubstr("not a file"));
  const fs::path file = dir.write("plain", "x");
  EXPECT_THAT(secret_error(file / "service.key"), HasSubstr("plain"));
}

}  // namespace
}  // namespace voicedesk::auth
