#include "rtc/ice_servers.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

namespace voicedesk::rtc {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// The message of the IceServerError `parse` throws ("" when it does not).
template <typename Parse>
std::string error_of(Parse parse) {
  try {
    parse();
  } catch (const IceServerError& error) {
    return error.what();
  }
  return "";
}

TEST(IceServers, ParsesStunUrlsInBothForms) {
  const IceServer rfc = parse_stun_url("stun:stun.example.org");
  EXPECT_EQ(rfc.kind, IceServer::Kind::stun);
  EXPECT_EQ(rfc.host, "stun.example.org");
  EXPECT_EQ(rfc.port, 3478);

  const IceServer gst = parse_stun_url("stun://192.0.2.7:19302");
  EXPECT_EQ(gst.host, "192.0.2.7");
  EXPECT_EQ(gst.port, 19302);

  const IceServer v6 = parse_stun_url("stun:[2001:db8::1]:3479");
  EXPECT_EQ(v6.host, "2001:db8::1");
  EXPECT_EQ(v6.port, 3479);
  EXPECT_EQ(v6.webrtcbin_uri(v6.host), "stun://[2001:db8::1]:3479");
  EXPECT_EQ(v6.browser_config(), (nlohmann::json{{"urls", "stun:[2001:db8::1]:3479"}}));
}

TEST(IceServers, StunUrlsForBothEnds) {
  const IceServer server = parse_stun_url("stun:stun.example.org:3478");
  EXPECT_EQ(server.webrtcbin_uri("198.51.100.4"), "stun://198.51.100.4:3478");
  EXPECT_EQ(server.browser_config(), (nlohmann::json{{"urls", "stun:stun.example.org:3478"}}));
}

TEST(IceServers, RefusesBadStunUrls) {
  EXPECT_THAT(error_of([] { parse_stun_url("http://stun.example.org"); }),
              HasSubstr("does not start with stun:"));
  EXPECT_THAT(error_of([] { parse_stun_url("stuns:stun.example.org"); }),
              HasSubstr("does not start with stun:"));
  EXPECT_THAT(error_of([] { parse_stun_url("stun:"); }), HasSubstr("host is missing"));
  EXPECT_THAT(error_of([] { parse_stun_url("stun:host:0"); }), HasSubstr("not a port"));
  EXPECT_THAT(error_of([] { parse_stun_url("stun:host:70000"); }), HasSubstr("not a port"));
  EXPECT_THAT(error_of([] { parse_stun_url("stun:host:"); }), HasSubstr("not a port"));
  EXPECT_THAT(error_of([] { parse_stun_url("stun:user@host"); }), HasSubstr("without user"));
  EXPECT_THAT(error_of([] { parse_stun_url("stun:ho st"); }), HasSubstr("not a host name"));
  EXPECT_THAT(error_of([] { parse_stun_url("stun:[::1"); }), HasSubstr("lacks its ']'"));
  EXPECT_THAT(error_of([] { parse_stun_url("stun:[nope]"); }), HasSubstr("not an IPv6 address"));
}

TEST(IceServers, ParsesTurnUrls) {
  const IceServer udp = parse_turn_url("turn:alice:s3cret@turn.example.org?transport=udp");
  EXPECT_EQ(udp.kind, IceServer::Kind::turn);
  EXPECT_EQ(udp.host, "turn.example.org");
  EXPECT_EQ(udp.port, 3478);
  EXPECT_EQ(udp.transport, IceServer::Transport::udp);
  EXPECT_EQ(udp.username, "alice");
  EXPECT_EQ(udp.credential, "s3cret");

  const IceServer tls = parse_turn_url("turns://bob:pw@turn.example.org");
  EXPECT_EQ(tls.kind, IceServer::Kind::turns);
  EXPECT_EQ(tls.port, 5349);
  EXPECT_EQ(tls.transport, IceServer::Transport::any);

  const IceServer tcp = parse_turn_url("turn://u:p@[2001:db8::2]:443?transport=tcp");
  EXPECT_EQ(tcp.host, "2001:db8::2");
  EXPECT_EQ(tcp.port, 443);
  EXPECT_EQ(tcp.transport, IceServer::Transport::tcp);
}

TEST(IceServers, TurnCredentialsArePercentDecodedForTheBrowserAndEncodedForWebrtcbin) {
  const IceServer server = parse_turn_url("turn:me%40example.org:p%3Ass@w@turn.example.org:3478");
  EXPECT_EQ(server.username, "me@example.org");
  EXPECT_EQ(server.credential, "p:ss@w");
  EXPECT_EQ(server.browser_config(), (nlohmann::json{{"urls", "turn:turn.example.org:3478"},
                                                     {"username", "me@example.org"},
                                                     {"credential", "p:ss@w"}}));
  EXPECT_EQ(server.webrtcbin_uri("203.0.113.9"),
            "turn://me%40example.org:p%3Ass%40w@203.0.113.9:3478");

  const IceServer udp = parse_turn_url("turn:u:p@turn.example.org?transport=udp");
  EXPECT_EQ(udp.webrtcbin_uri("203.0.113.9"), "turn://u:p@203.0.113.9:3478?transport=udp");
  EXPECT_EQ(udp.browser_config().at("urls"), "turn:turn.example.org:3478?transport=udp");
}

TEST(IceServers, RefusesBadTurnUrlsWithoutShowingThePassword) {
  const char* password = "hunter2";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"stun:u:hunter2@host", "does not start with turn"},
      {"turn:host:3478", "needs USER:PASSWORD@"},
      {"turn:hunter2@host", "both a user name and a password"},
      {"turn::hunter2@host", "both a user name and a password"},
      {"turn:u:hunter2%zz@host", "bad %-escape"},
      {"turn:u:hunter2@host:99999", "not a port"},
      {"turn:u:hunter2@host/path", "no path"},
      {"turn:u:hunter2@host?transport=sctp", "unsupported query"},
      {"turns:u:hunter2@host?transport=udp", "transport=udp does not apply"},
  };
  for (const auto& [url, expected] : cases) {
    const std::string message = error_of([&] { parse_turn_url(url); });
    EXPECT_THAT(message, HasSubstr(expected)) << url;
    EXPECT_THAT(message, Not(HasSubstr(password))) << url;
  }
}

TEST(IceServers, ParsesCommaSeparatedTurnUrlsAndNamesABadEntryByPosition) {
  const auto servers =
      parse_turn_urls(" turn:u:p@a.example?transport=udp , turns:u:p@b.example:443,");
  ASSERT_EQ(servers.size(), 2u);
  EXPECT_EQ(servers[0].host, "a.example");
  EXPECT_EQ(servers[1].kind, IceServer::Kind::turns);
  EXPECT_TRUE(parse_turn_urls("").empty());

  const std::string message =
      error_of([] { parse_turn_urls("turn:u:p@a.example,turn:hunter2@b.example"); });
  EXPECT_THAT(message, HasSubstr("entry 2:"));
  EXPECT_THAT(message, Not(HasSubstr("hunter2")));
}

TEST(IceServers, ResolvesHostsForLibnice) {
  EXPECT_EQ(resolve_ice_host("192.0.2.1"), "192.0.2.1");
  EXPECT_EQ(resolve_ice_host("2001:db8::1"), "2001:db8::1");
  EXPECT_EQ(resolve_ice_host("localhost"), "127.0.0.1");
  EXPECT_THAT(error_of([] { resolve_ice_host("no-such-host.invalid"); }),
              HasSubstr("cannot resolve"));
}

}  // namespace
}  // namespace voicedesk::rtc
