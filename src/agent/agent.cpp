#include "agent/agent.hpp"

#include <algorithm>
#include <atomic>
#include <filesystem>

#include "tools/json_schema.hpp"
#include "util/config_error.hpp"
#include "util/data_path.hpp"

namespace voicedesk::agent {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

constexpr std::size_t kBytesPerToken = 4;
constexpr std::size_t kSpokenItems = 5;
constexpr std::size_t kSpokenBodyBytes = 600;

// What a tool running for the agent can do: nobody watches its progress or
// logs, and there is no MCP client to ask.
class AgentToolContext final : public tools::ToolContext {
 public:
  void progress(double, std::optional<double>, const std::string&) override {}
  void log(tools::LogLevel, const json&) override {}
  json ask_client(const std::string& method, const json&) override {
    throw tools::ClientRequestError("the agent cannot answer " + method);
  }
  const std::atomic<bool>& cancelled() const override { return cancelled_; }

 private:
  std::atomic<bool> cancelled_{false};
};

std::string result_text(const tools::ToolResult& result) {
  std::string text;
  for (const auto& item : result.content) {
    if (item.value("type", "") == "text")
      text += (text.empty() ? "" : "\n") + item.value("text", "");
  }
  return text;
}

std::string today_string(std::chrono::year_month_day date) {
  char text[16];
  std::snprintf(text, sizeof text, "%04d-%02u-%02u", static_cast<int>(date.year()),
                static_cast<unsigned>(date.month()), static_cast<unsigned>(date.day()));
  return text;
}

std::chrono::year_month_day local_today() {
  const std::time_t now = std::time(nullptr);
  std::tm local{};
  localtime_r(&now, &local);
  return std::chrono::year_month_day{std::chrono::year{local.tm_year + 1900},
                                     std::chrono::month{static_cast<unsigned>(local.tm_mon + 1)},
                                     std::chrono::day{static_cast<unsigned>(local.tm_mday)}};
}

std::string in_quotes(const std::string& text) {
  return "\"" + text + "\"";
}

std::string string_field(const json& object, const char* key) {
  const auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// "2026-12-03T14:30:00+01:00" -> "14:30".
std::string clock_time(const std::string& iso) {
  return iso.size() >= 16 && iso[10] == 'T' ? iso.substr(11, 5) : iso;
}

// A model-proposed action, read back before it runs.
std::string describe_action(const ToolCallRecord& call) {
  const json& a = call.arguments;
  if (call.name == "send_email") {
    return "send an email to " + string_field(a, "to_email") + " with the subject " +
           in_quotes(string_field(a, "subject")) + ", saying " + in_quotes(string_field(a, "body"));
  }
  if (call.name == "reply_to_email") {
    return "reply to email " + (a.contains("email_id") ? a["email_id"].dump() : "?") + " saying " +
           in_quotes(string_field(a, "body"));
  }
  if (call.name == "create_calendar_event") {
    std::string text = "add " + in_quotes(string_field(a, "title")) + " to your calendar on " +
                       string_field(a, "date") + " at " + string_field(a, "time");
    if (a.contains("duration_minutes")) text += " for " + a["duration_minutes"].dump() + " minutes";
    if (a.contains("attendees") && a["attendees"].is_array() && !a["attendees"].empty()) {
      std::string people;
      for (const auto& person : a["attendees"]) {
        people +=
            (people.empty() ? "" : ", ") + (person.is_string() ? person.get<std::string>() : "");
      }
      text += " with " + people;
    }
    return text;
  }
  return "run " + call.name + " with " + a.dump();
}

}  // namespace

AgentOptions agent_options(const util::Config& config) {
  AgentOptions options;
  options.llm = llm_options(config);
  options.max_steps = config.get_int("VOICEDESK_AGENT_MAX_STEPS");
  options.history_token_budget =
      static_cast<std::size_t>(config.get_int("VOICEDESK_AGENT_HISTORY_TOKENS"));
  options.confirmation_timeout =
      std::chrono::milliseconds(config.get_int("VOICEDESK_AGENT_CONFIRM_TIMEOUT_MS"));
  std::filesystem::path contacts = config.get("VOICEDESK_CONTACTS_FILE");
  const bool configured = !contacts.empty();
  if (!configured) contacts = util::default_config_file("contacts.txt").value_or("");
  std::error_code ignored;
  if (!contacts.empty() && (configured || std::filesystem::exists(contacts, ignored))) {
    try {
      options.contacts = Contacts::load(contacts);
    } catch (const std::runtime_error& error) {
      throw util::ConfigError(std::string("VOICEDESK_CONTACTS_FILE: ") + error.what());
    }
  }
  return options;
}

json ToolCallRecord::to_json() const {
  return {{"name", name},
          {"arguments", arguments},
          {"result", result},
          {"is_error", is_error},
          {"status", status}};
}

json AgentEvent::to_json() const {
  json calls = json::array();
  for (const auto& call : tool_calls) calls.push_back(call.to_json());
  return {{"type", "agent"},
          {"text", text},
          {"tool_calls", calls},
          {"final", final},
          {"awaiting_confirmation", awaiting_confirmation},
          {"source", source}};
}

struct Agent::PendingAction {
  std::vector<ToolCallRecord> calls;      // proposed, arguments complete
  std::vector<std::string> llm_call_ids;  // the model's ids, when it proposed them
  std::string readback;
  Clock::time_point expires;
};

struct Agent::Session {
  std::mutex mutex;  // one utterance at a time
  std::vector<ChatMessage> history;
  std::optional<PendingAction> pending;
};

Agent::Agent(std::vector<tools::Tool> tools, AgentOptions options)
    : tools_(std::move(tools)),
      tool_definitions_(json::array()),
      options_(std::move(options)),
      parser_(options_.contacts, options_.parser) {
  for (const auto& tool : tools_)
    tool_definitions_.push_back(ChatClient::tool_definition(tool.spec));
  if (options_.llm) client_ = std::make_unique<ChatClient>(*options_.llm);
  if (!options_.today) options_.today = local_today;
}

Agent::~Agent() = default;

std::shared_ptr<Agent::Session> Agent::session(const std::string& id) {
  std::lock_guard lock(sessions_mutex_);
  auto& session = sessions_[id];
  if (!session) session = std::make_shared<Session>();
  return session;
}

void Agent::end_session(const std::string& session_id) {
  std::lock_guard lock(sessions_mutex_);
  sessions_.erase(session_id);
}

bool Agent::needs_confirmation(const std::string& tool_name) const {
  const auto tool = std::find_if(tools_.begin(), tools_.end(),
                                 [&](const tools::Tool& t) { return t.spec.name == tool_name; });
  if (tool == tools_.end()) return false;
  const json& hints = tool->spec.annotations;
  // Only a tool that says it changes nothing runs without asking.
  return !(hints.is_object() && hints.value("readOnlyHint", false));
}

ToolCallRecord Agent::run_tool(const std::string& name, const json& arguments) {
  ToolCallRecord record{name, arguments, nullptr, false, "done"};
  const auto fail = [&record](const std::string& message) {
    record.result = {{"error", message}};
    record.is_error = true;
    record.status = "failed";
    return record;
  };
  const auto tool = std::find_if(tools_.begin(), tools_.end(),
                                 [&](const tools::Tool& t) { return t.spec.name == name; });
  if (tool == tools_.end()) return fail("there is no tool named " + name);
  if (auto problem = tools::validate(tool->spec.input_schema, arguments)) return fail(*problem);
  AgentToolContext context;
  try {
    const tools::ToolResult result = tool->call(arguments, context);
    if (result.is_error) return fail(result_text(result));
    record.result =
        result.structured.is_null() ? json{{"text", result_text(result)}} : result.structured;
  } catch (const tools::ToolError& error) {
    return fail(error.what());
  } catch (const std::exception& error) {
    return fail(std::string("the tool failed: ") + error.what());
  }
  return record;
}

void Agent::handle(const std::string& session_id, const std::string& utterance,
                   const std::function<void(const AgentEvent&)>& emit) {
  const auto state = session(session_id);
  std::lock_guard lock(state->mutex);
  bool handled = false;
  AgentEvent event;
  if (state->pending) event = answer_pending(*state, utterance, &handled, emit);
  if (!handled) {
    event =
        client_ ? handle_with_llm(*state, utterance, emit) : handle_with_parser(*state, utterance);
  }
  event.final = true;
  emit(event);
}

AgentEvent Agent::answer_pending(Session& session, const std::string& utterance, bool* handled,
                                 const std::function<void(const AgentEvent&)>& emit) {
  PendingAction pending = std::move(*session.pending);
  session.pending.reset();
  const bool from_llm = !pending.llm_call_ids.empty();
  AgentEvent event;
  event.source = from_llm ? "llm" : "intent_parser";
  *handled = true;
  if (Clock::now() > pending.expires) {
    *handled = false;  // too late: the utterance is a new request
    return event;
  }
  switch (IntentParser::parse_confirmation(utterance)) {
    case Confirmation::yes: {
      std::vector<ToolCallRecord> done;
      for (std::size_t i = 0; i < pending.calls.size(); ++i) {
        done.push_back(run_tool(pending.calls[i].name, pending.calls[i].arguments));
        if (from_llm) {
          session.history.push_back(
              ChatMessage::tool_result(pending.llm_call_ids[i], done.back().result.dump()));
        }
      }
      if (from_llm) return run_llm(session, emit, std::move(done));
      for (const auto& record : done) {
        event.text += (event.text.empty() ? "" : " ") +
                      describe_result(record.name, record.arguments, record);
      }
      event.tool_calls = std::move(done);
      return event;
    }
    case Confirmation::no:
      for (std::size_t i = 0; i < pending.calls.size(); ++i) {
        pending.calls[i].status = "declined";
        if (from_llm) {
          session.history.push_back(ChatMessage::tool_result(
              pending.llm_call_ids[i], R"({"error":"the user declined; nothing was done"})"));
        }
      }
      event.text = "Okay, I won't.";
      event.tool_calls = std::move(pending.calls);
      return event;
    case Confirmation::unclear:
      // A new command replaces the question; anything else asks again.
      if (parser_.parse(utterance, options_.today()).call) {
        *handled = false;
        return event;
      }
      event.text = "Please say yes or no. " + pending.readback;
      event.awaiting_confirmation = true;
      event.tool_calls = pending.calls;
      pending.expires = Clock::now() + options_.confirmation_timeout;
      session.pending = std::move(pending);
      return event;
  }
  return event;
}

AgentEvent Agent::handle_with_parser(Session& session, const std::string& utterance) {
  AgentEvent event;
  event.source = "intent_parser";
  Command command = parser_.parse(utterance, options_.today());
  if (!command.call) {
    event.text = command.say;
    return event;
  }
  ToolCall& call = *command.call;
  if (command.inbox_position) {
    // "read email 2": the id of the second-newest mail.
    const ToolCallRecord listed = run_tool("list_inbox", {{"limit", *command.inbox_position}});
    event.tool_calls.push_back(listed);
    const json emails = listed.result.value("emails", json::array());
    if (listed.is_error || emails.size() < static_cast<std::size_t>(*command.inbox_position)) {
      event.text = listed.is_error
                       ? describe_result("list_inbox", listed.arguments, listed)
                       : "There is no email number " + std::to_string(*command.inbox_position) +
                             " in your inbox.";
      return event;
    }
    const json& mail = emails[static_cast<std::size_t>(*command.inbox_position - 1)];
    call.arguments["email_id"] = mail.value("id", "");
    if (call.name == "reply_to_email") {
      command.say = "Reply to " + mail.value("from", "the sender") + " about " +
                    in_quotes(mail.value("subject", "")) + ", saying " +
                    in_quotes(call.arguments.value("body", "")) + "?";
    }
  }
  if (needs_confirmation(call.name)) {
    ToolCallRecord proposed{call.name, call.arguments, nullptr, false, "proposed"};
    event.text = command.say + " Say yes or no.";
    event.awaiting_confirmation = true;
    event.tool_calls.push_back(proposed);
    session.pending =
        PendingAction{{proposed}, {}, command.say, Clock::now() + options_.confirmation_timeout};
    return event;
  }
  const ToolCallRecord record = run_tool(call.name, call.arguments);
  event.text = describe_result(call.name, call.arguments, record);
  event.tool_calls.push_back(record);
  return event;
}

AgentEvent Agent::handle_with_llm(Session& session, const std::string& utterance,
                                  const std::function<void(const AgentEvent&)>& emit) {
  session.history.push_back(ChatMessage::user(utterance));
  trim_history(session);
  return run_llm(session, emit, {});
}

AgentEvent Agent::run_llm(Session& session, const std::function<void(const AgentEvent&)>& emit,
                          std::vector<ToolCallRecord> calls) {
  AgentEvent event;
  event.source = "llm";
  for (int step = 0; step < options_.max_steps; ++step) {
    std::vector<ChatMessage> messages;
    messages.push_back(ChatMessage::system(options_.system_prompt + " Today is " +
                                           today_string(options_.today()) + "."));
    messages.insert(messages.end(), session.history.begin(), session.history.end());
    ChatReply reply;
    try {
      std::string streamed;
      reply = client_->complete(messages, tool_definitions_, [&](std::string_view piece) {
        streamed += piece;
        AgentEvent partial;
        partial.text = streamed;
        partial.source = "llm";
        emit(partial);
      });
    } catch (const LlmError& error) {
      event.text =
          std::string("Sorry, I can't reach the language model right now (") + error.what() + ").";
      event.tool_calls = std::move(calls);
      return event;
    }
    session.history.push_back(reply.as_message());
    if (reply.tool_calls.empty()) {
      event.text = reply.content;
      event.tool_calls = std::move(calls);
      return event;
    }
    PendingAction pending;
    bool ask_first = false;
    for (const auto& call : reply.tool_calls) {
      json arguments = json::parse(call.arguments.empty() ? "{}" : call.arguments, nullptr, false);
      if (arguments.is_discarded() || !arguments.is_object()) arguments = json::object();
      pending.calls.push_back({call.name, arguments, nullptr, false, "proposed"});
      pending.llm_call_ids.push_back(call.id);
      ask_first = ask_first || needs_confirmation(call.name);
    }
    if (ask_first) {
      std::string actions;
      for (const auto& proposed : pending.calls) {
        if (needs_confirmation(proposed.name)) {
          actions += (actions.empty() ? "" : ", and ") + describe_action(proposed);
        }
      }
      pending.readback = "Shall I " + actions + "?";
      pending.expires = Clock::now() + options_.confirmation_timeout;
      event.text = (reply.content.empty() ? "" : reply.content + " ") + pending.readback;
      event.awaiting_confirmation = true;
      event.tool_calls = calls;
      event.tool_calls.insert(event.tool_calls.end(), pending.calls.begin(), pending.calls.end());
      session.pending = std::move(pending);
      return event;
    }
    for (std::size_t i = 0; i < pending.calls.size(); ++i) {
      calls.push_back(run_tool(pending.calls[i].name, pending.calls[i].arguments));
      session.history.push_back(
          ChatMessage::tool_result(pending.llm_call_ids[i], calls.back().result.dump()));
    }
  }
  event.text = "Sorry, I couldn't finish that in " + std::to_string(options_.max_steps) + " steps.";
  event.tool_calls = std::move(calls);
  return event;
}

void Agent::trim_history(Session& session) const {
  const auto tokens = [](const ChatMessage& message) {
    std::size_t bytes = message.content.size();
    for (const auto& call : message.tool_calls) bytes += call.name.size() + call.arguments.size();
    return bytes / kBytesPerToken + 4;
  };
  std::size_t total = 0;
  for (const auto& message : session.history) total += tokens(message);
  auto& history = session.history;
  // Oldest first, and never leave a tool result or tool call without its
  // partner at the front: the history restarts at a user message.
  while (total > options_.history_token_budget && history.size() > 1) {
    total -= tokens(history.front());
    history.erase(history.begin());
    while (history.size() > 1 && history.front().role != "user") {
      total -= tokens(history.front());
      history.erase(history.begin());
    }
  }
}

std::string describe_result(const std::string& tool_name, const json& arguments,
                            const ToolCallRecord& record) {
  const json& r = record.result;
  if (record.is_error) return "That didn't work: " + string_field(r, "error");
  if (tool_name == "send_email" || tool_name == "reply_to_email") {
    const std::string status = string_field(r, "status");
    if (status == "sent") return "Sent.";
    if (status == "queued")
      return "The email is queued and will go out as soon as the mail server answers.";
    return "Sending failed: " + string_field(r, "error");
  }
  if (tool_name == "list_inbox") {
    const json emails = r.value("emails", json::array());
    if (emails.empty()) return "Your inbox is empty.";
    std::string text =
        "You have " + std::to_string(emails.size()) + (emails.size() == 1 ? " email." : " emails.");
    for (std::size_t i = 0; i < std::min(emails.size(), kSpokenItems); ++i) {
      text += " " + std::to_string(i + 1) + ", from " + string_field(emails[i], "from") + ": " +
              string_field(emails[i], "subject") + ".";
    }
    return text;
  }
  if (tool_name == "read_email") {
    std::string body = string_field(r, "body");
    if (body.size() > kSpokenBodyBytes) body = body.substr(0, kSpokenBodyBytes) + "...";
    return "From " + string_field(r, "from") + ", subject " + string_field(r, "subject") + ". " +
           body;
  }
  if (tool_name == "create_calendar_event") {
    std::string text = "Added " + in_quotes(string_field(arguments, "title")) + " on " +
                       string_field(arguments, "date") + " at " + string_field(arguments, "time") +
                       ".";
    if (string_field(r, "provider") == "ics_fallback") text += " It is in your local calendar.";
    return text;
  }
  if (tool_name == "load_calendar_events") {
    const json events = r.value("events", json::array());
    const std::string scope = string_field(arguments, "scope");
    if (events.empty())
      return "Nothing on your calendar for " + (scope.empty() ? "today" : scope) + ".";
    std::string text =
        "You have " + std::to_string(events.size()) + (events.size() == 1 ? " event:" : " events:");
    for (std::size_t i = 0; i < std::min(events.size(), kSpokenItems); ++i) {
      text += (i == 0 ? " " : ", ") + string_field(events[i], "title") + " at " +
              clock_time(string_field(events[i], "start"));
    }
    return text + ".";
  }
  if (tool_name == "duckduckgo_search" || tool_name == "web_search") {
    const json results = r.value("results", json::array());
    if (results.empty())
      return "I found nothing for " + in_quotes(string_field(arguments, "query")) + ".";
    std::string text = "Here is what I found:";
    for (std::size_t i = 0; i < std::min<std::size_t>(results.size(), 3); ++i) {
      text += " " + std::to_string(i + 1) + ", " + string_field(results[i], "title") + ".";
    }
    return text;
  }
  if (tool_name == "draft_reply") return "Here is a draft. " + string_field(r, "body");
  return string_field(r, "text").empty() ? "Done." : string_field(r, "text");
}

}  // namespace voicedesk::agent
