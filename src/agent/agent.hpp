#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "agent/chat_client.hpp"
#include "agent/contacts.hpp"
#include "agent/intent_parser.hpp"
#include "tools/tool.hpp"

namespace voicedesk::agent {

// One tool call the agent made or proposes, as the client shows it (a card).
struct ToolCallRecord {
  std::string name;
  nlohmann::json arguments = nlohmann::json::object();
  nlohmann::json result;  // null until it ran
  bool is_error = false;
  // proposed (waiting for the user's yes), declined, done or failed.
  std::string status;

  nlohmann::json to_json() const;
};

// What the agent says, as it says it: streamed pieces of text (final false),
// then the whole reply (final true) with the tool calls it made. The client
// gets them as {"type":"agent", text, tool_calls, final} events, and the final
// text is spoken.
struct AgentEvent {
  std::string text;
  std::vector<ToolCallRecord> tool_calls;
  bool final = false;
  // The reply asks the user to confirm an action (yes/no, by voice or click).
  bool awaiting_confirmation = false;
  // Which path produced it: "intent_parser" or "llm".
  std::string source;

  nlohmann::json to_json() const;
};

struct AgentOptions {
  // The language model; none: the deterministic intent parser.
  std::optional<LlmOptions> llm;
  std::string system_prompt =
      "You are voicedesk, a voice assistant that reads and sends email, manages the user's "
      "calendar and searches the web with the tools you have. Your answers are spoken: keep them "
      "short, plain sentences without markdown or lists of links.";
  int max_steps = 5;  // model calls per utterance, tool rounds included
  // Conversation kept per session, in tokens (estimated at 4 bytes each).
  std::size_t history_token_budget = 3000;
  std::chrono::milliseconds confirmation_timeout{60000};
  Contacts contacts;
  IntentParserOptions parser;
  // Today's date for relative dates ("tomorrow"); default: the local date.
  std::function<std::chrono::year_month_day()> today;
};

// The agent's settings from the configuration: the model (llm_options), the
// contacts file (VOICEDESK_CONTACTS_FILE, else $XDG_CONFIG_HOME/voicedesk/
// contacts.txt or ~/.config/voicedesk/contacts.txt when it exists), step
// limit, history budget, confirmation timeout. Throws util::ConfigError for a
// contacts file that cannot be read or parsed.
AgentOptions agent_options(const util::Config& config);

// The agent: after each final transcript (or typed line) it decides and acts
// through the tools, in-process. With a model it runs Chat Completions with
// tool calling, bounded by max_steps; without one the intent parser handles
// the core commands. Actions that send or change something (tools not marked
// read-only) are read back and wait for a yes first. One agent serves every
// session; a session's utterances are handled one at a time.
class Agent {
 public:
  Agent(std::vector<tools::Tool> tools, AgentOptions options);
  ~Agent();

  // Handles one utterance of session_id; emit gets the events, the last one
  // final. Never throws for a tool's or the model's failure: that becomes
  // the reply.
  void handle(const std::string& session_id, const std::string& utterance,
              const std::function<void(const AgentEvent&)>& emit);
  // Forgets a session's history and any pending confirmation.
  void end_session(const std::string& session_id);

  bool uses_llm() const { return client_ != nullptr; }

 private:
  struct Session;
  struct PendingAction;

  std::shared_ptr<Session> session(const std::string& id);
  AgentEvent handle_with_parser(Session& session, const std::string& utterance);
  AgentEvent handle_with_llm(Session& session, const std::string& utterance,
                             const std::function<void(const AgentEvent&)>& emit);
  AgentEvent run_llm(Session& session, const std::function<void(const AgentEvent&)>& emit,
                     std::vector<ToolCallRecord> calls);
  AgentEvent answer_pending(Session& session, const std::string& utterance, bool* handled,
                            const std::function<void(const AgentEvent&)>& emit);
  ToolCallRecord run_tool(const std::string& name, const nlohmann::json& arguments);
  bool needs_confirmation(const std::string& tool_name) const;
  void trim_history(Session& session) const;

  std::vector<tools::Tool> tools_;
  nlohmann::json tool_definitions_;
  AgentOptions options_;
  IntentParser parser_;
  std::unique_ptr<ChatClient> client_;
  std::mutex sessions_mutex_;
  std::unordered_map<std::string, std::shared_ptr<Session>> sessions_;
};

// A spoken sentence for a tool's result ("You have 3 emails. ..."), for the
// intent parser's path where no model writes the answer.
std::string describe_result(const std::string& tool_name, const nlohmann::json& arguments,
                            const ToolCallRecord& record);

}  // namespace voicedesk::agent
