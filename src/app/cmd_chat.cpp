#include <istream>
#include <ostream>

#include "agent/agent.hpp"
#include "app/commands.hpp"
#include "app/workspace_tools.hpp"

namespace voicedesk::app {

int run_chat(const util::Config& config, const ChatRequest& request, std::istream& in,
             std::ostream& out) {
  const WorkspaceTools workspace(config);
  agent::Agent agent(agent_tools(config, workspace), agent::agent_options(config));
  const auto say = [&](const std::string& line) {
    agent.handle("chat", line, [&](const agent::AgentEvent& event) {
      if (!event.final) return;
      for (const auto& call : event.tool_calls) {
        out << "  [" << call.name << " " << call.arguments.dump() << " -> " << call.status << "]\n";
      }
      out << "assistant: " << event.text << std::endl;
    });
  };
  if (!request.lines.empty()) {
    for (const auto& line : request.lines) say(line);
    return kExitOk;
  }
  for (std::string line; std::getline(in, line);) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    say(line);
  }
  return kExitOk;
}

}  // namespace voicedesk::app
