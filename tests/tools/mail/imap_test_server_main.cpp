// A throw-away Dovecot with the sample mailbox, for tests in other languages
// (the TypeScript SDK tests): prints {"url", "username", "password"} on one
// line once it is up, and stops the server when stdin closes or on SIGTERM.
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <iostream>
#include <nlohmann/json.hpp>
#include <thread>

#include "tools/mail/imap_test_messages.hpp"
#include "tools/mail/imap_test_server.hpp"

int main() {
  using voicedesk::test_support::DovecotServer;
  if (!DovecotServer::available()) {
    std::cerr << "dovecot is not installed (" << DovecotServer::kBinary
              << "); scripts/deps installs it\n";
    return 2;
  }
  // Signals are taken by sigwait below, so returning from main runs the
  // destructors that stop Dovecot.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  DovecotServer server;
  for (const auto& message : voicedesk::test_support::sample_messages())
    server.add_message(message);
  server.start();
  std::cout << nlohmann::json{{"url", server.url()}, {"username", "test"}, {"password", "secret"}}
            << std::endl;
  std::thread([] {
    for (std::string line; std::getline(std::cin, line);) {
    }
    ::kill(::getpid(), SIGTERM);
  }).detach();
  int signal = 0;
  sigwait(&stop_signals, &signal);
  return 0;
}
