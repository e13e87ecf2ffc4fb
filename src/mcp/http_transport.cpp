#include "mcp/http_transport.hpp"

#include <httplib.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <unordered_map>

#include "mcp/event_stream.hpp"
#include "mcp/protocol.hpp"
#include "mcp/request_threads.hpp"
#include "mcp/server.hpp"
#include "util/text.hpp"

namespace voicedesk::mcp {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

namespace {

constexpr const char* kJson = "application/json";
constexpr const char* kEventStream = "text/event-stream";
constexpr const char* kSessionHeader = "Mcp-Session-Id";
constexpr const char* kVersionHeader = "MCP-Protocol-Version";
// Finished streams stay resumable for this long after their last event.
constexpr auto kFinishedStreamLifetime = std::chrono::seconds(60);

using util::ascii_lower;

// "[::1]:8005" -> "[::1]", "Example.com:80" -> "example.com".
std::string host_name(const std::string& host_header) {
  if (!host_header.empty() && host_header.front() == '[') {
    const std::size_t close = host_header.find(']');
    return ascii_lower(
        host_header.substr(0, close == std::string::npos ? host_header.size() : close + 1));
  }
  return ascii_lower(host_header.substr(0, host_header.find(':')));
}

void send_error(httplib::Response& res, int status, int code, const std::string& message) {
  res.status = status;
  res.set_content(make_error(nullptr, code, message).dump(), kJson);
}

bool header_contains(const httplib::Request& req, const char* name, const char* value) {
  return ascii_lower(req.get_header_value(name)).find(value) != std::string::npos;
}

// An Outbound for requests answered as one JSON body: anything they send
// before the response goes to the session's standalone stream.
class SessionBackground final : public Outbound {
 public:
  explicit SessionBackground(Session& session) : session_(session) {}
  bool send(const json& message) override { return session_.notify(message); }

 private:
  Session& session_;
};

}  // namespace

struct HttpTransport::Impl {
  // What the HTTP layer keeps per session besides the protocol state.
  struct HttpSession {
    std::shared_ptr<Session> session;
    std::shared_ptr<EventStream> standalone;
    bool legacy = false;
    std::mutex mutex;
    std::unordered_map<std::string, std::shared_ptr<EventStream>> streams;  // POST streams
    std::uint64_t next_stream = 1;
  };

  Server& server;
  HttpOptions options;
  std::atomic<bool> stopping{false};

  mutable std::mutex sessions_mutex;
  std::unordered_map<std::string, std::shared_ptr<HttpSession>> sessions;

  RequestThreads calls;

  std::mutex sweeper_mutex;
  std::condition_variable sweeper_wake;
  std::thread sweeper;

  Impl(Server& s, HttpOptions o)
      : server(s), options(std::move(o)), calls(options.max_concurrent_calls) {
    sweeper = std::thread([this] { sweep_loop(); });
  }

  // --- checks shared by every route ------------------------------------------

  // Host, Origin and credentials; false after writing the error response.
  bool admit(const httplib::Request& req, httplib::Response& res) {
    if (!options.allowed_hosts.empty()) {
      const std::string host = host_name(req.get_header_value("Host"));
      if (std::find(options.allowed_hosts.begin(), options.allowed_hosts.end(), host) ==
          options.allowed_hosts.end()) {
        send_error(res, 403, -32000, "Invalid Host header: " + req.get_header_value("Host"));
        return false;
      }
    }
    if (req.has_header("Origin")) {
      const std::string origin = req.get_header_value("Origin");
      const bool allowed = std::any_of(
          options.allowed_origins.begin(), options.allowed_origins.end(),
          [&](const std::string& candidate) { return util::iequals(candidate, origin); });
      if (!allowed) {
        send_error(res, 403, -32000, "Origin not allowed: " + req.get_header_value("Origin"));
        return false;
      }
    }
    if (options.authenticate) {
      if (auto failure = options.authenticate(req)) {
        res.status = 401;
        res.set_header("WWW-Authenticate", "Bearer");
        res.set_content(failure->dump(), kJson);
        return false;
      }
    }
    return true;
  }

