#include <httplib.h>
#include <signal.h>
#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>
#include <thread>

#include "app/commands.hpp"
#include "app/settings.hpp"

namespace voicedesk::app {
namespace {

constexpr std::size_t kMaxRequestBody = 1 << 20;

// Stops the server on SIGINT/SIGTERM. The signals are blocked in every
// thread and collected by one waiting thread, so no handler runs in an
// arbitrary thread and nothing async-signal-unsafe is needed.
class ShutdownOnSignal {
 public:
  explicit ShutdownOnSignal(httplib::Server& server) {
    sigemptyset(&signals_);
    sigaddset(&signals_, SIGINT);
    sigaddset(&signals_, SIGTERM);
    sigaddset(&signals_, SIGUSR1);
    pthread_sigmask(SIG_BLOCK, &signals_, nullptr);
    waiter_ = std::thread([this, &server] {
      int signal = 0;
      sigwait(&signals_, &signal);
      if (signal != SIGUSR1) spdlog::info("signal {} received, shutting down", signal);
      server.stop();
    });
  }
  ~ShutdownOnSignal() {
    // Wakes the waiter if the server stopped for another reason.
    pthread_kill(waiter_.native_handle(), SIGUSR1);
    waiter_.join();
  }
  ShutdownOnSignal(const ShutdownOnSignal&) = delete;
  ShutdownOnSignal& operator=(const ShutdownOnSignal&) = delete;

 private:
  sigset_t signals_{};
  std::thread waiter_;
};

}  // namespace

int run_up(const util::Config& config) {
  const ListenAddress listen = parse_listen_address(config.get("VOICEDESK_LISTEN"));
  httplib::Server server;
  server.set_payload_max_length(kMaxRequestBody);
  server.Get("/healthz", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(R"({"status":"ok"})", "application/json");
  });
  server.Get("/", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(
        "<!doctype html><meta charset=utf-8><title>voicedesk</title>"
        "<h1>voicedesk " VOICEDESK_VERSION
        "</h1>"
        "<p>The server is running. This build has the audio front-end "
        "(<code>voicedesk segment</code>); the browser workspace arrives with the "
        "WebRTC gateway.</p>",
        "text/html; charset=utf-8");
  });

  ShutdownOnSignal shutdown(server);
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
