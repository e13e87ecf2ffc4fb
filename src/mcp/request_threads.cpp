#include "mcp/request_threads.hpp"

#include <spdlog/spdlog.h>

namespace voicedesk::mcp {

bool RequestThreads::try_start(std::function<void()> work) {
  std::lock_guard lock(mutex_);
  reap_finished();
  if (closed_ || running_ >= limit_) return false;
  launch(std::move(work));
  return true;
}

void RequestThreads::start(std::function<void()> work) {
  std::lock_guard lock(mutex_);
  reap_finished();
  if (closed_) return;
  if (running_ >= limit_) {
    queued_.push_back(std::move(work));
  } else {
    launch(std::move(work));
  }
}

void RequestThreads::launch(std::function<void()> work) {
  auto done = std::make_shared<std::atomic<bool>>(false);
  ++running_;
  threads_.push_back({std::thread([this, done, work = std::move(work)]() mutable {
                        for (;;) {
                          try {
                            work();
                          } catch (const std::exception& e) {
                            spdlog::error("mcp: request thread failed: {}", e.what());
                          }
                          std::lock_guard lock(mutex_);
                          if (queued_.empty()) {
                            --running_;
                            *done = true;
                            return;
                          }
                          work = std::move(queued_.front());
                          queued_.pop_front();
                        }
                      }),
                      done});
}

void RequestThreads::reap_finished() {
  for (auto it = threads_.begin(); it != threads_.end();) {
    if (*it->done) {
      // Its last act was to set done under the mutex we hold; join is immediate.
      it->thread.join();
      it = threads_.erase(it);
    } else {
      ++it;
    }
  }
}

void RequestThreads::join_all() {
  std::list<Entry> threads;
  {
    std::lock_guard lock(mutex_);
    closed_ = true;
    threads.swap(threads_);
  }
  for (Entry& entry : threads) entry.thread.join();
}

}  // namespace voicedesk::mcp
