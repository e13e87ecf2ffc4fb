#include "agent/conversation_runner.hpp"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <thread>

namespace voicedesk::agent {

// One thread draining one session's turns in order.
class ConversationRunner::SessionWorker {
 public:
  SessionWorker(std::function<void(const UserTurn&)> run, std::function<void()> on_finished)
      : run_(std::move(run)), on_finished_(std::move(on_finished)), thread_([this] { loop(); }) {}
  ~SessionWorker() {
    request_stop();
    thread_.join();
  }

  // Finish the queued turns, then end; does not wait.
  void request_stop() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    wake_.notify_one();
  }
  bool finished() const { return finished_; }

  void push(UserTurn turn) {
    {
      std::lock_guard lock(mutex_);
      turns_.push_back(std::move(turn));
    }
    wake_.notify_one();
  }

 private:
  // Drains the queue even when stopping, so no turn the user made is lost.
  void loop() {
    std::unique_lock lock(mutex_);
    for (;;) {
      wake_.wait(lock, [this] { return stopping_ || !turns_.empty(); });
      if (turns_.empty()) {
        lock.unlock();
        on_finished_();
        finished_ = true;
        return;
      }
      const UserTurn turn = std::move(turns_.front());
      turns_.pop_front();
      lock.unlock();
      run_(turn);
      lock.lock();
    }
  }

  std::function<void(const UserTurn&)> run_;
  std::function<void()> on_finished_;
  std::atomic<bool> finished_{false};
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<UserTurn> turns_;
  bool stopping_ = false;
  std::thread thread_;  // last: started once the rest exists
};

ConversationRunner::ConversationRunner(Agent& agent, ReplySink& sink, TurnRecorder record)
    : agent_(agent), sink_(sink), record_(std::move(record)) {}

ConversationRunner::~ConversationRunner() {
  std::unordered_map<std::string, std::unique_ptr<SessionWorker>> workers;
  std::vector<std::unique_ptr<SessionWorker>> retiring;
  {
    std::lock_guard lock(mutex_);
    workers.swap(workers_);
    retiring.swap(retiring_);
  }
  // Joined outside the lock: a finishing worker's last turn may still submit.
  workers.clear();
  retiring.clear();
}

void ConversationRunner::submit(const std::string& session_id, UserTurn turn) {
  std::lock_guard lock(mutex_);
  auto& worker = workers_[session_id];
  if (!worker) {
    worker = std::make_unique<SessionWorker>(
        [this, session_id](const UserTurn& queued) { run_turn(session_id, queued); },
        [this, session_id] { agent_.end_session(session_id); });
  }
  worker->push(std::move(turn));
  reap_retired();
}

void ConversationRunner::reap_retired() {
  std::erase_if(retiring_, [](const auto& worker) { return worker->finished(); });
}

void ConversationRunner::end_session(const std::string& session_id) {
  std::lock_guard lock(mutex_);
  reap_retired();
  const auto it = workers_.find(session_id);
  if (it == workers_.end()) return;
  it->second->request_stop();
  retiring_.push_back(std::move(it->second));
  workers_.erase(it);
}

void ConversationRunner::run_turn(const std::string& session_id, const UserTurn& turn) {
  const auto started = std::chrono::steady_clock::now();
  agent_.handle(session_id, turn.text, [&](const AgentEvent& event) {
    nlohmann::json message = event.to_json();
    // How long the agent took, tools and model included (the latency breakdown).
    if (event.final) {
      message["timings_ms"] = {{"agent", std::chrono::duration<double, std::milli>(
                                             std::chrono::steady_clock::now() - started)
                                             .count()}};
    }
    sink_.send_event(session_id, message);
    if (!event.final) return;
    if (!event.text.empty()) sink_.speak(session_id, event.text);
    if (record_) record_(session_id, turn, event);
  });
}

}  // namespace voicedesk::agent
