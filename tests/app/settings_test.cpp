#include "app/settings.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "app/config_schema.hpp"
#include "util/config_error.hpp"

namespace voicedesk::app {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

util::Config config_with(const std::vector<std::pair<std::string, std::string>>& values) {
  util::Config config(config_schema());
  for (const auto& [key, value] : values) config.apply_override(key, value);
  return config;
}

// The message of the ConfigError gateway_options() throws ("" when it does not).
std::string gateway_error(const std::vector<std::pair<std::string, std::string>>& values) {
  try {
    gateway_options(config_with(values));
  } catch (const util::ConfigError& error) {
    return error.what();
  }
  return "";
}

TEST(GatewaySettings, DefaultsKeepMediaOnLoopbackWithoutIceServers) {
  const rtc::GatewayOptions options = gateway_options(config_with({}));
  EXPECT_THAT(options.ice_addresses, ElementsAre("127.0.0.1"));
  EXPECT_THAT(options.ice_servers, IsEmpty());
  EXPECT_EQ(options.min_ice_port, 0u);
  EXPECT_EQ(options.max_ice_port, 0u);
}

TEST(GatewaySettings, IceAddressesFollowTheListenAddress) {
  EXPECT_THAT(default_ice_addresses("127.0.0.1"), ElementsAre("127.0.0.1"));
  EXPECT_THAT(default_ice_addresses("localhost"), ElementsAre("127.0.0.1"));
  EXPECT_THAT(default_ice_addresses("::1"), ElementsAre("127.0.0.1"));
  EXPECT_THAT(default_ice_addresses("192.168.1.5"), ElementsAre("192.168.1.5"));
  EXPECT_THAT(default_ice_addresses("fd00::5"), ElementsAre("fd00::5"));
  EXPECT_THAT(default_ice_addresses("0.0.0.0"), IsEmpty());
  EXPECT_THAT(default_ice_addresses("::"), IsEmpty());
  EXPECT_THAT(default_ice_addresses("voice.lan"), IsEmpty());

  EXPECT_THAT(gateway_options(config_with({{"VOICEDESK_LISTEN", "0.0.0.0:8080"}})).ice_addresses,
              IsEmpty());
  EXPECT_THAT(gateway_options(config_with({{"VOICEDESK_LISTEN", "[::]:8080"}})).ice_addresses,
              IsEmpty());
  EXPECT_THAT(
      gateway_options(config_with({{"VOICEDESK_LISTEN", "192.168.1.5:8080"}})).ice_addresses,
      ElementsAre("192.168.1.5"));
}

TEST(GatewaySettings, ConfiguredIceAddressesWin) {
  EXPECT_THAT(gateway_options(config_with({{"VOICEDESK_ICE_ADDRESSES", " 10.0.0.2, fd00::2 "}}))
                  .ice_addresses,
              ElementsAre("10.0.0.2", "fd00::2"));
  EXPECT_THAT(gateway_options(config_with({{"VOICEDESK_ICE_ADDRESSES", "all"}})).ice_addresses,
              IsEmpty());
  EXPECT_THAT(gateway_error({{"VOICEDESK_ICE_ADDRESSES", "10.0.0.2,eth0"}}),
              HasSubstr("VOICEDESK_ICE_ADDRESSES: \"eth0\" is not an IP address"));
}

TEST(GatewaySettings, PortRange) {
  const rtc::GatewayOptions options =
      gateway_options(config_with({{"VOICEDESK_ICE_PORT_RANGE", "50000-50100"}}));
  EXPECT_EQ(options.min_ice_port, 50000u);
  EXPECT_EQ(options.max_ice_port, 50100u);
  EXPECT_EQ(
      gateway_options(config_with({{"VOICEDESK_ICE_PORT_RANGE", "50000-50000"}})).max_ice_port,
      50000u);
  for (const char* bad : {"50000", "50000-", "-50000", "0-10", "1-70000", "a-b", "1-2-3"}) {
    EXPECT_THAT(gateway_error({{"VOICEDESK_ICE_PORT_RANGE", bad}}),
                HasSubstr("VOICEDESK_ICE_PORT_RANGE: expected MIN-MAX"))
        << bad;
  }
  EXPECT_THAT(gateway_error({{"VOICEDESK_ICE_PORT_RANGE", "50100-50000"}}),
              HasSubstr("50100 is above 50000"));
}

TEST(GatewaySettings, SpokenReplies) {
  const rtc::GatewayOptions defaults = gateway_options(config_with({}));
  EXPECT_EQ(defaults.speech.voice, "en-us");
  EXPECT_EQ(defaults.speech.words_per_minute, 175);
  EXPECT_TRUE(defaults.barge_in);
  EXPECT_EQ(defaults.barge_in_ms, 90);
  const rtc::GatewayOptions options =
      gateway_options(config_with({{"VOICEDESK_TTS_VOICE", "en-gb"},
                                   {"VOICEDESK_TTS_RATE", "200"},
                                   {"VOICEDESK_BARGE_IN", "false"},
                                   {"VOICEDESK_BARGE_IN_MS", "150"}}));
  EXPECT_EQ(options.speech.voice, "en-gb");
  EXPECT_EQ(options.speech.words_per_minute, 200);
  EXPECT_FALSE(options.barge_in);
  EXPECT_EQ(options.barge_in_ms, 150);
  // Less than one 30 ms VAD frame means nothing.
  EXPECT_THROW(config_with({{"VOICEDESK_BARGE_IN_MS", "10"}}), util::ConfigError);
}

TEST(GatewaySettings, SpeculativeTranscription) {
  EXPECT_EQ(gateway_options(config_with({})).front_end.endpoint.speculative_after_ms, 200);
  EXPECT_EQ(gateway_options(config_with({{"VOICEDESK_SPECULATIVE_STT_MS", "0"}}))
                .front_end.endpoint.speculative_after_ms,
            0);
  EXPECT_EQ(gateway_options(config_with({{"VOICEDESK_SPECULATIVE_STT_MS", "330"}}))
                .front_end.endpoint.speculative_after_ms,
            330);
  EXPECT_THROW(config_with({{"VOICEDESK_SPECULATIVE_STT_MS", "-1"}}), util::ConfigError);
}

TEST(GatewaySettings, StunAndTurnServers) {
  const rtc::GatewayOptions options = gateway_options(config_with({
      {"VOICEDESK_STUN_URL", "stun:stun.example.org:3478"},
      {"VOICEDESK_TURN_URLS", "turn:u:p@turn.example.org?transport=udp,turns:u:p@turn.example.org"},
  }));
  ASSERT_EQ(options.ice_servers.size(), 3u);
  EXPECT_EQ(options.ice_servers[0].kind, rtc::IceServer::Kind::stun);
  EXPECT_EQ(options.ice_servers[1].kind, rtc::IceServer::Kind::turn);
  EXPECT_EQ(options.ice_servers[2].kind, rtc::IceServer::Kind::turns);

  EXPECT_THAT(gateway_error({{"VOICEDESK_STUN_URL", "stun.example.org"}}),
              HasSubstr("VOICEDESK_STUN_URL: \"stun.example.org\" does not start with stun:"));
  const std::string turn_error =
      gateway_error({{"VOICEDESK_TURN_URLS", "turn:u:p@a.example,turn:hunter2@b.example"}});
  EXPECT_THAT(turn_error, HasSubstr("VOICEDESK_TURN_URLS: entry 2"));
  EXPECT_THAT(turn_error, Not(HasSubstr("hunter2")));
}

TEST(GatewaySettings, TurnUrlsAreMaskedWhenTheConfigurationIsShown) {
  const util::Config config =
      config_with({{"VOICEDESK_TURN_URLS", "turn:voicedesk:hunter2@turn.example.org"}});
  EXPECT_EQ(config.display_value("VOICEDESK_TURN_URLS"), "********");
  EXPECT_THAT(config.render_text(), Not(HasSubstr("hunter2")));
  EXPECT_THAT(config.to_json().dump(), Not(HasSubstr("hunter2")));
}

TEST(GatewaySettings, WarnsWhenRemoteBrowsersCannotReachLoopbackMedia) {
  rtc::GatewayOptions options;  // ICE on 127.0.0.1 only
  EXPECT_EQ(remote_browser_warning(options, {"http://127.0.0.1:8080", "http://localhost:8080"}),
            std::nullopt);
  const auto warning = remote_browser_warning(options, {"https://voice.example.com"});
  ASSERT_TRUE(warning.has_value());
  EXPECT_THAT(*warning, HasSubstr("https://voice.example.com"));
  EXPECT_THAT(*warning, HasSubstr("VOICEDESK_ICE_ADDRESSES"));

  options.ice_servers = {rtc::parse_turn_url("turn:u:p@127.0.0.1")};
  EXPECT_EQ(remote_browser_warning(options, {"https://voice.example.com"}), std::nullopt);
  options.ice_servers.clear();
  options.ice_addresses.clear();  // every interface
  EXPECT_EQ(remote_browser_warning(options, {"https://voice.example.com"}), std::nullopt);
}

}  // namespace
}  // namespace voicedesk::app
