#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "audio/front_end.hpp"
#include "audio/speech_synthesizer.hpp"
#include "rtc/ice_servers.hpp"
#include "stt/transcription_service.hpp"

namespace voicedesk::rtc {

// Something the browser's user said to a session, for the agent.
struct UserInput {
  enum class Kind {
    speech,        // a final, non-empty transcript
    typed,         // {"type":"user_text","text":...}
    confirmation,  // {"type":"confirm","answer":"yes"|"no"}: text is the answer
  };
  Kind kind = Kind::speech;
  std::string text;
};

struct GatewayOptions {
  audio::FrontEndOptions front_end;
  std::size_t max_sessions = 16;
  std::size_t max_sdp_bytes = 64 * 1024;
  // A connected session ends when no audio arrived for this long: neither a
  // closed browser tab nor pc.close() reaches webrtcbin 1.22 otherwise.
  std::chrono::milliseconds peer_timeout{5000};
  // A session whose offer never came is dropped after this long.
  std::chrono::milliseconds offer_timeout{30000};
  // Longest answer() waits for webrtcbin to gather its first UDP candidate.
  std::chrono::milliseconds gather_timeout{5000};
  // Addresses ICE may offer; empty = every interface. The default matches
  // voicedesk's default of serving 127.0.0.1 only.
  std::vector<std::string> ice_addresses{"127.0.0.1"};
  // STUN (at most one: webrtcbin takes one) and TURN servers, used by the
  // server's ICE agent and handed to the browser (POST /session). Host names
  // are resolved once, when the gateway starts.
  std::vector<IceServer> ice_servers;
  // Local ports ICE may bind (UDP, and TCP for ICE-TCP), so that a firewall
  // can open just these; 0 = any. One port per session and local address.
  unsigned min_ice_port = 0;
  unsigned max_ice_port = 0;
  // How long answer() waits, after the first UDP candidate, for the rest it
  // needs before answering with what exists (a non-trickle answer carries
  // only that): a host candidate for each of ice_addresses, or the end of
  // gathering when ICE uses every interface, and the candidates of the
  // STUN/TURN servers.
  std::chrono::milliseconds server_candidate_timeout{2000};
  // webrtcbin's jitterbuffer latency; its default of 200 ms is for the open
  // internet, loopback and LAN peers need far less.
  unsigned jitter_latency_ms = 40;
  // What the user says to a session (see UserInput). Called on a gateway
  // thread: it must hand the input on and return at once. Empty: transcripts
  // are only shown.
  std::function<void(const std::string& session_id, const UserInput& input)> on_user_input;
  // A session ended (whatever was kept for it can go). Called on a gateway
  // thread; must not call back into the gateway.
  std::function<void(const std::string& session_id)> on_session_closed;
  // Longest typed line accepted from the browser, in bytes.
  std::size_t max_user_text_bytes = 2000;
  // The voice of speak().
  audio::SpeechOptions speech;
  // Barge-in: the browser's user starting to speak stops a spoken reply.
  bool barge_in = true;
  // How much unbroken voice activity (see audio::BargeInDetector) counts as
  // the user starting to speak; the endpointer's onset, later, does too.
  int barge_in_ms = 90;
  // Longest text one speak() call takes (its audio is queued in memory,
  // ~2.6 MB per minute of speech).
  std::size_t max_speech_bytes = 16 * 1024;
};

// Why a Gateway call failed; the HTTP routes map each code to a status.
class GatewayError : public std::runtime_error {
 public:
  enum class Code {
    not_found,
    too_many_sessions,
    bad_offer,
    offer_too_large,
    conflict,
    too_large,
    internal
  };
  GatewayError(Code code, const std::string& message) : std::runtime_error(message), code_(code) {}
  Code code() const { return code_; }

