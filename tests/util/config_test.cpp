#include "util/config.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "util/temp_dir.hpp"

namespace voicedesk::util {
namespace {

using ::testing::ContainsRegex;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::ThrowsMessage;

// One key of every type, VOICEDESK_-prefixed where the unknown-environment-name check matters.
std::vector<ConfigKey> test_schema() {
  return {
      {.name = "VOICEDESK_LISTEN",
       .type = ValueType::HostPort,
       .default_value = "127.0.0.1:8080",
       .description = "listen address"},
      {.name = "VOICEDESK_LEVEL",
       .type = ValueType::Enum,
       .default_value = "info",
       .description = "level",
       .choices = {"debug", "info", "WARN"}},
      {.name = "VOICEDESK_COUNT",
       .type = ValueType::Int,
       .default_value = "3",
       .description = "count",
       .min = 0,
       .max = 3},
      {.name = "VOICEDESK_FLAG",
       .type = ValueType::Bool,
       .default_value = "false",
       .description = "flag"},
      {.name = "VOICEDESK_DIR",
       .type = ValueType::Path,
       .default_value = "../shared",
       .description = "dir"},
      {.name = "VOICEDESK_NAME", .description = "name"},
      {.name = "SERVER_URL", .type = ValueType::Url, .description = "url"},
      {.name = "API_PASSWORD", .description = "password", .secret = true},
  };
}

class ConfigTest : public ::testing::Test {
 protected:
  // Only `env_` is visible to the code under test, never the real environment.
  LoadOptions options() const {
    LoadOptions options;
    options.working_dir = dir_.path();
    options.getenv_fn = [this](const char* name) -> const char* {
      const auto found = env_.find(name);
      return found == env_.end() ? nullptr : found->second.c_str();
    };
    for (const auto& [name, value] : env_) options.env_names.push_back(name);
    return options;
  }

  Config load() const { return load_config(test_schema(), options()); }

  Config load_with_override(const std::string& key, const std::string& value) const {
    LoadOptions with_override = options();
    with_override.overrides.emplace_back(key, value);
    return load_config(test_schema(), with_override);
  }

  std::string default_file() const { return (dir_.path() / "voicedesk.env").string(); }

