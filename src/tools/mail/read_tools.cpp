#include "tools/mail/read_tools.hpp"

#include "tools/mail/gmail_client.hpp"
#include "tools/mail/imap_client.hpp"
#include "tools/mail/mime_message.hpp"
#include "util/config_error.hpp"
#include "util/text.hpp"
#include "util/token_bucket.hpp"

namespace voicedesk::tools::mail {
namespace {

using nlohmann::json;

constexpr int kDefaultListLimit = 10;
constexpr int kMaxListLimit = 50;

const char* const kNotConfigured =
    "mail reading is not configured: set VOICEDESK_IMAP_URL (imaps://host:993/INBOX) with "
    "VOICEDESK_IMAP_USERNAME and VOICEDESK_IMAP_PASSWORD (or MAIL_USERNAME and MAIL_PASSWORD), "
    "or GMAIL_TOKEN_FILE for the Gmail API";

const json& id_schema() {
  static const json schema = {{"type", "string"},
                              {"minLength", 1},
                              {"maxLength", 100},
                              {"description", "The id of a message, as list_inbox returns it"}};
  return schema;
}

json summary_schema() {
  json properties = json::object();
  for (const char* name : {"id", "from", "subject", "date", "snippet"}) {
    properties[name] = {{"type", "string"}};
  }
  return {{"type", "object"},
          {"properties", properties},
          {"required", {"id", "from", "subject", "date", "snippet"}}};
}

json detail_schema() {
  json properties = json::object();
  for (const char* name : {"id", "from", "to", "subject", "date", "body", "message_id"}) {
    properties[name] = {{"type", "string"}};
  }
  return {{"type", "object"},
          {"properties", properties},
          {"required", {"id", "from", "to", "subject", "date", "body", "message_id"}}};
}

MailReader& require(const std::shared_ptr<MailReader>& reader) {
  if (!reader) throw ToolError(kNotConfigured);
  return *reader;
}

// Runs a reader call, turning its failures into errors the caller sees.
template <typename Call>
auto reading(Call&& call) {
  try {
    return call();
  } catch (const NoSuchMail& e) {
    throw ToolError(std::string("email_id: ") + e.what());
  } catch (const MailError& e) {
    throw ToolError(e.what());
  } catch (const util::RateLimited& e) {
    throw ToolError(e.what());
  }
}

std::string email_id(const json& arguments) {
  const auto it = arguments.find("email_id");
  if (it == arguments.end()) throw ToolError("email_id: missing");
  // Models sometimes send an IMAP id as a number; accept it as its text.
  if (it->is_number_integer() && it->get<long long>() > 0) {
    return std::to_string(it->get<long long>());
  }
  if (!it->is_string() || it->get<std::string>().empty()) {
    throw ToolError("email_id: expected the id list_inbox returned");
  }
  return it->get<std::string>();
}

ToolResult json_result(json structured) {
  ToolResult result =
      ToolResult::text(structured.dump(2, ' ', false, json::error_handler_t::replace));
  result.structured = std::move(structured);
  return result;
}

Tool list_inbox_tool(std::shared_ptr<MailReader> reader) {
  ToolSpec spec;
  spec.name = "list_inbox";
  spec.title = "List inbox";
  spec.description =
      "List the newest emails in the inbox, newest first: id, sender, subject, date and a short "
      "snippet of each. Use an id with read_email or reply_to_email.";
  spec.input_schema = {{"type", "object"},
                       {"properties",
                        {{"limit",
                          {{"type", "integer"},
                           {"minimum", 1},
                           {"maximum", kMaxListLimit},
                           {"default", kDefaultListLimit},
                           {"description", "How many emails to list (default 10, at most 50)"}}}}},
                       {"additionalProperties", false}};
  spec.output_schema = {
      {"type", "object"},
      {"properties", {{"emails", {{"type", "array"}, {"items", summary_schema()}}}}},
      {"required", {"emails"}}};
  spec.annotations = {{"readOnlyHint", true}, {"openWorldHint", true}};
  auto call = [reader = std::move(reader)](const json& arguments, ToolContext&) {
    int limit = kDefaultListLimit;
    if (const auto it = arguments.find("limit"); it != arguments.end()) {
      if (!it->is_number_integer() || it->get<long long>() < 1 ||
          it->get<long long>() > kMaxListLimit) {
        throw ToolError("limit: must be an integer from 1 to 50");
      }
      limit = it->get<int>();
    }
    const auto summaries = reading([&] { return require(reader).list_newest(limit); });
    json emails = json::array();
    for (const MailSummary& summary : summaries) {
      emails.push_back({{"id", summary.id},
                        {"from", summary.from},
                        {"subject", summary.subject},
                        {"date", summary.date},
                        {"snippet", summary.snippet}});
    }
    return json_result({{"emails", std::move(emails)}});
  };
  return Tool{std::move(spec), std::move(call)};
}

Tool read_email_tool(std::shared_ptr<MailReader> reader) {
  ToolSpec spec;
  spec.name = "read_email";
  spec.title = "Read email";
  spec.description =
      "Read one email by the id list_inbox gave: sender, recipients, subject, date and the "
      "plain-text body.";
  spec.input_schema = {
      {"type", "object"},
      {"properties",
       {{"email_id", {{"anyOf", {id_schema(), {{"type", "integer"}, {"minimum", 1}}}}}}}},
      {"required", {"email_id"}},
      {"additionalProperties", false}};
  spec.output_schema = detail_schema();
  spec.annotations = {{"readOnlyHint", true}, {"openWorldHint", true}};
  auto call = [reader = std::move(reader)](const json& arguments, ToolContext&) {
    const std::string id = email_id(arguments);
    const MailDetail mail = reading([&] { return require(reader).read(id); });
    return json_result({{"id", mail.id},
                        {"from", mail.from},
                        {"to", mail.to},
                        {"subject", mail.subject},
                        {"date", mail.date},
                        {"body", mail.body},
                        {"message_id", mail.message_id}});
  };
  return Tool{std::move(spec), std::move(call)};
}

Tool reply_tool(std::shared_ptr<MailReader> reader, SendFunction send) {
  ToolSpec spec;
  spec.name = "reply_to_email";
  spec.title = "Reply to email";
  spec.description =
      "Reply to an email (by the id list_inbox gave) with a plain-text body. The reply goes to "
      "its sender with \"Re: <subject>\" and stays in the same thread.";
  spec.input_schema = {
      {"type", "object"},
      {"properties",
       {{"email_id", {{"anyOf", {id_schema(), {{"type", "integer"}, {"minimum", 1}}}}}},
        {"body",
         {{"type", "string"},
          {"minLength", 1},
          {"maxLength", 100000},
          {"description", "The text of the reply"}}}}},
      {"required", {"email_id", "body"}},
      {"additionalProperties", false}};
  spec.output_schema = {
      {"type", "object"},
      {"properties", {{"status", {{"type", "string"}}}, {"message_id", {{"type", "string"}}}}}};
  spec.annotations = {{"readOnlyHint", false}, {"destructiveHint", false}, {"openWorldHint", true}};
  auto call = [reader = std::move(reader), send = std::move(send)](const json& arguments,
                                                                   ToolContext&) {
    const std::string id = email_id(arguments);
    const auto body = arguments.find("body");
    if (body == arguments.end() || !body->is_string() ||
        body->get<std::string>().find_first_not_of(" \t\r\n") == std::string::npos) {
      throw ToolError("body: the reply needs some text");
    }
    const MailDetail original = reading([&] { return require(reader).read(id); });
    OutgoingMail reply = build_reply(original, body->get<std::string>());
    if (reply.to.empty()) {
      throw ToolError("email_id: message " + id + " has no sender address to reply to");
    }
    if (!send) throw ToolError("sending mail is not configured on this server");
    json sent = send(reply);
    if (!sent.is_object()) sent = {{"status", "sent"}, {"result", std::move(sent)}};
    // A mail that could not be delivered is the caller's error to see.
    const bool failed = sent.value("status", "") == "failed";
    ToolResult result = json_result(std::move(sent));
    result.is_error = failed;
    return result;
  };
  return Tool{std::move(spec), std::move(call)};
}

bool is_reply_subject(std::string_view subject) {
  return util::istarts_with(subject, "re:");
}

}  // namespace

OutgoingMail build_reply(const MailDetail& original, std::string body) {
  OutgoingMail reply;
  const std::string& answer_to = original.reply_to.empty() ? original.from : original.reply_to;
  if (std::string to = format_mailbox(parse_mailbox(answer_to)); !to.empty()) {
    reply.to.push_back(std::move(to));
  }
  const std::string subject(util::trim_left(original.subject, util::kBlank));
  reply.subject = is_reply_subject(subject) ? subject : "Re: " + subject;
  reply.body = std::move(body);
  reply.in_reply_to = original.message_id;
  reply.references = original.references;
  if (!original.message_id.empty() &&
      (reply.references.empty() || reply.references.back() != original.message_id)) {
    reply.references.push_back(original.message_id);
  }
  return reply;
}

std::shared_ptr<MailReader> make_mail_reader(const util::Config& config) {
  if (config.is_set("VOICEDESK_IMAP_URL")) {
    ImapSettings settings;
    settings.url = config.get("VOICEDESK_IMAP_URL");
    settings.username = config.is_set("VOICEDESK_IMAP_USERNAME")
                            ? config.get("VOICEDESK_IMAP_USERNAME")
                            : config.get("MAIL_USERNAME");
    settings.password = config.is_set("VOICEDESK_IMAP_PASSWORD")
                            ? config.get("VOICEDESK_IMAP_PASSWORD")
                            : config.get("MAIL_PASSWORD");
    settings.ca_file = config.get("VOICEDESK_IMAP_CA_FILE");
    settings.allow_plain = config.get_bool("VOICEDESK_IMAP_ALLOW_PLAIN");
    try {
      return std::make_shared<ImapReader>(std::move(settings));
    } catch (const MailError& e) {
      throw util::ConfigError(std::string("VOICEDESK_IMAP_URL: ") + e.what());
    }
  }
  if (config.is_set("GMAIL_TOKEN_FILE")) {
    GmailSettings settings;
    settings.token_file = config.get("GMAIL_TOKEN_FILE");
    settings.api_url = config.get("VOICEDESK_GMAIL_API_URL");
    util::TokenBucketOptions options;
    options.rate_per_second = config.get_number("VOICEDESK_GMAIL_RATE");
    options.burst = static_cast<double>(config.get_int("VOICEDESK_GMAIL_BURST"));
    options.mode = config.get("VOICEDESK_RATE_LIMIT_MODE") == "hard"
                       ? util::TokenBucketOptions::Mode::hard_fail
                       : util::TokenBucketOptions::Mode::soft_wait;
    options.max_wait =
        std::chrono::milliseconds(config.get_int("VOICEDESK_RATE_LIMIT_MAX_WAIT_MS"));
    return std::make_shared<GmailReader>(std::move(settings),
                                         std::make_shared<util::TokenBucket>("gmail", options));
  }
  return nullptr;
}

std::vector<Tool> make_read_tools(std::shared_ptr<MailReader> reader, SendFunction send) {
  return {list_inbox_tool(reader), read_email_tool(reader), reply_tool(reader, std::move(send))};
}

std::vector<Tool> make_read_tools(const util::Config& config, SendFunction send) {
  return make_read_tools(make_mail_reader(config), std::move(send));
}

}  // namespace voicedesk::tools::mail
