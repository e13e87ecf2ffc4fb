#include <fcntl.h>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <httplib.h>
#include <malloc.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <thread>

#include "app/commands.hpp"
#include "app/settings.hpp"
#include "rtc/gateway.hpp"
#include "rtc/routes.hpp"
#include "stt/transcription_service.hpp"

namespace voicedesk::app {
namespace {

constexpr std::size_t kMaxRequestBody = 1 << 20;

// Where the signal handler reports to. A handler can only reach global
// state; this is the one such variable, written before the handler is
// installed and read only by it.
int g_signal_pipe = -1;

extern "C" void forward_signal(int signal) {
  const auto byte = static_cast<char>(signal);
  [[maybe_unused]] const ssize_t written = ::write(g_signal_pipe, &byte, 1);
}

// Stops the server on SIGINT/SIGTERM. The handler only writes the signal
// number to a pipe (async-signal-safe), whichever thread the kernel picks:
// libraries such as OpenBLAS start threads before main() that would
// otherwise take the default action and kill the process mid-request. A
// waiting thread reads the pipe and stops the server.
class ShutdownOnSignal {
 public:
  explicit ShutdownOnSignal(httplib::Server& server) {
    if (::pipe2(pipe_, O_CLOEXEC) != 0) throw std::runtime_error("pipe2 failed");
    g_signal_pipe = pipe_[1];
    struct sigaction action {};
    action.sa_handler = forward_signal;
    sigemptyset(&action.sa_mask);
    action.sa_flags = SA_RESTART;
    ::sigaction(SIGINT, &action, &previous_int_);
    ::sigaction(SIGTERM, &action, &previous_term_);
    waiter_ = std::thread([this, &server] {
      char byte = 0;
      while (::read(pipe_[0], &byte, 1) < 0 && errno == EINTR) {
      }
      if (byte != kWake) spdlog::info("signal {} received, shutting down", static_cast<int>(byte));
      server.stop();
    });
  }
  ~ShutdownOnSignal() {
    ::sigaction(SIGINT, &previous_int_, nullptr);
    ::sigaction(SIGTERM, &previous_term_, nullptr);
    // Wakes the waiter if the server stopped for another reason.
    [[maybe_unused]] const ssize_t written = ::write(pipe_[1], &kWake, 1);
    waiter_.join();
    g_signal_pipe = -1;
    ::close(pipe_[0]);
    ::close(pipe_[1]);
  }
  ShutdownOnSignal(const ShutdownOnSignal&) = delete;
  ShutdownOnSignal& operator=(const ShutdownOnSignal&) = delete;

 private:
  static constexpr char kWake = 0;
  int pipe_[2] = {-1, -1};
  struct sigaction previous_int_ {};
  struct sigaction previous_term_ {};
  std::thread waiter_;
};

}  // namespace

int run_up(const util::Config& config) {
  // Every WebRTC session runs a dozen short-lived GStreamer threads, and
  // glibc gives new threads new malloc arenas that keep their freed memory:
  // RSS crept by ~0.4 MB per session. One arena per core keeps it flat.
  mallopt(M_ARENA_MAX, static_cast<int>(std::max(2u, std::thread::hardware_concurrency())));
  const ListenAddress listen = parse_listen_address(config.get("VOICEDESK_LISTEN"));
  // Before the model loads, so a configuration mistake is reported at once.
  const rtc::GatewayOptions options = gateway_options(config);
  const std::vector<std::string> origins = allowed_origins(config);
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
  const std::shared_ptr<const stt::Transcriber> transcriber = make_transcriber(config);
  const auto warm_up_started = std::chrono::steady_clock::now();
  transcriber->warm_up();
  spdlog::info(
      "{} ready ({:.0f} ms warm-up)", transcriber->model_name(),
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - warm_up_started)
          .count());
  stt::TranscriptionService transcription(transcriber, stt::ServiceOptions{});
  rtc::Gateway gateway(transcription, options);
  httplib::Server server;  // declared after the gateway, so stopped and destroyed before it
  rtc::install_routes(server, gateway, origins);
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
