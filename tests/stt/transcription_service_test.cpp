#include "stt/transcription_service.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <barrier>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace voicedesk::stt {
namespace {

using namespace std::chrono_literals;
using Request = TranscriptionService::Request;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::UnorderedElementsAreArray;

// Long enough that only a deadlock or a lost wake-up reaches it.
constexpr auto kTimeout = 10s;

// Stands in for a model, since what is tested is the queueing around it. A
// call transcribes in kSteps steps; each waits for a permit from the test (or
// for the gate to be open), polls the cancel flag and reports progress, as
// real transcribers do between decoding steps. The audio's length is the
// request's id: it comes back as the transcript's text.
class FakeTranscriber final : public Transcriber {
 public:
  static constexpr int kSteps = 4;
  static constexpr std::size_t kThrowsTranscribeError = 0;  // audio length that fails
  static constexpr std::size_t kThrowsLogicError = 1;

  // Lets n more steps run, over all calls.
  void allow_steps(int n) {
    {
      std::lock_guard lock(mutex_);
      permits_ += n;
    }
    changed_.notify_all();
  }
  // Lets every step run from now on.
  void open() {
    {
      std::lock_guard lock(mutex_);
      open_ = true;
    }
    changed_.notify_all();
  }
  // Waits until n calls have started; false on timeout.
  bool wait_started(std::size_t n) const {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, kTimeout, [&] { return seen_.size() >= n; });
  }
  // Waits until n steps (over all calls) have reported progress.
  bool wait_steps(int n) const {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, kTimeout, [&] { return steps_ >= n; });
  }
  // The ids of the calls made so far, in order.
  std::vector<std::size_t> seen() const {
    std::lock_guard lock(mutex_);
    return seen_;
  }
  int cancelled() const {
    std::lock_guard lock(mutex_);
    return cancelled_;
  }

  Transcript transcribe(std::span<const float> audio_16k,
                        const TranscribeOptions& options) const override {
    {
      std::lock_guard lock(mutex_);
      seen_.push_back(audio_16k.size());
    }
    changed_.notify_all();
    if (audio_16k.size() == kThrowsTranscribeError) throw TranscribeError("fake: no audio");
    if (audio_16k.size() == kThrowsLogicError)
      throw std::logic_error("fake: not a TranscribeError");

    const auto cancel_requested = [&] {
      return options.cancel != nullptr && options.cancel->load();
    };
    for (int step = 1; step <= kSteps; ++step) {
      {
        std::unique_lock lock(mutex_);
        // The flag is an atomic nobody notifies, so it is polled, as a real
        // transcriber polls it between steps.
        while (!open_ && permits_ == 0 && !cancel_requested()) changed_.wait_for(lock, 1ms);
        if (cancel_requested()) {
          ++cancelled_;
          throw Cancelled();
        }
        if (!open_) --permits_;
      }
      if (options.on_progress) options.on_progress(static_cast<double>(step) / kSteps);
      {
        std::lock_guard lock(mutex_);
        ++steps_;
      }
      changed_.notify_all();
    }
    Transcript transcript;
    transcript.text = std::to_string(audio_16k.size());
    return transcript;
  }

  std::string model_name() const override { return "fake"; }

 private:
  mutable std::mutex mutex_;
  mutable std::condition_variable changed_;
  mutable std::vector<std::size_t> seen_;
  mutable int steps_ = 0;
  mutable int cancelled_ = 0;
  mutable int permits_ = 0;
  bool open_ = false;
};

std::vector<float> audio_with_id(std::size_t id) {
  return std::vector<float>(id, 0.0f);
}

bool ready(Request& request) {
  return request.result().wait_for(kTimeout) == std::future_status::ready;
}

// Whether the request ended in Cancelled.
bool ended_cancelled(Request& request) {
  if (!ready(request)) return false;
  try {
    request.get();
  } catch (const Cancelled&) {
    return true;
  }
  return false;
}

struct Fixture {
  explicit Fixture(ServiceOptions options)
      : fake(std::make_shared<FakeTranscriber>()), service(std::in_place, fake, options) {}

  std::shared_ptr<FakeTranscriber> fake;
  std::optional<TranscriptionService> service;  // so a test can destroy it early
};

TEST(TranscriptionService, RejectsBadConfiguration) {
  EXPECT_THROW(TranscriptionService(nullptr, {}), std::invalid_argument);
  EXPECT_THROW(TranscriptionService(std::make_shared<FakeTranscriber>(), {.workers = 0}),
               std::invalid_argument);
}

