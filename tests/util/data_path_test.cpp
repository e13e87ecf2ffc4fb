#include "util/data_path.hpp"

#include <gtest/gtest.h>

#include <map>
#include <string>

namespace voicedesk::util {
namespace {

GetEnv environment(std::map<std::string, std::string> variables) {
  return [variables = std::move(variables)](const char* name) -> const char* {
    const auto found = variables.find(name);
    return found == variables.end() ? nullptr : found->second.c_str();
  };
}

TEST(DefaultConfigFile, FollowsTheXdgBaseDirectoryRule) {
  EXPECT_EQ(default_config_file("contacts.txt",
                                environment({{"XDG_CONFIG_HOME", "/cfg"}, {"HOME", "/home/u"}})),
            std::filesystem::path("/cfg/voicedesk/contacts.txt"));
  // A relative XDG_CONFIG_HOME is ignored, as the specification says.
  EXPECT_EQ(default_config_file("contacts.txt",
                                environment({{"XDG_CONFIG_HOME", "cfg"}, {"HOME", "/home/u"}})),
            std::filesystem::path("/home/u/.config/voicedesk/contacts.txt"));
  EXPECT_EQ(default_config_file("contacts.txt", environment({{"HOME", "relative"}})), std::nullopt);
  EXPECT_EQ(default_config_file("contacts.txt", environment({})), std::nullopt);
}

}  // namespace
}  // namespace voicedesk::util
