#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace httplib {
class Server;
struct Request;
}  // namespace httplib

namespace voicedesk::mcp {

class Server;

struct HttpOptions {
  std::string path = "/mcp";  // the Streamable HTTP endpoint
  // Browser origins allowed to call; a request without Origin (not a
  // browser) is allowed. Compared case-insensitively, e.g. "http://127.0.0.1:8005".
  std::vector<std::string> allowed_origins;
  // Host names (without port) the Host header may carry, against DNS
  // rebinding: a page on evil.example resolving its name to 127.0.0.1 still
  // sends "Host: evil.example". Empty allows any.
  std::vector<std::string> allowed_hosts;
  // Checks a request's credentials; returns the 401 body when they are
  // missing or bad. Empty means no authentication.
  std::function<std::optional<nlohmann::json>(const httplib::Request&)> authenticate;
  std::size_t max_sessions = 1000;
  std::size_t max_concurrent_calls = 64;  // streamed tool calls running at once
  std::chrono::seconds session_idle_timeout{30 * 60};
  std::chrono::milliseconds retry{1000};      // SSE reconnect delay suggested to clients
  std::chrono::milliseconds keepalive{1000};  // idle streams send a comment this often
  std::size_t max_events_per_stream = 1024;   // kept for resumption
  bool legacy_sse = true;                     // also serve GET /sse + POST /messages
};

// MCP over HTTP: Streamable HTTP (2025-03-26 and later) on options.path, and
// the legacy HTTP+SSE transport (/sse, /messages) for older clients.
//
// POST answers a request with one JSON body, or with an event stream when the
// request may send messages first (a tool call that is not quick). Streams
// start with a priming event carrying an id and a retry delay, so a client
// whose connection drops (or is released by a long tool) resumes with GET and
// Last-Event-ID. GET without Last-Event-ID is the session's standalone stream;
// DELETE ends the session.
//
// The server's thread pool must have room for every open stream plus the
// requests that answer a tool's questions: give httplib a pool of about
// max_concurrent_calls threads.
class HttpTransport {
 public:
  HttpTransport(Server& server, HttpOptions options);
  // Calls stop().
  ~HttpTransport();
  HttpTransport(const HttpTransport&) = delete;
  HttpTransport& operator=(const HttpTransport&) = delete;

  // Adds the routes; the transport must outlive the HTTP server's serving.
  void install(httplib::Server& http);
  // Ends every stream and session and joins the tool-call threads. Call it
  // before stopping the HTTP server, whose stop waits for open streams.
  void stop();

  std::size_t open_sessions() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace voicedesk::mcp
