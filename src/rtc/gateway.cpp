#include "rtc/gateway.hpp"

#include <fmt/format.h>
#include <gst/app/gstappsink.h>
#include <gst/app/gstappsrc.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <deque>
#include <functional>
#include <future>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <span>
#include <stop_token>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "audio/barge_in.hpp"
#include "rtc/gst_ptr.hpp"
#include "util/text.hpp"

// The webrtc library's API is marked unstable by GStreamer; this define is
// how its headers are opted into.
#define GST_USE_UNSTABLE_API
#include <gst/webrtc/webrtc.h>

namespace voicedesk::rtc {
namespace {

using Clock = std::chrono::steady_clock;
using nlohmann::json;
using Code = GatewayError::Code;

constexpr const char* kChannelLabel = "transcript";
// How often the watchdog looks for silent peers and forgotten sessions.
constexpr guint kWatchdogIntervalMs = 250;
// How often a waiting transcript looks for a stop request; the result itself
// is delivered as soon as it is ready.
constexpr auto kStopPoll = std::chrono::milliseconds(20);
// Arrival times kept for the endpoint latency: more than 10 s of 20 ms Opus
// frames, far more than any endpointing delay.
constexpr std::size_t kMaxArrivals = 512;

// Decoded audio as the front end wants it (48 kHz mono int16).
constexpr const char* kAudioBranch =
    "queue ! rtpopusdepay ! opusdec ! audioconvert ! audioresample ! "
    "audio/x-raw,format=S16LE,rate=48000,channels=1,layout=interleaved ! "
    "appsink name=audio sync=false";

// Spoken replies, from the synthesizer's PCM to the browser: {0} the
// synthesizer's rate, {1} the offer's Opus payload type. The caps after the
// payloader let webrtcbin answer with the track before any audio flowed.
constexpr const char* kSpeechBranch =
    "appsrc name=speech is-live=true do-timestamp=true format=time "
    "caps=audio/x-raw,format=S16LE,rate={0},channels=1,layout=interleaved ! "
    "audioconvert ! audioresample ! opusenc ! rtpopuspay pt={1} ! "
    "capsfilter caps=\"application/x-rtp,media=audio,encoding-name=OPUS,payload={1},"
    "clock-rate=48000\"";
// Speech goes out in frames of this length, at real-time pace.
constexpr auto kSpeechFrame = std::chrono::milliseconds(20);

struct SessionDescriptionDeleter {
  void operator()(GstWebRTCSessionDescription* description) const {
    gst_webrtc_session_description_free(description);
  }
};
using SessionDescriptionPtr =
    std::unique_ptr<GstWebRTCSessionDescription, SessionDescriptionDeleter>;

// A GstBuffer mapped for reading for the lifetime of this object.
class MappedBuffer {
 public:
  explicit MappedBuffer(GstBuffer* buffer) : buffer_(buffer) {
    mapped_ = buffer_ != nullptr && gst_buffer_map(buffer_, &info_, GST_MAP_READ);
  }
  ~MappedBuffer() {
    if (mapped_) gst_buffer_unmap(buffer_, &info_);
  }
  MappedBuffer(const MappedBuffer&) = delete;
  MappedBuffer& operator=(const MappedBuffer&) = delete;

  std::span<const std::int16_t> samples() const {
    if (!mapped_) return {};
    return {reinterpret_cast<const std::int16_t*>(info_.data), info_.size / sizeof(std::int16_t)};
  }

 private:
  GstBuffer* buffer_;
  GstMapInfo info_{};
  bool mapped_ = false;
};

double milliseconds(Clock::duration duration) {
  const double ms = std::chrono::duration<double, std::milli>(duration).count();
  return std::round(ms * 10) / 10;
}

json status_event(std::string_view state) {
  return {{"type", "status"}, {"state", state}};
}
json vad_event(bool speaking) {
  return {{"type", "vad"}, {"speaking", speaking}};
}
json error_event(std::string_view message) {
  return {{"type", "error"}, {"message", message}};
}

std::string random_id() {
  // std::random_device reads the kernel's CSPRNG on Linux: ids are not guessable.
  std::random_device device;
  std::string id;
  for (int word = 0; word < 4; ++word) id += fmt::format("{:08x}", device());
  return id;
}

// Runs a webrtcbin action that answers through a promise and returns the
// reply (owned by the promise). Only from threads that are not webrtcbin's
// own: waiting inside one of its callbacks would deadlock it.
template <typename... Args>
GstPromisePtr call_with_promise(GstElement* webrtc, const char* action, Args... args) {
  GstPromisePtr promise(gst_promise_new());
  g_signal_emit_by_name(webrtc, action, args..., promise.get());
  if (gst_promise_wait(promise.get()) != GST_PROMISE_RESULT_REPLIED) {
    throw GatewayError(Code::internal, fmt::format("webrtcbin {}: no reply", action));
  }
  return promise;
}

// The error webrtcbin put in a promise's reply, if any.
std::optional<std::string> reply_error(GstPromise* promise) {
  const GstStructure* reply = gst_promise_get_reply(promise);
  if (reply == nullptr || !gst_structure_has_field(reply, "error")) return std::nullopt;
  GError* raw = nullptr;
  gst_structure_get(reply, "error", G_TYPE_ERROR, &raw, nullptr);
  const GErrorPtr error(raw);
  return error ? error->message : "unknown error";
}

// Parses the offer and checks what webrtcbin would accept silently but the
// gateway cannot work without: the browser's audio.
GstSdpMessagePtr parse_offer(const std::string& text) {
  GstSDPMessage* raw = nullptr;
  gst_sdp_message_new(&raw);
  GstSdpMessagePtr sdp(raw);
  if (gst_sdp_message_parse_buffer(reinterpret_cast<const guint8*>(text.data()),
                                   static_cast<guint>(text.size()), sdp.get()) != GST_SDP_OK) {
    throw GatewayError(Code::bad_offer, "the offer is not SDP");
  }
  bool audio = false;
  for (guint i = 0; i < gst_sdp_message_medias_len(sdp.get()); ++i) {
    const GstSDPMedia* media = gst_sdp_message_get_media(sdp.get(), i);
    const char* kind = gst_sdp_media_get_media(media);
    audio = audio || (kind != nullptr && std::string_view(kind) == "audio");
  }
  if (!audio) throw GatewayError(Code::bad_offer, "the offer has no audio m-line");
  return sdp;
}

// The payload type the offer gives Opus ("a=rtpmap:111 opus/48000/2"), which
// the answer's track must use; none when the offer has no Opus audio.
std::optional<int> opus_payload_type(const GstSDPMessage* sdp) {
  for (guint i = 0; i < gst_sdp_message_medias_len(sdp); ++i) {
    const GstSDPMedia* media = gst_sdp_message_get_media(sdp, i);
    const char* kind = gst_sdp_media_get_media(media);
    if (kind == nullptr || std::string_view(kind) != "audio") continue;
    for (guint a = 0; a < gst_sdp_media_attributes_len(media); ++a) {
      const GstSDPAttribute* attribute = gst_sdp_media_get_attribute(media, a);
      if (attribute->key == nullptr || std::string_view(attribute->key) != "rtpmap" ||
          attribute->value == nullptr) {
        continue;
      }
      int payload = -1;
      char encoding[16] = {};
      if (std::sscanf(attribute->value, "%d %15[^/]", &payload, encoding) == 2 &&
          g_ascii_strcasecmp(encoding, "opus") == 0 && payload >= 0 && payload < 128) {
        return payload;
      }
    }
  }
  return std::nullopt;
}

// The STUN/TURN servers as webrtcbin takes them, host names resolved (libnice
// takes addresses only). They carry the TURN passwords: never logged.
struct IceUris {
  std::string stun;
  std::vector<std::string> turn;
};

IceUris webrtcbin_ice_uris(const std::vector<IceServer>& servers) {
  IceUris uris;
  for (const IceServer& server : servers) {
    std::string address;
    try {
      address = resolve_ice_host(server.host);
    } catch (const IceServerError& error) {
      throw GatewayError(Code::internal, fmt::format("ICE server: {}", error.what()));
    }
    if (server.kind != IceServer::Kind::stun) {
      uris.turn.push_back(server.webrtcbin_uri(address));
    } else if (uris.stun.empty()) {
      uris.stun = server.webrtcbin_uri(address);
    } else {
      throw GatewayError(Code::internal, "webrtcbin takes one STUN server, not several");
    }
  }
  return uris;
}

// Which candidates ICE has gathered so far, from on-ice-candidate's
// "candidate:1 1 UDP 2015363327 127.0.0.1 40211 typ host".
struct GatheredCandidates {
  std::size_t udp_hosts = 0;
  bool server_reflexive = false;
  bool relayed = false;
  bool complete = false;

