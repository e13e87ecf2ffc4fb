#include "stt/transcription_service.hpp"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <exception>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>

namespace voicedesk::stt {

namespace {
using Clock = std::chrono::steady_clock;
using State = TranscriptionService::Request::State;
}  // namespace

// The queue and the list of running jobs, shared with the Request handles.
struct TranscriptionService::Core {
  std::mutex mutex;
  // condition_variable_any, because only it can also wake on a jthread's stop request.
  std::condition_variable_any work_ready;
  std::deque<std::shared_ptr<Job>> queued;
  // Kept so that the destructor can cancel them.
  std::vector<std::shared_ptr<Job>> running;
};

// One request, shared by its handle and the worker running it, so either may
// go away first.
struct TranscriptionService::Job {
  Job(std::vector<float> audio_16k, TranscribeOptions caller_options)
      : audio(std::move(audio_16k)), options(std::move(caller_options)) {}

  // Ends a job that never ran; call with Core::mutex held, after taking it out
  // of the queue, and reject it once the mutex is released.
  void drop_from_queue() {
    state = State::done;
    started = finished = Clock::now();
    audio = {};
  }
  void reject() { promise.set_exception(std::make_exception_ptr(Cancelled())); }

  std::vector<float> audio;   // released once done: a handle may be kept long after
  TranscribeOptions options;  // the caller's
  std::promise<Transcript> promise;
  std::atomic<bool> cancel{false};  // what the transcriber polls
  std::atomic<double> progress{0.0};