  std::shared_ptr<HttpSession> find(const std::string& id) {
    std::lock_guard lock(sessions_mutex);
    const auto it = sessions.find(id);
    return it == sessions.end() ? nullptr : it->second;
  }

  std::shared_ptr<HttpSession> open(bool legacy) {
    auto http_session = std::make_shared<HttpSession>();
    http_session->session = server.open_session();
    http_session->legacy = legacy;
    http_session->standalone = std::make_shared<EventStream>("g", options.max_events_per_stream);
    http_session->session->set_background(http_session->standalone);
    std::lock_guard lock(sessions_mutex);
    sessions[http_session->session->id()] = http_session;
    return http_session;
  }

  void close(const std::string& id) {
    std::shared_ptr<HttpSession> http_session;
    {
      std::lock_guard lock(sessions_mutex);
      const auto it = sessions.find(id);
      if (it == sessions.end()) return;
      http_session = std::move(it->second);
      sessions.erase(it);
    }
    server.close_session(id);
    finish_streams(*http_session);
  }

  static void finish_streams(HttpSession& http_session) {
    http_session.standalone->finish();
    std::lock_guard lock(http_session.mutex);
    for (auto& [id, stream] : http_session.streams) stream->finish();
  }

  bool session_limit_reached() const {
    std::lock_guard lock(sessions_mutex);
    return sessions.size() >= options.max_sessions;
  }

  // --- housekeeping ----------------------------------------------------------

  void sweep_loop() {
    std::unique_lock lock(sweeper_mutex);
    while (!stopping) {
      sweeper_wake.wait_for(lock, std::chrono::seconds(5));
      if (stopping) break;
      lock.unlock();
      sweep();
      lock.lock();
    }
  }

  void sweep() {
    std::vector<std::string> idle;
    std::vector<std::shared_ptr<HttpSession>> live;
    const auto cutoff = Clock::now() - options.session_idle_timeout;
    {
      std::lock_guard lock(sessions_mutex);
      for (const auto& [id, http_session] : sessions) {
        if (http_session->session->closed() || http_session->session->last_active() < cutoff) {
          idle.push_back(id);
        } else {
          live.push_back(http_session);
        }
      }
    }
    for (const std::string& id : idle) close(id);
    const auto stale = Clock::now() - kFinishedStreamLifetime;
    for (const auto& http_session : live) {
      std::lock_guard lock(http_session->mutex);
      std::erase_if(http_session->streams, [&](const auto& entry) {
        return entry.second->finished() && entry.second->finished_at() < stale;
      });
    }
  }

  void stop() {
    {
      std::lock_guard lock(sweeper_mutex);
      if (stopping.exchange(true)) return;
    }
    sweeper_wake.notify_all();
    if (sweeper.joinable()) sweeper.join();
    std::vector<std::string> ids;
    {
      std::lock_guard lock(sessions_mutex);
      for (const auto& [id, http_session] : sessions) ids.push_back(id);
    }
    for (const std::string& id : ids) close(id);
    calls.join_all();
  }

  // --- event-stream writing ----------------------------------------------------

