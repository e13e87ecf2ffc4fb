#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "mcp/server.hpp"

namespace voicedesk::mcp::test {

// An Outbound that keeps every message, so tests can see what the server sent
// and wait for messages sent from other threads.
class RecordingOutbound final : public Outbound {
 public:
  bool send(const nlohmann::json& message) override {
    {
      std::lock_guard lock(mutex_);
      messages_.push_back(message);
    }
    changed_.notify_all();
    return true;
  }
  void release_connection() override {
    std::lock_guard lock(mutex_);
    released_ = true;
  }

  std::vector<nlohmann::json> messages() const {
    std::lock_guard lock(mutex_);
    return messages_;
  }
  // The messages whose method is method (notifications, requests to the client).
  std::vector<nlohmann::json> with_method(const std::string& method) const {
    std::vector<nlohmann::json> found;
    for (const nlohmann::json& message : messages()) {
      if (message.value("method", "") == method) found.push_back(message);
    }
    return found;
  }
  // The first message with that method, waiting up to timeout for it.
  std::optional<nlohmann::json> wait_for_method(const std::string& method,
                                                std::chrono::milliseconds timeout) {
    std::unique_lock lock(mutex_);
    std::optional<nlohmann::json> found;
    changed_.wait_for(lock, timeout, [&] {
      for (const nlohmann::json& message : messages_) {
        if (message.value("method", "") == method) {
          found = message;
          return true;
        }
      }
      return false;
    });
    return found;
  }
  bool released() const {
    std::lock_guard lock(mutex_);
    return released_;
  }

 private:
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<nlohmann::json> messages_;
  bool released_ = false;
};

// A one-shot event one thread sets and another waits for.
class Signal {
 public:
  void set() {
    {
      std::lock_guard lock(mutex_);
      set_ = true;
    }
    changed_.notify_all();
  }
  bool wait(std::chrono::milliseconds timeout) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, timeout, [&] { return set_; });
  }
  bool is_set() const {
    std::lock_guard lock(mutex_);
    return set_;
  }

 private:
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  bool set_ = false;
};

}  // namespace voicedesk::mcp::test
