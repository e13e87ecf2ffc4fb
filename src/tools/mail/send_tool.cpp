#include "tools/mail/send_tool.hpp"

#include "tools/mail/mail_sender.hpp"

namespace voicedesk::tools::mail {
namespace {

using nlohmann::json;

const json& entry_schema() {
  static const json schema = {
      {"type", "object"},
      {"properties",
       {{"status", {{"type", "string"}, {"enum", {"queued", "sent", "failed"}}}},
        {"id", {{"type", "integer"}}},
        {"message_id", {{"type", "string"}}},
        {"attempts", {{"type", "integer"}}},
        {"error", {{"type", "string"}}}}},
      {"required", {"status", "id", "message_id"}}};
  return schema;
}

const char* public_status(OutboxState state) {
  // `sending` is still on its way: to the caller it is queued.
  return state == OutboxState::sending ? "queued" : to_string(state);
}

std::string joined(const std::vector<std::string>& items) {
  std::string text;
  for (const std::string& item : items) text += (text.empty() ? "" : ", ") + item;
  return text;
}

ToolResult entry_result(const OutboxEntry& entry) {
  const std::string recipients = joined(entry.recipients);
  const std::string ids =
      " (Message-ID " + entry.message_id + ", outbox id " + std::to_string(entry.id) + ")";
  std::string text;
  switch (entry.state) {
    case OutboxState::sent:
      text = "Email sent to " + recipients + ids + ".";
      if (entry.interrupted > 0) {
        text +=
            " An earlier attempt was interrupted, so it may have arrived twice (same "
            "Message-ID).";
      }
      break;
    case OutboxState::failed:
      text = "Email to " + recipients + " failed" + ids + ": " + entry.last_error;
      break;
    case OutboxState::queued:
    case OutboxState::sending:
      text = "Email to " + recipients + " is queued" + ids + " and will be sent automatically" +
             (entry.last_error.empty() ? std::string(".")
                                       : "; the last attempt failed: " + entry.last_error);
      break;
  }
  ToolResult result = ToolResult::text(std::move(text));
  result.structured = outbox_entry_json(entry);
  result.is_error = entry.state == OutboxState::failed;
  return result;
}

std::vector<std::string> cc_argument(const json& arguments) {
  std::vector<std::string> cc;
  if (!arguments.contains("cc")) return cc;
  const json& value = arguments["cc"];
  if (value.is_string()) {
    if (!value.get<std::string>().empty()) cc.push_back(value.get<std::string>());
  } else {
    for (const json& item : value) cc.push_back(item.get<std::string>());
  }
  return cc;
}

}  // namespace

json outbox_entry_json(const OutboxEntry& entry) {
  json out = {{"status", public_status(entry.state)},
              {"id", entry.id},
              {"message_id", entry.message_id},
              {"attempts", entry.attempts}};
  if (!entry.last_error.empty()) out["error"] = entry.last_error;
  return out;
}

ToolSpec send_email_spec() {
  ToolSpec spec;
  spec.name = "send_email";
  spec.title = "Send an email";
  spec.description =
      "Send a plain-text email from the configured account. The mail is stored in a durable "
      "outbox first and delivered with retries; the result says whether it was sent, is still "
      "queued (will be sent automatically), or failed and why.";
  spec.input_schema = {
      {"type", "object"},
      {"properties",
       {{"subject", {{"type", "string"}, {"description", "Subject line"}}},
        {"body", {{"type", "string"}, {"description", "Message text (plain text, UTF-8)"}}},
        {"to_email",
         {{"type", "string"},
          {"description", "Recipient address: a@example.com or Name <a@example.com>"}}},
        {"cc",
         {{"type", "array"},
          {"items", {{"type", "string"}}},
          {"description", "Optional further recipients (copy)"}}}}},
      {"required", {"subject", "body", "to_email"}},
      {"additionalProperties", false}};
  spec.output_schema = entry_schema();
  spec.annotations = {{"readOnlyHint", false},
                      {"destructiveHint", false},
                      {"idempotentHint", false},
                      {"openWorldHint", true}};
  spec.quick = true;
  return spec;
}

Tool make_send_email_tool(MailSender& sender) {
  auto call = [&sender](const json& arguments, ToolContext&) {
    OutgoingMail mail;
    mail.to.push_back(arguments.at("to_email").get<std::string>());
    parse_address(mail.to.front(), "to_email");  // names the argument, not "to"
    mail.cc = cc_argument(arguments);
    mail.subject = arguments.at("subject").get<std::string>();
    mail.body = arguments.at("body").get<std::string>();
    return entry_result(sender.send(std::move(mail)));
  };
  return Tool{send_email_spec(), std::move(call)};
}

ToolSpec outbox_status_spec() {
  ToolSpec spec;
  spec.name = "outbox_status";
  spec.title = "Email delivery status";
  spec.description =
      "Say whether an email queued by send_email has been sent, is still queued, or failed.";
  spec.input_schema = {
      {"type", "object"},
      {"properties",
       {{"id", {{"type", "integer"}, {"description", "The outbox id send_email returned"}}}}},
      {"required", {"id"}},
      {"additionalProperties", false}};
  spec.output_schema = entry_schema();
  spec.annotations = {{"readOnlyHint", true}, {"openWorldHint", false}};
  spec.quick = true;
  return spec;
}

Tool make_outbox_status_tool(MailSender& sender) {
  auto call = [&sender](const json& arguments, ToolContext&) {
    const std::int64_t id = arguments.at("id").get<std::int64_t>();
    const std::optional<OutboxEntry> entry = sender.status(id);
    if (!entry) throw ToolError("id: no mail with outbox id " + std::to_string(id));
    return entry_result(*entry);
  };
  return Tool{outbox_status_spec(), std::move(call)};
}

}  // namespace voicedesk::tools::mail
