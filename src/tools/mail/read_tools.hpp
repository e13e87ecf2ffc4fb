#pragma once

#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <vector>

#include "tools/mail/mail_reader.hpp"
#include "tools/mail/message.hpp"
#include "tools/tool.hpp"
#include "util/config.hpp"

namespace voicedesk::tools::mail {

// Sends a mail (the outbox): returns its result, e.g. {status, id, message_id};
// throws ToolError when the mail cannot be sent or queued.
using SendFunction = std::function<nlohmann::json(const OutgoingMail&)>;

// The configured mail reader: IMAP when VOICEDESK_IMAP_URL is set, else the
// Gmail API when GMAIL_TOKEN_FILE is, else nullptr. Throws util::ConfigError
// for an unusable VOICEDESK_IMAP_URL.
std::shared_ptr<MailReader> make_mail_reader(const util::Config& config);

// AI-RTC-Agent's mail reading tools, with its names and arguments:
//   list_inbox(limit=10, at most 50) -> {emails: [{id, from, subject, date, snippet}]}
//   read_email(email_id) -> {id, from, to, subject, date, body, message_id}
//   reply_to_email(email_id, body) -> what send returns
// reply_to_email answers the sender (Reply-To if set) with "Re: subject",
// threaded by In-Reply-To and References, through send. With a null reader
// every tool fails with a ToolError saying how to configure mail.
std::vector<Tool> make_read_tools(std::shared_ptr<MailReader> reader, SendFunction send);

// The entry point the app calls: make_read_tools(make_mail_reader(config), send).
std::vector<Tool> make_read_tools(const util::Config& config, SendFunction send);

// The reply make_read_tools' reply_to_email sends for original.
OutgoingMail build_reply(const MailDetail& original, std::string body);

}  // namespace voicedesk::tools::mail