  // Writes stream's events after `after` to sink until the stream finishes,
  // the producer releases the connection, a newer connection takes over, or
  // the transport stops: true then. False when the peer went away (the events
  // stay for a resume). Idle streams get a comment every keepalive, which is
  // also how a vanished peer is noticed: the write fails.
  bool pump_events(httplib::DataSink& sink, EventStream& stream, std::uint64_t after,
                   Session& session, bool with_ids) {
    const auto write = [&sink](const std::string& text) {
      return sink.write(text.data(), text.size());
    };
    const std::uint64_t generation = stream.claim_writer();
    auto last_write = Clock::now();
    while (!stopping && stream.is_current_writer(generation)) {
      EventStream::Batch batch = stream.wait(after, options.keepalive);
      for (const EventStream::Event& event : batch.events) {
        const std::string id =
            with_ids ? "id: " + event_id(stream.id(), event.sequence) + "\n" : std::string();
        if (!write("event: message\n" + id + "data: " + event.data + "\n\n")) return false;
        after = event.sequence;
        stream.mark_delivered(after);
        last_write = Clock::now();
      }
      if (batch.finished || batch.released) break;
      if (batch.events.empty() && Clock::now() - last_write >= options.keepalive) {
        if (!write(": keepalive\n\n")) return false;
        last_write = Clock::now();
        session.touch();
      }
    }
    sink.done();
    return true;
  }

  // Answers with stream's events after `after`, starting with a priming event:
  // an id to resume from and the delay before reconnecting.
  void stream_response(httplib::Response& res, std::shared_ptr<EventStream> stream,
                       std::uint64_t after, std::shared_ptr<Session> session) {
    res.set_header("Cache-Control", "no-cache");
    res.set_header("X-Accel-Buffering", "no");  // reverse proxies: do not buffer events
    res.set_chunked_content_provider(
        kEventStream, [this, stream, after, session](std::size_t, httplib::DataSink& sink) {
          const std::string priming = "id: " + event_id(stream->id(), after) +
                                      "\nretry: " + std::to_string(options.retry.count()) +
                                      "\ndata: \n\n";
          if (!sink.write(priming.data(), priming.size())) return false;
          return pump_events(sink, *stream, after, *session, true);
        });
  }

  // --- Streamable HTTP ---------------------------------------------------------

  void post(const httplib::Request& req, httplib::Response& res) {
    if (!admit(req, res)) return;
    if (!header_contains(req, "Content-Type", kJson)) {
      send_error(res, 415, error_code::invalid_request, "Content-Type must be application/json");
      return;
    }
    const bool accepts_json = header_contains(req, "Accept", kJson) ||
                              header_contains(req, "Accept", "*/*") || !req.has_header("Accept");
    const bool accepts_sse = header_contains(req, "Accept", kEventStream);
    if (!accepts_json && !accepts_sse) {
      send_error(res, 406, error_code::invalid_request,
                 "Accept must include application/json or text/event-stream");
      return;
    }
    json body = json::parse(req.body, nullptr, false);
    if (body.is_discarded()) {
      send_error(res, 400, error_code::parse_error, "Parse error: the body is not valid JSON");
      return;
    }

    std::shared_ptr<HttpSession> http_session;
    if (!req.has_header(kSessionHeader)) {
      if (!body.is_object() || body.value("method", json()) != "initialize") {
        send_error(res, 400, error_code::invalid_request,
                   "Bad request: the Mcp-Session-Id header is required (send initialize first)");
        return;
      }
      if (session_limit_reached()) {
        send_error(res, 503, -32000, "Too many sessions; try again later");
        return;
      }
      http_session = open(false);
      res.set_header(kSessionHeader, http_session->session->id());
    } else {
      http_session = find(req.get_header_value(kSessionHeader));
      if (!http_session || http_session->legacy) {
        send_error(res, 404, -32001, "Session not found");
        return;
      }
      if (req.has_header(kVersionHeader) &&
          !is_supported_protocol_version(req.get_header_value(kVersionHeader))) {
        send_error(res, 400, error_code::invalid_request,
                   "Unsupported MCP-Protocol-Version: " + req.get_header_value(kVersionHeader));
        return;
      }
    }
    Session& session = *http_session->session;

    if (body.is_array()) {
      handle_batch(session, body, res);
      return;
    }
    const bool is_request = body.is_object() && body.contains("method") && body.contains("id");
    if (is_request && accepts_sse && server.may_stream(body)) {
      stream_call(http_session, std::move(body), res);
      return;
    }
    SessionBackground background(session);
    const std::optional<json> response = server.handle(session, body, background);
    if (!response) {
      res.status = 202;
      return;
    }
    if (!session.initialized()) {
      // A failed initialize must not leave a session behind.
      close(session.id());
      res.headers.erase(kSessionHeader);
    }
    res.set_content(response->dump(), kJson);
  }

