#pragma once

#include <nlohmann/json.hpp>

#include "tools/mail/outbox.hpp"
#include "tools/tool.hpp"

namespace voicedesk::tools::mail {

class MailSender;

// send_email: arguments subject, body, to_email (AI-RTC-Agent's names) and an
// optional cc list. Queues the mail durably, waits up to the sender's
// tool_wait for delivery, and answers with text and structured content
// {status: queued|sent|failed, id, message_id, error?}; failed is an error
// result. sender must outlive the tool.
Tool make_send_email_tool(MailSender& sender);
ToolSpec send_email_spec();

// outbox_status: argument id (from send_email); the same structured content,
// plus attempts, so a queued mail can be followed up.
Tool make_outbox_status_tool(MailSender& sender);
ToolSpec outbox_status_spec();

// The structured content both tools return for an entry.
nlohmann::json outbox_entry_json(const OutboxEntry& entry);

}  // namespace voicedesk::tools::mail