TEST(TranscriptionService, PassesTheTranscriptThrough) {
  Fixture f({});
  f.fake->open();
  Request request = f.service->submit(audio_with_id(42));
  EXPECT_EQ(request.get().text, "42");
  EXPECT_EQ(request.state(), Request::State::done);
  EXPECT_EQ(&f.service->transcriber(), f.fake.get());
  EXPECT_EQ(f.service->running(), 0u);
  EXPECT_EQ(f.service->queued(), 0u);
}

TEST(TranscriptionService, PassesExceptionsThrough) {
  Fixture f({});
  f.fake->open();
  Request failing = f.service->submit(audio_with_id(FakeTranscriber::kThrowsTranscribeError));
  Request broken = f.service->submit(audio_with_id(FakeTranscriber::kThrowsLogicError));
  EXPECT_THROW(
      {
        try {
          failing.get();
        } catch (const TranscribeError& e) {
          EXPECT_STREQ(e.what(), "fake: no audio");
          throw;
        }
      },
      TranscribeError);
  EXPECT_THROW(broken.get(), std::logic_error);
  // The worker survives both.
  EXPECT_EQ(f.service->submit(audio_with_id(7)).get().text, "7");
}

TEST(TranscriptionService, RefusesAtOnceWhenTheQueueIsFull) {
  Fixture f({.workers = 1, .max_queued = 2});
  std::vector<Request> accepted;
  accepted.push_back(f.service->submit(audio_with_id(10)));
  ASSERT_TRUE(f.fake->wait_started(1));
  accepted.push_back(f.service->submit(audio_with_id(11)));
  accepted.push_back(f.service->submit(audio_with_id(12)));
  EXPECT_EQ(f.service->running(), 1u);
  EXPECT_EQ(f.service->queued(), 2u);

  const auto start = std::chrono::steady_clock::now();
  try {
    f.service->submit(audio_with_id(13));
    ADD_FAILURE() << "a fourth request was accepted";
  } catch (const BusyError& e) {
    EXPECT_LT(std::chrono::steady_clock::now() - start, 50ms);
    EXPECT_STREQ(e.what(),
                 "speech-to-text is busy: 2 requests queued (limit 2); try again shortly");
    EXPECT_EQ(e.queued(), 2u);
    EXPECT_EQ(e.limit(), 2u);
  }

  f.fake->open();
  for (std::size_t i = 0; i < accepted.size(); ++i) {
    EXPECT_EQ(accepted[i].get().text, std::to_string(10 + i));
  }
  EXPECT_EQ(f.service->submit(audio_with_id(14)).get().text, "14");
  EXPECT_THAT(f.fake->seen(), ElementsAre(10, 11, 12, 14));
}

TEST(TranscriptionService, ZeroQueueStillServesIdleWorkers) {
  Fixture f({.workers = 2, .max_queued = 0});
  Request first = f.service->submit(audio_with_id(10));
  Request second = f.service->submit(audio_with_id(11));
  EXPECT_THROW(f.service->submit(audio_with_id(12)), BusyError);
  f.fake->open();
  EXPECT_EQ(first.get().text, "10");
  EXPECT_EQ(second.get().text, "11");
}

TEST(TranscriptionService, CancellingAQueuedRequestRemovesIt) {
  Fixture f({.workers = 1, .max_queued = 4});
  Request running = f.service->submit(audio_with_id(10));
  ASSERT_TRUE(f.fake->wait_started(1));
  Request doomed = f.service->submit(audio_with_id(11));
  Request after = f.service->submit(audio_with_id(12));
  ASSERT_EQ(after.queue_position(), 2u);

  doomed.cancel();
  // Rejected by cancel() itself, not later by a worker.
  EXPECT_EQ(doomed.result().wait_for(0s), std::future_status::ready);
  EXPECT_THROW(doomed.get(), Cancelled);
  EXPECT_EQ(doomed.state(), Request::State::done);
  EXPECT_EQ(f.service->queued(), 1u);
  EXPECT_EQ(after.queue_position(), 1u);

  f.fake->open();
  EXPECT_EQ(running.get().text, "10");
  EXPECT_EQ(after.get().text, "12");
  EXPECT_THAT(f.fake->seen(), ElementsAre(10, 12));
  EXPECT_EQ(doomed.time_running(), std::chrono::steady_clock::duration::zero());
}

TEST(TranscriptionService, CancellingARunningRequestReachesTheTranscriber) {
  Fixture f({});
  Request request = f.service->submit(audio_with_id(10));
  ASSERT_TRUE(f.fake->wait_started(1));
  EXPECT_EQ(request.state(), Request::State::running);
  request.cancel();
  EXPECT_TRUE(ended_cancelled(request));
  EXPECT_EQ(f.fake->cancelled(), 1);
  EXPECT_EQ(f.service->running(), 0u);
  request.cancel();  // done: nothing left to do
}