 private:
  Code code_;
};

// The WebRTC side of the voice loop (GStreamer webrtcbin): one session per
// browser peer. A session receives the browser's Opus track, runs it through
// its own AudioFrontEnd, submits each utterance to the shared
// TranscriptionService and sends events on the browser's DataChannel
// "transcript" (JSON text messages):
//   {"type":"status","state":"connected"}        the channel opened
//   {"type":"vad","speaking":true|false}         speech started / ended
//   {"type":"transcript","id":N,"text":...,"start":s,"end":s,"final":true,
//    "latency_ms":{"endpoint":ms,"queue":ms,"stt":ms,"total":ms},"sent_at_ms":unix_ms}
//     endpoint: from the arrival of the last speech audio to the endpointer's
//     decision; queue: waiting for a speech-to-text worker; stt: transcribing;
//     total: from that arrival to sending this event; sent_at_ms: when it was
//     sent, in milliseconds since the Unix epoch on the server's clock.
//     With "speculative":true the transcription started before the endpoint
//     (FrontEndHandlers::on_tentative_utterance): queue and stt then count
//     only what was left after the endpoint decided, and latency_ms.stt_total
//     is the whole speech-to-text run.
//   {"type":"error","message":...}
//   {"type":"speech","state":"started","since_speak_ms":ms,"sent_at_ms":unix_ms}
//     a spoken reply's first audio went out, since_speak_ms after speak()
//   {"type":"speech","state":"ended"}           the reply ended or was stopped
// and whatever send_event() sends (the agent's replies). The browser may send
//   {"type":"user_text","text":...}   a typed line, to on_user_input
//   {"type":"confirm","answer":"yes"|"no"}   a click on a read-back's buttons
// anything else gets an error event.
// Replies are spoken on an Opus audio track the server adds to the
// browser's audio m-line (answered sendrecv): speak() streams espeak-ng's
// audio as it is synthesized; between replies nothing is sent.
// The browser ends a session with {"type":"bye"} on the channel, by closing
// the channel, through close(), or by going silent for peer_timeout.
// Thread-safe: every method may be called from any thread.
class Gateway {
 public:
  // Initialises GStreamer, checks that the needed plugins exist, resolves
  // the STUN/TURN host names and creates the process's DTLS certificate now
  // rather than in the first answer. Throws GatewayError(internal) when a
  // plugin is missing, a host name does not resolve, there is more than one
  // STUN server or the port range is empty. The service must outlive the
  // gateway.
  Gateway(stt::TranscriptionService& transcription, GatewayOptions options);
  // Ends every session and joins every thread the gateway started.
  ~Gateway();
  Gateway(const Gateway&) = delete;
  Gateway& operator=(const Gateway&) = delete;

  // A new session waiting for its offer: a random 128-bit id, 32 hex digits.
  // Throws GatewayError(too_many_sessions).
  std::string create_session();
  // Non-trickle negotiation: takes the browser's complete SDP offer (with its
  // candidates) and returns the answer with the server's candidates. Throws
  // GatewayError: not_found, offer_too_large, bad_offer (unparsable, no audio,
  // or refused by webrtcbin), conflict (the session already has an offer),
  // internal.
  std::string answer(const std::string& id, const std::string& sdp_offer);
  // Ends the session; its teardown completes asynchronously. Throws
  // GatewayError(not_found).
  void close(const std::string& id);

  // Sends a JSON event on the session's DataChannel (dropped while it is not
  // open). Throws GatewayError(not_found).
  void send_event(const std::string& id, const nlohmann::json& event);

  // Speaks text (UTF-8) to the session's browser after whatever it is
  // already saying, and returns at once: audio starts when espeak-ng has the
  // first clause, long before the whole text is synthesized. Throws
  // GatewayError: not_found, conflict (not negotiated yet, or the browser's
  // offer has no Opus audio to answer with a track), too_large.
  void speak(const std::string& id, std::string_view text);
  // Barge-in: drops everything queued or being synthesized for the session;
  // the browser hears silence within a frame or two plus its jitter buffer.
  // Throws GatewayError(not_found).
  void stop_speaking(const std::string& id);
  // Whether speech is queued, being synthesized or being sent. Throws
  // GatewayError(not_found).
  bool speaking(const std::string& id) const;

  // Sessions not yet closed.
  std::size_t session_count() const;
  // Sessions whose GStreamer objects and threads still exist (closed ones
  // count until their teardown finished).
  std::size_t live_session_count() const;

  const GatewayOptions& options() const;
  // The STUN/TURN servers as RTCIceServer dictionaries for the browser's
  // RTCPeerConnection (credentials included): [{"urls","username","credential"}].
  nlohmann::json browser_ice_servers() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace voicedesk::rtc
