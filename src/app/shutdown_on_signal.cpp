#include "app/shutdown_on_signal.hpp"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cerrno>
#include <stdexcept>

namespace voicedesk::app {
namespace {

// Where the signal handler reports to. A handler can only reach global
// state; this is the one such variable, written before the handler is
// installed and read only by it.
int g_signal_pipe = -1;

// Written by the destructor to wake the waiter without a signal.
constexpr char kWake = 0;

extern "C" void forward_signal(int signal) {
  const auto byte = static_cast<char>(signal);
  [[maybe_unused]] const ssize_t written = ::write(g_signal_pipe, &byte, 1);
}

}  // namespace

ShutdownOnSignal::ShutdownOnSignal(std::function<void()> shutdown) {
  if (::pipe2(pipe_, O_CLOEXEC) != 0) throw std::runtime_error("pipe2 failed");
  g_signal_pipe = pipe_[1];
  struct sigaction action {};
  action.sa_handler = forward_signal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;
  ::sigaction(SIGINT, &action, &previous_int_);
  ::sigaction(SIGTERM, &action, &previous_term_);
  waiter_ = std::thread([this, shutdown = std::move(shutdown)] {
    char byte = 0;
    while (::read(pipe_[0], &byte, 1) < 0 && errno == EINTR) {
    }
    if (byte != kWake) spdlog::info("signal {} received, shutting down", static_cast<int>(byte));
    shutdown();
  });
}

ShutdownOnSignal::~ShutdownOnSignal() {
  ::sigaction(SIGINT, &previous_int_, nullptr);
  ::sigaction(SIGTERM, &previous_term_, nullptr);
  // Wakes the waiter if the server stopped for another reason.
  [[maybe_unused]] const ssize_t written = ::write(pipe_[1], &kWake, 1);
  waiter_.join();
  g_signal_pipe = -1;
  ::close(pipe_[0]);
  ::close(pipe_[1]);
}

}  // namespace voicedesk::app
