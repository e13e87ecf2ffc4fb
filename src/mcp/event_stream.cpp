#include "mcp/event_stream.hpp"

#include <charconv>

namespace voicedesk::mcp {

EventStream::EventStream(std::string id, std::size_t max_events)
    : id_(std::move(id)), max_events_(std::max<std::size_t>(1, max_events)) {}

bool EventStream::send(const nlohmann::json& message) {
  {
    std::lock_guard lock(mutex_);
    if (finished_) return false;
    events_.push_back({next_sequence_++, message.dump()});
    if (events_.size() > max_events_) events_.pop_front();
  }
  changed_.notify_all();
  return true;
}

void EventStream::release_connection() {
  {
    std::lock_guard lock(mutex_);
    released_ = true;
  }
  changed_.notify_all();
}

void EventStream::finish() {
  {
    std::lock_guard lock(mutex_);
    finished_ = true;
    finished_at_ = std::chrono::steady_clock::now();
  }
  changed_.notify_all();
}

bool EventStream::finished() const {
  std::lock_guard lock(mutex_);
  return finished_;
}

std::chrono::steady_clock::time_point EventStream::finished_at() const {
  std::lock_guard lock(mutex_);
  return finished_at_;
}

EventStream::Batch EventStream::wait(std::uint64_t after, std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  auto ready = [&] {
    return finished_ || released_ || (!events_.empty() && events_.back().sequence > after);
  };
  changed_.wait_for(lock, timeout, ready);
  Batch batch;
  for (const Event& event : events_) {
    if (event.sequence > after) batch.events.push_back(event);
  }
  batch.finished = finished_;
  // A release ends one connection; a later (resuming) connection follows
  // the stream to its end.
  batch.released = std::exchange(released_, false);
  return batch;
}

std::uint64_t EventStream::claim_writer() {
  std::uint64_t generation = 0;
  {
    std::lock_guard lock(mutex_);
    generation = ++writer_generation_;
  }
  changed_.notify_all();
  return generation;
}

bool EventStream::is_current_writer(std::uint64_t generation) const {
  std::lock_guard lock(mutex_);
  return generation == writer_generation_;
}

void EventStream::mark_delivered(std::uint64_t sequence) {
  std::lock_guard lock(mutex_);
  delivered_ = std::max(delivered_, sequence);
}

std::uint64_t EventStream::delivered() const {
  std::lock_guard lock(mutex_);
  return delivered_;
}

std::string event_id(const std::string& stream_id, std::uint64_t sequence) {
  return stream_id + ":" + std::to_string(sequence);
}

bool parse_event_id(const std::string& text, std::string& stream_id, std::uint64_t& sequence) {
  const std::size_t colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0) return false;
  const char* begin = text.data() + colon + 1;
  const char* end = text.data() + text.size();
  const auto [ptr, error] = std::from_chars(begin, end, sequence);
  if (error != std::errc() || ptr != end || begin == end) return false;
  stream_id = text.substr(0, colon);
  return true;
}

}  // namespace voicedesk::mcp
