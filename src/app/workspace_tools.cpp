#include "app/workspace_tools.hpp"

#include <spdlog/spdlog.h>

#include <stdexcept>

#include "agent/chat_client.hpp"
#include "app/settings.hpp"
#include "mcp/remote_tools.hpp"
#include "tools/calendar/calendar_service.hpp"
#include "tools/draft/draft_reply.hpp"
#include "tools/mail/mail_sender.hpp"
#include "tools/mail/read_tools.hpp"
#include "tools/mail/send_tool.hpp"
#include "tools/search/search_tools.hpp"

namespace voicedesk::app {
namespace {

// A tool whose service is not configured: listed like the real one, so
// clients and prompts see the same tools everywhere, and answering with what
// to set.
tools::Tool needs_configuration(tools::ToolSpec spec, std::string message) {
  return {std::move(spec),
          [message = std::move(message)](const nlohmann::json&, tools::ToolContext&)
              -> tools::ToolResult { throw tools::ToolError(message); }};
}

// Drafts through the configured language model; none: the template drafts.
tools::draft::Drafter model_drafter(const util::Config& config) {
  const auto options = agent::llm_options(config);
  if (!options) return {};
  auto client = std::make_shared<const agent::ChatClient>(*options);
  return [client](const std::string& prompt) -> std::optional<std::string> {
    return client->complete({agent::ChatMessage::user(prompt)}, nlohmann::json::array()).content;
  };
}

}  // namespace

WorkspaceTools::WorkspaceTools(const util::Config& config) {
  tools::mail::SendFunction send;
  if (tools::mail::MailSender::configured(config)) {
    mail_sender_ = std::make_unique<tools::mail::MailSender>(config);
    for (auto& tool : mail_sender_->tools()) tools_.push_back(std::move(tool));
    send = [sender = mail_sender_.get()](const tools::mail::OutgoingMail& mail) {
      return tools::mail::outbox_entry_json(sender->send(mail));
    };
  } else {
    const std::string message =
        "sending mail is not configured: set MAIL_HOST (and MAIL_PORT, MAIL_USERNAME, "
        "MAIL_PASSWORD, MAIL_ENCRYPTION, MAIL_FROM_ADDRESS)";
    tools_.push_back(needs_configuration(tools::mail::send_email_spec(), message));
    tools_.push_back(needs_configuration(tools::mail::outbox_status_spec(), message));
    send = [message](const tools::mail::OutgoingMail&) -> nlohmann::json {
      throw tools::ToolError(message);
    };
  }
  for (auto& tool : tools::mail::make_read_tools(config, send)) tools_.push_back(std::move(tool));
  tools_.push_back(tools::draft::make_draft_reply_tool(model_drafter(config)));
  calendar_ = std::make_unique<tools::calendar::CalendarService>(config);
  for (auto& tool : calendar_->tools()) tools_.push_back(std::move(tool));
  for (auto& tool : tools::search::make_search_tools(config)) tools_.push_back(std::move(tool));
}

WorkspaceTools::~WorkspaceTools() = default;

void WorkspaceTools::add_to(mcp::Server& server) const {
  for (const auto& tool : tools_) server.add_tool(tool);
}

std::vector<tools::Tool> agent_tools(const util::Config& config, const WorkspaceTools& workspace) {
  if (config.get("VOICEDESK_AGENT_TOOLS") != "mcp") return workspace.tools();
  auto client = std::make_shared<mcp::HttpClient>(mcp_client_options(config));
  try {
    std::vector<tools::Tool> tools = mcp::remote_tools(client);
    spdlog::info("the agent acts with the {} tools of the MCP server at {}", tools.size(),
                 client->url());
    return tools;
  } catch (const mcp::ClientError& error) {
    throw std::runtime_error("cannot list the tools of the MCP server at " + client->url() +
                             " (VOICEDESK_AGENT_TOOLS=mcp): " + error.what());
  }
}

}  // namespace voicedesk::app
