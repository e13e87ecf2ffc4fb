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
    if (runner_ == nullptr) return;
    const auto kind = input.kind == rtc::UserInput::Kind::typed ? agent::UserTurn::Kind::typed
                      : input.kind == rtc::UserInput::Kind::confirmation
                          ? agent::UserTurn::Kind::confirmation
                          : agent::UserTurn::Kind::speech;
    runner_->submit(session_id, {input.text, kind});
  };
  options.on_session_closed = [this](const std::string& session_id) {
    std::lock_guard lock(mutex_);
    if (runner_ != nullptr) runner_->end_session(session_id);
  };
}

void AgentInbox::attach(agent::ConversationRunner* runner) {
  std::lock_guard lock(mutex_);
  runner_ = runner;
}

VoiceAgent::VoiceAgent(AgentInbox& inbox, rtc::Gateway& gateway, std::vector<tools::Tool> tools,
                       agent::AgentOptions options)
    : inbox_(inbox),
      agent_(std::move(tools), std::move(options)),
      replies_(std::make_unique<GatewayReplies>(gateway)),
      runner_(std::make_unique<agent::ConversationRunner>(agent_, *replies_)) {
  spdlog::info("agent ready ({})", agent_.uses_llm() ? "language model" : "intent parser");
  inbox_.attach(runner_.get());
}

VoiceAgent::~VoiceAgent() {
  inbox_.attach(nullptr);
  runner_.reset();  // finishes the queued turns while the gateway and tools still exist
}

}  // namespace voicedesk::app
