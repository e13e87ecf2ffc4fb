#include "rtc/gateway.hpp"

#include <gmock/gmock.h>
#include <gst/app/gstappsink.h>
#include <gst/app/gstappsrc.h>
#include <gst/gst.h>
#include <gst/sdp/sdp.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "audio/wav.hpp"
#include "rtc/gst_ptr.hpp"
#include "rtc/routes.hpp"
#include "stt/pocketsphinx_transcriber.hpp"
#include "util/temp_dir.hpp"

#define GST_USE_UNSTABLE_API
#include <gst/webrtc/webrtc.h>

namespace voicedesk::rtc {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

constexpr auto kTimeout = 20s;
constexpr const char* kAllowedOrigin = "http://127.0.0.1:8080";

fs::path shared_file(const fs::path& relative) {
  const char* env = std::getenv("VOICEDESK_SHARED_DIR");
  return fs::path(env != nullptr && *env != '\0' ? env : VOICEDESK_TEST_SHARED_DIR) / relative;
}

// Polls until condition() holds; false on timeout.
template <typename Condition>
bool eventually(Condition condition, std::chrono::milliseconds timeout = kTimeout) {
  const auto deadline = Clock::now() + timeout;
  while (!condition()) {
    if (Clock::now() > deadline) return false;
    std::this_thread::sleep_for(10ms);
  }
  return true;
}

// Open file descriptors ("fd") or threads ("task") of this process.
std::size_t count_entries(const char* proc_self_dir) {
  std::size_t count = 0;
  for ([[maybe_unused]] const auto& entry :
       fs::directory_iterator(fs::path("/proc/self") / proc_self_dir)) {
    ++count;
  }
  return count;
}

// The pocketsphinx fallback: real text without any model download. Loaded
// once for the whole program.
stt::TranscriptionService& transcription() {
  static stt::TranscriptionService service(std::make_shared<stt::PocketsphinxTranscriber>(),
                                           stt::ServiceOptions{});
  return service;
}

GatewayOptions test_options() {
  GatewayOptions options;
  options.max_sessions = 3;
  options.max_sdp_bytes = 16 * 1024;
  options.peer_timeout = 1500ms;
  options.offer_timeout = 1500ms;
  return options;
}

// A gateway behind the routes on a free 127.0.0.1 port.
class GatewayTest : public ::testing::Test {
 protected:
  virtual GatewayOptions options() const { return test_options(); }

  void SetUp() override {
    gateway_ = std::make_unique<Gateway>(*service_, options());
    install_routes(server_, *gateway_, {kAllowedOrigin});
    port_ = server_.bind_to_any_port("127.0.0.1");
    ASSERT_GT(port_, 0);
    listener_ = std::thread([this] { server_.listen_after_bind(); });
    ASSERT_TRUE(eventually([&] { return server_.is_running(); }));
    client_ = std::make_unique<httplib::Client>("127.0.0.1", port_);
  }
  void TearDown() override {
    server_.stop();
    if (listener_.joinable()) listener_.join();
    gateway_.reset();
  }

  json create_session_reply() {
    const auto res = client_->Post("/session");
    EXPECT_TRUE(res);
    if (!res) return json::object();
    EXPECT_EQ(res->status, 201);
    EXPECT_EQ(res->get_header_value("Cache-Control"), "no-store");
    return json::parse(res->body);
  }
  std::string create_session() { return create_session_reply().value("id", ""); }

  stt::TranscriptionService* service_ = &transcription();
  std::unique_ptr<Gateway> gateway_;
  httplib::Server server_;
  int port_ = 0;
  std::thread listener_;
  std::unique_ptr<httplib::Client> client_;
};

// Plays the browser: Opus audio fed in real time from a test thread, a
// DataChannel "transcript" created before the offer, non-trickle ICE on
// 127.0.0.1, all in a second webrtcbin in this process.
class FakeBrowser {
 public:
  // speech_16k: mono 16 kHz audio sent first; silence follows until stop().
  // With relay_through (a webrtcbin TURN URI), the browser offers relayed
  // candidates only, as iceTransportPolicy "relay" does.
  explicit FakeBrowser(std::vector<float> speech_16k, const std::string& relay_through = "")
      : speech_(std::move(speech_16k)) {
    GError* raw_error = nullptr;
    pipeline_.reset(GST_ELEMENT(gst_object_ref_sink(gst_parse_launch(
        "appsrc name=src is-live=true do-timestamp=true format=time "
        "caps=audio/x-raw,format=S16LE,rate=16000,channels=1,layout=interleaved ! "
        "audioconvert ! audioresample ! opusenc ! rtpopuspay pt=111 ! "
        "application/x-rtp,media=audio,encoding-name=OPUS,payload=111,clock-rate=48000 ! "
        // A jitterbuffer as short as a browser's on a LAN (webrtcbin's default is 200 ms).
        "webrtcbin name=w bundle-policy=max-bundle latency=40",
        &raw_error))));
    const GErrorPtr error(raw_error);
    if (error) throw std::runtime_error(error->message);
    webrtc_.reset(gst_bin_get_by_name(GST_BIN(pipeline_.get()), "w"));
    src_.reset(gst_bin_get_by_name(GST_BIN(pipeline_.get()), "src"));
    GObject* raw_agent = nullptr;
    g_object_get(webrtc_.get(), "ice-agent", &raw_agent, nullptr);
    const GObjectPtr<GObject> agent(raw_agent);
    gboolean added = FALSE;
    g_signal_emit_by_name(agent.get(), "add-local-ip-address", "127.0.0.1", &added);
    if (!relay_through.empty()) {
      g_object_set(webrtc_.get(), "ice-transport-policy", GST_WEBRTC_ICE_TRANSPORT_POLICY_RELAY,
                   "turn-server", relay_through.c_str(), nullptr);
    }

    gst_element_set_state(pipeline_.get(), GST_STATE_READY);
    GObject* raw_channel = nullptr;
    g_signal_emit_by_name(webrtc_.get(), "create-data-channel", "transcript", nullptr,
                          &raw_channel);
    channel_.reset(raw_channel);
    if (!channel_) throw std::runtime_error("create-data-channel failed");
    g_signal_connect(channel_.get(), "on-message-string", G_CALLBACK(on_message), this);
    g_signal_connect(webrtc_.get(), "pad-added", G_CALLBACK(on_pad_added), this);
    gst_element_set_state(pipeline_.get(), GST_STATE_PLAYING);
  }
  ~FakeBrowser() { stop(); }

