#include <httplib.h>
#include <malloc.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <thread>

#include "app/commands.hpp"
#include "app/settings.hpp"
#include "app/shutdown_on_signal.hpp"
#include "rtc/gateway.hpp"
#include "rtc/routes.hpp"
#include "stt/transcription_service.hpp"

namespace voicedesk::app {
namespace {

constexpr std::size_t kMaxRequestBody = 1 << 20;

}  // namespace

int run_up(const util::Config& config) {
  // Every WebRTC session runs a dozen short-lived GStreamer threads, and
  // glibc gives new threads new malloc arenas that keep their freed memory:
  // RSS crept by ~0.4 MB per session. One arena per core keeps it flat.
  mallopt(M_ARENA_MAX, static_cast<int>(std::max(2u, std::thread::hardware_concurrency())));
  const ListenAddress listen = parse_listen_address(config.get("VOICEDESK_LISTEN"));
  // Speech-to-text is loaded once, before the port opens, and shared by every
  // session through the bounded queue.
  stt::TranscriptionService transcription(make_transcriber(config), stt::ServiceOptions{});
  rtc::GatewayOptions gateway_options;
  gateway_options.front_end = front_end_options(config);
  // ICE offers only the loopback address unless the server listens elsewhere.
  if (listen.host != "127.0.0.1" && listen.host != "localhost")
    gateway_options.ice_addresses.clear();
  rtc::Gateway gateway(transcription, gateway_options);
  httplib::Server server;  // declared after the gateway, so stopped and destroyed before it
  rtc::install_routes(server, gateway, allowed_origins(config, config.get("VOICEDESK_LISTEN")));
  server.set_payload_max_length(kMaxRequestBody);
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

  ShutdownOnSignal shutdown([&server] { server.stop(); });
  if (!server.bind_to_port(listen.host, listen.port)) {
    spdlog::error("cannot listen on {}: address in use or not available",
                  config.get("VOICEDESK_LISTEN"));
    return kExitFailure;
  }
  spdlog::info("voicedesk up on http://{}", config.get("VOICEDESK_LISTEN"));
  server.listen_after_bind();
  spdlog::info("stopped");
  return kExitOk;
}

}  // namespace voicedesk::app
