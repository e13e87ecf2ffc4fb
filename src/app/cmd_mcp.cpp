#include <httplib.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <iostream>
#include <nlohmann/json.hpp>
#include <thread>

#include "app/commands.hpp"
#include "app/http_server.hpp"
#include "app/mcp_endpoint.hpp"
#include "app/settings.hpp"
#include "app/shutdown_on_signal.hpp"
#include "app/workspace_tools.hpp"
#include "mcp/conformance_fixtures.hpp"
#include "mcp/server.hpp"
#include "mcp/stdio_transport.hpp"
#include "stt/transcription_service.hpp"
#include "tools/echo_tool.hpp"

namespace voicedesk::app {
namespace {

// Loads speech-to-text, warms it up (so the first real call does not pay for
// page faults and lazy allocations), and registers the transcribe tool.
std::unique_ptr<stt::TranscriptionService> start_transcription(const util::Config& config,
                                                               mcp::Server& server) {
  auto service =
      std::make_unique<stt::TranscriptionService>(make_transcriber(config), stt::ServiceOptions{});
  service->transcriber().warm_up();
  add_transcribe_tool(config, server, *service);
  spdlog::info("mcp: transcribe ready ({})", service->transcriber().model_name());
  return service;
}

int serve_http(const util::Config& config, mcp::Server& server,
               std::unique_ptr<stt::TranscriptionService>& transcription) {
  const std::string listen_text = config.get("VOICEDESK_MCP_LISTEN");
  const ListenAddress listen = parse_listen_address(listen_text);
  McpEndpoint endpoint(config, server, listen_text);
  httplib::Server http;
  configure_http_server(http, kMcpHttpThreads);
  http.set_payload_max_length(kMaxMcpRequestBody);
  std::atomic<bool> ready{false};
  http.Get("/healthz", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(R"({"status":"ok"})", "application/json");
  });
  http.Get("/readyz", [&ready](const httplib::Request&, httplib::Response& res) {
    res.status = ready ? 200 : 503;
    res.set_content(ready ? R"({"status":"ready"})" : R"({"status":"loading"})",
                    "application/json");
  });
  endpoint.install(http);

  ShutdownOnSignal shutdown([&] {
    endpoint.stop();
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
      endpoint.stop();
      http.stop();
    }
  });
  spdlog::info("voicedesk mcp on http://{}/mcp", listen_text);
  http.listen_after_bind();
  loader.join();
  endpoint.stop();
  spdlog::info("stopped");
  return load_failed ? kExitFailure : kExitOk;
}

}  // namespace

int run_mcp(const util::Config& config, const McpRequest& request) {
  // Declared first so they outlive the tools that use them.
  std::unique_ptr<stt::TranscriptionService> transcription;
  const WorkspaceTools workspace(config);
  mcp::Server server(mcp_server_info());
  workspace.add_to(server);
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