  // The complete offer, candidates included.
  std::string offer() {
    GstPromisePtr promise(gst_promise_new());
    g_signal_emit_by_name(webrtc_.get(), "create-offer", nullptr, promise.get());
    gst_promise_wait(promise.get());
    GstWebRTCSessionDescription* offer = nullptr;
    gst_structure_get(gst_promise_get_reply(promise.get()), "offer",
                      GST_TYPE_WEBRTC_SESSION_DESCRIPTION, &offer, nullptr);
    if (offer == nullptr) throw std::runtime_error("create-offer failed");
    promise.reset(gst_promise_new());
    g_signal_emit_by_name(webrtc_.get(), "set-local-description", offer, promise.get());
    gst_promise_wait(promise.get());
    gst_webrtc_session_description_free(offer);
    const bool gathered = eventually([&] {
      GstWebRTCICEGatheringState state = GST_WEBRTC_ICE_GATHERING_STATE_NEW;
      g_object_get(webrtc_.get(), "ice-gathering-state", &state, nullptr);
      return state == GST_WEBRTC_ICE_GATHERING_STATE_COMPLETE;
    });
    if (!gathered) throw std::runtime_error("ICE gathering did not complete");
    GstWebRTCSessionDescription* local = nullptr;
    g_object_get(webrtc_.get(), "local-description", &local, nullptr);
    const GCharPtr text(gst_sdp_message_as_text(local->sdp));
    gst_webrtc_session_description_free(local);
    return text.get();
  }

  void set_answer(const std::string& text) {
    GstSDPMessage* sdp = nullptr;
    gst_sdp_message_new_from_text(text.c_str(), &sdp);
    GstWebRTCSessionDescription* answer =
        gst_webrtc_session_description_new(GST_WEBRTC_SDP_TYPE_ANSWER, sdp);
    const GstPromisePtr promise(gst_promise_new());
    g_signal_emit_by_name(webrtc_.get(), "set-remote-description", answer, promise.get());
    gst_promise_wait(promise.get());
    gst_webrtc_session_description_free(answer);
  }

  // Starts the microphone: speech first, then silence until stop(). Called
  // once connected, so that no speech is lost while the peers negotiate.
  void start_audio() {
    feeder_ = std::jthread([this](std::stop_token stop) { feed(stop); });
  }

  void close_channel() { g_signal_emit_by_name(channel_.get(), "close"); }

  void send(const std::string& message) {
    g_signal_emit_by_name(channel_.get(), "send-string", message.c_str());
  }

  // Waits for a message matching predicate; returns it (null on timeout).
  template <typename Predicate>
  json wait_for(Predicate predicate, std::chrono::milliseconds timeout = kTimeout) {
    std::unique_lock lock(mutex_);
    json found;
    changed_.wait_for(lock, timeout, [&] {
      for (const json& message : messages_) {
        if (predicate(message)) {
          found = message;
          return true;
        }
      }
      return false;
    });
    return found;
  }
  json wait_for_type(const std::string& type) {
    return wait_for([&](const json& m) { return m.value("type", "") == type; });
  }

  // The server's audio as played here: one entry per decoded buffer.
  struct HeardFrame {
    Clock::time_point at;
    double rms = 0;
  };
  static constexpr double kAudibleRms = 300;  // espeak-ng speech is ~3000

  // When audible audio first arrived at or after `since`.
  std::optional<Clock::time_point> first_audible(Clock::time_point since) const {
    std::lock_guard lock(mutex_);
    for (const HeardFrame& frame : heard_) {
      if (frame.at >= since && frame.rms > kAudibleRms) return frame.at;
    }
    return std::nullopt;
  }
  // When audible audio (or with `audible_only` false, any audio) last arrived.
  std::optional<Clock::time_point> last_heard(bool audible_only = true) const {
    std::lock_guard lock(mutex_);
    for (auto frame = heard_.rbegin(); frame != heard_.rend(); ++frame) {
      if (!audible_only || frame->rms > kAudibleRms) return frame->at;
    }
    return std::nullopt;
  }

  // When the 20 ms buffer holding sample `sample` of the speech (16 kHz)
  // went to the encoder; nullopt until then.
  std::optional<Clock::time_point> sent_at(std::size_t sample) const {
    std::lock_guard lock(mutex_);
    const std::size_t chunk = sample / kChunk;
    if (chunk >= speech_sent_.size()) return std::nullopt;
    return speech_sent_[chunk];
  }

  // The peer disappears without a word, like a closed tab.
  void stop() {
    feeder_.request_stop();
    if (feeder_.joinable()) feeder_.join();
    if (pipeline_) gst_element_set_state(pipeline_.get(), GST_STATE_NULL);
    if (channel_) g_signal_handlers_disconnect_by_data(channel_.get(), this);
  }

 private:
  static void on_message(GObject*, gchar* text, gpointer self) {
    auto* browser = static_cast<FakeBrowser*>(self);
    {
      std::lock_guard lock(browser->mutex_);
      browser->messages_.push_back(json::parse(text));
    }
    browser->changed_.notify_all();
  }

  // The server's speech track: decoded as a browser would play it.
  static void on_pad_added(GstElement*, GstPad* pad, gpointer self) {
    if (GST_PAD_DIRECTION(pad) != GST_PAD_SRC) return;
    auto* browser = static_cast<FakeBrowser*>(self);
    GstElement* branch = gst_parse_bin_from_description(
        "queue ! rtpopusdepay ! opusdec ! audioconvert ! "
        "audio/x-raw,format=S16LE,channels=1 ! appsink name=heard sync=false",
        TRUE, nullptr);
    gst_bin_add(GST_BIN(browser->pipeline_.get()), branch);
    const GstPtr<GstElement> sink(gst_bin_get_by_name(GST_BIN(branch), "heard"));
    GstAppSinkCallbacks callbacks{};
    callbacks.new_sample = on_heard;
    gst_app_sink_set_callbacks(GST_APP_SINK(sink.get()), &callbacks, browser, nullptr);
    gst_element_sync_state_with_parent(branch);
    const GstPtr<GstPad> sink_pad(gst_element_get_static_pad(branch, "sink"));
    gst_pad_link(pad, sink_pad.get());
  }

