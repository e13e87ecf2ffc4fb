#pragma once

#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "agent/agent.hpp"
#include "agent/conversation_runner.hpp"
#include "rtc/gateway.hpp"
#include "store/conversation_store.hpp"

namespace voicedesk::app {

// Where the gateway's sessions send what users say or type. The gateway takes
// its callbacks before the agent exists, so this object outlives the gateway
// and passes input on only while a VoiceAgent is attached; other input is
// dropped rather than reaching a destroyed object.
class VoiceAgent;
class AgentInbox {
 public:
  // Points options' user-input and session-closed callbacks here.
  void connect(rtc::GatewayOptions& options);

 private:
  friend class VoiceAgent;
  void attach(VoiceAgent* agent);

  std::mutex mutex_;
  VoiceAgent* agent_ = nullptr;
};

// The agent answering a gateway's sessions: input from the inbox, replies as
// DataChannel events and speech, every turn recorded in the store (when
// given). Declare it after the gateway, the tools and the store: it finishes
// the turns already queued and detaches before they go.
class VoiceAgent {
 public:
  VoiceAgent(AgentInbox& inbox, rtc::Gateway& gateway, std::vector<tools::Tool> tools,
             agent::AgentOptions options, store::ConversationStore* store = nullptr);
  ~VoiceAgent();
  VoiceAgent(const VoiceAgent&) = delete;
  VoiceAgent& operator=(const VoiceAgent&) = delete;

 private:
  friend class AgentInbox;
  class GatewayReplies;

  void submit(const std::string& session_id, const rtc::UserInput& input);
  void session_closed(const std::string& session_id);
  // Stores a turn and its reply; a store failure is logged, never fatal.
  void record(const std::string& session_id, const agent::UserTurn& turn,
              const agent::AgentEvent& reply);

  AgentInbox& inbox_;
  store::ConversationStore* store_;
  std::mutex recorded_mutex_;
  std::set<std::string> recorded_sessions_;  // started in the store
  agent::Agent agent_;
  std::unique_ptr<GatewayReplies> replies_;
  std::unique_ptr<agent::ConversationRunner> runner_;
};

}  // namespace voicedesk::app
