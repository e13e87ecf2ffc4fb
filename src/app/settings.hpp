#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "agent/contacts.hpp"
#include "audio/front_end.hpp"
#include "auth/authenticator.hpp"
#include "mcp/http_client.hpp"
#include "rtc/gateway.hpp"
#include "stt/transcriber.hpp"
#include "util/config.hpp"
#include "util/logging.hpp"
#include "util/token_bucket.hpp"

namespace voicedesk::app {

// Typed views of the configuration for each stage; the stages themselves
// never see Config, so they stay usable (and testable) on their own.
audio::FrontEndOptions front_end_options(const util::Config& config);
util::LogFormat log_format(const util::Config& config);

struct ListenAddress {
  std::string host;
  int port = 0;
};
ListenAddress parse_listen_address(const std::string& host_port);

// "a, b,,c " -> {"a", "b", "c"}.
std::vector<std::string> split_list(const std::string& text);

// Browser origins allowed to call the HTTP API: VOICEDESK_ALLOWED_ORIGINS, or
// by default the listen address itself (and localhost for 127.0.0.1).
std::vector<std::string> allowed_origins(const util::Config& config, const std::string& listen);

// Service authentication. The secret is VOICEDESK_AUTH_SECRET when set, else the secret file
// (VOICEDESK_AUTH_SECRET_FILE or the default path), created on first use; throws
// auth::SecretError when it cannot be used.
auth::Mode auth_mode(const util::Config& config);
auth::ServiceSecret service_secret(const util::Config& config);
std::chrono::seconds legacy_window(const util::Config& config);
// Mode, legacy window and (unless the mode is off) the secret.
auth::AuthenticatorOptions authenticator_options(const util::Config& config);

// The WebRTC gateway's options: the front end, the local addresses and ports
// ICE may use (VOICEDESK_ICE_ADDRESSES, else default_ice_addresses() of the
// listen host; VOICEDESK_ICE_PORT_RANGE) and the STUN/TURN servers
// (VOICEDESK_STUN_URL, VOICEDESK_TURN_URLS). Throws util::ConfigError naming
// the key; the message never holds a TURN password.
rtc::GatewayOptions gateway_options(const util::Config& config);

// What ICE offers by default for a server listening on `listen_host`:
// 127.0.0.1 for a loopback host, that address for any other IP address, and
// every interface (empty) for 0.0.0.0, :: or a host name.
std::vector<std::string> default_ice_addresses(const std::string& listen_host);

// A warning when browsers from `origins` cannot reach the media path: ICE
// offers loopback addresses only, no TURN server relays, and an origin names
// another host (voicedesk behind a reverse proxy on the same machine).
std::optional<std::string> remote_browser_warning(const rtc::GatewayOptions& options,
                                                  const std::vector<std::string>& origins);

// A client for the MCP server at VOICEDESK_MCP_URL, with a fresh service
// token per request unless authentication is off.
mcp::ClientOptions mcp_client_options(const util::Config& config);

// The configured speech-to-text: Whisper when VOICEDESK_WHISPER_MODEL is set,
// else the pocketsphinx fallback. Loads the model (once; share the result).
// With voice_commands (the agent's contacts), the pocketsphinx fallback also
// decodes against the agent's command grammar unless VOICEDESK_COMMAND_GRAMMAR
// is off.
std::shared_ptr<const stt::Transcriber> make_transcriber(
    const util::Config& config, const agent::Contacts* voice_commands = nullptr);

}  // namespace voicedesk::app