  void add(std::string_view candidate) {
    if (candidate.find(" UDP ") == std::string_view::npos &&
        candidate.find(" udp ") == std::string_view::npos) {
      return;
    }
    if (candidate.find(" typ host") != std::string_view::npos) ++udp_hosts;
    server_reflexive = server_reflexive || candidate.find(" typ srflx") != std::string_view::npos;
    relayed = relayed || candidate.find(" typ relay") != std::string_view::npos;
  }
};

}  // namespace

class Session;

// A session's spoken replies. One thread synthesizes the queued texts into a
// queue of PCM (espeak-ng runs well ahead of real time); another feeds that
// queue to the track's appsrc in 20 ms buffers at real-time pace. Because
// only one frame at a time is ever inside the pipeline, dropping the queues
// (stop()) silences the browser within a frame or two plus the network and
// its jitter buffer. Between replies nothing is sent: the RTP timestamps
// jump over the pause, which receivers play as silence, and an idle session
// costs no encoding. Thread-safe.
class SpeechTrack {
 public:
  // When a reply's first frame goes out (with the time since the speak() that
  // began it, synthesis and pacing included) and when the track falls silent
  // again (the reply ended or was stopped). Called on the feeder thread.
  struct Listener {
    std::function<void(double since_speak_ms)> started;
    std::function<void()> ended;
  };

  SpeechTrack(const audio::SpeechSynthesizer& synthesizer, GstElement* source, Listener listener)
      : synthesizer_(synthesizer),
        source_(GST_ELEMENT(gst_object_ref(source))),
        listener_(std::move(listener)),
        frame_samples_(static_cast<std::size_t>(synthesizer.sample_rate()) * kSpeechFrame.count() /
                       1000),
        synthesis_thread_([this](std::stop_token stop) { synthesize_texts(stop); }),
        feeder_thread_([this](std::stop_token stop) { feed(stop); }) {}
  SpeechTrack(const SpeechTrack&) = delete;
  SpeechTrack& operator=(const SpeechTrack&) = delete;

  void speak(std::string text) {
    {
      std::lock_guard lock(mutex_);
      texts_.push_back(std::move(text));
      if (!requested_at_) requested_at_ = Clock::now();
    }
    changed_.notify_all();
  }

  void stop() {
    {
      std::lock_guard lock(mutex_);
      ++generation_;
      texts_.clear();
      pcm_.clear();
      synthesizing_ = false;
      requested_at_.reset();
    }
    changed_.notify_all();
  }

  bool speaking() const {
    std::lock_guard lock(mutex_);
    return !texts_.empty() || synthesizing_ || !pcm_.empty();
  }

 private:
  void synthesize_texts(std::stop_token stop) {
    for (;;) {
      std::string text;
      std::uint64_t generation = 0;
      {
        std::unique_lock lock(mutex_);
        if (!changed_.wait(lock, stop, [&] { return !texts_.empty(); })) return;
        text = std::move(texts_.front());
        texts_.pop_front();
        synthesizing_ = true;
        generation = generation_;
      }
      try {
        synthesizer_.synthesize(text, [&](std::span<const std::int16_t> chunk) {
          {
            std::lock_guard lock(mutex_);
            // Stopped (barge-in) or closing: espeak-ng abandons the text.
            if (stop.stop_requested() || generation != generation_) return false;
            pcm_.insert(pcm_.end(), chunk.begin(), chunk.end());
          }
          changed_.notify_all();
          return true;
        });
      } catch (const std::exception& error) {
        spdlog::error("rtc: speech synthesis failed: {}", error.what());
      }
      {
        std::lock_guard lock(mutex_);
        if (generation == generation_) synthesizing_ = false;
      }
      changed_.notify_all();
    }
  }

  void feed(std::stop_token stop) {
    std::vector<std::int16_t> frame(frame_samples_);
    auto next = Clock::now();
    bool sending = false;
    for (;;) {
      std::optional<double> started_after_ms;
      {
        std::unique_lock lock(mutex_);
        if (pcm_.empty()) {
          if (sending && texts_.empty() && !synthesizing_) {
            sending = false;
            lock.unlock();
            if (listener_.ended) listener_.ended();
            lock.lock();
          }
          if (!changed_.wait(lock, stop, [&] { return !pcm_.empty(); })) return;
          next = Clock::now();  // a new reply: real time starts over
          if (!sending) {
            sending = true;
            started_after_ms =
                std::chrono::duration<double, std::milli>(next - requested_at_.value_or(next))
                    .count();
            requested_at_.reset();
          }
        }
        // Synthesis falling behind (it never should) pads with silence.
        const std::size_t available = std::min(frame.size(), pcm_.size());
        std::copy_n(pcm_.begin(), available, frame.begin());
        std::fill(frame.begin() + static_cast<std::ptrdiff_t>(available), frame.end(), 0);
        pcm_.erase(pcm_.begin(), pcm_.begin() + static_cast<std::ptrdiff_t>(available));
      }
      GstBuffer* buffer = gst_buffer_new_memdup(frame.data(), frame.size() * sizeof(std::int16_t));
      // Takes the buffer; refused only while the pipeline stops.
      gst_app_src_push_buffer(GST_APP_SRC(source_.get()), buffer);
      if (started_after_ms && listener_.started) listener_.started(*started_after_ms);
      next += kSpeechFrame;
      std::this_thread::sleep_until(next);
    }
  }

  const audio::SpeechSynthesizer& synthesizer_;
  const GstPtr<GstElement> source_;
  const Listener listener_;
  const std::size_t frame_samples_;

