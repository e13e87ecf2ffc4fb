#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>

namespace voicedesk::mcp {

// A call failed: the server is unreachable, answered with an HTTP or JSON-RPC
// error, or sent something that is not MCP. what() says which.
class ClientError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct ClientOptions {
  std::string url;  // e.g. http://127.0.0.1:8005/mcp
  // Returns the credential for one request ("X-API-Key"), minted fresh each
  // time; empty function: no credential.
  std::function<std::string()> token;
  std::chrono::seconds timeout{120};
  std::size_t max_response_bytes = 16u << 20;
};

// A minimal Streamable HTTP MCP client for calling tools on another voicedesk
// (or any MCP server): initializes a session on first use, answers JSON or
// event-stream responses, resumes a released stream with Last-Event-ID, and
// starts a new session once when the server forgot the old one. Calls are
// serialized; it is safe to share between threads.
class HttpClient {
 public:
  explicit HttpClient(ClientOptions options);
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // tools/call: returns the result object (content, structuredContent,
  // isError); throws ClientError for protocol or transport failures.
  nlohmann::json call_tool(const std::string& name, const nlohmann::json& arguments);
  // tools/list (first page).
  nlohmann::json list_tools();

  const std::string& url() const { return options_.url; }

 private:
  struct Connection;
  nlohmann::json request(const std::string& method, const nlohmann::json& params);
  nlohmann::json request_once(const std::string& method, const nlohmann::json& params);
  void initialize();

  ClientOptions options_;
  std::mutex mutex_;
  std::unique_ptr<Connection> connection_;
  std::string session_id_;
  std::string protocol_version_;
  std::int64_t next_id_ = 1;
};

}  // namespace voicedesk::mcp