TEST(TranscriptionService, SpeculativeRequestsOnlyUseIdleWorkers) {
  Fixture f({.workers = 1, .max_queued = 0});
  std::optional<Request> speculative = f.service->try_submit_speculative(audio_with_id(10));
  ASSERT_TRUE(speculative.has_value());
  ASSERT_TRUE(f.fake->wait_started(1));
  EXPECT_FALSE(f.service->try_submit_speculative(audio_with_id(11)).has_value());
  // Confirmed, it is an ordinary request: the next one finds the service busy.
  EXPECT_TRUE(speculative->confirm());
  EXPECT_THROW(f.service->submit(audio_with_id(12)), BusyError);
  f.fake->open();
  EXPECT_EQ(speculative->get().text, "10");
  EXPECT_THAT(f.fake->seen(), ElementsAre(10));
}

TEST(TranscriptionService, AnOrdinaryRequestPreemptsARunningSpeculativeOne) {
  Fixture f({.workers = 1, .max_queued = 0});
  std::optional<Request> speculative = f.service->try_submit_speculative(audio_with_id(10));
  ASSERT_TRUE(speculative.has_value());
  ASSERT_TRUE(f.fake->wait_started(1));
  // Not counted as waiting, and cancelled to make way.
  Request ordinary = f.service->submit(audio_with_id(11));
  EXPECT_TRUE(ended_cancelled(*speculative));
  EXPECT_FALSE(speculative->confirm());
  f.fake->open();
  EXPECT_EQ(ordinary.get().text, "11");
  EXPECT_THAT(f.fake->seen(), ElementsAre(10, 11));
  EXPECT_EQ(f.fake->cancelled(), 1);
}

TEST(TranscriptionService, ConfirmedSpeculativeRequestsAreNotPreempted) {
  Fixture f({.workers = 1, .max_queued = 1});
  std::optional<Request> speculative = f.service->try_submit_speculative(audio_with_id(10));
  ASSERT_TRUE(speculative.has_value());
  ASSERT_TRUE(f.fake->wait_started(1));
  EXPECT_TRUE(speculative->confirm());
  Request ordinary = f.service->submit(audio_with_id(11));
  f.fake->open();
  EXPECT_EQ(speculative->get().text, "10");
  EXPECT_EQ(ordinary.get().text, "11");
  EXPECT_EQ(f.fake->cancelled(), 0);
}

TEST(TranscriptionService, HonoursTheCallersOwnProgressAndCancel) {
  Fixture f({});
  std::atomic<bool> stop{false};
  std::mutex mutex;
  std::vector<double> reported;
  TranscribeOptions options;
  options.cancel = &stop;
  options.on_progress = [&](double fraction) {
    std::lock_guard lock(mutex);
    reported.push_back(fraction);
  };

  Request request = f.service->submit(audio_with_id(10), options);
  f.fake->allow_steps(1);
  ASSERT_TRUE(f.fake->wait_steps(1));
  // Seen at the next progress report, which the fake makes once allowed a step.
  stop = true;
  f.fake->allow_steps(1);
  EXPECT_TRUE(ended_cancelled(request));
  {
    std::lock_guard lock(mutex);
    EXPECT_THAT(reported, ElementsAre(0.25, 0.5));
  }

  // Already set when a request comes up: it never reaches the transcriber.
  Request late = f.service->submit(audio_with_id(11), options);
  EXPECT_TRUE(ended_cancelled(late));
  EXPECT_THAT(f.fake->seen(), ElementsAre(10));
}

TEST(TranscriptionService, ReportsProgressAndQueuePosition) {
  Fixture f({.workers = 1, .max_queued = 4});
  std::vector<Request> requests;
  for (std::size_t id = 10; id < 13; ++id) requests.push_back(f.service->submit(audio_with_id(id)));
  ASSERT_TRUE(f.fake->wait_started(1));
  EXPECT_EQ(requests[0].queue_position(), 0u);
  EXPECT_EQ(requests[1].queue_position(), 1u);
  EXPECT_EQ(requests[2].queue_position(), 2u);

  // Waiting here shows up as the others' time in the queue.
  std::this_thread::sleep_for(20ms);
  for (int step = 1; step <= FakeTranscriber::kSteps; ++step) {
    f.fake->allow_steps(1);
    ASSERT_TRUE(f.fake->wait_steps(step));
    EXPECT_DOUBLE_EQ(requests[0].progress(), static_cast<double>(step) / FakeTranscriber::kSteps);
  }
  EXPECT_EQ(requests[0].get().text, "10");
  EXPECT_EQ(requests[0].progress(), 1.0);

  ASSERT_TRUE(f.fake->wait_started(2));
  EXPECT_EQ(requests[1].queue_position(), 0u);
  EXPECT_EQ(requests[1].progress(), 0.0);
  EXPECT_EQ(requests[2].queue_position(), 1u);

  f.fake->open();
  EXPECT_EQ(requests[2].get().text, "12");
  EXPECT_EQ(requests[2].queue_position(), 0u);
  EXPECT_GE(requests[1].time_queued(), 20ms);
  EXPECT_GT(requests[0].time_running(), std::chrono::steady_clock::duration::zero());
}