  static GstFlowReturn on_heard(GstAppSink* sink, gpointer self) {
    auto* browser = static_cast<FakeBrowser*>(self);
    const GstSamplePtr sample(gst_app_sink_pull_sample(sink));
    if (!sample) return GST_FLOW_EOS;
    GstMapInfo info{};
    GstBuffer* buffer = gst_sample_get_buffer(sample.get());
    if (!gst_buffer_map(buffer, &info, GST_MAP_READ)) return GST_FLOW_OK;
    const auto* samples = reinterpret_cast<const std::int16_t*>(info.data);
    const std::size_t count = info.size / sizeof(std::int16_t);
    double sum = 0;
    for (std::size_t i = 0; i < count; ++i) sum += static_cast<double>(samples[i]) * samples[i];
    gst_buffer_unmap(buffer, &info);
    std::lock_guard lock(browser->mutex_);
    browser->heard_.push_back(
        {Clock::now(), count == 0 ? 0 : std::sqrt(sum / static_cast<double>(count))});
    return GST_FLOW_OK;
  }

  static constexpr std::size_t kChunk = 320;  // 20 ms at 16 kHz

  // 20 ms buffers at real-time pace, as a microphone would deliver them.
  void feed(std::stop_token stop) {
    auto next = Clock::now();
    for (std::size_t offset = 0; !stop.stop_requested(); offset += kChunk) {
      std::vector<std::int16_t> chunk(kChunk, 0);
      for (std::size_t i = 0; i < kChunk && offset + i < speech_.size(); ++i) {
        chunk[i] = static_cast<std::int16_t>(speech_[offset + i] * 32767.0f);
      }
      if (offset < speech_.size()) {
        // The send time itself: a loaded machine may wake this thread late.
        std::lock_guard lock(mutex_);
        speech_sent_.push_back(Clock::now());
      }
      GstBuffer* buffer = gst_buffer_new_memdup(chunk.data(), chunk.size() * sizeof(std::int16_t));
      gst_app_src_push_buffer(GST_APP_SRC(src_.get()), buffer);
      next += 20ms;
      std::this_thread::sleep_until(next);
    }
  }

  std::vector<float> speech_;
  GstPtr<GstElement> pipeline_;
  GstPtr<GstElement> webrtc_;
  GstPtr<GstElement> src_;
  GObjectPtr<GObject> channel_;
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<json> messages_;
  std::vector<HeardFrame> heard_;
  std::vector<Clock::time_point> speech_sent_;  // per 20 ms buffer of speech_
  std::jthread feeder_;
};

std::vector<float> speech() {
  const fs::path clip = shared_file("audio/send-email.wav");
  if (!fs::exists(clip)) return {};
  audio::WavAudio wav = audio::read_wav(clip);
  EXPECT_EQ(wav.sample_rate, 16000);
  EXPECT_EQ(wav.channels, 1);
  return std::move(wav.samples);
}

// The first sample over 1 % of full scale: where a synthetic clip's speech
// starts (its silences are digital silence).
std::size_t first_sound(const std::vector<float>& audio) {
  return static_cast<std::size_t>(std::distance(
      audio.begin(),
      std::find_if(audio.begin(), audio.end(), [](float x) { return std::abs(x) > 0.01f; })));
}

TEST_F(GatewayTest, CreatesAndDeletesSessions) {
  const std::string id = create_session();
  EXPECT_THAT(id, ::testing::MatchesRegex("[0-9a-f]{32}"));
  EXPECT_NE(create_session(), id);
  EXPECT_EQ(gateway_->session_count(), 2u);

  auto res = client_->Delete("/session/" + id);
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 204);
  EXPECT_EQ(gateway_->session_count(), 1u);

  res = client_->Delete("/session/" + id);
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 404);
  EXPECT_TRUE(json::parse(res->body).contains("error"));
}

TEST_F(GatewayTest, SessionRepliesListNoIceServersByDefault) {
  EXPECT_EQ(create_session_reply().at("ice_servers"), json::array());
}

class GatewayIceServersTest : public GatewayTest {
 protected:
  GatewayOptions options() const override {
    GatewayOptions options = test_options();
    options.ice_servers = {parse_stun_url("stun:127.0.0.1:3478"),
                           parse_turn_url("turn:user:p%40ss@localhost:3478?transport=udp")};
    return options;
  }
};

TEST_F(GatewayIceServersTest, SessionRepliesCarryTheIceServersForTheBrowser) {
  EXPECT_EQ(create_session_reply().at("ice_servers"), json::parse(R"([
    {"urls": "stun:127.0.0.1:3478"},
    {"urls": "turn:localhost:3478?transport=udp", "username": "user", "credential": "p@ss"}
  ])"));
}

TEST(GatewayIceOptions, RefusesAnUnresolvableServerAndAnEmptyPortRange) {
  GatewayOptions options = test_options();
  options.ice_servers = {parse_stun_url("stun:no-such-host.invalid")};
  EXPECT_THROW(Gateway(transcription(), options), GatewayError);
  options = test_options();
  options.min_ice_port = 50010;
  options.max_ice_port = 50000;
  EXPECT_THROW(Gateway(transcription(), options), GatewayError);
}

TEST_F(GatewayTest, UnknownSessionIs404) {
  const auto res = client_->Post("/session/00112233445566778899aabbccddeeff/offer", "v=0\r\n",
                                 "application/sdp");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 404);
  EXPECT_EQ(res->get_header_value("Content-Type"), "application/json");
}

TEST_F(GatewayTest, ChecksOrigin) {
  auto res = client_->Post("/session", {{"Origin", "https://evil.example"}}, "", "text/plain");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 403);
  EXPECT_EQ(gateway_->session_count(), 0u);

  res = client_->Post("/session", {{"Origin", kAllowedOrigin}}, "", "text/plain");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 201);
  EXPECT_EQ(res->get_header_value("Access-Control-Allow-Origin"), kAllowedOrigin);
  const std::string id = json::parse(res->body).at("id");

  res = client_->Delete("/session/" + id, {{"Origin", "http://127.0.0.1:9999"}});
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 403);
  EXPECT_EQ(gateway_->session_count(), 1u);
}

TEST_F(GatewayTest, AnswersCorsPreflights) {
  auto res = client_->Options("/session/00112233445566778899aabbccddeeff/offer",
                              {{"Origin", kAllowedOrigin}});
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 204);
  EXPECT_EQ(res->get_header_value("Access-Control-Allow-Origin"), kAllowedOrigin);
  EXPECT_THAT(res->get_header_value("Access-Control-Allow-Headers"),
              ::testing::HasSubstr("Content-Type"));
  res = client_->Options("/session", {{"Origin", "https://evil.example"}});
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 403);
}

