#include <httplib.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <iostream>
#include <nlohmann/json.hpp>
#include <thread>

#include "app/commands.hpp"
#include "app/http_server.hpp"
#include "app/settings.hpp"
#include "app/shutdown_on_signal.hpp"
#include "auth/authenticator.hpp"
#include "mcp/conformance_fixtures.hpp"
#include "mcp/http_transport.hpp"
#include "mcp/server.hpp"
#include "mcp/stdio_transport.hpp"
#include "stt/transcription_service.hpp"
#include "tools/echo_tool.hpp"
#include "tools/transcribe_tool.hpp"

namespace voicedesk::app {
namespace {

// Inline audio arrives base64-encoded: 4/3 of the WAV limit, plus JSON.
constexpr std::size_t kMaxAudioBytes = 32u << 20;
constexpr std::size_t kMaxRequestBody = kMaxAudioBytes / 3 * 4 + (1u << 20);
constexpr std::size_t kMaxConcurrentCalls = 64;
// Every open event stream holds an HTTP thread, and a tool waiting for the
// client's answer needs another one free to receive it.
constexpr std::size_t kHttpThreads = kMaxConcurrentCalls + 32;

mcp::ServerInfo server_info() {
  mcp::ServerInfo info;
  info.version = VOICEDESK_VERSION;
  info.instructions =
      "voicedesk's tools: transcribe speech (WAV as base64 `audio`, or a server-side `path`).";
  return info;
}

// Loads speech-to-text, warms it with a short silence (so the first real call
// does not pay for page faults and lazy allocations), and registers the
// transcribe tool.
std::unique_ptr<stt::TranscriptionService> start_transcription(const util::Config& config,
                                                               mcp::Server& server) {
  auto service =
      std::make_unique<stt::TranscriptionService>(make_transcriber(config), stt::ServiceOptions{});
  service->submit(std::vector<float>(stt::kSampleRate / 2, 0.0f)).get();
  tools::TranscribeToolOptions options;
  for (const std::string& dir : split_list(config.get("VOICEDESK_MCP_ALLOWED_DIRS")))
    options.allowed_dirs.emplace_back(dir);
  options.max_audio_bytes = kMaxAudioBytes;
  options.limiter = rate_limiter(config, "transcribe", "VOICEDESK_STT_RATE", "VOICEDESK_STT_BURST");
  server.add_tool(tools::make_transcribe_tool(*service, std::move(options)));
  spdlog::info("mcp: transcribe ready ({})", service->transcriber().model_name());
  return service;
}

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

mcp::HttpOptions http_options(const util::Config& config, const std::string& listen_text) {
  const ListenAddress listen = parse_listen_address(listen_text);
  mcp::HttpOptions options;
  options.allowed_origins = allowed_origins(config, listen_text);
  options.allowed_hosts = split_list(config.get("VOICEDESK_MCP_ALLOWED_HOSTS"));
  if (options.allowed_hosts.empty() && auth::is_loopback_host(listen.host)) {
    options.allowed_hosts = {"localhost", "127.0.0.1", "[::1]"};
  }
  options.max_concurrent_calls = kMaxConcurrentCalls;
  return options;
}

int serve_http(const util::Config& config, mcp::Server& server,
               std::unique_ptr<stt::TranscriptionService>& transcription) {
  const std::string listen_text = config.get("VOICEDESK_MCP_LISTEN");
  const ListenAddress listen = parse_listen_address(listen_text);
  if (auth_mode(config) == auth::Mode::off && !auth::is_loopback_host(listen.host)) {
    throw BadInput("--auth off is refused when listening on " + listen_text +
                   ": without authentication only a loopback address is safe");
  }
  auth::Authenticator authenticator(authenticator_options(config));
  mcp::HttpOptions options = http_options(config, listen_text);
  if (authenticator.mode() != auth::Mode::off) options.authenticate = token_check(authenticator);
  mcp::HttpTransport transport(server, std::move(options));
  httplib::Server http;
  configure_http_server(http, kHttpThreads);
  http.set_payload_max_length(kMaxRequestBody);
  std::atomic<bool> ready{false};
  http.Get("/healthz", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(R"({"status":"ok"})", "application/json");
  });
  http.Get("/readyz", [&ready](const httplib::Request&, httplib::Response& res) {
    res.status = ready ? 200 : 503;
    res.set_content(ready ? R"({"status":"ready"})" : R"({"status":"loading"})",
                    "application/json");
  });
  transport.install(http);

  ShutdownOnSignal shutdown([&] {
    transport.stop();
    http.stop();
  });
  if (!bind_http_server(http, listen)) {
    spdlog::error("cannot listen on {}: address in use or not available", listen_text);
    return kExitFailure;
  }
  std::atomic<bool> load_failed{false};
  std::thread loader([&] {
    try {
      transcription = start_transcription(config, server);
      ready = true;
      spdlog::info("mcp: ready");
    } catch (const std::exception& e) {
      spdlog::error("mcp: cannot load speech-to-text: {}", e.what());
      load_failed = true;
      while (!http.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(10));
      transport.stop();
      http.stop();
    }
  });
  spdlog::info("voicedesk mcp on http://{}/mcp", listen_text);
  http.listen_after_bind();
  loader.join();
  transport.stop();
  spdlog::info("stopped");
  return load_failed ? kExitFailure : kExitOk;
}

}  // namespace

int run_mcp(const util::Config& config, const McpRequest& request) {
  // Declared first so it outlives the tool that uses it.
  std::unique_ptr<stt::TranscriptionService> transcription;
  mcp::Server server(server_info());
  if (request.conformance_fixtures) mcp::register_conformance_fixtures(server);
  if (request.bench_tools) server.add_tool(tools::make_echo_tool());
  if (request.stdio) {
    transcription = start_transcription(config, server);
    mcp::serve_stdio(server, std::cin, std::cout);
    return kExitOk;
  }
  return serve_http(config, server, transcription);
}

}  // namespace voicedesk::app
