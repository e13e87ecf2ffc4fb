#include "mcp/http_client.hpp"

#include <httplib.h>

#include <regex>

#include "mcp/protocol.hpp"

namespace voicedesk::mcp {

using nlohmann::json;

namespace {

// A response the server no longer knows the session of: start a new one.
class SessionExpired : public ClientError {
 public:
  SessionExpired() : ClientError("the MCP session expired") {}
};

struct ParsedUrl {
  std::string origin;  // scheme://host:port
  std::string path;
};

ParsedUrl parse_url(const std::string& url) {
  static const std::regex pattern(R"((https?://[^/]+)(/.*)?)");
  std::smatch match;
  if (!std::regex_match(url, match, pattern)) throw ClientError("not an http(s) URL: " + url);
  return {match[1], match[2].matched ? std::string(match[2]) : "/"};
}

// The JSON-RPC messages and the last event id of a server-sent-event body.
struct EventBody {
  std::vector<json> messages;
  std::string last_event_id;
};

EventBody parse_events(const std::string& body) {
  EventBody parsed;
  std::string data;
  std::size_t start = 0;
  while (start <= body.size()) {
    std::size_t end = body.find('\n', start);
    if (end == std::string::npos) end = body.size();
    std::string line = body.substr(start, end - start);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    start = end + 1;
    if (line.empty()) {  // end of one event
      if (!data.empty()) {
        json message = json::parse(data, nullptr, false);
        if (!message.is_discarded()) parsed.messages.push_back(std::move(message));
      }
      data.clear();
      continue;
    }
    if (line.starts_with("data:")) {
      std::string value = line.substr(5);
      if (value.starts_with(' ')) value.erase(0, 1);
      if (!data.empty()) data += '\n';
      data += value;
    } else if (line.starts_with("id:")) {
      std::string value = line.substr(3);
      if (value.starts_with(' ')) value.erase(0, 1);
      parsed.last_event_id = value;
    }
  }
  return parsed;
}

}  // namespace

struct HttpClient::Connection {
  ParsedUrl url;
  httplib::Client http;
  explicit Connection(const ParsedUrl& parsed) : url(parsed), http(parsed.origin) {}
};

HttpClient::HttpClient(ClientOptions options) : options_(std::move(options)) {
  connection_ = std::make_unique<Connection>(parse_url(options_.url));
  connection_->http.set_connection_timeout(std::chrono::seconds(5));
  connection_->http.set_read_timeout(options_.timeout);
  connection_->http.set_write_timeout(options_.timeout);
}

HttpClient::~HttpClient() = default;

json HttpClient::call_tool(const std::string& name, const json& arguments) {
  return request("tools/call", {{"name", name}, {"arguments", arguments}});
}

json HttpClient::list_tools() {
  return request("tools/list", json::object());
}

json HttpClient::request(const std::string& method, const json& params) {
  std::lock_guard lock(mutex_);
  for (int attempt = 0;; ++attempt) {
    try {
      if (session_id_.empty()) initialize();
      return request_once(method, params);
    } catch (const SessionExpired&) {
      session_id_.clear();
      if (attempt > 0) throw;
    }
  }
}

void HttpClient::initialize() {
  const json result =
      request_once("initialize", {{"protocolVersion", std::string(kLatestProtocolVersion)},
                                  {"capabilities", json::object()},
                                  {"clientInfo", {{"name", "voicedesk"}, {"version", "1"}}}});
  protocol_version_ = result.value("protocolVersion", std::string(kLatestProtocolVersion));
  request_once("notifications/initialized", nullptr);
}

json HttpClient::request_once(const std::string& method, const json& params) {
  const bool is_notification = method.starts_with("notifications/");
  const json id = next_id_++;
  const json message =
      is_notification ? make_notification(method, params) : make_request(id, method, params);

  auto send = [&](const char* verb, const std::string& body,
                  const httplib::Headers& extra) -> httplib::Response {
    httplib::Request req;
    req.method = verb;
    req.path = connection_->url.path;
    req.headers = extra;
    req.set_header("Accept", "application/json, text/event-stream");
    if (!session_id_.empty()) req.set_header("Mcp-Session-Id", session_id_);
    if (!protocol_version_.empty()) req.set_header("MCP-Protocol-Version", protocol_version_);
    if (options_.token) req.set_header("X-API-Key", options_.token());
    if (!body.empty()) {
      req.body = body;
      req.set_header("Content-Type", "application/json");
    }
    std::string received;
    bool too_large = false;
    req.content_receiver = [&](const char* data, std::size_t length, std::uint64_t, std::uint64_t) {
      if (received.size() + length > options_.max_response_bytes) {
        too_large = true;
        return false;
      }
      received.append(data, length);
      return true;
    };
    httplib::Response res;
    httplib::Error error = httplib::Error::Success;
    const bool sent = connection_->http.send(req, res, error);
    if (too_large) throw ClientError(method + ": response larger than the limit");
    if (!sent) {
      throw ClientError(method + ": cannot reach " + options_.url + " (" +
                        httplib::to_string(error) + ")");
    }
    res.body = std::move(received);
    return res;
  };

  httplib::Response res = send("POST", message.dump(), {});
  if (res.status == 404 && !session_id_.empty()) throw SessionExpired();
  if (res.status < 200 || res.status >= 300) {
    json body = json::parse(res.body, nullptr, false);
    std::string detail = res.body.substr(0, 200);
    if (body.is_object() && body.contains("error")) {
      const json& error = body["error"];
      detail =
          error.is_object() ? error.value("message", detail) : body.value("message", error.dump());
    }
    throw ClientError(method + ": HTTP " + std::to_string(res.status) + ": " + detail);
  }
  if (method == "initialize") session_id_ = res.get_header_value("Mcp-Session-Id");
  if (is_notification) return nullptr;

  // One JSON body, or events until the response; a stream the server let go
  // of early continues on GET with Last-Event-ID.
  json response;
  if (res.get_header_value("Content-Type").starts_with("text/event-stream")) {
    EventBody events = parse_events(res.body);
    for (int resumes = 0;; ++resumes) {
      for (json& event : events.messages) {
        if (event.is_object() && event.value("id", json()) == id && !event.contains("method")) {
          response = std::move(event);
        }
      }
      if (!response.is_null() || events.last_event_id.empty() || resumes >= 10) break;
      res = send("GET", "", {{"Last-Event-ID", events.last_event_id}});
      if (res.status != 200) break;
      events = parse_events(res.body);
    }
  } else {
    response = json::parse(res.body, nullptr, false);
  }
  if (!response.is_object()) throw ClientError(method + ": no valid response from the server");
  if (const auto error = response.find("error"); error != response.end()) {
    throw ClientError(method + ": " + error->value("message", std::string("error")));
  }
  const auto result = response.find("result");
  if (result == response.end() || !result->is_object()) {
    throw ClientError(method + ": response without a result");
  }
  return *result;
}

}  // namespace voicedesk::mcp
