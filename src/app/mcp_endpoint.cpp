#include "app/mcp_endpoint.hpp"

#include <httplib.h>

#include "app/commands.hpp"
#include "app/settings.hpp"
#include "tools/transcribe_tool.hpp"
#include "util/rate_limit_config.hpp"

namespace voicedesk::app {
namespace {

// Every request to the endpoint carries a fresh service token (X-API-Key or
// Bearer) minted for the audience "mcp"; /healthz and /readyz need none.
std::function<std::optional<nlohmann::json>(const httplib::Request&)> token_check(
    auth::Authenticator& authenticator) {
  return [&authenticator](const httplib::Request& req) -> std::optional<nlohmann::json> {
    const auto header = [&req](const char* name) -> std::optional<std::string> {
      if (!req.has_header(name)) return std::nullopt;
      return req.get_header_value(name);
    };
    const std::optional<std::string> api_key = header("X-API-Key");
    const std::optional<std::string> authorization = header("Authorization");
    const auth::AuthResult result = authenticator.check(
        "mcp", api_key ? std::optional<std::string_view>(*api_key) : std::nullopt,
        authorization ? std::optional<std::string_view>(*authorization) : std::nullopt);
    if (result.ok) return std::nullopt;
    return result.error_body();
  };
}

}  // namespace

mcp::ServerInfo mcp_server_info() {
  mcp::ServerInfo info;
  info.version = VOICEDESK_VERSION;
  info.instructions =
      "voicedesk's tools: transcribe speech (WAV as base64 `audio`, or a server-side `path`).";
  return info;
}

void add_transcribe_tool(const util::Config& config, mcp::Server& server,
                         stt::TranscriptionService& service) {
  tools::TranscribeToolOptions options;
  for (const std::string& dir : split_list(config.get("VOICEDESK_MCP_ALLOWED_DIRS")))
    options.allowed_dirs.emplace_back(dir);
  options.max_audio_bytes = kMaxAudioBytes;
  options.limiter = util::configured_rate_limiter(config, "transcribe", "VOICEDESK_STT_RATE",
                                                  "VOICEDESK_STT_BURST");
  server.add_tool(tools::make_transcribe_tool(service, std::move(options)));
}

McpEndpoint::McpEndpoint(const util::Config& config, mcp::Server& server,
                         const std::string& listen_text) {
  const ListenAddress listen = parse_listen_address(listen_text);
  if (auth_mode(config) == auth::Mode::off && !auth::is_loopback_host(listen.host)) {
    throw BadInput("--auth off is refused when listening on " + listen_text +
                   ": without authentication only a loopback address is safe");
  }
  authenticator_ = std::make_unique<auth::Authenticator>(authenticator_options(config));
  mcp::HttpOptions options;
  options.allowed_origins = allowed_origins(config, listen_text);
  options.allowed_hosts = split_list(config.get("VOICEDESK_MCP_ALLOWED_HOSTS"));
  if (options.allowed_hosts.empty() && auth::is_loopback_host(listen.host)) {
    options.allowed_hosts = {"localhost", "127.0.0.1", "[::1]"};
  }
  options.max_concurrent_calls = kMaxConcurrentCalls;
  if (authenticator_->mode() != auth::Mode::off)
    options.authenticate = token_check(*authenticator_);
  transport_ = std::make_unique<mcp::HttpTransport>(server, std::move(options));
}

}  // namespace voicedesk::app
