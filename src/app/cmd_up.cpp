#include <fmt/format.h>
#include <fmt/ranges.h>
#include <httplib.h>
#include <malloc.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <thread>

#include "app/commands.hpp"
#include "app/http_server.hpp"
#include "app/mcp_endpoint.hpp"
#include "app/settings.hpp"
#include "app/shutdown_on_signal.hpp"
#include "app/voice_agent.hpp"
#include "app/workspace_tools.hpp"
#include "rtc/gateway.hpp"
#include "rtc/routes.hpp"
#include "stt/transcription_service.hpp"

namespace voicedesk::app {

int run_up(const util::Config& config) {
  // Every WebRTC session runs a dozen short-lived GStreamer threads, and
  // glibc gives new threads new malloc arenas that keep their freed memory:
  // RSS crept by ~0.4 MB per session. One arena per core keeps it flat.
  mallopt(M_ARENA_MAX, static_cast<int>(std::max(2u, std::thread::hardware_concurrency())));
  const std::string listen_text = config.get("VOICEDESK_LISTEN");
  const ListenAddress listen = parse_listen_address(listen_text);
  // Before the model loads, so a configuration mistake is reported at once.
  rtc::GatewayOptions options = gateway_options(config);
  // What users say goes to the agent, which starts once the gateway exists.
  AgentInbox agent_inbox;
  agent_inbox.connect(options);
  const agent::AgentOptions agent_settings = agent::agent_options(config);
  const std::vector<std::string> origins = allowed_origins(config, listen_text);
  if (const auto warning = remote_browser_warning(options, origins)) spdlog::warn("{}", *warning);
  spdlog::info(
      "WebRTC media on {}, ports {}, {} STUN/TURN server(s)",
      options.ice_addresses.empty() ? "every interface"
                                    : fmt::format("{}", fmt::join(options.ice_addresses, ", ")),
      options.min_ice_port != 0 ? fmt::format("{}-{}", options.min_ice_port, options.max_ice_port)
                                : std::string("any"),
      options.ice_servers.size());
  // Speech-to-text is loaded once, before the port opens, and shared by every
  // session through the bounded queue.
  const std::shared_ptr<const stt::Transcriber> transcriber =
      make_transcriber(config, &agent_settings.contacts);
  const auto warm_up_started = std::chrono::steady_clock::now();
  transcriber->warm_up();
  spdlog::info(
      "{} ready ({:.0f} ms warm-up)", transcriber->model_name(),
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - warm_up_started)
          .count());
  stt::TranscriptionService transcription(transcriber, stt::ServiceOptions{});
  rtc::Gateway gateway(transcription, options);
  // The MCP tools on the same port (/mcp); transcription shares the sessions' queue.
  const WorkspaceTools workspace(config);
  store::ConversationStore history(store::history_path(config));
  const VoiceAgent voice_agent(agent_inbox, gateway, agent_tools(config, workspace), agent_settings,
                               &history);
  mcp::Server mcp_server(mcp_server_info());
  workspace.add_to(mcp_server);
  if (config.get("VOICEDESK_STT") == "local")
    add_transcribe_tool(config, mcp_server, transcription);
  McpEndpoint mcp_endpoint(config, mcp_server, listen_text);
  httplib::Server server;  // declared after the gateway, so stopped and destroyed before it
  configure_http_server(server, kMcpHttpThreads);
  rtc::install_routes(server, gateway, origins);
  mcp_endpoint.install(server);
  // Signaling routes check their own, smaller limits.
  server.set_payload_max_length(kMaxMcpRequestBody);
  server.Get("/healthz", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(R"({"status":"ok"})", "application/json");
  });
  const std::filesystem::path web_dir = config.get("VOICEDESK_WEB_DIR");
  if (!web_dir.empty() && std::filesystem::exists(web_dir / "index.html")) {
    server.set_mount_point("/", web_dir.string());
  } else {
    spdlog::warn("no built web client in {} (run scripts/build); serving a status page",
                 web_dir.string());
    server.Get("/", [](const httplib::Request&, httplib::Response& res) {
      res.set_content(
          "<!doctype html><meta charset=utf-8><title>voicedesk</title>"
          "<h1>voicedesk " VOICEDESK_VERSION
          "</h1>"
          "<p>The server is running, but the browser client has not been built "
          "(<code>scripts/build</code> builds it into web/dist).</p>",
          "text/html; charset=utf-8");
    });
  }

  ShutdownOnSignal shutdown([&] {
    mcp_endpoint.stop();
    server.stop();
  });
  if (!bind_http_server(server, listen)) {
    spdlog::error("cannot listen on {}: address in use or not available",
                  config.get("VOICEDESK_LISTEN"));
    return kExitFailure;
  }
  spdlog::info("voicedesk up on http://{} (MCP at /mcp)", listen_text);
  server.listen_after_bind();
  mcp_endpoint.stop();
  spdlog::info("stopped");
  return kExitOk;
}

}  // namespace voicedesk::app
