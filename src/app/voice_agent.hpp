#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "agent/agent.hpp"
#include "agent/conversation_runner.hpp"
#include "rtc/gateway.hpp"

namespace voicedesk::app {

// Where the gateway's sessions send what users say or type. The gateway takes
// its callbacks before the agent exists, so this object outlives the gateway
// and passes input on only while a VoiceAgent is attached; other input is
// dropped rather than reaching a destroyed object.
class AgentInbox {
 public:
  // Points options' user-input and session-closed callbacks here.
  void connect(rtc::GatewayOptions& options);

 private:
  friend class VoiceAgent;
  void attach(agent::ConversationRunner* runner);

  std::mutex mutex_;
  agent::ConversationRunner* runner_ = nullptr;
};

// The agent answering a gateway's sessions: input from the inbox, replies as
// DataChannel events and speech. Declare it after the gateway and the tools:
// it finishes the turns already queued and detaches before they go.
class VoiceAgent {
 public:
  VoiceAgent(AgentInbox& inbox, rtc::Gateway& gateway, std::vector<tools::Tool> tools,
             agent::AgentOptions options);
  ~VoiceAgent();
  VoiceAgent(const VoiceAgent&) = delete;
  VoiceAgent& operator=(const VoiceAgent&) = delete;

 private:
  class GatewayReplies;

  AgentInbox& inbox_;
  agent::Agent agent_;
  std::unique_ptr<GatewayReplies> replies_;
  std::unique_ptr<agent::ConversationRunner> runner_;
};

}  // namespace voicedesk::app