TEST_F(GatewayTest, RefusesBadOffers) {
  const std::string id = create_session();
  const std::string path = "/session/" + id + "/offer";
  auto res = client_->Post(path, "this is not SDP", "application/sdp");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 400);

  // Parses, but offers no audio.
  res = client_->Post(path, "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n", "application/sdp");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 400);

  res = client_->Post(path, "v=0\r\n", "text/plain");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 415);

  res = client_->Post(path, std::string(17 * 1024, 'a'), "application/sdp");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 413);
  // A refused offer leaves the session waiting for a good one.
  EXPECT_EQ(gateway_->session_count(), 1u);
}

TEST_F(GatewayTest, LimitsSessions) {
  for (std::size_t i = 0; i < test_options().max_sessions; ++i) create_session();
  const auto res = client_->Post("/session");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 503);
  EXPECT_THAT(res->body, ::testing::HasSubstr("too many sessions"));
}

TEST_F(GatewayTest, DropsSessionsThatNeverGetAnOffer) {
  create_session();
  EXPECT_TRUE(eventually([&] { return gateway_->live_session_count() == 0; }, 5s));
}

class GatewayMediaTest : public GatewayTest {
 protected:
  // Negotiates through the routes, waits for the "connected" status and
  // starts the browser's audio; returns the session id.
  std::string connect(FakeBrowser& browser) {
    const std::string id = create_session();
    const std::string offer = browser.offer();
    const auto started = Clock::now();
    const auto res = client_->Post("/session/" + id + "/offer", offer, "application/sdp");
    EXPECT_TRUE(res);
    if (!res) return id;
    const auto answered = Clock::now();
    EXPECT_EQ(res->status, 200) << res->body;
    EXPECT_EQ(res->get_header_value("Content-Type"), "application/sdp");
    for (const std::string& address : options().ice_addresses) {
      EXPECT_THAT(res->body, ::testing::HasSubstr(" " + address + " ")) << "no candidate on it";
    }
    answer_ = res->body;
    browser.set_answer(res->body);
    const json status = browser.wait_for_type("status");
    EXPECT_FALSE(status.is_null()) << "no status event";
    if (!status.is_null()) {
      EXPECT_EQ(status.at("state"), "connected");
    }
    std::printf("[ rtc      ] answer %.1f ms, connected %.1f ms after the offer was posted\n",
                std::chrono::duration<double, std::milli>(answered - started).count(),
                std::chrono::duration<double, std::milli>(Clock::now() - started).count());
    browser.start_audio();
    return id;
  }

  std::string answer_;  // the last answer connect() received
};

TEST_F(GatewayMediaTest, TranscribesSpeechFromABrowser) {
  std::vector<float> clip = speech();
  if (clip.empty()) GTEST_SKIP() << "missing " << shared_file("audio/send-email.wav");
  FakeBrowser browser(std::move(clip));
  const std::string id = connect(browser);

  const json speaking = browser.wait_for(
      [](const json& m) { return m.value("type", "") == "vad" && m.value("speaking", false); });
  EXPECT_FALSE(speaking.is_null()) << "no vad speaking=true event";
  const json transcript = browser.wait_for_type("transcript");
  ASSERT_FALSE(transcript.is_null()) << "no transcript event";
  std::printf("[ rtc      ] %s\n", transcript.dump().c_str());
  EXPECT_EQ(transcript.at("id"), 1);
  EXPECT_EQ(transcript.at("final"), true);
  EXPECT_THAT(transcript.at("text").get<std::string>(), ::testing::HasSubstr("three"));
  // The clip has 0.3 s of silence before the speech and lasts 5.2 s.
  EXPECT_GT(transcript.at("start").get<double>(), 0.1);
  EXPECT_LT(transcript.at("end").get<double>(), 6.0);
  const json& latency = transcript.at("latency_ms");
  EXPECT_GE(latency.at("endpoint").get<double>(), 500);  // at least the trailing silence
  EXPECT_LT(latency.at("endpoint").get<double>(), 2000);
  EXPECT_GT(latency.at("stt").get<double>(), 0);
  EXPECT_GE(latency.at("queue").get<double>(), 0);
  EXPECT_GE(latency.at("total").get<double>(), latency.at("endpoint").get<double>() +
                                                   latency.at("queue").get<double>() +
                                                   latency.at("stt").get<double>());
  // Sent on this machine's clock, moments ago.
  const double now_ms =
      std::chrono::duration<double, std::milli>(std::chrono::system_clock::now().time_since_epoch())
          .count();
  EXPECT_NEAR(transcript.at("sent_at_ms").get<double>(), now_ms, 10000);
  EXPECT_FALSE(browser
                   .wait_for([](const json& m) {
                     return m.value("type", "") == "vad" && !m.value("speaking", true);
                   })
                   .is_null());

  browser.send(R"({"type":"bye"})");
  EXPECT_TRUE(eventually([&] { return gateway_->session_count() == 0; }));
  EXPECT_TRUE(eventually([&] { return gateway_->live_session_count() == 0; }));
  const auto res = client_->Delete("/session/" + id);
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 404);
}

double milliseconds_between(Clock::time_point from, Clock::time_point to) {
  return std::chrono::duration<double, std::milli>(to - from).count();
}

constexpr const char* kLongReply =
    "Hello, this is voicedesk. You have three new messages. The first one is from Alice, "
    "about the budget review on Friday. The second one is from Bob, who asks whether the "
    "meeting can move to Monday morning.";

// A gateway whose user input goes to a recorder, as the agent would get it.
class GatewayUserInputTest : public GatewayMediaTest {
 protected:
  GatewayOptions options() const override {
    GatewayOptions options = GatewayMediaTest::options();
    options.on_user_input = [this](const std::string& id, const UserInput& input) {
      std::lock_guard lock(mutex_);
      inputs_.emplace_back(id, input);
      changed_.notify_all();
    };
    options.on_session_closed = [this](const std::string& id) {
      std::lock_guard lock(mutex_);
      closed_.push_back(id);
      changed_.notify_all();
    };
    return options;
  }
  // Waits until count inputs arrived; returns them.
  std::vector<std::pair<std::string, UserInput>> wait_inputs(std::size_t count) {
    std::unique_lock lock(mutex_);
    changed_.wait_for(lock, kTimeout, [&] { return inputs_.size() >= count; });
    return inputs_;
  }

  // Filled by the callbacks options() hands out (a const member).
  mutable std::mutex mutex_;
  mutable std::condition_variable changed_;
  mutable std::vector<std::pair<std::string, UserInput>> inputs_;
  mutable std::vector<std::string> closed_;
};

