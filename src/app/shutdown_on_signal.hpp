#pragma once

#include <signal.h>

#include <functional>
#include <thread>

namespace voicedesk::app {

// Runs a shutdown action (stop the HTTP server...) on SIGINT/SIGTERM. The
// handler only writes the signal number to a pipe (async-signal-safe),
// whichever thread the kernel picks: libraries such as OpenBLAS start threads
// before main() that would otherwise take the default action and kill the
// process mid-request. A waiting thread reads the pipe and runs the action.
// One instance at a time; the previous handlers are restored on destruction.
class ShutdownOnSignal {
 public:
  explicit ShutdownOnSignal(std::function<void()> shutdown);
  ~ShutdownOnSignal();
  ShutdownOnSignal(const ShutdownOnSignal&) = delete;
  ShutdownOnSignal& operator=(const ShutdownOnSignal&) = delete;

 private:
  int pipe_[2] = {-1, -1};
  struct sigaction previous_int_ {};
  struct sigaction previous_term_ {};
  std::thread waiter_;
};

}  // namespace voicedesk::app