  // Guarded by Core::mutex.
  bool speculative = false;  // may be preempted (until confirmed)
  bool preempted = false;    // cancelled to make way for an ordinary request
  State state = State::queued;
  Clock::time_point submitted = Clock::now();
  Clock::time_point started;   // when running began, or when cancelled in the queue
  Clock::time_point finished;  // valid once done
};

namespace {

template <typename Jobs>
std::size_t count_speculative(const Jobs& jobs) {
  return static_cast<std::size_t>(
      std::count_if(jobs.begin(), jobs.end(), [](const auto& job) { return job->speculative; }));
}

}  // namespace

BusyError::BusyError(std::size_t queued, std::size_t limit)
    : TranscribeError("speech-to-text is busy: " + std::to_string(queued) +
                      " requests queued (limit " + std::to_string(limit) + "); try again shortly"),
      queued_(queued),
      limit_(limit) {}

TranscriptionService::Request::Request(std::shared_ptr<Core> core, std::shared_ptr<Job> job,
                                       std::future<Transcript> result)
    : core_(std::move(core)), job_(std::move(job)), result_(std::move(result)) {}

void TranscriptionService::Request::cancel() {
  {
    std::lock_guard lock(core_->mutex);
    switch (job_->state) {
      case State::queued:
        std::erase(core_->queued, job_);
        job_->drop_from_queue();
        break;
      case State::running:
        job_->cancel.store(true);
        return;
      case State::done:
        return;
    }
  }
  // Outside the lock, so that a waiter it wakes does not block on it at once.
  job_->reject();
}

bool TranscriptionService::Request::confirm() {
  std::lock_guard lock(core_->mutex);
  job_->speculative = false;
  return !job_->preempted;
}

State TranscriptionService::Request::state() const {
  std::lock_guard lock(core_->mutex);
  return job_->state;
}

double TranscriptionService::Request::progress() const {
  return job_->progress.load();
}

std::size_t TranscriptionService::Request::queue_position() const {
  std::lock_guard lock(core_->mutex);
  if (job_->state != State::queued) return 0;
  const auto it = std::find(core_->queued.begin(), core_->queued.end(), job_);
  return static_cast<std::size_t>(it - core_->queued.begin()) + 1;
}

Clock::time_point TranscriptionService::Request::submitted_at() const {
  return job_->submitted;  // set once, before the handle exists
}

Clock::duration TranscriptionService::Request::time_queued() const {
  std::lock_guard lock(core_->mutex);
  const Clock::time_point end = job_->state == State::queued ? Clock::now() : job_->started;
  return end - job_->submitted;
}

Clock::duration TranscriptionService::Request::time_running() const {
  std::lock_guard lock(core_->mutex);
  switch (job_->state) {
    case State::queued:
      return Clock::duration::zero();
    case State::running:
      return Clock::now() - job_->started;
    case State::done:
      break;
  }
  return job_->finished - job_->started;
}

TranscriptionService::TranscriptionService(std::shared_ptr<const Transcriber> transcriber,
                                           ServiceOptions options)
    : transcriber_(std::move(transcriber)), options_(options), core_(std::make_shared<Core>()) {
  if (transcriber_ == nullptr) throw std::invalid_argument("TranscriptionService: no transcriber");
  if (options_.workers < 1) {
    throw std::invalid_argument("TranscriptionService: workers must be at least 1, got " +
                                std::to_string(options_.workers));
  }
  workers_.reserve(static_cast<std::size_t>(options_.workers));
  for (int i = 0; i < options_.workers; ++i) {
    workers_.emplace_back([this](std::stop_token stop) { work(std::move(stop)); });
  }
}

TranscriptionService::~TranscriptionService() {
  std::deque<std::shared_ptr<Job>> abandoned;
  {
    std::lock_guard lock(core_->mutex);
    abandoned.swap(core_->queued);
    for (const auto& job : abandoned) job->drop_from_queue();
    for (const auto& job : core_->running) job->cancel.store(true);
  }
  for (const auto& job : abandoned) job->reject();
  // Stop them all before joining any, so idle ones exit while the first join waits.
  for (auto& worker : workers_) worker.request_stop();
  workers_.clear();
}

TranscriptionService::Request TranscriptionService::submit(std::vector<float> audio_16k,
                                                           TranscribeOptions options) {
  return *enqueue(std::move(audio_16k), std::move(options), false);
}

std::optional<TranscriptionService::Request> TranscriptionService::try_submit_speculative(
    std::vector<float> audio_16k, TranscribeOptions options) {
  return enqueue(std::move(audio_16k), std::move(options), true);
}

std::optional<TranscriptionService::Request> TranscriptionService::enqueue(
    std::vector<float> audio_16k, TranscribeOptions options, bool speculative) {
  auto job = std::make_shared<Job>(std::move(audio_16k), std::move(options));
  job->speculative = speculative;
  std::future<Transcript> result = job->promise.get_future();
  {
    std::lock_guard lock(core_->mutex);
    Core& core = *core_;
    const auto workers = static_cast<std::size_t>(options_.workers);
    const std::size_t all = core.queued.size() + core.running.size();
    if (speculative) {
      if (all >= workers) return std::nullopt;
      core.queued.push_back(job);
    } else {
      // Counted against workers + max_queued rather than the queue alone, so a
      // request that an idle worker has yet to take does not count as waiting
      // (max_queued 0 still lets requests through to idle workers); nor do
      // speculative requests, which give way.
      const std::size_t in_flight =
          all - count_speculative(core.queued) - count_speculative(core.running);
      if (in_flight >= workers && in_flight - workers >= options_.max_queued) {
        throw BusyError(in_flight - workers, options_.max_queued);
      }
      const auto first_speculative = std::find_if(core.queued.begin(), core.queued.end(),
                                                  [](const auto& j) { return j->speculative; });
      core.queued.insert(first_speculative, job);
      preempt_speculative(core);
    }
  }
  core_->work_ready.notify_one();
  return Request(core_, std::move(job), std::move(result));
}

void TranscriptionService::preempt_speculative(Core& core) const {
  const std::size_t ordinary_waiting = core.queued.size() - count_speculative(core.queued);
  // Workers free now or soon: idle ones and those already stopping.
  std::size_t freeing = static_cast<std::size_t>(options_.workers) - core.running.size();
  for (const auto& job : core.running) freeing += job->preempted ? 1 : 0;
  for (const auto& job : core.running) {
    if (ordinary_waiting <= freeing) return;
    if (job->speculative && !job->preempted) {
      job->preempted = true;
      job->cancel.store(true);
      ++freeing;
    }
  }
}

std::size_t TranscriptionService::queued() const {
  std::lock_guard lock(core_->mutex);
  return core_->queued.size();
}

std::size_t TranscriptionService::running() const {
  std::lock_guard lock(core_->mutex);
  return core_->running.size();
}

void TranscriptionService::work(std::stop_token stop) {
  Core& core = *core_;
  for (;;) {
    std::shared_ptr<Job> job;
    {
      std::unique_lock lock(core.mutex);
      // The destructor empties the queue before it asks the workers to stop,
      // so a stopping worker leaves no request behind.
      if (!core.work_ready.wait(lock, stop, [&] { return !core.queued.empty(); })) return;
      job = std::move(core.queued.front());
      core.queued.pop_front();
      core.running.push_back(job);
      job->state = State::running;
      job->started = Clock::now();
    }

    std::optional<Transcript> transcript;
    std::exception_ptr error;
    try {
      transcript = transcribe(*job);
    } catch (...) {
      error = std::current_exception();
    }

    {
      std::lock_guard lock(core.mutex);
      std::erase(core.running, job);
      job->state = State::done;
      job->finished = Clock::now();
      job->audio = {};
    }
    // Set last, so that a caller woken by the future sees the request done.
    if (error) {
      job->promise.set_exception(error);
    } else {
      job->promise.set_value(std::move(*transcript));
    }
  }
}

Transcript TranscriptionService::transcribe(Job& job) const {
  const TranscribeOptions& caller = job.options;
  if (caller.cancel != nullptr && caller.cancel->load()) throw Cancelled();

  // The transcriber polls a single flag, the service's; the caller's flag is
  // a const one the service cannot merge into it, so it is forwarded at each
  // progress report (which transcribers make between the same steps at which
  // they poll).
  TranscribeOptions options = caller;
  options.cancel = &job.cancel;
  options.on_progress = [&job](double fraction) {
    job.progress.store(fraction);
    if (job.options.on_progress) job.options.on_progress(fraction);
    if (job.options.cancel != nullptr && job.options.cancel->load()) job.cancel.store(true);
  };
  Transcript transcript = transcriber_->transcribe(job.audio, options);
  job.progress.store(1.0);
  return transcript;
}

}  // namespace voicedesk::stt