TEST(TranscriptionService, DroppedHandleDoesNotDisturbTheWorker) {
  Fixture f({});
  f.service->submit(audio_with_id(10));
  f.fake->open();
  EXPECT_EQ(f.service->submit(audio_with_id(11)).get().text, "11");
  EXPECT_THAT(f.fake->seen(), ElementsAre(10, 11));
}

TEST(TranscriptionService, ManyThreadsGetEachAcceptedRequestServedOnce) {
  constexpr int kThreads = 8;
  constexpr std::size_t kPerThread = 25;
  constexpr ServiceOptions kOptions{.workers = 2, .max_queued = 4};
  Fixture f(kOptions);

  struct Outcome {
    std::vector<std::size_t> ids;  // accepted
    std::vector<Request> requests;
    std::size_t busy = 0;
  };
  std::vector<Outcome> outcomes(kThreads);
  // Each thread submits a burst while the transcriber is closed (only
  // workers + max_queued can get in), then, after the gate opens, a stream
  // that races the workers.
  std::barrier opened(kThreads + 1);
  {
    std::vector<std::jthread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        Outcome& out = outcomes[static_cast<std::size_t>(t)];
        const auto submit = [&](std::size_t id) {
          try {
            out.requests.push_back(f.service->submit(audio_with_id(id)));
            out.ids.push_back(id);
          } catch (const BusyError&) {
            ++out.busy;
          }
        };
        const std::size_t base = 1000 * static_cast<std::size_t>(t + 1);
        for (std::size_t i = 0; i < 5; ++i) submit(base + i);
        opened.arrive_and_wait();
        opened.arrive_and_wait();
        for (std::size_t i = 5; i < kPerThread; ++i) submit(base + i);
      });
    }
    opened.arrive_and_wait();
    std::size_t burst = 0;
    for (const Outcome& out : outcomes) burst += out.ids.size();
    EXPECT_EQ(burst, static_cast<std::size_t>(kOptions.workers) + kOptions.max_queued);
    f.fake->open();
    opened.arrive_and_wait();
  }

  std::vector<std::size_t> accepted;
  std::size_t busy = 0;
  for (Outcome& out : outcomes) {
    busy += out.busy;
    for (std::size_t i = 0; i < out.requests.size(); ++i) {
      ASSERT_TRUE(ready(out.requests[i])) << "request " << out.ids[i] << " never finished";
      EXPECT_EQ(out.requests[i].get().text, std::to_string(out.ids[i]));
      accepted.push_back(out.ids[i]);
    }
  }
  EXPECT_EQ(accepted.size() + busy, kThreads * kPerThread);
  EXPECT_GT(busy, 0u);
  EXPECT_THAT(f.fake->seen(), UnorderedElementsAreArray(accepted));
  EXPECT_EQ(f.service->running(), 0u);
  EXPECT_EQ(f.service->queued(), 0u);
}

TEST(TranscriptionService, DestructorCancelsQueuedAndRunningRequests) {
  Fixture f({.workers = 1, .max_queued = 4});
  Request running = f.service->submit(audio_with_id(10));
  ASSERT_TRUE(f.fake->wait_started(1));
  Request queued1 = f.service->submit(audio_with_id(11));
  Request queued2 = f.service->submit(audio_with_id(12));

  const auto start = std::chrono::steady_clock::now();
  f.service.reset();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 500ms);

  EXPECT_TRUE(ended_cancelled(queued1));
  EXPECT_TRUE(ended_cancelled(queued2));
  EXPECT_TRUE(ended_cancelled(running));
  EXPECT_THAT(f.fake->seen(), ElementsAre(10));
  // Handles outlive the service safely.
  EXPECT_EQ(queued1.state(), Request::State::done);
  EXPECT_EQ(queued2.queue_position(), 0u);
  running.cancel();
}

}  // namespace
}  // namespace voicedesk::stt