  mutable std::mutex mutex_;
  std::condition_variable_any changed_;
  std::deque<std::string> texts_;
  std::deque<std::int16_t> pcm_;
  bool synthesizing_ = false;
  std::optional<Clock::time_point> requested_at_;  // the speak() the next reply answers
  // Bumped by stop(): a synthesis started in an older generation is dropped.
  std::uint64_t generation_ = 0;

  // Last: joined before the members they use go away.
  std::jthread synthesis_thread_;
  std::jthread feeder_thread_;
};

// Everything a Gateway holds. Sessions refer to it under this name because
// Gateway::Impl is private to Gateway.
struct GatewayCore {
  GatewayCore(stt::TranscriptionService& service, GatewayOptions gateway_options, IceUris uris,
              audio::SpeechSynthesizer speech_synthesizer);

  // Runs task on the main loop thread.
  void post(std::function<void()> task);
  // Runs task on the main loop thread and waits for it; never from that thread.
  void run_sync(std::function<void()> task);
  // Removes the session and tears it down on the main loop; false when the
  // id is unknown (or already closed).
  bool close(const std::string& id, std::string_view reason);
  std::shared_ptr<Session> find(const std::string& id) const;
  void watchdog();
  void shutdown();

  stt::TranscriptionService& transcription;
  const GatewayOptions options;
  const IceUris ice_uris;
  const audio::SpeechSynthesizer synthesizer;
  std::atomic<std::size_t> live_sessions{0};

  // A private context, so the gateway's sources never run on (or wait for)
  // whatever loop the embedding program or another library runs.
  GMainContextPtr context{g_main_context_new()};
  GMainLoopPtr loop{g_main_loop_new(context.get(), FALSE)};
  GSourcePtr watchdog_source;

  mutable std::mutex mutex;
  std::map<std::string, std::shared_ptr<Session>> sessions;
  bool shutting_down = false;

  // Last: started once everything it uses exists.
  std::thread loop_thread;
};

// Waits for a session's transcriptions in submission order on its own
// thread and hands each finished one to `deliver`, so that neither
// GStreamer's streaming threads nor the main loop ever block on speech-to-text.
class PendingTranscripts {
 public:
  struct Item {
    int id = 0;
    stt::TranscriptionService::Request request;
    double start = 0;
    double end = 0;
    Clock::time_point speech_end_at;  // when the last speech sample arrived
    Clock::time_point detected_at;    // when the endpointer ended the utterance
    // Submitted before the endpoint: the speculative transcription of the
    // tentative utterance.
    bool speculative = false;
  };

  explicit PendingTranscripts(std::function<void(Item&)> deliver)
      : deliver_(std::move(deliver)), thread_([this](std::stop_token stop) { run(stop); }) {}
  ~PendingTranscripts() { stop(); }
  PendingTranscripts(const PendingTranscripts&) = delete;
  PendingTranscripts& operator=(const PendingTranscripts&) = delete;

  void push(Item item) {
    {
      std::lock_guard lock(mutex_);
      if (!stopped_) {
        items_.push_back(std::move(item));
        changed_.notify_one();
        return;
      }
    }
    item.request.cancel();
  }

  // Joins the thread and cancels what was not delivered, so a closed session
  // does not keep the shared service busy.
  void stop() {
    thread_.request_stop();
    if (thread_.joinable()) thread_.join();
    std::lock_guard lock(mutex_);
    stopped_ = true;
    for (Item& item : items_) item.request.cancel();
    items_.clear();
  }

 private:
  void run(std::stop_token stop) {
    for (;;) {
      std::optional<Item> item;
      {
        std::unique_lock lock(mutex_);
        if (!changed_.wait(lock, stop, [&] { return !items_.empty(); })) return;
        item.emplace(std::move(items_.front()));
        items_.pop_front();
      }
      while (item->request.result().wait_for(kStopPoll) != std::future_status::ready) {
        if (stop.stop_requested()) {
          item->request.cancel();
          return;
        }
      }
      deliver_(*item);
    }
  }

  std::function<void(Item&)> deliver_;
  std::mutex mutex_;
  std::condition_variable_any changed_;
  std::deque<Item> items_;
  bool stopped_ = false;
  std::jthread thread_;  // last: joined before the members it uses go away
};

// One browser peer: its webrtcbin pipeline, audio front end and pending
// transcriptions. GStreamer calls back on its own threads with a raw pointer
// to the session; teardown() (main loop) stops every such thread before the
// session can be destroyed.
class Session {
 public:
  Session(GatewayCore& gateway, std::string session_id)
      : id(std::move(session_id)),
        gateway_(gateway),
        created_at_(Clock::now()),
        front_end_(gateway.options.front_end, front_end_handlers()),
        barge_in_detector_(gateway.options.barge_in_ms),
        transcripts_([this](PendingTranscripts::Item& item) { deliver(item); }) {
    ++gateway_.live_sessions;
  }
  ~Session() {
    teardown();
    --gateway_.live_sessions;
  }
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  std::string answer(const std::string& offer_text);
  // Stops everything the session started; main loop thread (or the gateway's
  // destructor once the loop has stopped). Idempotent.
  void teardown();
  // Whether the watchdog should end the session now.
  bool expired(Clock::time_point now) const;
  void speak(std::string_view text);
  void stop_speaking();
  bool speaking() const;
  // Negotiation failed part way: nothing built is worth keeping.
  bool failed() const {
    std::lock_guard lock(mutex_);
    return state_ == State::failed;
  }

  const std::string id;

  // Sends event on the DataChannel when it is open; dropped otherwise.
  void send(const json& event);

 private:
  enum class State { waiting_offer, negotiating, active, failed, closed };

  audio::FrontEndHandlers front_end_handlers();
  // Stops a spoken reply because the user started to speak (when barge-in is on).
  void barge_in(std::string_view signal);
  GstElement* build_pipeline(std::optional<int> opus_payload);
  // The outgoing speech track, linked to webrtcbin before the offer is
  // applied so that webrtcbin pairs it with the offer's audio m-line.
  void add_speech_track(GstElement* webrtc, int payload);
  void configure_ice(GstElement* webrtc);
  // Waits until the answer can go out: a UDP host candidate on each ICE
  // address (every interface: the end of gathering) and, with STUN/TURN
  // servers, their candidates; at most server_candidate_timeout after the
  // first UDP candidate.
  void wait_for_candidates();
  // answer() once the offer parsed: builds the pipeline and negotiates.
  std::string negotiate(GstSdpMessagePtr sdp);
  void deliver(PendingTranscripts::Item& item);
  void on_utterance(audio::Utterance&& utterance);
  // Starts transcribing a tentative utterance now, on an idle worker only.
  void speculate(audio::Utterance&& tentative);
  void drop_speculation();
  Clock::time_point arrival_of(std::int64_t position) const;
  void close_soon(std::string_view reason) { gateway_.close(id, reason); }

  // GStreamer callbacks.
  static void on_ice_candidate(GstElement*, guint, gchar* candidate, gpointer self);
  static void on_gathering_state(GstElement* webrtc, GParamSpec*, gpointer self);
  static void on_pad_added(GstElement*, GstPad* pad, gpointer self);
  static void on_data_channel(GstElement*, GObject* channel, gpointer self);
  static void on_channel_open(GObject*, gpointer self);
  static void on_channel_close(GObject*, gpointer self);
  static void on_channel_message(GObject*, gchar* message, gpointer self);
  static GstFlowReturn on_audio_sample(GstAppSink* sink, gpointer self);
  static gboolean on_bus_message(GstBus*, GstMessage* message, gpointer self);

