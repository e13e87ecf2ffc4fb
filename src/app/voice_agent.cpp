#include "app/voice_agent.hpp"

#include <spdlog/spdlog.h>

namespace voicedesk::app {

// The agent's replies to a session: events on its DataChannel and speech on
// its audio track. A session that ended meanwhile is not an error.
class VoiceAgent::GatewayReplies final : public agent::ReplySink {
 public:
  explicit GatewayReplies(rtc::Gateway& gateway) : gateway_(gateway) {}

  void send_event(const std::string& session_id, const nlohmann::json& event) override {
    try {
      gateway_.send_event(session_id, event);
    } catch (const rtc::GatewayError& error) {
      spdlog::debug("agent reply to session {} dropped: {}", session_id, error.what());
    }
  }
  void speak(const std::string& session_id, const std::string& text) override {
    try {
      gateway_.speak(session_id, text);
    } catch (const rtc::GatewayError& error) {
      // No audio track (the offer had no Opus) or the session is gone: the
      // text event already carries the reply.
      spdlog::debug("agent speech to session {} dropped: {}", session_id, error.what());
    }
  }

 private:
  rtc::Gateway& gateway_;
};

void AgentInbox::connect(rtc::GatewayOptions& options) {
  options.on_user_input = [this](const std::string& session_id, const rtc::UserInput& input) {
    std::lock_guard lock(mutex_);
    if (agent_ != nullptr) agent_->submit(session_id, input);
  };
  options.on_session_closed = [this](const std::string& session_id) {
    std::lock_guard lock(mutex_);
    if (agent_ != nullptr) agent_->session_closed(session_id);
  };
}

void AgentInbox::attach(VoiceAgent* agent) {
  std::lock_guard lock(mutex_);
  agent_ = agent;
}

namespace {

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

store::ToolCallStatus stored_status(const std::string& status) {
  if (status == "proposed") return store::ToolCallStatus::proposed;
  if (status == "declined") return store::ToolCallStatus::declined;
  if (status == "failed") return store::ToolCallStatus::failed;
  return store::ToolCallStatus::done;
}

const char* kind_name(agent::UserTurn::Kind kind) {
  switch (kind) {
    case agent::UserTurn::Kind::speech:
      return "speech";
    case agent::UserTurn::Kind::typed:
      return "typed";
    case agent::UserTurn::Kind::confirmation:
      return "confirmation";
  }
  return "speech";
}

}  // namespace

VoiceAgent::VoiceAgent(AgentInbox& inbox, rtc::Gateway& gateway, std::vector<tools::Tool> tools,
                       agent::AgentOptions options, store::ConversationStore* store)
    : inbox_(inbox),
      store_(store),
      agent_(std::move(tools), std::move(options)),
      replies_(std::make_unique<GatewayReplies>(gateway)),
      runner_(std::make_unique<agent::ConversationRunner>(
          agent_, *replies_,
          [this](const std::string& session_id, const agent::UserTurn& turn,
                 const agent::AgentEvent& reply) { record(session_id, turn, reply); })) {
  spdlog::info("agent ready ({})", agent_.uses_llm() ? "language model" : "intent parser");
  inbox_.attach(this);
}

VoiceAgent::~VoiceAgent() {
  inbox_.attach(nullptr);
  runner_.reset();  // finishes the queued turns while the gateway and tools still exist
}

void VoiceAgent::submit(const std::string& session_id, const rtc::UserInput& input) {
  const auto kind = input.kind == rtc::UserInput::Kind::typed ? agent::UserTurn::Kind::typed
                    : input.kind == rtc::UserInput::Kind::confirmation
                        ? agent::UserTurn::Kind::confirmation
                        : agent::UserTurn::Kind::speech;
  runner_->submit(session_id, {input.text, kind});
}

void VoiceAgent::session_closed(const std::string& session_id) {
  runner_->end_session(session_id);
  if (store_ == nullptr) return;
  std::lock_guard lock(recorded_mutex_);
  if (recorded_sessions_.erase(session_id) == 0) return;
  try {
    store_->end_session(session_id);
  } catch (const store::StoreError& error) {
    spdlog::warn("conversation store: {}", error.what());
  }
}

void VoiceAgent::record(const std::string& session_id, const agent::UserTurn& turn,
                        const agent::AgentEvent& reply) {
  if (store_ == nullptr) return;
  try {
    {
      std::lock_guard lock(recorded_mutex_);
      if (recorded_sessions_.insert(session_id).second) {
        store_->start_session({.id = session_id, .started_at_ms = now_ms()});
      }
    }
    const store::Utterance said = store_->add_utterance(
        {.session_id = session_id, .text = turn.text, .timings = {{"kind", kind_name(turn.kind)}}});
    const store::AgentTurn answered = store_->add_agent_turn(
        {.session_id = session_id,
         .utterance_id = said.id,
         .text = reply.text,
         .source =
             reply.source == "llm" ? store::TurnSource::llm : store::TurnSource::intent_parser});
    for (const auto& call : reply.tool_calls) {
      store_->add_tool_call({.turn_id = answered.id,
                             .name = call.name,
                             .arguments = call.arguments,
                             .result = call.result,
                             .is_error = call.is_error,
                             .status = stored_status(call.status)});
    }
  } catch (const store::StoreError& error) {
    spdlog::warn("conversation store: {}", error.what());
  }
}

}  // namespace voicedesk::app