  void handle_batch(Session& session, const json& batch, httplib::Response& res) {
    const std::string version = session.protocol_version();
    if (!protocol_allows_batches(version) || batch.empty()) {
      send_error(res, 400, error_code::invalid_request,
                 batch.empty() ? "Invalid request: empty batch"
                               : "Invalid request: JSON-RPC batches are not supported in protocol "
                                 "version " +
                                     version);
      return;
    }
    SessionBackground background(session);
    json responses = json::array();
    for (const json& message : batch) {
      if (message.is_object() && message.value("method", json()) == "initialize") {
        responses.push_back(make_error(request_id_of(message), error_code::invalid_request,
                                       "initialize must not be part of a batch"));
        continue;
      }
      if (auto response = server.handle(session, message, background)) {
        responses.push_back(std::move(*response));
      }
    }
    if (responses.empty()) {
      res.status = 202;
      return;
    }
    res.set_content(responses.dump(), kJson);
  }

  void stream_call(const std::shared_ptr<HttpSession>& http_session, json request,
                   httplib::Response& res) {
    std::shared_ptr<EventStream> stream;
    {
      std::lock_guard lock(http_session->mutex);
      stream = std::make_shared<EventStream>("p" + std::to_string(http_session->next_stream++),
                                             options.max_events_per_stream);
      http_session->streams[stream->id()] = stream;
    }
    std::shared_ptr<Session> session = http_session->session;
    const bool started = calls.try_start([this, session, stream, request = std::move(request)] {
      if (auto response = server.handle(*session, request, *stream)) stream->send(*response);
      stream->finish();
    });
    if (!started) {
      {
        std::lock_guard lock(http_session->mutex);
        http_session->streams.erase(stream->id());
      }
      send_error(res, 503, -32000, "Too many tool calls running; try again later");
      return;
    }
    stream_response(res, stream, 0, session);
  }

  void get(const httplib::Request& req, httplib::Response& res) {
    if (!admit(req, res)) return;
    if (!header_contains(req, "Accept", kEventStream)) {
      send_error(res, 406, error_code::invalid_request, "Accept must include text/event-stream");
      return;
    }
    if (!req.has_header(kSessionHeader)) {
      send_error(res, 400, error_code::invalid_request,
                 "Bad request: the Mcp-Session-Id header is required");
      return;
    }
    const std::shared_ptr<HttpSession> http_session = find(req.get_header_value(kSessionHeader));
    if (!http_session || http_session->legacy) {
      send_error(res, 404, -32001, "Session not found");
      return;
    }
    std::shared_ptr<EventStream> stream = http_session->standalone;
    std::uint64_t after = stream->delivered();
    std::string stream_id;
    std::uint64_t sequence = 0;
    if (req.has_header("Last-Event-ID") &&
        parse_event_id(req.get_header_value("Last-Event-ID"), stream_id, sequence)) {
      std::lock_guard lock(http_session->mutex);
      if (const auto it = http_session->streams.find(stream_id);
          it != http_session->streams.end()) {
        stream = it->second;
        after = sequence;
      } else if (stream_id == stream->id()) {
        after = sequence;
      }
    }
    res.set_header(kSessionHeader, http_session->session->id());
    stream_response(res, stream, after, http_session->session);
  }

  void remove(const httplib::Request& req, httplib::Response& res) {
    if (!admit(req, res)) return;
    if (!req.has_header(kSessionHeader)) {
      send_error(res, 400, error_code::invalid_request,
                 "Bad request: the Mcp-Session-Id header is required");
      return;
    }
    const std::string id = req.get_header_value(kSessionHeader);
    if (!find(id)) {
      send_error(res, 404, -32001, "Session not found");
      return;
    }
    close(id);
    res.status = 204;
  }