TEST_F(GatewayUserInputTest, TypedLinesConfirmationsAndTranscriptsReachTheAgentAndRepliesComeBack) {
  std::vector<float> clip = speech();
  if (clip.empty()) GTEST_SKIP() << "missing " << shared_file("audio/send-email.wav");
  FakeBrowser browser(std::move(clip));
  const std::string id = connect(browser);
  browser.send(R"({"type":"user_text","text":"  what's on my calendar today  "})");
  browser.send(R"({"type":"confirm","answer":"yes"})");
  const auto inputs = wait_inputs(3);  // and the spoken clip's transcript
  ASSERT_GE(inputs.size(), 3u);
  EXPECT_EQ(inputs[0].first, id);
  EXPECT_EQ(inputs[0].second.kind, UserInput::Kind::typed);
  EXPECT_EQ(inputs[0].second.text, "what's on my calendar today");
  EXPECT_EQ(inputs[1].second.kind, UserInput::Kind::confirmation);
  EXPECT_EQ(inputs[1].second.text, "yes");
  EXPECT_EQ(inputs[2].second.kind, UserInput::Kind::speech);
  EXPECT_FALSE(inputs[2].second.text.empty());

  for (const char* bad :
       {R"({"type":"user_text","text":"   "})", R"({"type":"confirm","answer":"maybe"})",
        R"({"type":"dance"})", "not json"}) {
    browser.send(bad);
  }
  EXPECT_FALSE(browser
                   .wait_for([](const json& m) {
                     return m.value("type", "") == "error" &&
                            m.value("message", "").find("unknown message type \"dance\"") !=
                                std::string::npos;
                   })
                   .is_null());
  EXPECT_FALSE(browser
                   .wait_for([](const json& m) {
                     return m.value("message", "").find("confirm.answer") != std::string::npos;
                   })
                   .is_null());
  EXPECT_EQ(wait_inputs(3).size(), 3u) << "bad messages reach nobody";

  gateway_->send_event(id, {{"type", "agent"}, {"text", "Nothing today."}, {"final", true}});
  const json reply = browser.wait_for_type("agent");
  ASSERT_FALSE(reply.is_null());
  EXPECT_EQ(reply["text"], "Nothing today.");
  EXPECT_THROW(gateway_->send_event("no-such-session", json::object()), GatewayError);

  gateway_->close(id);
  std::unique_lock lock(mutex_);
  EXPECT_TRUE(changed_.wait_for(lock, kTimeout, [&] { return !closed_.empty(); }));
  EXPECT_EQ(closed_, std::vector<std::string>{id});
}

TEST_F(GatewayMediaTest, SpeaksToTheBrowserAndStopsWithinTwoHundredMilliseconds) {
  FakeBrowser browser({});
  const std::string id = connect(browser);
  // The answer sends on the browser's audio m-line.
  EXPECT_THAT(answer_, ::testing::HasSubstr("a=sendrecv"));
  EXPECT_FALSE(gateway_->speaking(id));

  const auto asked = Clock::now();
  gateway_->speak(id, kLongReply);
  EXPECT_TRUE(gateway_->speaking(id));
  ASSERT_TRUE(eventually([&] { return browser.first_audible(asked).has_value(); }, 5s))
      << "the browser heard nothing";
  const json started = browser.wait_for([](const json& m) {
    return m.value("type", "") == "speech" && m.value("state", "") == "started";
  });
  ASSERT_FALSE(started.is_null()) << "no speech-started event";
  EXPECT_GE(started["since_speak_ms"].get<double>(), 0.0);
  EXPECT_LT(started["since_speak_ms"].get<double>(), 1000.0);
  std::printf("[ rtc      ] first audible speech at the browser %.1f ms after speak()\n",
              milliseconds_between(asked, *browser.first_audible(asked)));

  // Mid-reply (it lasts over 10 s), mid-word.
  std::this_thread::sleep_for(1500ms);
  ASSERT_TRUE(gateway_->speaking(id));
  ASSERT_TRUE(eventually([&] { return browser.first_audible(Clock::now() - 30ms).has_value(); }))
      << "no longer audible";
  const auto stopped = Clock::now();
  gateway_->stop_speaking(id);
  EXPECT_FALSE(gateway_->speaking(id));
  EXPECT_FALSE(browser
                   .wait_for([](const json& m) {
                     return m.value("type", "") == "speech" && m.value("state", "") == "ended";
                   })
                   .is_null())
      << "no speech-ended event after the stop";
  std::this_thread::sleep_for(1s);
  const double audible_ms = milliseconds_between(stopped, *browser.last_heard());
  const double received_ms = milliseconds_between(stopped, *browser.last_heard(false));
  std::printf(
      "[ rtc      ] after stop_speaking(): last audible audio %.1f ms, last audio at all %.1f ms "
      "later\n",
      audible_ms, received_ms);
  EXPECT_LT(audible_ms, 200);
  // Nothing is sent between replies.
  EXPECT_LT(received_ms, 200);

  // A new reply after a barge-in plays again, and ends by itself.
  const auto again = Clock::now();
  gateway_->speak(id, "Okay.");
  EXPECT_TRUE(eventually([&] { return browser.first_audible(again).has_value(); }, 5s));
  EXPECT_TRUE(eventually([&] { return !gateway_->speaking(id); }, 5s));
}

TEST_F(GatewayMediaTest, RefusesToSpeakBeforeTheOfferAndTooMuch) {
  const std::string id = create_session();
  EXPECT_THROW(gateway_->speak(id, "Hello."), GatewayError);
  EXPECT_THROW(gateway_->speak("00112233445566778899aabbccddeeff", "Hello."), GatewayError);
  FakeBrowser browser({});
  const std::string connected = connect(browser);
  try {
    gateway_->speak(connected, std::string(test_options().max_speech_bytes + 1, 'a'));
    ADD_FAILURE() << "no error";
  } catch (const GatewayError& error) {
    EXPECT_EQ(error.code(), GatewayError::Code::too_large);
  }
  EXPECT_FALSE(gateway_->speaking(connected));
}

TEST_F(GatewayMediaTest, TheUserSpeakingStopsTheReply) {
  std::vector<float> clip = speech();
  if (clip.empty()) GTEST_SKIP() << "missing " << shared_file("audio/send-email.wav");
  // The user keeps quiet for 2 s, then talks over the reply.
  std::vector<float> late(16000 * 2, 0.0f);
  late.insert(late.end(), clip.begin(), clip.end());
  const std::size_t speech_begins = first_sound(late);
  ASSERT_LT(speech_begins, late.size());
  FakeBrowser browser(std::move(late));
  const std::string id = connect(browser);
  gateway_->speak(id, kLongReply);

  const json speaking = browser.wait_for(
      [](const json& m) { return m.value("type", "") == "vad" && m.value("speaking", false); });
  ASSERT_FALSE(speaking.is_null()) << "no vad speaking=true event";
  const auto detected = Clock::now();
  EXPECT_FALSE(gateway_->speaking(id));
  std::this_thread::sleep_for(1s);
  const auto last = browser.last_heard();
  ASSERT_TRUE(last.has_value()) << "the reply was never heard";
  const auto user_speaks = browser.sent_at(speech_begins);
  ASSERT_TRUE(user_speaks.has_value());
  const double since_speech_ms = milliseconds_between(*user_speaks, *last);
  std::printf(
      "[ rtc      ] barge-in: last audible reply %.1f ms after the user began to speak (%.1f ms "
      "before the vad event)\n",
      since_speech_ms, milliseconds_between(*last, detected));
  // From the browser sending the first speech sample to the last of the
  // reply reaching it: both network legs, the jitterbuffers and the VAD.
  EXPECT_GT(since_speech_ms, 0) << "the reply was not playing when the user began to speak";
  EXPECT_LT(since_speech_ms, 200);

  // What the user said over the reply is heard in full.
  const json transcript = browser.wait_for_type("transcript");
  ASSERT_FALSE(transcript.is_null()) << "no transcript of the speech over the reply";
  std::printf("[ rtc      ] %s\n", transcript.dump().c_str());
  EXPECT_THAT(transcript.at("text").get<std::string>(), ::testing::HasSubstr("three"));
}

TEST_F(GatewayMediaTest, DeleteEndsASession) {
  FakeBrowser browser({});
  const std::string id = connect(browser);
  const auto res = client_->Delete("/session/" + id);
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 204);
  EXPECT_TRUE(eventually([&] { return gateway_->live_session_count() == 0; }));
  // A second offer for the ended session is refused.
  const auto again = client_->Post("/session/" + id + "/offer", "v=0\r\n", "application/sdp");
  ASSERT_TRUE(again);
  EXPECT_EQ(again->status, 404);
}

