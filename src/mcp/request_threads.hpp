#pragma once

#include <atomic>
#include <cstddef>
#include <deque>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <thread>

namespace voicedesk::mcp {

// Runs requests that may take long (tool calls) on threads of their own, at
// most `limit` at once, and joins them: finished ones whenever a new one
// starts, the rest in join_all() or the destructor. Never blocks its caller,
// so a transport's reader keeps reading the answers and cancellations that
// running requests wait for.
class RequestThreads {
 public:
  explicit RequestThreads(std::size_t limit) : limit_(limit) {}
  ~RequestThreads() { join_all(); }
  RequestThreads(const RequestThreads&) = delete;
  RequestThreads& operator=(const RequestThreads&) = delete;

  // Starts work, or returns false at once when `limit` are running.
  bool try_start(std::function<void()> work);
  // Starts work, or queues it for the first thread to finish when `limit`
  // are running.
  void start(std::function<void()> work);
  // Refuses new work from now on, and joins every thread once the queued
  // work is done.
  void join_all();

 private:
  struct Entry {
    std::thread thread;
    std::shared_ptr<std::atomic<bool>> done;
  };
  void launch(std::function<void()> work);  // with mutex_ held
  void reap_finished();                     // with mutex_ held

  std::size_t limit_;
  std::mutex mutex_;
  std::list<Entry> threads_;
  std::deque<std::function<void()>> queued_;
  std::size_t running_ = 0;
  bool closed_ = false;
};

}  // namespace voicedesk::mcp
