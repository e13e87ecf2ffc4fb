#pragma once

#include <memory>
#include <vector>

#include "mcp/server.hpp"
#include "tools/tool.hpp"
#include "util/config.hpp"

namespace voicedesk::tools::mail {
class MailSender;
}
namespace voicedesk::tools::calendar {
class CalendarService;
}

namespace voicedesk::app {

// The tools that act for the user, with AI-RTC-Agent's names and arguments:
// mail (send_email through the durable outbox, outbox_status, list_inbox,
// read_email, reply_to_email, draft_reply), calendar (create_calendar_event,
// load_calendar_events) and web search (duckduckgo_search, web_search).
// Owns the services behind them (the outbox and its delivery worker, the
// calendar) for the life of the server; the tools refer to them. A tool whose
// service is not configured is still listed and answers with an error that
// says which settings it needs. Throws util::ConfigError for a bad setting.
class WorkspaceTools {
 public:
  explicit WorkspaceTools(const util::Config& config);
  ~WorkspaceTools();
  WorkspaceTools(const WorkspaceTools&) = delete;
  WorkspaceTools& operator=(const WorkspaceTools&) = delete;

  const std::vector<tools::Tool>& tools() const { return tools_; }
  void add_to(mcp::Server& server) const;

 private:
  std::unique_ptr<tools::mail::MailSender> mail_sender_;
  std::unique_ptr<tools::calendar::CalendarService> calendar_;
  std::vector<tools::Tool> tools_;
};

// The tools the agent acts with: the workspace's own (VOICEDESK_AGENT_TOOLS=
// local) or those of the MCP server at VOICEDESK_MCP_URL (mcp), called over
// HTTP with a service token. Throws std::runtime_error naming the server when
// its tools cannot be listed.
std::vector<tools::Tool> agent_tools(const util::Config& config, const WorkspaceTools& workspace);

}  // namespace voicedesk::app