  test_support::TempDir dir_;
  std::map<std::string, std::string> env_;
};

TEST_F(ConfigTest, EachLayerOverridesTheOneBelow) {
  const std::string key = "VOICEDESK_COUNT";
  Config config = load();
  EXPECT_EQ(config.get(key), "3");
  EXPECT_EQ(config.source(key).describe(), "default");

  dir_.write("voicedesk.env", "# counts\nVOICEDESK_COUNT=2\n");
  config = load();
  EXPECT_EQ(config.get(key), "2");
  EXPECT_EQ(config.source(key).kind, ValueSource::Kind::File);
  EXPECT_EQ(config.source(key).line, 2);
  EXPECT_EQ(config.source(key).describe(), "file " + default_file() + ":2");

  env_[key] = "1";
  config = load();
  EXPECT_EQ(config.get(key), "1");
  EXPECT_EQ(config.source(key).describe(), "environment");

  config = load_with_override(key, "0");
  EXPECT_EQ(config.get(key), "0");
  EXPECT_EQ(config.get_int(key), 0);
  EXPECT_EQ(config.source(key).describe(), "command line");
}

TEST_F(ConfigTest, LaterOverridesWin) {
  LoadOptions two_overrides = options();
  two_overrides.overrides = {{"VOICEDESK_COUNT", "1"}, {"VOICEDESK_COUNT", "2"}};
  EXPECT_EQ(load_config(test_schema(), two_overrides).get("VOICEDESK_COUNT"), "2");
}

TEST_F(ConfigTest, EmptyValueInHigherLayerUnsetsDefault) {
  dir_.write("voicedesk.env", "VOICEDESK_DIR=\n");
  const Config config = load();
  EXPECT_FALSE(config.is_set("VOICEDESK_DIR"));
  EXPECT_EQ(config.source("VOICEDESK_DIR").kind, ValueSource::Kind::File);
}

TEST_F(ConfigTest, PrefersVoicedeskEnvOverDotEnv) {
  dir_.write("voicedesk.env", "VOICEDESK_NAME=from-voicedesk-env\n");
  dir_.write(".env", "VOICEDESK_NAME=from-dot-env\n");
  EXPECT_EQ(load().get("VOICEDESK_NAME"), "from-voicedesk-env");
}

TEST_F(ConfigTest, FallsBackToDotEnv) {
  const auto dot_env = dir_.write(".env", "VOICEDESK_NAME=from-dot-env\n");
  const Config config = load();
  EXPECT_EQ(config.get("VOICEDESK_NAME"), "from-dot-env");
  EXPECT_EQ(config.source("VOICEDESK_NAME").describe(), "file " + dot_env.string() + ":1");
}

TEST_F(ConfigTest, WithoutFilesEverythingIsDefault) {
  const Config config = load();
  for (const auto& entry : config.entries()) {
    EXPECT_EQ(entry.value, entry.key.default_value) << entry.key.name;
    EXPECT_EQ(entry.source.kind, ValueSource::Kind::Default) << entry.key.name;
  }
  EXPECT_THAT(config.warnings(), IsEmpty());
}

TEST_F(ConfigTest, DotEnvDirectoryIsNotAConfigFile) {
  // `python -m venv .env` is a common way to get a directory with that name.
  std::filesystem::create_directory(dir_.path() / ".env");
  EXPECT_NO_THROW(load());
}

TEST_F(ConfigTest, ExplicitConfigFileReplacesDefaultFiles) {
  dir_.write("voicedesk.env", "VOICEDESK_NAME=default-file\nVOICEDESK_COUNT=1\n");
  LoadOptions explicit_file = options();
  explicit_file.config_file = dir_.write("custom.env", "VOICEDESK_NAME=custom\n");
  const Config config = load_config(test_schema(), explicit_file);
  EXPECT_EQ(config.get("VOICEDESK_NAME"), "custom");
  EXPECT_EQ(config.get("VOICEDESK_COUNT"), "3");
}

TEST_F(ConfigTest, MissingExplicitConfigFileIsErrorNamingPath) {
  dir_.write("voicedesk.env", "VOICEDESK_NAME=default-file\n");
  LoadOptions missing = options();
  missing.config_file = dir_.path() / "missing.env";
  EXPECT_THAT([&] { load_config(test_schema(), missing); },
              ThrowsMessage<ConfigError>(HasSubstr(missing.config_file->string())));
}

struct BadValue {
  std::string key;
  std::string value;
  std::string expected;
};

// Values that survive being written unquoted into an env file, so every layer sees them as is.
const std::vector<BadValue> kBadValues = {
    {"VOICEDESK_COUNT", "5", "an integer from 0 to 3"},
    {"VOICEDESK_COUNT", "-1", "an integer from 0 to 3"},
    {"VOICEDESK_COUNT", "1.5", "an integer from 0 to 3"},
    {"VOICEDESK_COUNT", "0x1", "an integer from 0 to 3"},
    {"VOICEDESK_COUNT", "+-1", "an integer from 0 to 3"},
    {"VOICEDESK_COUNT", "99999999999999999999", "an integer from 0 to 3"},
    {"VOICEDESK_FLAG", "maybe", "true/false, yes/no, on/off or 1/0"},
    {"VOICEDESK_LEVEL", "verbose", "one of debug, info, warn"},
    {"VOICEDESK_LISTEN", "localhost", "HOST:PORT with a port from 1 to 65535 (IPv6 as [::1]:8080)"},
    {"VOICEDESK_LISTEN", "localhost:0",
     "HOST:PORT with a port from 1 to 65535 (IPv6 as [::1]:8080)"},
    {"VOICEDESK_LISTEN", "localhost:65536",
     "HOST:PORT with a port from 1 to 65535 (IPv6 as [::1]:8080)"},
    {"VOICEDESK_LISTEN", ":8080", "HOST:PORT with a port from 1 to 65535 (IPv6 as [::1]:8080)"},
    {"VOICEDESK_LISTEN", "::1:8080", "HOST:PORT with a port from 1 to 65535 (IPv6 as [::1]:8080)"},
    {"VOICEDESK_LISTEN", "[::1]8080", "HOST:PORT with a port from 1 to 65535 (IPv6 as [::1]:8080)"},
    {"VOICEDESK_LISTEN", "host:+80", "HOST:PORT with a port from 1 to 65535 (IPv6 as [::1]:8080)"},
    {"SERVER_URL", "ftp://example.com", "an http:// or https:// URL with a host"},
    {"SERVER_URL", "localhost:11434", "an http:// or https:// URL with a host"},
    {"SERVER_URL", "http://", "an http:// or https:// URL with a host"},
    {"SERVER_URL", "http:///path", "an http:// or https:// URL with a host"},
    {"VOICEDESK_NAME", "bell\x07", "text without control characters"},
    {"VOICEDESK_DIR", "dir\x7f", "a path without control characters"},
};

std::string shown(const BadValue& bad) {
  if (bad.key == "VOICEDESK_NAME") return R"("bell\x07")";
  if (bad.key == "VOICEDESK_DIR") return R"("dir\x7f")";
  return "\"" + bad.value + "\"";
}

std::string invalid_message(const BadValue& bad, const std::string& source) {
  return "invalid value for " + bad.key + " (" + source + "): expected " + bad.expected + ", got " +
         shown(bad);
}

TEST_F(ConfigTest, InvalidFileValueNamesKeyValueAndLine) {
  for (const auto& bad : kBadValues) {
    SCOPED_TRACE(bad.key + "=" + bad.value);
    dir_.write("voicedesk.env", "# first line\n" + bad.key + "=" + bad.value + "\n");
    EXPECT_THAT([&] { load(); },
                ThrowsMessage<ConfigError>(invalid_message(bad, "file " + default_file() + ":2")));
  }
}

TEST_F(ConfigTest, InvalidEnvironmentValueNamesKeyValueAndSource) {
  for (const auto& bad : kBadValues) {
    SCOPED_TRACE(bad.key + "=" + bad.value);
    env_ = {{bad.key, bad.value}};
    EXPECT_THAT([&] { load(); }, ThrowsMessage<ConfigError>(invalid_message(bad, "environment")));
  }
}

TEST_F(ConfigTest, InvalidOverrideNamesKeyValueAndSource) {
  for (const auto& bad : kBadValues) {
    SCOPED_TRACE(bad.key + "=" + bad.value);
    EXPECT_THAT([&] { load_with_override(bad.key, bad.value); },
                ThrowsMessage<ConfigError>(invalid_message(bad, "command line")));
  }
}

TEST_F(ConfigTest, AcceptsValidValuesOfEveryType) {
  Config config = load();
  const std::vector<std::pair<std::string, std::string>> good = {
      {"VOICEDESK_LISTEN", "0.0.0.0:80"},
      {"VOICEDESK_LISTEN", "my-host.example.com:65535"},
      {"VOICEDESK_LISTEN", "[::1]:8080"},
      {"SERVER_URL", "http://localhost:11434"},
      {"SERVER_URL", "HTTPS://api.example.com/v1?x=1"},
      {"VOICEDESK_NAME", "tab\tand unicode \xC3\xA9"},
      {"VOICEDESK_DIR", "/data/shared dir"},
      {"VOICEDESK_COUNT", "0"},
  };
  for (const auto& [key, value] : good) {
    EXPECT_NO_THROW(config.apply_override(key, value)) << key << "=" << value;
    EXPECT_EQ(config.get(key), value);
  }
}

TEST_F(ConfigTest, IntegersAreNormalized) {
  Config config = load();
  config.apply_override("VOICEDESK_COUNT", "+02");
  EXPECT_EQ(config.get("VOICEDESK_COUNT"), "2");
  EXPECT_EQ(config.get_int("VOICEDESK_COUNT"), 2);
}

TEST_F(ConfigTest, BooleansAreNormalized) {
  Config config = load();
  for (const char* yes : {"true", "TRUE", "Yes", "on", "1"}) {
    config.apply_override("VOICEDESK_FLAG", yes);
    EXPECT_EQ(config.get("VOICEDESK_FLAG"), "true") << yes;
    EXPECT_TRUE(config.get_bool("VOICEDESK_FLAG")) << yes;
  }
  for (const char* no : {"false", "False", "NO", "Off", "0"}) {
    config.apply_override("VOICEDESK_FLAG", no);
    EXPECT_EQ(config.get("VOICEDESK_FLAG"), "false") << no;
    EXPECT_FALSE(config.get_bool("VOICEDESK_FLAG")) << no;
  }
}

TEST_F(ConfigTest, EnumsMatchCaseInsensitivelyAndStoreLowerCase) {
  Config config = load();
  config.apply_override("VOICEDESK_LEVEL", "DeBuG");
  EXPECT_EQ(config.get("VOICEDESK_LEVEL"), "debug");
  // The schema spelled this choice "WARN".
  config.apply_override("VOICEDESK_LEVEL", "Warn");
  EXPECT_EQ(config.get("VOICEDESK_LEVEL"), "warn");
}

TEST_F(ConfigTest, UnknownFileKeyIsWarning) {
  dir_.write("voicedesk.env", "OTHER_TOOL_KEY=1\nVOICEDESK_COUNT=2\n");
  const Config config = load();
  EXPECT_EQ(config.get("VOICEDESK_COUNT"), "2");
  EXPECT_THAT(config.warnings(),
              ElementsAre(default_file() + ":1: unknown key OTHER_TOOL_KEY (ignored)"));
}

TEST_F(ConfigTest, DuplicateFileKeyIsWarningAndLaterValueWins) {
  dir_.write("voicedesk.env", "VOICEDESK_COUNT=1\nVOICEDESK_COUNT=2\n");
  const Config config = load();
  EXPECT_EQ(config.get("VOICEDESK_COUNT"), "2");
  EXPECT_EQ(config.source("VOICEDESK_COUNT").line, 2);
  EXPECT_THAT(config.warnings(),
              ElementsAre(default_file() + ":2: VOICEDESK_COUNT set twice; the later value wins"));
}

TEST_F(ConfigTest, UnknownVoicedeskEnvironmentNameIsWarning) {
  env_ = {{"PATH", "/bin"}, {"VOICEDESK_COUNT", "1"}, {"VOICEDESK_CUONT", "2"}};
  const Config config = load();
  EXPECT_EQ(config.get("VOICEDESK_COUNT"), "1");
  EXPECT_THAT(config.warnings(), ElementsAre("environment: unknown key VOICEDESK_CUONT (ignored)"));
}

TEST_F(ConfigTest, UnknownOverrideIsErrorWithSuggestion) {
  EXPECT_THAT([&] { load_with_override("VOICEDESK_CUONT", "1"); },
              ThrowsMessage<ConfigError>(
                  "unknown configuration key VOICEDESK_CUONT (did you mean VOICEDESK_COUNT?)"));
  EXPECT_THAT([&] { load_with_override("voicedesk_count", "1"); },
              ThrowsMessage<ConfigError>(
                  "unknown configuration key voicedesk_count (did you mean VOICEDESK_COUNT?)"));
  EXPECT_THAT([&] { load_with_override("SOMETHING_ELSE", "1"); },
              ThrowsMessage<ConfigError>("unknown configuration key SOMETHING_ELSE"));
}

TEST_F(ConfigTest, SecretsAreMaskedWhenShown) {
  Config config = load();
  EXPECT_EQ(config.display_value("API_PASSWORD"), "");
  config.apply_override("API_PASSWORD", "hunter2");
  EXPECT_EQ(config.get("API_PASSWORD"), "hunter2");
  EXPECT_EQ(config.display_value("API_PASSWORD"), "********");
  EXPECT_THAT(config.render_text(), ContainsRegex("\nAPI_PASSWORD=[*]{8} +# command line\n"));
  EXPECT_THAT(config.render_text(), Not(HasSubstr("hunter2")));
  EXPECT_EQ(config.to_json()["API_PASSWORD"]["value"], "********");
  EXPECT_THAT(config.to_json().dump(), Not(HasSubstr("hunter2")));
}

TEST_F(ConfigTest, SecretsAreNotInErrorsOrWarnings) {
  const BadValue secret{"API_PASSWORD", "hunter2\x01", "text without control characters"};
  const std::string without_value =
      "invalid value for API_PASSWORD (command line): expected " + secret.expected;
  EXPECT_THAT([&] { load_with_override(secret.key, secret.value); },
              ThrowsMessage<ConfigError>(without_value));

  env_ = {{secret.key, secret.value}};
  EXPECT_THAT([&] { load(); }, ThrowsMessage<ConfigError>(Not(HasSubstr("hunter2"))));

  env_.clear();
  dir_.write("voicedesk.env", "API_PASSWORD=hunter2\nAPI_PASSWORD=hunter2\n");
  for (const auto& warning : load().warnings()) EXPECT_THAT(warning, Not(HasSubstr("hunter2")));
}

TEST_F(ConfigTest, RenderTextAlignsValuesAndSources) {
  Config config({{.name = "A", .default_value = "1"},
                 {.name = "LONGER_KEY"},
                 {.name = "SPACED", .default_value = "two words"}});
  config.apply_override("LONGER_KEY", "x");
  EXPECT_EQ(config.render_text(),
            "A=1                 # default\n"
            "LONGER_KEY=x        # command line\n"
            "SPACED=\"two words\"  # default\n");
}

TEST_F(ConfigTest, RenderedTextReadsBackAsTheSameValues) {
  Config config = load();
  config.apply_override("VOICEDESK_NAME", R"( it's "quoted" # not a comment \ )");
  config.apply_override("VOICEDESK_DIR", "");
  dir_.write("voicedesk.env", config.render_text());
  const Config reread = load();
  for (const auto& entry : reread.entries()) {
    if (!entry.key.secret) {
      EXPECT_EQ(entry.value, config.get(entry.key.name)) << entry.key.name;
    }
  }
}

TEST_F(ConfigTest, JsonHasValueAndSourcePerKey) {
  env_ = {{"VOICEDESK_COUNT", "1"}};
  const nlohmann::json json = load().to_json();
  EXPECT_EQ(json.size(), test_schema().size());
  EXPECT_EQ(json["VOICEDESK_COUNT"], (nlohmann::json{{"value", "1"}, {"source", "environment"}}));
  EXPECT_EQ(json["VOICEDESK_LISTEN"],
            (nlohmann::json{{"value", "127.0.0.1:8080"}, {"source", "default"}}));
}

TEST_F(ConfigTest, EntriesFollowSchemaOrder) {
  const Config config = load();
  std::vector<std::string> names;
  for (const auto& entry : config.entries()) names.push_back(entry.key.name);
  std::vector<std::string> expected;
  for (const auto& key : test_schema()) expected.push_back(key.name);
  EXPECT_EQ(names, expected);
}

TEST_F(ConfigTest, FailedApplyLeavesConfigUnchanged) {
  Config config = load();
  dir_.write("bad.env", "UNKNOWN=1\nVOICEDESK_COUNT=1\nVOICEDESK_FLAG=maybe\n");
  EXPECT_THROW(config.apply_file(dir_.path() / "bad.env"), ConfigError);
  EXPECT_EQ(config.get("VOICEDESK_COUNT"), "3");
  EXPECT_THAT(config.warnings(), IsEmpty());
}

TEST_F(ConfigTest, TypedAccessorsRejectMisuse) {
  const Config config = load();
  EXPECT_THROW(config.get("NOT_IN_SCHEMA"), std::out_of_range);
  EXPECT_THROW(config.get_int("VOICEDESK_NAME"), std::logic_error);
  EXPECT_THROW(config.get_bool("VOICEDESK_COUNT"), std::logic_error);

  Config unset({{.name = "PORT", .type = ValueType::Int}});
  EXPECT_THAT([&] { unset.get_int("PORT"); }, ThrowsMessage<ConfigError>("PORT is not set"));
}

TEST(ConfigSchemaTest, BadSchemaIsProgrammingError) {
  EXPECT_THROW(Config({{.name = "N", .type = ValueType::Int, .default_value = "5", .max = 3}}),
               std::logic_error);
  EXPECT_THROW(Config({{.name = "A"}, {.name = "A"}}), std::logic_error);
  EXPECT_THROW(Config({{.name = "E", .type = ValueType::Enum}}), std::logic_error);
}

}  // namespace
}  // namespace voicedesk::util
