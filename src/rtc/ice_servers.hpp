#pragma once

#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace voicedesk::rtc {

// A STUN or TURN server, used by both ends of every session: webrtcbin
// gathers server-reflexive (STUN) and relayed (TURN) candidates through it,
// and the browser is given the same list for its RTCPeerConnection.
struct IceServer {
  enum class Kind { stun, turn, turns };
  enum class Transport { any, udp, tcp };

  Kind kind = Kind::stun;
  std::string host;  // as configured: a name, an IPv4 or an IPv6 address (no brackets)
  int port = 3478;
  Transport transport = Transport::any;  // TURN only; `any` lets each side try UDP and TCP
  std::string username;                  // TURN only, decoded
  std::string credential;                // TURN only, decoded

  bool operator==(const IceServer&) const = default;

  // The form webrtcbin's stun-server property and add-turn-server signal take:
  // "stun://HOST:PORT", "turn://USER:PASS@HOST:PORT?transport=udp" (user and
  // password percent-encoded). libnice does not resolve names: pass the
  // server's address as `address` (resolve_ice_host()).
  std::string webrtcbin_uri(std::string_view address) const;
  // An RTCIceServer dictionary for the browser (RFC 7064/7065 URLs):
  // {"urls":"turn:HOST:PORT?transport=udp","username":...,"credential":...}.
  nlohmann::json browser_config() const;
};

// A STUN or TURN URL that cannot be used. The message names the part that is
// wrong and never contains a credential.
class IceServerError : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

// "stun:HOST[:PORT]" (RFC 7064) or "stun://HOST[:PORT]" (webrtcbin's form);
// HOST is a name, an IPv4 address or a bracketed IPv6 address; PORT defaults
// to 3478. Throws IceServerError.
IceServer parse_stun_url(std::string_view url);

// "turn[s]:[//]USER:PASS@HOST[:PORT][?transport=udp|tcp]": credentials are
// required (browsers refuse TURN without them) and may be percent-encoded;
// PORT defaults to 3478 for turn and 5349 for turns (TLS, so TCP only).
// Throws IceServerError.
IceServer parse_turn_url(std::string_view url);

// Comma-separated TURN URLs; blanks around entries are ignored. Errors name
// the entry by position ("entry 2: ..."), never by its text, which holds a
// password.
std::vector<IceServer> parse_turn_urls(std::string_view urls);

// The address libnice should use for `host`: an IP literal as is, a name
// resolved through the system resolver (IPv4 preferred). Throws
// IceServerError when the name does not resolve.
std::string resolve_ice_host(const std::string& host);

}  // namespace voicedesk::rtc
