#include "tools/mail/mail_sender.hpp"

#include "tools/mail/send_tool.hpp"
#include "util/config.hpp"
#include "util/config_error.hpp"
#include "util/data_path.hpp"

namespace voicedesk::tools::mail {
namespace {

std::string configured_sender(const util::Config& config) {
  std::string address = config.get("MAIL_FROM_ADDRESS");
  if (address.empty() && config.get("MAIL_USERNAME").find('@') != std::string::npos) {
    address = config.get("MAIL_USERNAME");
  }
  if (address.empty()) {
    throw util::ConfigError(
        "MAIL_FROM_ADDRESS is not set (and MAIL_USERNAME is not an address): no sender for mail");
  }
  const std::string& name = config.get("MAIL_FROM_NAME");
  std::string from = address;
  if (!name.empty()) {
    std::string quoted;
    for (const char c : name)
      quoted += (c == '"' || c == '\\') ? std::string{'\\', c} : std::string{c};
    from = "\"" + quoted + "\" <" + address + ">";
  }
  return from;
}

Address checked_sender(const std::string& from) {
  try {
    return parse_address(from, "MAIL_FROM_ADDRESS/MAIL_FROM_NAME");
  } catch (const ToolError& e) {
    throw util::ConfigError(e.what());
  }
}

}  // namespace

MailSenderOptions MailSenderOptions::from_config(const util::Config& config) {
  MailSenderOptions options;
  options.smtp = SmtpSettings::from_config(config);
  options.from = configured_sender(config);
  const std::string& path = config.get("VOICEDESK_OUTBOX_PATH");
  options.outbox_path = path.empty()
                            ? util::default_data_file("outbox.sqlite3", "VOICEDESK_OUTBOX_PATH")
                            : std::filesystem::path(path);
  return options;
}

MailSender::MailSender(const util::Config& config)
    : MailSender(MailSenderOptions::from_config(config)) {}

MailSender::MailSender(MailSenderOptions options)
    : options_(std::move(options)), from_(checked_sender(options_.from)) {
  options_.smtp.validate();
  outbox_ = std::make_unique<Outbox>(
      options_.outbox_path,
      [smtp = options_.smtp](const SmtpMessage& message, const std::atomic<bool>& stopping) {
        send_smtp(smtp, message, &stopping);
      },
      options_.retry);
}

bool MailSender::configured(const util::Config& config) {
  return !config.get("MAIL_HOST").empty();
}

OutboxEntry MailSender::enqueue(OutgoingMail mail) {
  if (mail.from.empty()) mail.from = options_.from;
  const Address from = mail.from == options_.from ? from_ : parse_address(mail.from, "from");
  const FormattedMail formatted =
      format_mail(mail, make_message_id(from), std::chrono::system_clock::now());
  try {
    return outbox_->enqueue(formatted);
  } catch (const OutboxError& e) {
    throw ToolError(std::string("the mail could not be stored for sending: ") + e.what());
  }
}

OutboxEntry MailSender::send(OutgoingMail mail) {
  const OutboxEntry queued = enqueue(std::move(mail));
  return wait(queued.id, options_.tool_wait).value_or(queued);
}

std::optional<OutboxEntry> MailSender::status(std::int64_t id) const {
  return outbox_->status(id);
}

std::optional<OutboxEntry> MailSender::wait(std::int64_t id,
                                            std::chrono::milliseconds timeout) const {
  return outbox_->wait(id, timeout);
}

int MailSender::pending() const {
  return outbox_->pending();
}

std::vector<Tool> MailSender::tools() {
  return {make_send_email_tool(*this), make_outbox_status_tool(*this)};
}

}  // namespace voicedesk::tools::mail