  // --- legacy HTTP+SSE (protocol 2024-11-05) ---------------------------------

  void legacy_open(const httplib::Request& req, httplib::Response& res) {
    if (!admit(req, res)) return;
    if (session_limit_reached()) {
      send_error(res, 503, -32000, "Too many sessions; try again later");
      return;
    }
    const std::shared_ptr<HttpSession> http_session = open(true);
    const std::string id = http_session->session->id();
    // The first event tells the client where to POST its messages.
    const std::string endpoint = "event: endpoint\ndata: /messages?session_id=" + id + "\n\n";
    auto stream = http_session->standalone;
    res.set_header("Cache-Control", "no-cache");
    auto provider = [this, stream, endpoint, session = http_session->session](
                        std::size_t, httplib::DataSink& sink) {
      if (!sink.write(endpoint.data(), endpoint.size())) return false;
      return pump_events(sink, *stream, 0, *session, false);
    };
    // The legacy session lives exactly as long as its event stream.
    res.set_chunked_content_provider(kEventStream, std::move(provider),
                                     [this, id](bool) { close(id); });
  }

  void legacy_message(const httplib::Request& req, httplib::Response& res) {
    if (!admit(req, res)) return;
    const std::shared_ptr<HttpSession> http_session = find(req.get_param_value("session_id"));
    if (!http_session || !http_session->legacy) {
      send_error(res, 404, -32001, "Session not found");
      return;
    }
    if (!header_contains(req, "Content-Type", kJson)) {
      send_error(res, 415, error_code::invalid_request, "Content-Type must be application/json");
      return;
    }
    json message = json::parse(req.body, nullptr, false);
    if (message.is_discarded()) {
      send_error(res, 400, error_code::parse_error, "Parse error: the body is not valid JSON");
      return;
    }
    std::shared_ptr<Session> session = http_session->session;
    std::shared_ptr<EventStream> stream = http_session->standalone;
    const bool is_request =
        message.is_object() && message.contains("method") && message.contains("id");
    if (!is_request) {
      if (auto response = server.handle(*session, message, *stream)) stream->send(*response);
    } else if (!calls.try_start([this, session, stream, message = std::move(message)] {
                 if (auto response = server.handle(*session, message, *stream)) {
                   stream->send(*response);
                 }
               })) {
      send_error(res, 503, -32000, "Too many requests running; try again later");
      return;
    }
    res.status = 202;
    res.set_content("Accepted", "text/plain");
  }
};

HttpTransport::HttpTransport(Server& server, HttpOptions options)
    : impl_(std::make_unique<Impl>(server, std::move(options))) {}

HttpTransport::~HttpTransport() {
  stop();
}

void HttpTransport::stop() {
  impl_->stop();
}

std::size_t HttpTransport::open_sessions() const {
  std::lock_guard lock(impl_->sessions_mutex);
  return impl_->sessions.size();
}

void HttpTransport::install(httplib::Server& http) {
  Impl& impl = *impl_;
  const std::string& path = impl.options.path;
  http.Post(path,
            [&impl](const httplib::Request& req, httplib::Response& res) { impl.post(req, res); });
  http.Get(path,
           [&impl](const httplib::Request& req, httplib::Response& res) { impl.get(req, res); });
  http.Delete(path, [&impl](const httplib::Request& req, httplib::Response& res) {
    impl.remove(req, res);
  });
  if (impl.options.legacy_sse) {
    http.Get("/sse", [&impl](const httplib::Request& req, httplib::Response& res) {
      impl.legacy_open(req, res);
    });
    http.Post("/messages", [&impl](const httplib::Request& req, httplib::Response& res) {
      impl.legacy_message(req, res);
    });
  }
}

}  // namespace voicedesk::mcp