TEST_F(GatewayMediaTest, ClosingTheChannelEndsTheSession) {
  FakeBrowser browser({});
  connect(browser);
  browser.close_channel();
  // Well before the peer timeout: audio keeps flowing.
  EXPECT_TRUE(eventually([&] { return gateway_->session_count() == 0; }, 1s));
  EXPECT_TRUE(eventually([&] { return gateway_->live_session_count() == 0; }));
}

TEST_F(GatewayMediaTest, ReapsASilentPeer) {
  FakeBrowser browser({});
  connect(browser);
  // Connected peers stay while audio flows, well past the timeout.
  std::this_thread::sleep_for(test_options().peer_timeout + 500ms);
  EXPECT_EQ(gateway_->session_count(), 1u);
  browser.stop();
  EXPECT_TRUE(eventually([&] { return gateway_->live_session_count() == 0; }, 5s));
}

TEST_F(GatewayMediaTest, LeavesNoThreadsOrFileDescriptorsBehind) {
  // A first session creates what the process keeps (DTLS state, plugin
  // loading); later sessions must not add to it.
  {
    FakeBrowser browser({});
    connect(browser);
    browser.send(R"({"type":"bye"})");
    ASSERT_TRUE(eventually([&] { return gateway_->live_session_count() == 0; }));
  }
  const std::size_t fds = count_entries("fd");
  const std::size_t threads = count_entries("task");
  for (int round = 0; round < 3; ++round) {
    FakeBrowser browser({});
    connect(browser);
    browser.send(R"({"type":"bye"})");
    ASSERT_TRUE(eventually([&] { return gateway_->live_session_count() == 0; }));
  }
  EXPECT_EQ(count_entries("fd"), fds);
  EXPECT_TRUE(eventually([&] { return count_entries("task") <= threads; }, 5s))
      << count_entries("task") << " threads, " << threads << " before";
}

TEST_F(GatewayMediaTest, DestroyingTheGatewayEndsLiveSessions) {
  FakeBrowser browser({});
  connect(browser);
  ASSERT_EQ(gateway_->live_session_count(), 1u);
  server_.stop();
  listener_.join();
  const auto started = Clock::now();
  gateway_.reset();
  EXPECT_LT(Clock::now() - started, 2s);
}

// The a=candidate lines of an SDP, without the "a=".
std::vector<std::string> candidates(const std::string& sdp) {
  std::vector<std::string> lines;
  std::istringstream in(sdp);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.starts_with("a=candidate:")) lines.push_back(line.substr(2));
  }
  return lines;
}

// Field `index` of "candidate:1 1 UDP 2015363327 127.0.0.1 40211 typ host".
std::string candidate_field(const std::string& candidate, std::size_t index) {
  std::istringstream in(candidate);
  const std::vector<std::string> fields{std::istream_iterator<std::string>(in), {}};
  return index < fields.size() ? fields[index] : "";
}

class GatewayPortRangeTest : public GatewayMediaTest {
 protected:
  static constexpr unsigned kMinPort = 47810;
  static constexpr unsigned kMaxPort = 47819;
  GatewayOptions options() const override {
    GatewayOptions options = test_options();
    options.min_ice_port = kMinPort;
    options.max_ice_port = kMaxPort;
    return options;
  }
};

TEST_F(GatewayPortRangeTest, IceBindsOnlyPortsInTheRange) {
  FakeBrowser browser({});
  connect(browser);
  const std::vector<std::string> lines = candidates(answer_);
  ASSERT_FALSE(lines.empty()) << answer_;
  for (const std::string& line : lines) {
    // Active TCP candidates connect out and announce the discard port 9.
    if (line.find("tcptype active") != std::string::npos) continue;
    const unsigned port = static_cast<unsigned>(std::stoul(candidate_field(line, 5)));
    EXPECT_GE(port, kMinPort) << line;
    EXPECT_LE(port, kMaxPort) << line;
  }
}

