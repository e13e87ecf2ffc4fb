#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <vector>

#include "mcp/server.hpp"

namespace voicedesk::mcp {

// The messages of one server-sent-event stream of a session (a POST's
// response stream or the standalone GET stream), numbered so that a client
// whose connection dropped can resume with Last-Event-ID "<stream id>:<n>".
// Producers (a tool call, notifications) append; at most one HTTP connection
// at a time writes them out. Thread-safe.
class EventStream final : public Outbound {
 public:
  struct Event {
    std::uint64_t sequence = 0;
    std::string data;  // one compact JSON message
  };
  struct Batch {
    std::vector<Event> events;  // after the requested sequence number
    bool finished = false;      // no events will follow these
    bool released = false;      // the producer let go of the connection
  };

  // Keeps the newest max_events events for resumption; older ones are dropped.
  EventStream(std::string id, std::size_t max_events);

  bool send(const nlohmann::json& message) override;
  void release_connection() override;
  // The last event has been sent (a request's response).
  void finish();
  bool finished() const;

  // Waits up to timeout for events after `after`, or for finish/release.
  Batch wait(std::uint64_t after, std::chrono::milliseconds timeout);
  // Takes over writing: a writer with an older generation stops at its next
  // wait (its connection was replaced by a newer one).
  std::uint64_t claim_writer();
  bool is_current_writer(std::uint64_t generation) const;
  // Records that events up to sequence reached a client, so a new connection
  // without Last-Event-ID continues after them.
  void mark_delivered(std::uint64_t sequence);
  std::uint64_t delivered() const;

  const std::string& id() const { return id_; }
  std::chrono::steady_clock::time_point finished_at() const;

 private:
  std::string id_;
  std::size_t max_events_;
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<Event> events_;
  std::uint64_t next_sequence_ = 1;
  std::uint64_t delivered_ = 0;
  std::uint64_t writer_generation_ = 0;
  bool finished_ = false;
  bool released_ = false;
  std::chrono::steady_clock::time_point finished_at_{};
};

// "<stream id>:<sequence>" as written in SSE id: lines.
std::string event_id(const std::string& stream_id, std::uint64_t sequence);
// Splits a Last-Event-ID; false when it is not of that form.
bool parse_event_id(const std::string& text, std::string& stream_id, std::uint64_t& sequence);

}  // namespace voicedesk::mcp
