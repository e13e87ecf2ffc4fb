// The mail outbox in a process of its own, for the test that kills it while
// it delivers: `outbox_child DB PORT COUNT` queues COUNT messages for the
// plain SMTP server on 127.0.0.1:PORT, prints "queued", delivers everything
// pending in DB (including rows an earlier, killed run left), prints
// "drained" and exits.
#include <chrono>
#include <iostream>
#include <string>
#include <thread>

#include "tools/mail/mail_sender.hpp"

int main(int argc, char** argv) {
  using namespace voicedesk::tools::mail;
  using namespace std::chrono_literals;
  if (argc != 4) {
    std::cerr << "usage: outbox_child DB PORT COUNT\n";
    return 2;
  }
  MailSenderOptions options;
  options.smtp.host = "127.0.0.1";
  options.smtp.port = std::stoi(argv[2]);
  options.smtp.security = SmtpSecurity::none;
  options.smtp.timeout = 10s;
  options.from = "Voice Desk <desk@example.com>";
  options.outbox_path = argv[1];
  options.retry.first_delay = 50ms;
  options.retry.max_delay = 200ms;
  options.retry.poll_interval = 50ms;
  MailSender sender(options);
  const int count = std::stoi(argv[3]);
  for (int i = 0; i < count; ++i) {
    OutgoingMail mail;
    mail.to = {"bob@example.org"};
    mail.subject = "batch message " + std::to_string(i);
    mail.body = "message " + std::to_string(i) + "\n";
    sender.enqueue(mail);
  }
  std::cout << "queued " << count << std::endl;
  while (sender.pending() > 0) std::this_thread::sleep_for(20ms);
  std::cout << "drained" << std::endl;
  return 0;
}