// This machine's IPv4 addresses other than loopback.
std::vector<std::string> non_loopback_ipv4_addresses() {
  std::vector<std::string> addresses;
  ifaddrs* raw = nullptr;
  if (::getifaddrs(&raw) != 0) return addresses;
  const std::unique_ptr<ifaddrs, decltype(&::freeifaddrs)> list(raw, ::freeifaddrs);
  for (const ifaddrs* entry = raw; entry != nullptr; entry = entry->ifa_next) {
    if (entry->ifa_addr == nullptr || entry->ifa_addr->sa_family != AF_INET) continue;
    char text[INET_ADDRSTRLEN] = {};
    const auto* address = reinterpret_cast<const sockaddr_in*>(entry->ifa_addr);
    ::inet_ntop(AF_INET, &address->sin_addr, text, sizeof text);
    if (!std::string_view(text).starts_with("127.")) addresses.emplace_back(text);
  }
  return addresses;
}

// ICE on two addresses: the answer waits for a candidate on each, not just the first.
class GatewayTwoAddressesTest : public GatewayMediaTest {
 protected:
  void SetUp() override {
    if (lan_.empty()) GTEST_SKIP() << "this machine has no IPv4 address besides loopback";
    GatewayMediaTest::SetUp();
  }
  GatewayOptions options() const override {
    GatewayOptions options = test_options();
    options.ice_addresses = {"127.0.0.1", lan_.front()};
    return options;
  }
  const std::vector<std::string> lan_ = non_loopback_ipv4_addresses();
};

TEST_F(GatewayTwoAddressesTest, AnswersWithACandidateOnEachAddress) {
  FakeBrowser browser({});
  connect(browser);  // checks that each address has a candidate and that media flows
}

// ICE on every interface: the answer waits for gathering to finish.
class GatewayEveryInterfaceTest : public GatewayTwoAddressesTest {
 protected:
  GatewayOptions options() const override {
    GatewayOptions options = test_options();
    options.ice_addresses.clear();
    return options;
  }
};

TEST_F(GatewayEveryInterfaceTest, AnswersWithACandidateOnEveryInterface) {
  FakeBrowser browser({});
  connect(browser);
  for (const std::string& address : lan_) {
    EXPECT_THAT(answer_, ::testing::HasSubstr(" " + address + " "))
        << "no candidate on " << address;
  }
  EXPECT_THAT(answer_, ::testing::Not(::testing::HasSubstr(" 127.0.0.1 ")));
}

// A free UDP port on 127.0.0.1 (free when asked; nothing holds it after).
int free_udp_port() {
  const int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address);
  socklen_t length = sizeof address;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  ::close(fd);
  return ntohs(address.sin_port);
}

// coturn on 127.0.0.1 with one long-term user, for the lifetime of the object.
class TurnServer {
 public:
  static constexpr const char* kBinary = "/usr/bin/turnserver";
  // Characters that must be escaped in a TURN URI, to check both ends decode them.
  static constexpr const char* kPassword = "p@ss:w%rd";

  TurnServer() : port_(free_udp_port()) {
    const fs::path log = dir_.path() / "turnserver.log";
    pid_ = ::fork();
    if (pid_ == 0) {
      const std::string port = "--listening-port=" + std::to_string(port_);
      const std::string user = std::string("--user=voicedesk:") + kPassword;
      const std::string log_file = "--log-file=" + log.string();
      const std::string pid_file = "--pidfile=" + (dir_.path() / "turnserver.pid").string();
      const std::string userdb = "--userdb=" + (dir_.path() / "turndb").string();
      ::execl(kBinary, "turnserver", "-n", "--listening-ip=127.0.0.1", "--relay-ip=127.0.0.1",
              port.c_str(), "--lt-cred-mech", user.c_str(), "--realm=voicedesk.test", "--no-tls",
              "--no-dtls", "--no-cli", "--allow-loopback-peers", "--simple-log", log_file.c_str(),
              pid_file.c_str(), userdb.c_str(), static_cast<char*>(nullptr));
      ::_exit(127);
    }
    // Up once it has created its relay servers.
    eventually([&] {
      std::ifstream in(log);
      const std::string text{std::istreambuf_iterator<char>(in), {}};
      return text.find("Total General servers") != std::string::npos;
    });
  }
  ~TurnServer() {
    ::kill(pid_, SIGTERM);
    ::waitpid(pid_, nullptr, 0);
  }
  TurnServer(const TurnServer&) = delete;
  TurnServer& operator=(const TurnServer&) = delete;

  IceServer server() const {
    return parse_turn_url("turn:voicedesk:p%40ss%3Aw%25rd@127.0.0.1:" + std::to_string(port_) +
                          "?transport=udp");
  }

 private:
  test_support::TempDir dir_;
  int port_;
  pid_t pid_ = -1;
};

class GatewayTurnTest : public GatewayMediaTest {
 protected:
  void SetUp() override {
    if (!fs::exists(TurnServer::kBinary)) {
      GTEST_SKIP() << TurnServer::kBinary << " is missing (Debian package coturn)";
    }
    turn_ = std::make_unique<TurnServer>();
    GatewayMediaTest::SetUp();
  }
  GatewayOptions options() const override {
    GatewayOptions options = test_options();
    options.ice_servers = {turn_->server()};
    return options;
  }

  std::unique_ptr<TurnServer> turn_;
};

TEST_F(GatewayTurnTest, RelaysMediaThroughTurn) {
  // The browser offers only relayed candidates: the session can only connect
  // through the TURN server, with the server's credentials decoded right.
  FakeBrowser browser({}, turn_->server().webrtcbin_uri("127.0.0.1"));
  connect(browser);
  const std::vector<std::string> lines = candidates(answer_);
  EXPECT_TRUE(std::any_of(lines.begin(), lines.end(), [](const std::string& line) {
    return candidate_field(line, 7) == "relay";
  })) << answer_;
}

// Holds every transcription until opened, so a test can keep the service busy.
class GatedTranscriber final : public stt::Transcriber {
 public:
  void open() {
    {
      std::lock_guard lock(mutex_);
      open_ = true;
    }
    opened_.notify_all();
  }
  stt::Transcript transcribe(std::span<const float>, const stt::TranscribeOptions&) const override {
    std::unique_lock lock(mutex_);
    opened_.wait(lock, [&] { return open_; });
    stt::Transcript transcript;
    transcript.text = "gated";
    return transcript;
  }
  std::string model_name() const override { return "gated"; }

 private:
  mutable std::mutex mutex_;
  mutable std::condition_variable opened_;
  bool open_ = false;
};

class GatewayBusyTest : public GatewayMediaTest {
 protected:
  GatewayBusyTest() { service_ = &busy_service_; }
  void TearDown() override {
    gated_->open();
    GatewayMediaTest::TearDown();
  }

