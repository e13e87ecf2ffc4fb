#include <ctime>
#include <filesystem>
#include <ostream>
#include <string>

#include "app/commands.hpp"
#include "store/conversation_store.hpp"

namespace voicedesk::app {
namespace {

using nlohmann::json;

std::string local_time(std::int64_t unix_ms) {
  const std::time_t seconds = static_cast<std::time_t>(unix_ms / 1000);
  std::tm parts{};
  localtime_r(&seconds, &parts);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%d %H:%M:%S", &parts);
  return text;
}

// A tool result as one short line: strings as they are, anything else as compact JSON.
std::string result_text(const json& result) {
  constexpr std::size_t kMaxChars = 200;
  std::string text = result.is_string() ? result.get<std::string>() : result.dump();
  if (text.size() > kMaxChars) text = text.substr(0, kMaxChars) + "...";
  return text;
}

std::string outcome_text(const store::ToolCall& call) {
  if (call.status == store::ToolCallStatus::done && !call.is_error) {
    return call.result.is_null() ? "done" : result_text(call.result);
  }
  std::string text = call.is_error ? "error" : store::to_string(call.status);
  if (!call.result.is_null()) text += ": " + result_text(call.result);
  return text;
}

void print_sessions(const std::vector<store::SessionSummary>& sessions, std::ostream& out) {
  std::size_t id_width = std::string_view("SESSION").size();
  for (const store::SessionSummary& summary : sessions) {
    id_width = std::max(id_width, summary.session.id.size());
  }
  const auto pad = [](std::string text, std::size_t width) {
    text.resize(std::max(width, text.size()), ' ');
    return text;
  };
  out << pad("SESSION", id_width) << "  " << pad("STARTED", 19) << "  TURNS\n";
  for (const store::SessionSummary& summary : sessions) {
    out << pad(summary.session.id, id_width) << "  " << local_time(summary.session.started_at_ms)
        << "  " << summary.utterances + summary.agent_turns << '\n';
  }
}

void print_conversation(const store::Conversation& conversation, std::ostream& out) {
  const store::Session& session = conversation.session;
  out << "session " << session.id << ", started " << local_time(session.started_at_ms);
  if (session.ended_at_ms) out << ", ended " << local_time(*session.ended_at_ms);
  out << '\n';
  for (const store::ConversationEvent& event : conversation.events) {
    if (const auto* said = std::get_if<store::Utterance>(&event)) {
      out << "you: " << said->text << '\n';
      continue;
    }
    const auto& answer = std::get<store::AssistantTurn>(event);
    out << (answer.turn.final ? "assistant: " : "assistant (partial): ") << answer.turn.text
        << '\n';
    for (const store::ToolCall& call : answer.tool_calls) {
      out << "  tool " << call.name << ' ' << call.arguments.dump() << " -> " << outcome_text(call)
          << '\n';
    }
  }
}

}  // namespace

int run_history(const util::Config& config, const HistoryRequest& request, std::ostream& out) {
  const std::filesystem::path path = store::history_path(config);
  // Reading never creates the store.
  if (!std::filesystem::exists(path)) {
    const std::string none = "no conversations yet (" + path.string() + " does not exist)";
    if (request.session_id) throw BadInput("no session \"" + *request.session_id + "\": " + none);
    out << (request.json ? json{{"sessions", json::array()}}.dump(2) : none) << '\n';
    return kExitOk;
  }
  const store::ConversationStore history(path, store::ConversationStore::Open::existing);
  if (request.session_id) {
    const std::optional<store::Conversation> conversation =
        history.conversation(*request.session_id);
    if (!conversation) {
      throw BadInput("no session \"" + *request.session_id + "\" in " + path.string() +
                     " (`voicedesk history` lists them)");
    }
    if (request.json) {
      out << to_json(*conversation).dump(2) << '\n';
    } else {
      print_conversation(*conversation, out);
    }
    return kExitOk;
  }
  const std::vector<store::SessionSummary> sessions = history.list_sessions(request.limit);
  if (request.json) {
    json list = json::array();
    for (const store::SessionSummary& summary : sessions) list.push_back(to_json(summary));
    out << json{{"sessions", std::move(list)}}.dump(2) << '\n';
  } else if (sessions.empty()) {
    out << "no conversations yet\n";
  } else {
    print_sessions(sessions, out);
  }
  return kExitOk;
}

}  // namespace voicedesk::app
