#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "tools/mail/message.hpp"
#include "tools/mail/outbox.hpp"
#include "tools/mail/smtp_client.hpp"
#include "tools/tool.hpp"

namespace voicedesk::util {
class Config;
}

namespace voicedesk::tools::mail {

struct MailSenderOptions {
  SmtpSettings smtp;
  std::string from;  // "addr@example.com" or "Name <addr@example.com>"
  std::filesystem::path outbox_path;
  RetryPolicy retry;
  // How long send_email waits for delivery before it answers "queued".
  std::chrono::milliseconds tool_wait{2000};

  // SMTP settings (see SmtpSettings::from_config); the sender from
  // MAIL_FROM_ADDRESS and MAIL_FROM_NAME, else MAIL_USERNAME when it is an
  // address; the outbox at VOICEDESK_OUTBOX_PATH, else
  // $XDG_DATA_HOME/voicedesk/outbox.sqlite3, else
  // ~/.local/share/voicedesk/outbox.sqlite3. Throws util::ConfigError.
  static MailSenderOptions from_config(const util::Config& config);
};

// Sending mail: the entry point the app and the other mail tools use. Owns the
// durable outbox and its delivery worker (see outbox.hpp for what is
// guaranteed across crashes); destroying it stops and joins the worker.
class MailSender {
 public:
  // Throws util::ConfigError for missing or invalid settings, OutboxError
  // when the outbox file cannot be opened.
  explicit MailSender(const util::Config& config);
  explicit MailSender(MailSenderOptions options);

  // Whether MAIL_HOST is set, i.e. whether the app should construct one.
  static bool configured(const util::Config& config);

  // Validates and formats mail (an empty `from` means the configured sender;
  // the Message-ID is generated here and kept for every retry) and stores it
  // as queued; returns once it is committed. Throws ToolError naming the bad
  // field, or when the outbox cannot store it.
  OutboxEntry enqueue(OutgoingMail mail);
  // Enqueues mail and waits up to options().tool_wait for its delivery or
  // first failure: the entry as it then stands.
  OutboxEntry send(OutgoingMail mail);
  std::optional<OutboxEntry> status(std::int64_t id) const;
  // Waits up to timeout for delivery or a first failure (Outbox::wait).
  std::optional<OutboxEntry> wait(std::int64_t id, std::chrono::milliseconds timeout) const;
  // Mails neither sent nor failed yet.
  int pending() const;

  const std::string& sender() const { return options_.from; }
  const MailSenderOptions& options() const { return options_; }

  // send_email(subject, body, to_email[, cc]) as AI-RTC-Agent named it, and
  // outbox_status(id). The tools refer to this object, which must outlive them.
  std::vector<Tool> tools();

 private:
  MailSenderOptions options_;
  Address from_;
  std::unique_ptr<Outbox> outbox_;
};

}  // namespace voicedesk::tools::mail
