#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <unordered_map>
#include <vector>

#include "agent/agent.hpp"

namespace voicedesk::agent {

// Where the agent's replies go: a session's event channel (the browser's
// DataChannel) and its voice (the outgoing audio track).
class ReplySink {
 public:
  virtual ~ReplySink() = default;
  virtual void send_event(const std::string& session_id, const nlohmann::json& event) = 0;
  // Speaks text in place of anything still being said.
  virtual void speak(const std::string& session_id, const std::string& text) = 0;
};

// Something the user said to a session.
struct UserTurn {
  enum class Kind { speech, typed, confirmation };
  std::string text;
  Kind kind = Kind::speech;
};

// Runs the agent for every session off the caller's thread (the gateway's
// threads must not wait for a language model), one turn at a time per
// session and in order: each session has its own worker, started with its
// first turn and stopped by end_session() or destruction. Every agent event
// goes to the sink (the final one with "timings_ms":{"agent":ms}, the time
// the turn took); the final reply is also spoken.
class ConversationRunner {
 public:
  // Called after each turn with what was said and the final reply (the
  // conversation store records them); may be empty.
  using TurnRecorder =
      std::function<void(const std::string& session_id, const UserTurn&, const AgentEvent&)>;

  ConversationRunner(Agent& agent, ReplySink& sink, TurnRecorder record = {});
  ~ConversationRunner();
  ConversationRunner(const ConversationRunner&) = delete;
  ConversationRunner& operator=(const ConversationRunner&) = delete;

  // Queues turn for session_id and returns at once.
  void submit(const std::string& session_id, UserTurn turn);
  // The session's queued turns still run, then the agent forgets it; does
  // not wait for them.
  void end_session(const std::string& session_id);

 private:
  class SessionWorker;
  void run_turn(const std::string& session_id, const UserTurn& turn);
  // Joins workers of ended sessions that have finished; mutex_ held.
  void reap_retired();

  Agent& agent_;
  ReplySink& sink_;
  TurnRecorder record_;
  std::mutex mutex_;
  std::unordered_map<std::string, std::unique_ptr<SessionWorker>> workers_;
  std::vector<std::unique_ptr<SessionWorker>> retiring_;  // ended, maybe still draining
};

}  // namespace voicedesk::agent