  std::shared_ptr<GatedTranscriber> gated_ = std::make_shared<GatedTranscriber>();
  // One worker and no queue: a second utterance while the first is
  // transcribed finds the service busy.
  stt::TranscriptionService busy_service_{gated_,
                                          stt::ServiceOptions{.workers = 1, .max_queued = 0}};
};

TEST_F(GatewayBusyTest, ABusyServiceIsAnErrorEventNotACrash) {
  std::vector<float> clip = speech();
  if (clip.empty()) GTEST_SKIP() << "missing " << shared_file("audio/send-email.wav");
  // Two utterances: the clip ends with 1.2 s of silence.
  std::vector<float> twice = clip;
  twice.insert(twice.end(), clip.begin(), clip.end());
  FakeBrowser browser(std::move(twice));
  connect(browser);

  const json error = browser.wait_for_type("error");
  ASSERT_FALSE(error.is_null()) << "no error event";
  EXPECT_THAT(error.at("message").get<std::string>(), ::testing::HasSubstr("busy"));
  gated_->open();
  const json transcript = browser.wait_for_type("transcript");
  ASSERT_FALSE(transcript.is_null()) << "no transcript event";
  EXPECT_EQ(transcript.at("id"), 1);
  EXPECT_EQ(transcript.at("text"), "gated");
  EXPECT_EQ(gateway_->session_count(), 1u);
}

// Takes a fixed time per transcription (giving up when cancelled) and
// answers with the number of samples it heard, so a test can tell which audio
// was transcribed and how often.
class TimedTranscriber final : public stt::Transcriber {
 public:
  explicit TimedTranscriber(std::chrono::milliseconds duration) : duration_(duration) {}
  stt::Transcript transcribe(std::span<const float> audio_16k,
                             const stt::TranscribeOptions& options) const override {
    ++calls_;
    const auto deadline = Clock::now() + duration_;
    while (Clock::now() < deadline) {
      if (options.cancel != nullptr && options.cancel->load()) throw stt::Cancelled();
      std::this_thread::sleep_for(5ms);
    }
    stt::Transcript transcript;
    transcript.text = std::to_string(audio_16k.size());
    return transcript;
  }
  std::string model_name() const override { return "timed"; }
  int calls() const { return calls_.load(); }

 private:
  std::chrono::milliseconds duration_;
  mutable std::atomic<int> calls_{0};
};

// Speculative transcription on, with a 300 ms transcriber: it finishes
// within the 390 ms between the tentative utterance and the endpoint.
class GatewaySpeculativeTest : public GatewayMediaTest {
 protected:
  GatewaySpeculativeTest() { service_ = &service_300ms_; }
  GatewayOptions options() const override {
    GatewayOptions options = GatewayMediaTest::options();
    options.front_end.endpoint.speculative_after_ms = 200;
    return options;
  }
  // The one transcript event; fails when a second one comes.
  json only_transcript(FakeBrowser& browser) {
    const json transcript = browser.wait_for_type("transcript");
    EXPECT_TRUE(browser
                    .wait_for(
                        [](const json& m) {
                          return m.value("type", "") == "transcript" && m.value("id", 0) != 1;
                        },
                        1500ms)
                    .is_null())
        << "a second transcript";
    return transcript;
  }
  // Samples the transcriber heard for an utterance: pre-roll, speech, no trailing silence.
  static double expected_samples(const json& transcript) {
    return (transcript.at("end").get<double>() - transcript.at("start").get<double>() + 0.3) *
           16000;
  }

  std::shared_ptr<TimedTranscriber> timed_ = std::make_shared<TimedTranscriber>(300ms);
  stt::TranscriptionService service_300ms_{timed_, stt::ServiceOptions{}};
};

TEST_F(GatewaySpeculativeTest, TranscribesDuringTheTrailingSilenceAndReportsOneTranscript) {
  std::vector<float> clip = speech();
  if (clip.empty()) GTEST_SKIP() << "missing " << shared_file("audio/send-email.wav");
  FakeBrowser browser(std::move(clip));
  connect(browser);

  const json transcript = only_transcript(browser);
  ASSERT_FALSE(transcript.is_null()) << "no transcript event";
  std::printf("[ rtc      ] %s\n", transcript.dump().c_str());
  EXPECT_EQ(transcript.at("id"), 1);
  EXPECT_EQ(transcript.value("speculative", false), true);
  EXPECT_EQ(timed_->calls(), 1);
  EXPECT_NEAR(std::stod(transcript.at("text").get<std::string>()), expected_samples(transcript),
              480);
  const json& latency = transcript.at("latency_ms");
  EXPECT_GE(latency.at("endpoint").get<double>(), 500);
  // 300 ms of speech-to-text, done before the endpoint: nothing left after it
  // (a loaded machine may start the 300 ms late).
  EXPECT_GE(latency.at("stt_total").get<double>(), 300);
  EXPECT_LT(latency.at("stt").get<double>(), 150);
  EXPECT_EQ(latency.at("queue").get<double>(), 0);
}

TEST_F(GatewaySpeculativeTest, SpeechAfterAShortPauseDiscardsTheSpeculativeTranscription) {
  const std::vector<float> clip = speech();
  if (clip.empty()) GTEST_SKIP() << "missing " << shared_file("audio/send-email.wav");
  // The clip's speech, a 400 ms pause (more than the 200 ms of speculation,
  // less than the 600 ms endpoint) and the clip again.
  const auto last_sound =
      std::find_if(clip.rbegin(), clip.rend(), [](float x) { return std::abs(x) > 0.01f; }).base();
  std::vector<float> paused(clip.begin(), last_sound);
  paused.insert(paused.end(), 6400, 0.0f);
  paused.insert(paused.end(), clip.begin() + static_cast<std::ptrdiff_t>(first_sound(clip)),
                clip.end());
  const double pause_start = static_cast<double>(last_sound - clip.begin()) / 16000;
  FakeBrowser browser(std::move(paused));
  connect(browser);

  const json transcript = only_transcript(browser);
  ASSERT_FALSE(transcript.is_null()) << "no transcript event";
  std::printf("[ rtc      ] %s\n", transcript.dump().c_str());
  // One utterance over both parts, transcribed as a whole.
  EXPECT_LT(transcript.at("start").get<double>(), pause_start);
  EXPECT_GT(transcript.at("end").get<double>(), pause_start + 3);
  EXPECT_NEAR(std::stod(transcript.at("text").get<std::string>()), expected_samples(transcript),
              480);
  // The pause's speculative transcription and the whole utterance's.
  EXPECT_GE(timed_->calls(), 2);
}

}  // namespace
}  // namespace voicedesk::rtc
