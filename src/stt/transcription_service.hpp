#pragma once

#include <chrono>
#include <cstddef>
#include <future>
#include <memory>
#include <optional>
#include <stop_token>
#include <thread>
#include <vector>

#include "stt/transcriber.hpp"

namespace voicedesk::stt {

struct ServiceOptions {
  int workers = 1;  // transcriptions run at once; each is one thread
  // Requests that may wait for a worker. Beyond that submit() refuses at once,
  // so a burst of callers learns the service is overloaded instead of piling up
  // minutes of audio behind a single model.
  std::size_t max_queued = 8;
};

// submit() found max_queued requests already waiting.
class BusyError : public TranscribeError {
 public:
  BusyError(std::size_t queued, std::size_t limit);
  std::size_t queued() const { return queued_; }
  std::size_t limit() const { return limit_; }

 private:
  std::size_t queued_;
  std::size_t limit_;
};

// Serves one shared, already loaded Transcriber to callers on many threads
// (WebRTC sessions, MCP tool calls) through a bounded FIFO queue and a fixed
// pool of workers, so the model is loaded once and the number of concurrent
// transcriptions (CPU and memory) stays bounded.
class TranscriptionService {
  struct Core;
  struct Job;

 public:
  // One submitted request. Owning it is not needed for the request to run:
  // dropping the handle leaves the request queued or running as before (its
  // result is then discarded). Copying is disabled because the result can be
  // taken only once; a moved-from Request may only be assigned or destroyed.
  class Request {
   public:
    enum class State { queued, running, done };

    Request(Request&&) noexcept = default;
    Request& operator=(Request&&) noexcept = default;
    Request(const Request&) = delete;
    Request& operator=(const Request&) = delete;
    ~Request() = default;

    // Ready once the request is done: the transcript, or the transcriber's
    // exception, or Cancelled. queued(), running() and state() already reflect
    // the request's end when the future becomes ready.
    std::future<Transcript>& result() { return result_; }
    // Waits for result() and returns or rethrows it; at most once.
    Transcript get() { return result_.get(); }

    // Queued: removed from the queue, and result() throws Cancelled before
    // this returns; the transcriber never sees it. Running: sets the flag the
    // transcriber polls between steps (it then throws Cancelled, or returns
    // its transcript if it was already finishing). Done: nothing.
    void cancel();
    // Makes a speculative request (try_submit_speculative) an ordinary one,
    // which is never preempted. False when it was preempted already: its
    // result is then Cancelled (or a transcript it was finishing anyway) and
    // the work has to be submitted again. True for an ordinary request.
    bool confirm();

    State state() const;
    // Fraction done, 0..1, as last reported by the transcriber; 1 once it
    // succeeded.
    double progress() const;
    // 1 for the next request to run, 2 for the one after it...; 0 when
    // running or done.
    std::size_t queue_position() const;
    // When submit() queued it; with time_queued() and time_running(), when it
    // started and finished.
    std::chrono::steady_clock::time_point submitted_at() const;
    // Time spent waiting for a worker and transcribing; they keep growing
    // while the request is in that state. A request cancelled in the queue
    // never runs.
    std::chrono::steady_clock::duration time_queued() const;
    std::chrono::steady_clock::duration time_running() const;

   private:
    friend class TranscriptionService;
    Request(std::shared_ptr<Core> core, std::shared_ptr<Job> job, std::future<Transcript> result);

    // The core (not the service) so that cancel() and queue_position() stay
    // safe on a handle that outlives the service.
    std::shared_ptr<Core> core_;
    std::shared_ptr<Job> job_;
    std::future<Transcript> result_;
  };

  // Throws std::invalid_argument for a null transcriber or workers < 1.
  TranscriptionService(std::shared_ptr<const Transcriber> transcriber, ServiceOptions options);
  // Queued requests are cancelled (their futures throw Cancelled) and running
  // ones are asked to cancel, then the workers are joined: shutdown takes as
  // long as the transcriber needs to notice its cancel flag, not as long as
  // the audio. Must not run concurrently with submit().
  ~TranscriptionService();

  TranscriptionService(const TranscriptionService&) = delete;
  TranscriptionService& operator=(const TranscriptionService&) = delete;

  // Queues audio_16k for transcription and returns at once. The caller's
  // options.on_progress is called (from a worker thread) with each progress
  // report; options.cancel is checked before the request starts and at each
  // progress report, while Request::cancel() reaches the transcriber directly.
  // Throws BusyError when max_queued requests are already waiting (requests
  // about to be taken by an idle worker do not count as waiting).
  // Ordinary requests go ahead of queued speculative ones, and one that
  // finds no idle worker preempts (cancels) a running speculative request.
  Request submit(std::vector<float> audio_16k, TranscribeOptions options = {});
  // Speculative work (an utterance that may still grow): queued only when a
  // worker is idle now (nullopt otherwise), never counted as waiting by
  // submit(), and preempted by any ordinary request that would otherwise wait
  // for a worker, until Request::confirm(). So speculation only ever uses
  // idle workers; an ordinary request waits at most until the transcriber
  // notices the cancel flag (pocketsphinx: its final passes, which cannot be
  // interrupted).
  std::optional<Request> try_submit_speculative(std::vector<float> audio_16k,
                                                TranscribeOptions options = {});

  std::size_t queued() const;   // waiting for a worker
  std::size_t running() const;  // being transcribed
  const Transcriber& transcriber() const { return *transcriber_; }
  const ServiceOptions& options() const { return options_; }

 private:
  std::optional<Request> enqueue(std::vector<float> audio_16k, TranscribeOptions options,
                                 bool speculative);
  // Asks running speculative requests to stop while ordinary ones wait that
  // the idle (or already stopping) workers will not take. Core::mutex held.
  void preempt_speculative(Core& core) const;
  void work(std::stop_token stop);
  Transcript transcribe(Job& job) const;

  std::shared_ptr<const Transcriber> transcriber_;
  ServiceOptions options_;
  std::shared_ptr<Core> core_;
  // Last, so the workers are joined before anything they use is destroyed,
  // also when the constructor fails part way through starting them.
  std::vector<std::jthread> workers_;
};

}  // namespace voicedesk::stt