  GatewayCore& gateway_;
  const Clock::time_point created_at_;

  // Held by answer() for its whole run and by teardown(), so a session is
  // never torn down half negotiated.
  std::mutex lifecycle_;
  GstPtr<GstElement> pipeline_;
  GstElement* webrtc_ = nullptr;  // owned by pipeline_
  GSourcePtr bus_watch_;

  mutable std::mutex mutex_;  // guards what follows
  std::condition_variable candidates_changed_;
  State state_ = State::waiting_offer;
  GatheredCandidates candidates_;
  GObjectPtr<GObject> channel_;
  Clock::time_point last_audio_;
  std::unique_ptr<SpeechTrack> speech_;  // once negotiating, when the offer has Opus

  std::atomic<bool> connected_sent_{false};

  // Streaming thread only (the appsink's): the front end and its bookkeeping.
  audio::AudioFrontEnd front_end_;
  audio::BargeInDetector barge_in_detector_;
  std::deque<std::pair<std::int64_t, Clock::time_point>> arrivals_;  // end position, wall time
  int next_transcript_id_ = 1;
  // The transcription of the tentative utterance, until the endpoint decides
  // (streaming thread; teardown() once the streaming threads stopped).
  std::optional<stt::TranscriptionService::Request> speculation_;

  PendingTranscripts transcripts_;
};

audio::FrontEndHandlers Session::front_end_handlers() {
  audio::FrontEndHandlers handlers;
  if (gateway_.options.barge_in) {
    // The first few frames of voice stop a reply long before the endpointer
    // decides that an utterance began; the utterance itself is endpointed
    // and transcribed as usual.
    handlers.on_vad_frame = [this](const audio::VadFrame& frame) {
      if (barge_in_detector_.push(frame.active)) barge_in("voice activity");
    };
  }
  handlers.on_speech_started = [this](const audio::SpeechStarted&) {
    barge_in("speech onset");
    send(vad_event(true));
  };
  handlers.on_speech_discarded = [this](const audio::SpeechStarted&) { send(vad_event(false)); };
  handlers.on_utterance = [this](audio::Utterance&& utterance) {
    on_utterance(std::move(utterance));
  };
  handlers.on_tentative_utterance = [this](audio::Utterance&& tentative) {
    speculate(std::move(tentative));
  };
  handlers.on_tentative_withdrawn = [this] {
    spdlog::debug("rtc session {}: speech resumed, speculative transcription dropped", id);
    drop_speculation();
  };
  return handlers;
}

void Session::barge_in(std::string_view signal) {
  if (!gateway_.options.barge_in || !speaking()) return;
  spdlog::info("rtc session {}: barge-in on {}", id, signal);
  stop_speaking();
}

GstElement* Session::build_pipeline(std::optional<int> opus_payload) {
  pipeline_.reset(GST_ELEMENT(gst_object_ref_sink(gst_pipeline_new(nullptr))));
  // Built element by element: gst_parse_launch of a lone webrtcbin returns
  // the webrtcbin itself (it is a bin), not a pipeline holding it.
  GstElement* webrtc = gst_element_factory_make("webrtcbin", nullptr);
  if (webrtc == nullptr || !gst_bin_add(GST_BIN(pipeline_.get()), webrtc)) {
    throw GatewayError(Code::internal, "cannot create webrtcbin");
  }
  g_object_set(webrtc, "bundle-policy", GST_WEBRTC_BUNDLE_POLICY_MAX_BUNDLE, "latency",
               gateway_.options.jitter_latency_ms, nullptr);
  configure_ice(webrtc);
  if (opus_payload) add_speech_track(webrtc, *opus_payload);
  g_signal_connect(webrtc, "on-ice-candidate", G_CALLBACK(on_ice_candidate), this);
  g_signal_connect(webrtc, "notify::ice-gathering-state", G_CALLBACK(on_gathering_state), this);
  g_signal_connect(webrtc, "pad-added", G_CALLBACK(on_pad_added), this);
  g_signal_connect(webrtc, "on-data-channel", G_CALLBACK(on_data_channel), this);

  // On the gateway's context: gst_bus_add_watch would use the calling
  // thread's default context, which is not the gateway's loop here.
  const GstPtr<GstBus> bus(gst_pipeline_get_bus(GST_PIPELINE(pipeline_.get())));
  bus_watch_.reset(gst_bus_create_watch(bus.get()));
  g_source_set_callback(bus_watch_.get(), G_SOURCE_FUNC(on_bus_message), this, nullptr);
  g_source_attach(bus_watch_.get(), gateway_.context.get());

  if (gst_element_set_state(pipeline_.get(), GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE) {
    throw GatewayError(Code::internal, "cannot start the session pipeline");
  }
  return webrtc;
}

void Session::add_speech_track(GstElement* webrtc, int payload) {
  const std::string description =
      fmt::format(kSpeechBranch, gateway_.synthesizer.sample_rate(), payload);
  GError* raw_error = nullptr;
  GstElement* branch = gst_parse_bin_from_description(description.c_str(), TRUE, &raw_error);
  const GErrorPtr error(raw_error);
  if (branch == nullptr || !gst_bin_add(GST_BIN(pipeline_.get()), branch)) {
    throw GatewayError(Code::internal, fmt::format("cannot build the speech track: {}",
                                                   error ? error->message : "missing element"));
  }
  if (!gst_element_link(branch, webrtc)) {
    throw GatewayError(Code::internal, "cannot link the speech track to webrtcbin");
  }
  GstWebRTCRTPTransceiver* raw_transceiver = nullptr;
  g_signal_emit_by_name(webrtc, "get-transceiver", 0, &raw_transceiver);
  const GstPtr<GstWebRTCRTPTransceiver> transceiver(raw_transceiver);
  if (!transceiver) throw GatewayError(Code::internal, "webrtcbin made no transceiver");
  // Send and receive on the browser's one audio m-line.
  g_object_set(transceiver.get(), "direction", GST_WEBRTC_RTP_TRANSCEIVER_DIRECTION_SENDRECV,
               nullptr);
  const GstPtr<GstElement> source(gst_bin_get_by_name(GST_BIN(branch), "speech"));
  std::lock_guard lock(mutex_);
  // The browser hears when a reply starts and ends; the latency measurement
  // reads how long the first audio took.
  SpeechTrack::Listener listener;
  listener.started = [this](double since_speak_ms) {
    send({{"type", "speech"},
          {"state", "started"},
          {"since_speak_ms", since_speak_ms},
          {"sent_at_ms", milliseconds(std::chrono::system_clock::now().time_since_epoch())}});
  };
  listener.ended = [this] { send({{"type", "speech"}, {"state", "ended"}}); };
  speech_ = std::make_unique<SpeechTrack>(gateway_.synthesizer, source.get(), std::move(listener));
}

void Session::speak(std::string_view text) {
  if (text.size() > gateway_.options.max_speech_bytes) {
    throw GatewayError(Code::too_large,
                       fmt::format("the text exceeds {} bytes", gateway_.options.max_speech_bytes));
  }
  std::lock_guard lock(mutex_);
  if (state_ != State::active) throw GatewayError(Code::conflict, "the session is not connected");
  if (!speech_) throw GatewayError(Code::conflict, "the browser offered no Opus audio to speak on");
  speech_->speak(std::string(text));
}

void Session::stop_speaking() {
  std::lock_guard lock(mutex_);
  if (speech_) speech_->stop();
}

bool Session::speaking() const {
  std::lock_guard lock(mutex_);
  return speech_ && speech_->speaking();
}

void Session::configure_ice(GstElement* webrtc) {
  const GatewayOptions& options = gateway_.options;
  GObject* raw_agent = nullptr;
  g_object_get(webrtc, "ice-agent", &raw_agent, nullptr);
  const GObjectPtr<GObject> agent(raw_agent);
  for (const std::string& address : options.ice_addresses) {
    gboolean added = FALSE;
    g_signal_emit_by_name(agent.get(), "add-local-ip-address", address.c_str(), &added);
    if (!added) throw GatewayError(Code::internal, "ICE refused address " + address);
  }
  if (options.min_ice_port != 0 || options.max_ice_port != 0) {
    // In this order: each property refuses a value beyond the other.
    g_object_set(agent.get(), "min-rtp-port", options.min_ice_port, "max-rtp-port",
                 options.max_ice_port != 0 ? options.max_ice_port : 65535u, nullptr);
  }
  const IceUris& uris = gateway_.ice_uris;
  if (!uris.stun.empty()) g_object_set(webrtc, "stun-server", uris.stun.c_str(), nullptr);
  for (const std::string& uri : uris.turn) {
    gboolean added = FALSE;
    g_signal_emit_by_name(webrtc, "add-turn-server", uri.c_str(), &added);
    // Not the URI in the message: it holds the password.
    if (!added) throw GatewayError(Code::internal, "webrtcbin refused a TURN server");
  }
}

std::string Session::answer(const std::string& offer_text) {
  std::lock_guard lifecycle(lifecycle_);
  {
    std::lock_guard lock(mutex_);
    if (state_ == State::closed) throw GatewayError(Code::not_found, "session closed");
    if (state_ != State::waiting_offer) {
      throw GatewayError(Code::conflict, "the session already has an offer");
    }
  }
  // Before anything is built, so a client can retry with a good offer.
  GstSdpMessagePtr sdp = parse_offer(offer_text);
  {
    std::lock_guard lock(mutex_);
    state_ = State::negotiating;
  }
  try {
    return negotiate(std::move(sdp));
  } catch (...) {
    std::lock_guard lock(mutex_);
    state_ = State::failed;
    throw;
  }
}

std::string Session::negotiate(GstSdpMessagePtr sdp) {
  webrtc_ = build_pipeline(opus_payload_type(sdp.get()));

  const SessionDescriptionPtr offer(
      gst_webrtc_session_description_new(GST_WEBRTC_SDP_TYPE_OFFER, sdp.release()));
  GstPromisePtr promise = call_with_promise(webrtc_, "set-remote-description", offer.get());
  if (auto error = reply_error(promise.get())) {
    throw GatewayError(Code::bad_offer, "webrtcbin refused the offer: " + *error);
  }
  promise = call_with_promise(webrtc_, "create-answer", static_cast<GstStructure*>(nullptr));
  const GstStructure* reply = gst_promise_get_reply(promise.get());
  GstWebRTCSessionDescription* raw_answer = nullptr;
  if (reply == nullptr || !gst_structure_get(reply, "answer", GST_TYPE_WEBRTC_SESSION_DESCRIPTION,
                                             &raw_answer, nullptr)) {
    throw GatewayError(Code::bad_offer, "webrtcbin could not answer the offer: " +
                                            reply_error(promise.get()).value_or("no answer"));
  }
  const SessionDescriptionPtr answer(raw_answer);
  promise = call_with_promise(webrtc_, "set-local-description", answer.get());
  if (auto error = reply_error(promise.get())) {
    throw GatewayError(Code::internal, "webrtcbin refused its own answer: " + *error);
  }

  wait_for_candidates();
  GstWebRTCSessionDescription* raw_local = nullptr;
  g_object_get(webrtc_, "local-description", &raw_local, nullptr);
  const SessionDescriptionPtr local(raw_local);
  if (!local) throw GatewayError(Code::internal, "webrtcbin has no local description");
  const GCharPtr text(gst_sdp_message_as_text(local->sdp));
  {
    std::lock_guard lock(mutex_);
    state_ = State::active;
    last_audio_ = Clock::now();
  }
  return text.get();
}

void Session::wait_for_candidates() {
  // Non-trickle: the answer carries the candidates that exist when it is
  // read, and each is in local-description as soon as it is announced.
  // Waiting for gathering to complete would cost a constant ~200 ms more.
  std::unique_lock lock(mutex_);
  if (!candidates_changed_.wait_for(lock, gateway_.options.gather_timeout,
                                    [&] { return candidates_.udp_hosts > 0; })) {
    throw GatewayError(Code::internal, "ICE found no UDP candidate");
  }
  // One UDP host candidate per configured address: the browser may reach
  // only some of them. Without a list (every interface) their number is
  // unknown, so the end of gathering decides.
  const std::vector<std::string>& addresses = gateway_.options.ice_addresses;
  // A peer behind NAT reaches the server only through these. libnice drops a
  // server-reflexive candidate equal to a host one (no NAT in between), so
  // the end of gathering counts as well.
  const bool want_reflexive = !gateway_.ice_uris.stun.empty();
  const bool want_relayed = !gateway_.ice_uris.turn.empty();
  const auto ready = [&] {
    return candidates_.complete ||
           (!addresses.empty() && candidates_.udp_hosts >= addresses.size() &&
            (!want_reflexive || candidates_.server_reflexive) &&
            (!want_relayed || candidates_.relayed));
  };
  if (!candidates_changed_.wait_for(lock, gateway_.options.server_candidate_timeout, ready)) {
    spdlog::warn(
        "rtc session {}: ICE gathering unfinished after {} ms; answering with what it found: {} "
        "UDP host, {} server-reflexive, {} relayed candidate(s) (a STUN/TURN server unreachable "
        "from this host?)",
        id, gateway_.options.server_candidate_timeout.count(), candidates_.udp_hosts,
        candidates_.server_reflexive ? "some" : "no", candidates_.relayed ? "some" : "no");
  }
}

void Session::teardown() {
  std::lock_guard lifecycle(lifecycle_);
  {
    std::lock_guard lock(mutex_);
    state_ = State::closed;
  }
  // First, so nothing sends on the channel or pushes audio while the
  // pipeline stops.
  transcripts_.stop();
  std::unique_ptr<SpeechTrack> speech;
  {
    std::lock_guard lock(mutex_);
    speech = std::move(speech_);
  }
  speech.reset();
  if (pipeline_) {
    // Returns once every streaming thread has left our callbacks.
    gst_element_set_state(pipeline_.get(), GST_STATE_NULL);
    // None when building the pipeline failed.
    if (webrtc_ != nullptr) g_signal_handlers_disconnect_by_data(webrtc_, this);
  }
  // No streaming thread runs the front end any more.
  drop_speculation();
  GObjectPtr<GObject> channel;
  {
    std::lock_guard lock(mutex_);
    channel = std::move(channel_);
  }
  if (channel) g_signal_handlers_disconnect_by_data(channel.get(), this);
  // Destroying the watch drops its reference to the bus; a bus kept alive
  // by a forgotten watch leaks its two poll fds per session.
  bus_watch_.reset();
  webrtc_ = nullptr;
  pipeline_.reset();
}

bool Session::expired(Clock::time_point now) const {
  std::lock_guard lock(mutex_);
  switch (state_) {
    case State::waiting_offer:
      return now - created_at_ > gateway_.options.offer_timeout;
    case State::active:
      return now - last_audio_ > gateway_.options.peer_timeout;
    case State::failed:
      return true;
    case State::negotiating:
    case State::closed:
      return false;
  }
  return false;
}

void Session::send(const json& event) {
  GObjectPtr<GObject> channel;
  {
    std::lock_guard lock(mutex_);
    if (!channel_) return;
    channel.reset(G_OBJECT(g_object_ref(channel_.get())));
  }
  GstWebRTCDataChannelState ready = GST_WEBRTC_DATA_CHANNEL_STATE_CLOSED;
  g_object_get(channel.get(), "ready-state", &ready, nullptr);
  if (ready != GST_WEBRTC_DATA_CHANNEL_STATE_OPEN) return;
  g_signal_emit_by_name(channel.get(), "send-string", event.dump().c_str());
}

Clock::time_point Session::arrival_of(std::int64_t position) const {
  for (const auto& [end, time] : arrivals_) {
    if (end >= position) return time;
  }
  return arrivals_.empty() ? Clock::now() : arrivals_.back().second;
}

void Session::speculate(audio::Utterance&& tentative) {
  drop_speculation();  // the front end withdraws first; at most one per session anyway
  speculation_ = gateway_.transcription.try_submit_speculative(std::move(tentative.audio_16k));
  if (!speculation_) {
    spdlog::debug("rtc session {}: no idle speech-to-text worker, no speculative transcription",
                  id);
  }
}

void Session::drop_speculation() {
  if (!speculation_) return;
  speculation_->cancel();
  speculation_.reset();
}

void Session::on_utterance(audio::Utterance&& utterance) {
  send(vad_event(false));
  spdlog::debug("rtc session {}: utterance {:.2f}-{:.2f} s", id, utterance.start_seconds(),
                utterance.end_seconds());
  const auto pend = [&](stt::TranscriptionService::Request request, bool speculative) {
    transcripts_.push({.id = next_transcript_id_,
                       .request = std::move(request),
                       .start = utterance.start_seconds(),
                       .end = utterance.end_seconds(),
                       .speech_end_at = arrival_of(utterance.end),
                       .detected_at = utterance.detected_at,
                       .speculative = speculative});
    ++next_transcript_id_;
  };
  // The utterance is exactly the tentative one: its transcription, finished
  // or still running, is this one's (unless an ordinary request preempted it).
  std::optional<stt::TranscriptionService::Request> speculation =
      std::exchange(speculation_, std::nullopt);
  if (speculation && utterance.as_tentative && speculation->confirm()) {
    pend(std::move(*speculation), true);
    return;
  }
  if (speculation) speculation->cancel();
  try {
    pend(gateway_.transcription.submit(std::move(utterance.audio_16k)), false);
  } catch (const stt::BusyError& error) {
    spdlog::warn("rtc session {}: utterance dropped: {}", id, error.what());
    send(error_event(std::string("speech-to-text is busy: ") + error.what()));
  }
}

void Session::deliver(PendingTranscripts::Item& item) {
  try {
    const stt::Transcript transcript = item.request.get();
    const auto sent_at = Clock::now();
    const stt::Timings& timings = transcript.timings;
    const Clock::duration running = item.request.time_running();
    spdlog::info(
        "rtc session {}: transcript {} ({} chars, {:.2f}-{:.2f} s, stt {} ms{}: mel {:.1f}, encode "
        "{:.1f}, decode {:.1f})",
        id, item.id, transcript.text.size(), item.start, item.end, milliseconds(running),
        item.speculative ? ", speculative" : "", timings.mel_ms, timings.encode_ms,
        timings.decode_ms);
    json latency = {{"endpoint", milliseconds(item.detected_at - item.speech_end_at)},
                    {"queue", milliseconds(item.request.time_queued())},
                    {"stt", milliseconds(running)},
                    {"total", milliseconds(sent_at - item.speech_end_at)}};
    if (item.speculative) {
      // Started before the endpoint: queue and stt count only what was left
      // of them once the endpoint decided; stt_total is the whole run.
      const Clock::time_point started = item.request.submitted_at() + item.request.time_queued();
      const Clock::time_point after_endpoint = std::max(started, item.detected_at);
      latency["queue"] = milliseconds(std::max(started - item.detected_at, Clock::duration{}));
      latency["stt"] =
          milliseconds(std::max(started + running - after_endpoint, Clock::duration{}));
      latency["stt_total"] = milliseconds(running);
    }
    json event = {
        {"type", "transcript"},
        {"id", item.id},
        {"text", transcript.text},
        {"start", item.start},
        {"end", item.end},
        {"final", true},
        {"latency_ms", std::move(latency)},
        // The server's wall clock, so that a client on the same clock can tell how long
        // the event took to reach it (scripts/measure-latency).
        {"sent_at_ms", milliseconds(std::chrono::system_clock::now().time_since_epoch())}};
    if (item.speculative) event["speculative"] = true;
    send(event);
    const auto& hand_on = gateway_.options.on_user_input;
    if (hand_on && !transcript.text.empty())
      hand_on(id, {UserInput::Kind::speech, transcript.text});
  } catch (const stt::Cancelled&) {
    // The session is closing.
  } catch (const std::exception& error) {
    spdlog::warn("rtc session {}: transcription failed: {}", id, error.what());
    send(error_event(std::string("transcription failed: ") + error.what()));
  }
}

void Session::on_ice_candidate(GstElement*, guint, gchar* candidate, gpointer self) {
  auto* session = static_cast<Session*>(self);
  spdlog::debug("rtc session {}: local {}", session->id, candidate);
  {
    std::lock_guard lock(session->mutex_);
    session->candidates_.add(candidate);
  }
  session->candidates_changed_.notify_all();
}

void Session::on_gathering_state(GstElement* webrtc, GParamSpec*, gpointer self) {
  auto* session = static_cast<Session*>(self);
  GstWebRTCICEGatheringState state = GST_WEBRTC_ICE_GATHERING_STATE_NEW;
  g_object_get(webrtc, "ice-gathering-state", &state, nullptr);
  if (state != GST_WEBRTC_ICE_GATHERING_STATE_COMPLETE) return;
  {
    std::lock_guard lock(session->mutex_);
    session->candidates_.complete = true;
  }
  session->candidates_changed_.notify_all();
}

void Session::on_pad_added(GstElement*, GstPad* pad, gpointer self) {
  auto* session = static_cast<Session*>(self);
  // Our own request sink pads are announced too.
  if (GST_PAD_DIRECTION(pad) != GST_PAD_SRC) return;
  const GstCapsPtr caps(gst_pad_get_current_caps(pad));
  const GstStructure* rtp = caps ? gst_caps_get_structure(caps.get(), 0) : nullptr;
  const char* encoding = rtp ? gst_structure_get_string(rtp, "encoding-name") : nullptr;
  const bool opus = encoding != nullptr && g_ascii_strcasecmp(encoding, "OPUS") == 0;

  GErrorPtr error;
  GstElement* branch = nullptr;
  if (opus) {
    GError* raw_error = nullptr;
    branch = gst_parse_bin_from_description(kAudioBranch, TRUE, &raw_error);
    error.reset(raw_error);
  } else {
    // Anything else is discarded rather than left unlinked (which would stop
    // webrtcbin's streaming with not-linked).
    spdlog::warn("rtc session {}: ignoring a {} stream", session->id,
                 encoding != nullptr ? encoding : "non-RTP");
    branch = gst_element_factory_make("fakesink", nullptr);
  }
  if (branch == nullptr) {
    spdlog::error("rtc session {}: cannot build the audio branch: {}", session->id,
                  error ? error->message : "missing element");
    return;
  }
  gst_bin_add(GST_BIN(session->pipeline_.get()), branch);
  if (opus) {
    const GstPtr<GstElement> sink(gst_bin_get_by_name(GST_BIN(branch), "audio"));
    GstAppSinkCallbacks callbacks{};
    callbacks.new_sample = on_audio_sample;
    gst_app_sink_set_callbacks(GST_APP_SINK(sink.get()), &callbacks, session, nullptr);
  }
  gst_element_sync_state_with_parent(branch);
  const GstPtr<GstPad> sink_pad(gst_element_get_static_pad(branch, "sink"));
  if (gst_pad_link(pad, sink_pad.get()) != GST_PAD_LINK_OK) {
    spdlog::error("rtc session {}: cannot link the incoming stream", session->id);
  }
}

GstFlowReturn Session::on_audio_sample(GstAppSink* sink, gpointer self) {
  auto* session = static_cast<Session*>(self);
  const GstSamplePtr sample(gst_app_sink_pull_sample(sink));
  if (!sample) return GST_FLOW_EOS;
  const MappedBuffer buffer(gst_sample_get_buffer(sample.get()));
  const auto samples = buffer.samples();
  const auto now = Clock::now();
  {
    std::lock_guard lock(session->mutex_);
    session->last_audio_ = now;
  }
  session->arrivals_.emplace_back(
      session->front_end_.samples_received() + static_cast<std::int64_t>(samples.size()), now);
  if (session->arrivals_.size() > kMaxArrivals) session->arrivals_.pop_front();
  try {
    session->front_end_.push(samples, 1);
  } catch (const std::exception& error) {
    spdlog::error("rtc session {}: audio front end failed: {}", session->id, error.what());
    session->send(error_event("audio processing failed"));
    session->close_soon("audio front end failed");
    return GST_FLOW_ERROR;
  }
  return GST_FLOW_OK;
}

void Session::on_data_channel(GstElement*, GObject* channel, gpointer self) {
  auto* session = static_cast<Session*>(self);
  gchar* raw_label = nullptr;
  g_object_get(channel, "label", &raw_label, nullptr);
  const GCharPtr label(raw_label);
  if (label == nullptr || std::string_view(label.get()) != kChannelLabel) {
    spdlog::info("rtc session {}: ignoring data channel '{}'", session->id,
                 label ? label.get() : "");
    return;
  }
  {
    std::lock_guard lock(session->mutex_);
    if (session->channel_ || session->state_ == State::closed) return;
    session->channel_.reset(G_OBJECT(g_object_ref(channel)));
  }
  g_signal_connect(channel, "on-open", G_CALLBACK(on_channel_open), session);
  g_signal_connect(channel, "on-close", G_CALLBACK(on_channel_close), session);
  g_signal_connect(channel, "on-message-string", G_CALLBACK(on_channel_message), session);
  // A channel negotiated in-band usually arrives already open; on-open may
  // or may not follow.
  on_channel_open(channel, session);
}

void Session::on_channel_open(GObject* channel, gpointer self) {
  auto* session = static_cast<Session*>(self);
  GstWebRTCDataChannelState ready = GST_WEBRTC_DATA_CHANNEL_STATE_CLOSED;
  g_object_get(channel, "ready-state", &ready, nullptr);
  if (ready != GST_WEBRTC_DATA_CHANNEL_STATE_OPEN || session->connected_sent_.exchange(true)) {
    return;
  }
  spdlog::info("rtc session {}: connected", session->id);
  session->send(status_event("connected"));
}

void Session::on_channel_close(GObject*, gpointer self) {
  static_cast<Session*>(self)->close_soon("data channel closed");
}

void Session::on_channel_message(GObject*, gchar* message, gpointer self) {
  auto* session = static_cast<Session*>(self);
  const json parsed = json::parse(message, nullptr, /*allow_exceptions=*/false);
  const std::string type = parsed.is_object() ? parsed.value("type", "") : "";
  if (type == "bye") {
    session->close_soon("bye");
    return;
  }
  const auto& hand_on = session->gateway_.options.on_user_input;
  if (type == "user_text") {
    const json& text = parsed.contains("text") ? parsed["text"] : json();
    const std::string line =
        text.is_string() ? std::string(util::trim(text.get_ref<const std::string&>())) : "";
    if (line.empty() || line.size() > session->gateway_.options.max_user_text_bytes) {
      session->send(error_event("user_text.text must be 1 to " +
                                std::to_string(session->gateway_.options.max_user_text_bytes) +
                                " bytes of text"));
      return;
    }
    if (hand_on) hand_on(session->id, {UserInput::Kind::typed, line});
    return;
  }
  if (type == "confirm") {
    const std::string answer = parsed.value("answer", "");
    if (answer != "yes" && answer != "no") {
      session->send(error_event("confirm.answer must be \"yes\" or \"no\""));
      return;
    }
    if (hand_on) hand_on(session->id, {UserInput::Kind::confirmation, answer});
    return;
  }
  session->send(error_event(
      "unknown message" + (type.empty() ? std::string() : " type \"" + type.substr(0, 40) + "\"")));
}

gboolean Session::on_bus_message(GstBus*, GstMessage* message, gpointer self) {
  auto* session = static_cast<Session*>(self);
  if (GST_MESSAGE_TYPE(message) == GST_MESSAGE_ERROR) {
    GError* raw_error = nullptr;
    gchar* raw_debug = nullptr;
    gst_message_parse_error(message, &raw_error, &raw_debug);
    const GErrorPtr error(raw_error);
    const GCharPtr debug(raw_debug);
    spdlog::error("rtc session {}: {} ({})", session->id, error->message, debug ? debug.get() : "");
    session->send(error_event("media error"));
    session->close_soon("pipeline error");
  }
  return G_SOURCE_CONTINUE;
}

GatewayCore::GatewayCore(stt::TranscriptionService& service, GatewayOptions gateway_options,
                         IceUris uris, audio::SpeechSynthesizer speech_synthesizer)
    : transcription(service),
      options(std::move(gateway_options)),
      ice_uris(std::move(uris)),
      synthesizer(std::move(speech_synthesizer)) {
  watchdog_source.reset(g_timeout_source_new(kWatchdogIntervalMs));
  g_source_set_callback(
      watchdog_source.get(),
      [](gpointer self) -> gboolean {
        static_cast<GatewayCore*>(self)->watchdog();
        return G_SOURCE_CONTINUE;
      },
      this, nullptr);
  g_source_attach(watchdog_source.get(), context.get());
  loop_thread = std::thread([this] {
    g_main_context_push_thread_default(context.get());
    g_main_loop_run(loop.get());
    g_main_context_pop_thread_default(context.get());
  });
}

void GatewayCore::post(std::function<void()> task) {
  // GLib owns the heap copy from here and deletes it through the destroy
  // notify, whether the source runs or is dropped with the context.
  using Task = std::function<void()>;
  GSource* source = g_idle_source_new();
  g_source_set_callback(
      source,
      [](gpointer data) -> gboolean {
        (*static_cast<Task*>(data))();
        return G_SOURCE_REMOVE;
      },
      new Task(std::move(task)), [](gpointer data) { delete static_cast<Task*>(data); });
  g_source_attach(source, context.get());
  g_source_unref(source);
}

void GatewayCore::run_sync(std::function<void()> task) {
  std::promise<void> done;
  post([&] {
    task();
    done.set_value();
  });
  done.get_future().wait();
}

bool GatewayCore::close(const std::string& id, std::string_view reason) {
  std::shared_ptr<Session> session;
  {
    std::lock_guard lock(mutex);
    const auto found = sessions.find(id);
    if (found == sessions.end()) return false;
    session = std::move(found->second);
    sessions.erase(found);
  }
  spdlog::info("rtc session {} closing: {}", id, reason);
  // Never from a GStreamer thread: stopping a pipeline from one of its own
  // streaming threads deadlocks.
  post([session] { session->teardown(); });
  if (options.on_session_closed) options.on_session_closed(id);
  return true;
}

std::shared_ptr<Session> GatewayCore::find(const std::string& id) const {
  std::lock_guard lock(mutex);
  const auto found = sessions.find(id);
  if (found == sessions.end()) throw GatewayError(Code::not_found, "no such session");
  return found->second;
}

void GatewayCore::watchdog() {
  const auto now = Clock::now();
  std::vector<std::string> expired;
  {
    std::lock_guard lock(mutex);
    for (const auto& [id, session] : sessions) {
      if (session->expired(now)) expired.push_back(id);
    }
  }
  for (const std::string& id : expired) close(id, "peer timed out");
}

void GatewayCore::shutdown() {
  std::map<std::string, std::shared_ptr<Session>> remaining;
  {
    std::lock_guard lock(mutex);
    shutting_down = true;
    remaining.swap(sessions);
  }
  run_sync([&] {
    for (auto& [id, session] : remaining) session->teardown();
    watchdog_source.reset();
  });
  g_main_loop_quit(loop.get());
  loop_thread.join();
  // Teardowns posted after the loop's last iteration run here.
  while (g_main_context_iteration(context.get(), FALSE)) {
  }
}

struct Gateway::Impl : GatewayCore {
  using GatewayCore::GatewayCore;
};

Gateway::Gateway(stt::TranscriptionService& transcription, GatewayOptions options) {
  gst_init(nullptr, nullptr);
  for (const char* element :
       {"webrtcbin", "nicesrc", "dtlsdec", "srtpdec", "sctpdec", "rtpopusdepay", "opusdec",
        "audioconvert", "audioresample", "appsink", "queue", "appsrc", "opusenc", "rtpopuspay"}) {
    const GstPtr<GstElementFactory> factory(gst_element_factory_find(element));
    if (!factory) {
      throw GatewayError(
          Code::internal,
          fmt::format("GStreamer element '{}' is missing (run scripts/deps)", element));
    }
  }
  // The process's DTLS certificate is generated on first use; doing it here
  // takes ~250 ms off the first session's answer.
  const GstPtr<GstElement> dtls(
      GST_ELEMENT(gst_object_ref_sink(gst_element_factory_make("dtlsdec", nullptr))));
  gchar* raw_pem = nullptr;
  g_object_get(dtls.get(), "pem", &raw_pem, nullptr);
  const GCharPtr pem(raw_pem);
  if (options.max_ice_port != 0 && options.min_ice_port > options.max_ice_port) {
    throw GatewayError(Code::internal, fmt::format("empty ICE port range {}-{}",
                                                   options.min_ice_port, options.max_ice_port));
  }
  IceUris uris = webrtcbin_ice_uris(options.ice_servers);
  std::optional<audio::SpeechSynthesizer> synthesizer;
  try {
    synthesizer.emplace(options.speech);
  } catch (const std::exception& error) {
    throw GatewayError(Code::internal, fmt::format("speech: {}", error.what()));
  }
  impl_ = std::make_unique<Impl>(transcription, std::move(options), std::move(uris),
                                 std::move(*synthesizer));
}

Gateway::~Gateway() {
  impl_->shutdown();
}

std::string Gateway::create_session() {
  std::string id = random_id();
  {
    std::lock_guard lock(impl_->mutex);
    if (impl_->shutting_down) throw GatewayError(Code::internal, "the gateway is stopping");
    if (impl_->sessions.size() >= impl_->options.max_sessions) {
      throw GatewayError(Code::too_many_sessions, fmt::format("too many sessions (at most {})",
                                                              impl_->options.max_sessions));
    }
    impl_->sessions.emplace(id, std::make_shared<Session>(*impl_, id));
  }
  spdlog::info("rtc session {} created", id);
  return id;
}

std::string Gateway::answer(const std::string& id, const std::string& sdp_offer) {
  const std::shared_ptr<Session> session = impl_->find(id);
  if (sdp_offer.size() > impl_->options.max_sdp_bytes) {
    throw GatewayError(Code::offer_too_large,
                       fmt::format("the offer exceeds {} bytes", impl_->options.max_sdp_bytes));
  }
  try {
    return session->answer(sdp_offer);
  } catch (const std::exception& error) {
    // An offer refused before anything was built leaves the session waiting
    // for a better one.
    if (session->failed()) impl_->close(id, error.what());
    throw;
  }
}

void Gateway::close(const std::string& id) {
  if (!impl_->close(id, "closed by the client")) {
    throw GatewayError(Code::not_found, "no such session");
  }
}

void Gateway::send_event(const std::string& id, const nlohmann::json& event) {
  impl_->find(id)->send(event);
}

void Gateway::speak(const std::string& id, std::string_view text) {
  impl_->find(id)->speak(text);
}

void Gateway::stop_speaking(const std::string& id) {
  impl_->find(id)->stop_speaking();
}

bool Gateway::speaking(const std::string& id) const {
  return impl_->find(id)->speaking();
}

std::size_t Gateway::session_count() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->sessions.size();
}

std::size_t Gateway::live_session_count() const {
  return impl_->live_sessions;
}

const GatewayOptions& Gateway::options() const {
  return impl_->options;
}

nlohmann::json Gateway::browser_ice_servers() const {
  json servers = json::array();
  for (const IceServer& server : impl_->options.ice_servers) {
    servers.push_back(server.browser_config());
  }
  return servers;
}

}  // namespace voicedesk::rtc
