#include "mcp/http_transport.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <httplib.h>

#include <future>
#include <sstream>
#include <thread>

#include "mcp/protocol.hpp"
#include "mcp/server.hpp"
#include "mcp/test_tools.hpp"
#include "tools/echo_tool.hpp"

namespace voicedesk::mcp {
namespace {

using nlohmann::json;
using test::BlockingProbe;
using test::make_tool;
using test::Signal;
using ::testing::HasSubstr;
using namespace std::chrono_literals;

constexpr const char* kBothAccepted = "application/json, text/event-stream";
constexpr std::size_t kPayloadLimit = 64 * 1024;

struct SseEvent {
  std::string id;
  std::string event;
  std::string data;
  std::optional<int> retry;
};

// Splits a text/event-stream body into its events; comments are skipped.
std::vector<SseEvent> parse_sse(const std::string& body) {
  std::vector<SseEvent> events;
  std::size_t start = 0;
  while (start < body.size()) {
    std::size_t end = body.find("\n\n", start);
    if (end == std::string::npos) end = body.size();
    std::istringstream block(body.substr(start, end - start));
    SseEvent event;
    bool any_field = false;
    for (std::string line; std::getline(block, line);) {
      if (line.empty() || line.front() == ':') continue;
      const std::size_t colon = line.find(':');
      const std::string field = line.substr(0, colon);
      std::string value = colon == std::string::npos ? "" : line.substr(colon + 1);
      if (!value.empty() && value.front() == ' ') value.erase(0, 1);
      any_field = true;
      if (field == "id") event.id = value;
      if (field == "event") event.event = value;
      if (field == "data") event.data += value;
      if (field == "retry") event.retry = std::stoi(value);
    }
    if (any_field) events.push_back(event);
    start = end + 2;
  }
  return events;
}

// The JSON-RPC messages of the events that carry one (not the priming
// event, nor the legacy transport's endpoint event).
std::vector<json> messages_of(const std::vector<SseEvent>& events) {
  std::vector<json> messages;
  for (const SseEvent& event : events) {
    if (!event.data.empty() && event.event != "endpoint")
      messages.push_back(json::parse(event.data));
  }
  return messages;
}

// Collects a streamed body on another thread; the test reads what arrived so far.
class StreamReader {
 public:
  // True (once) after the text has arrived; ends the stream when stop_when
  // text arrives.
  bool wait_for(const std::string& text, std::chrono::milliseconds timeout) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, timeout, [&] { return body_.find(text) != std::string::npos; });
  }
  std::string body() const {
    std::lock_guard lock(mutex_);
    return body_;
  }
  // The receiver for httplib: appends, and ends the stream once stop_text
  // arrived (never when it is empty).
  httplib::ContentReceiver receiver(std::string stop_text) {
    return [this, stop_text](const char* data, std::size_t length) {
      return append(data, length, stop_text);
    };
  }
  // The same for a request sent with httplib::Client::send.
  httplib::ContentReceiverWithProgress request_receiver() {
    return [this](const char* data, std::size_t length, std::uint64_t, std::uint64_t) {
      return append(data, length, "");
    };
  }

 private:
  bool append(const char* data, std::size_t length, const std::string& stop_text) {
    {
      std::lock_guard lock(mutex_);
      body_.append(data, length);
    }
    changed_.notify_all();
    return stop_text.empty() || body().find(stop_text) == std::string::npos;
  }

  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::string body_;
};

// Polls condition for up to 2 s.
bool eventually(const std::function<bool()>& condition) {
  const auto deadline = std::chrono::steady_clock::now() + 2s;
  while (!condition()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(2ms);
  }
  return true;
}

class HttpTransportTest : public ::testing::Test {
 protected:
  static HttpOptions test_options() {
    HttpOptions options;
    options.allowed_hosts = {"127.0.0.1", "localhost", "[::1]"};
    options.allowed_origins = {"http://allowed.example:8005"};
    options.retry = 50ms;
    options.keepalive = 100ms;
    options.max_concurrent_calls = 32;
    return options;
  }

  void start(HttpOptions options = test_options()) {
    transport = std::make_unique<HttpTransport>(server, options);
    http.new_task_queue = [] { return new httplib::ThreadPool(48); };
    http.set_payload_max_length(kPayloadLimit);
    // httplib 0.11 listens with a backlog of 5, so a burst of connections
    // (ManyConcurrentSessions) sees resets; keep its other socket option and
    // raise the backlog once bound.
    int listening_socket = -1;
    http.set_socket_options([&listening_socket](int socket) {
      int yes = 1;
      ::setsockopt(socket, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
      listening_socket = socket;
    });
    transport->install(http);
    port = http.bind_to_any_port("127.0.0.1");
    ASSERT_GT(port, 0);
    ASSERT_EQ(::listen(listening_socket, SOMAXCONN), 0);
    listener = std::thread([this] { http.listen_after_bind(); });
    while (!http.is_running()) std::this_thread::sleep_for(1ms);
  }

  void stop() {
    if (!listener.joinable()) return;
    transport->stop();
    http.stop();
    listener.join();
  }

  void TearDown() override { stop(); }

  std::unique_ptr<httplib::Client> client() const {
    auto c = std::make_unique<httplib::Client>("127.0.0.1", port);
    c->set_read_timeout(5, 0);
    c->set_connection_timeout(2, 0);
    return c;
  }

  static httplib::Headers headers(const std::string& session_id = "",
                                  const std::string& accept = kBothAccepted) {
    httplib::Headers result = {{"Accept", accept}};
    if (!session_id.empty()) result.emplace("Mcp-Session-Id", session_id);
    return result;
  }

  httplib::Result post(const json& body, const httplib::Headers& with_headers) const {
    return client()->Post("/mcp", with_headers, body.dump(), "application/json");
  }

  // Opens and initializes a session; returns its id.
  std::string open_session(const std::string& version = "2025-11-25",
                           const json& capabilities = json::object()) const {
    const auto res = post(make_request(0, "initialize",
                                       {{"protocolVersion", version},
                                        {"capabilities", capabilities},
                                        {"clientInfo", {{"name", "t"}, {"version", "0"}}}}),
                          headers());
    EXPECT_TRUE(res) << httplib::to_string(res.error());
    if (!res) return "";
    EXPECT_EQ(res->status, 200) << res->body;
    const std::string id = res->get_header_value("Mcp-Session-Id");
    const auto initialized = post(make_notification("notifications/initialized"), headers(id));
    EXPECT_EQ(initialized->status, 202);
    return id;
  }

  static json body_of(const httplib::Result& res) { return json::parse(res->body); }

  Server server{ServerInfo{}};
  std::unique_ptr<HttpTransport> transport;
  httplib::Server http;
  std::thread listener;
  int port = 0;
};

// --- sessions and basic exchanges ------------------------------------------------------

TEST_F(HttpTransportTest, InitializeReturnsASessionId) {
  start();
  const auto res =
      post(make_request(1, "initialize",
                        {{"protocolVersion", "2025-06-18"}, {"capabilities", json::object()}}),
           headers());
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_THAT(res->get_header_value("Content-Type"), HasSubstr("application/json"));
  const std::string id = res->get_header_value("Mcp-Session-Id");
  EXPECT_EQ(id.size(), 32u);
  EXPECT_EQ(body_of(res)["result"]["protocolVersion"], "2025-06-18");
  EXPECT_EQ(transport->open_sessions(), 1u);

  const auto list = post(make_request(2, "tools/list", json::object()), headers(id));
  EXPECT_EQ(list->status, 200);
  EXPECT_EQ(body_of(list)["result"]["tools"], json::array());
}

TEST_F(HttpTransportTest, FailedInitializeLeavesNoSession) {
  start();
  const auto res = post(make_request(1, "initialize", json::object()), headers());
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(json::parse(res->body)["error"]["code"], error_code::invalid_params);
  EXPECT_FALSE(res->has_header("Mcp-Session-Id"));
  EXPECT_EQ(transport->open_sessions(), 0u);
}

TEST_F(HttpTransportTest, NotificationIsAcceptedWithAnEmptyBody) {
  start();
  const std::string id = open_session();
  const auto res =
      post(make_notification("notifications/cancelled", {{"requestId", 99}}), headers(id));
  EXPECT_EQ(res->status, 202);
  EXPECT_TRUE(res->body.empty());
}

TEST_F(HttpTransportTest, MissingSessionHeaderIsABadRequest) {
  start();
  open_session();
  const auto res = post(make_request(1, "tools/list", json::object()), headers());
  EXPECT_EQ(res->status, 400);
  EXPECT_THAT(body_of(res)["error"]["message"].get<std::string>(), HasSubstr("Mcp-Session-Id"));
}

TEST_F(HttpTransportTest, UnknownSessionIsNotFound) {
  start();
  const auto res = post(make_request(1, "tools/list", json::object()),
                        headers("0123456789abcdef0123456789abcdef"));
  EXPECT_EQ(res->status, 404);
  EXPECT_EQ(body_of(res)["error"]["code"], -32001);
}

TEST_F(HttpTransportTest, WrongContentTypeIsUnsupportedMediaType) {
  start();
  const std::string id = open_session();
  const auto res = client()->Post("/mcp", headers(id),
                                  make_request(1, "ping", json::object()).dump(), "text/plain");
  EXPECT_EQ(res->status, 415);
  EXPECT_TRUE(body_of(res).contains("error"));
}

TEST_F(HttpTransportTest, AcceptWithoutJsonOrEventStreamIsNotAcceptable) {
  start();
  const std::string id = open_session();
  const auto res = post(make_request(1, "ping", json::object()), headers(id, "text/html"));
  EXPECT_EQ(res->status, 406);
  const auto only_json =
      post(make_request(2, "ping", json::object()), headers(id, "application/json"));
  EXPECT_EQ(only_json->status, 200);
}

TEST_F(HttpTransportTest, MalformedJsonIsAParseError) {
  start();
  const std::string id = open_session();
  const auto res = client()->Post("/mcp", headers(id), R"({"jsonrpc":"2.0",)", "application/json");
  EXPECT_EQ(res->status, 400);
  EXPECT_EQ(body_of(res)["error"]["code"], error_code::parse_error);
  EXPECT_EQ(body_of(res)["id"], nullptr);
}

TEST_F(HttpTransportTest, UnsupportedProtocolVersionHeaderIsABadRequest) {
  start();
  const std::string id = open_session();
  httplib::Headers bad = headers(id);
  bad.emplace("MCP-Protocol-Version", "1999-01-01");
  EXPECT_EQ(post(make_request(1, "ping", json::object()), bad)->status, 400);
  httplib::Headers good = headers(id);
  good.emplace("MCP-Protocol-Version", "2025-11-25");
  EXPECT_EQ(post(make_request(2, "ping", json::object()), good)->status, 200);
}

TEST_F(HttpTransportTest, ForeignHostHeaderIsForbidden) {
  start();
  httplib::Headers evil = headers();
  evil.emplace("Host", "evil.example.com");
  const auto res = post(make_request(1, "initialize", {{"protocolVersion", "2025-11-25"}}), evil);
  EXPECT_EQ(res->status, 403);
  EXPECT_EQ(transport->open_sessions(), 0u);
  httplib::Headers local = headers();
  local.emplace("Host", "LOCALHOST:1234");
  EXPECT_EQ(post(make_request(1, "initialize", {{"protocolVersion", "2025-11-25"}}), local)->status,
            200);
  httplib::Headers ipv6 = headers();
  ipv6.emplace("Host", "[::1]:1234");
  EXPECT_EQ(post(make_request(1, "initialize", {{"protocolVersion", "2025-11-25"}}), ipv6)->status,
            200);
  httplib::Headers lookalike = headers();
  lookalike.emplace("Host", "localhost.evil.example.com");
  EXPECT_EQ(
      post(make_request(1, "initialize", {{"protocolVersion", "2025-11-25"}}), lookalike)->status,
      403);
}

TEST_F(HttpTransportTest, OnlyAllowedOriginsMayCall) {
  start();
  httplib::Headers evil = headers();
  evil.emplace("Origin", "http://evil.example.com");
  const auto refused =
      post(make_request(1, "initialize", {{"protocolVersion", "2025-11-25"}}), evil);
  EXPECT_EQ(refused->status, 403);
  EXPECT_THAT(body_of(refused)["error"]["message"].get<std::string>(), HasSubstr("Origin"));
  httplib::Headers allowed = headers();
  allowed.emplace("Origin", "HTTP://Allowed.Example:8005");
  EXPECT_EQ(
      post(make_request(1, "initialize", {{"protocolVersion", "2025-11-25"}}), allowed)->status,
      200);
}

TEST_F(HttpTransportTest, FailedAuthenticationIsUnauthorizedWithTheCallbacksBody) {
  HttpOptions options = test_options();
  options.authenticate = [](const httplib::Request& req) -> std::optional<json> {
    if (req.get_header_value("Authorization") == "Bearer s3cret") return std::nullopt;
    return json{{"error", "invalid_token"}, {"error_description", "bad or missing token"}};
  };
  start(options);
  const json init = make_request(1, "initialize", {{"protocolVersion", "2025-11-25"}});
  const auto refused = post(init, headers());
  EXPECT_EQ(refused->status, 401);
  EXPECT_EQ(body_of(refused),
            json({{"error", "invalid_token"}, {"error_description", "bad or missing token"}}));
  EXPECT_THAT(refused->get_header_value("WWW-Authenticate"), HasSubstr("Bearer"));
  httplib::Headers authorized = headers();
  authorized.emplace("Authorization", "Bearer s3cret");
  EXPECT_EQ(post(init, authorized)->status, 200);
}

TEST_F(HttpTransportTest, BodyOverThePayloadLimitIsTooLarge) {
  server.add_tool(tools::make_echo_tool());
  start();
  const std::string id = open_session();
  const json big =
      make_request(1, "tools/call",
                   {{"name", "echo"}, {"arguments", {{"text", std::string(kPayloadLimit, 'x')}}}});
  EXPECT_EQ(post(big, headers(id))->status, 413);
  const json small =
      make_request(2, "tools/call", {{"name", "echo"}, {"arguments", {{"text", "x"}}}});
  EXPECT_EQ(post(small, headers(id))->status, 200);
}

TEST_F(HttpTransportTest, BatchesAreRefusedOnCurrentProtocolVersions) {
  start();
  const std::string id = open_session("2025-11-25");
  const json batch = {make_request(1, "ping", json::object()),
                      make_request(2, "ping", json::object())};
  const auto res = post(batch, headers(id));
  EXPECT_EQ(res->status, 400);
  EXPECT_EQ(body_of(res)["error"]["code"], error_code::invalid_request);
}

TEST_F(HttpTransportTest, BatchesAreAnsweredOn2025_03_26) {
  server.add_tool(tools::make_echo_tool());
  start();
  const std::string id = open_session("2025-03-26");
  const json batch = {
      make_request(1, "ping", json::object()), make_notification("notifications/initialized"),
      make_request("b", "tools/call", {{"name", "echo"}, {"arguments", {{"text", "hi"}}}}),
      make_request(3, "initialize", {{"protocolVersion", "2025-03-26"}})};
  const auto res = post(batch, headers(id));
  ASSERT_EQ(res->status, 200) << res->body;
  const json responses = body_of(res);
  ASSERT_TRUE(responses.is_array());
  ASSERT_EQ(responses.size(), 3u);
  EXPECT_EQ(responses[0]["id"], 1);
  EXPECT_EQ(responses[1]["id"], "b");
  EXPECT_EQ(responses[1]["result"]["content"][0]["text"], "hi");
  EXPECT_EQ(responses[2]["error"]["code"], error_code::invalid_request);
  EXPECT_EQ(post(json::array(), headers(id))->status, 400);
  EXPECT_EQ(
      post(json::array({make_notification("notifications/initialized")}), headers(id))->status,
      202);
}

// --- event streams -----------------------------------------------------------------------

TEST_F(HttpTransportTest, SlowToolAnswersWithAnEventStreamStartingWithAPrimingEvent) {
  server.add_tool(make_tool("slow", [](const json&, tools::ToolContext& context) {
    context.progress(0.5, 1.0, "half");
    context.log(tools::LogLevel::warning, "careful");
    return tools::ToolResult::text("done");
  }));
  start();
  const std::string id = open_session();
  const auto res =
      post(make_request(7, "tools/call", {{"name", "slow"}, {"_meta", {{"progressToken", "p"}}}}),
           headers(id));
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_THAT(res->get_header_value("Content-Type"), HasSubstr("text/event-stream"));
  const std::vector<SseEvent> events = parse_sse(res->body);
  ASSERT_EQ(events.size(), 4u) << res->body;
  EXPECT_FALSE(events[0].id.empty());
  EXPECT_EQ(events[0].retry, 50);
  EXPECT_EQ(events[0].data, "");
  const std::vector<json> messages = messages_of(events);
  ASSERT_EQ(messages.size(), 3u);
  EXPECT_EQ(messages[0]["method"], "notifications/progress");
  EXPECT_EQ(messages[1]["method"], "notifications/message");
  EXPECT_EQ(messages[2]["id"], 7);
  EXPECT_EQ(messages[2]["result"]["content"][0]["text"], "done");
  // Every event has its own id to resume after.
  EXPECT_NE(events[1].id, events[2].id);
  EXPECT_NE(events[2].id, events[3].id);
}

TEST_F(HttpTransportTest, SlowToolForAJsonOnlyClientAnswersWithJson) {
  server.add_tool(make_tool(
      "slow", [](const json&, tools::ToolContext&) { return tools::ToolResult::text("done"); }));
  server.add_tool(tools::make_echo_tool());
  start();
  const std::string id = open_session();
  const auto slow =
      post(make_request(1, "tools/call", {{"name", "slow"}}), headers(id, "application/json"));
  EXPECT_THAT(slow->get_header_value("Content-Type"), HasSubstr("application/json"));
  EXPECT_EQ(body_of(slow)["result"]["content"][0]["text"], "done");
  // A quick tool answers with JSON even when streams are acceptable.
  const auto quick =
      post(make_request(2, "tools/call", {{"name", "echo"}, {"arguments", {{"text", "q"}}}}),
           headers(id));
  EXPECT_THAT(quick->get_header_value("Content-Type"), HasSubstr("application/json"));
}

TEST_F(HttpTransportTest, ReleasedConnectionIsResumedWithLastEventId) {
  auto may_finish = std::make_shared<Signal>();
  server.add_tool(make_tool("long", [may_finish](const json&, tools::ToolContext& context) {
    context.progress(0.1, 1.0, "started");
    context.release_connection();
    if (!may_finish->wait(3s)) throw tools::ToolError("the test never let the tool finish");
    context.progress(1.0, 1.0, "finishing");
    return tools::ToolResult::text("long result");
  }));
  start();
  const std::string id = open_session();
  const auto start_time = std::chrono::steady_clock::now();
  const auto first =
      post(make_request(5, "tools/call", {{"name", "long"}, {"_meta", {{"progressToken", 1}}}}),
           headers(id));
  ASSERT_TRUE(first);
  EXPECT_LT(std::chrono::steady_clock::now() - start_time, 2s);
  const std::vector<SseEvent> early = parse_sse(first->body);
  ASSERT_EQ(early.size(), 2u) << first->body;  // priming + progress, no response
  EXPECT_EQ(messages_of(early)[0]["params"]["message"], "started");

  httplib::Headers resume = headers(id, "text/event-stream");
  resume.emplace("Last-Event-ID", early.back().id);
  auto resumed = std::async(std::launch::async, [&] { return client()->Get("/mcp", resume); });
  std::this_thread::sleep_for(50ms);
  may_finish->set();
  ASSERT_EQ(resumed.wait_for(3s), std::future_status::ready);
  const auto second = resumed.get();
  ASSERT_TRUE(second);
  EXPECT_EQ(second->status, 200);
  const std::vector<json> later = messages_of(parse_sse(second->body));
  ASSERT_EQ(later.size(), 2u) << second->body;
  EXPECT_EQ(later[0]["params"]["message"], "finishing");
  EXPECT_EQ(later[1]["id"], 5);
  EXPECT_EQ(later[1]["result"]["content"][0]["text"], "long result");
}

TEST_F(HttpTransportTest, ToolAsksTheClientOnItsStreamAndGetsThePostedAnswer) {
  server.add_tool(make_tool("ask", [](const json&, tools::ToolContext& context) {
    const json answer = context.ask_client("sampling/createMessage", {{"maxTokens", 10}});
    return tools::ToolResult::text(answer.at("content").at("text").get<std::string>());
  }));
  start();
  const std::string id = open_session("2025-11-25", {{"sampling", json::object()}});
  StreamReader reader;
  auto call = std::async(std::launch::async, [&] {
    httplib::Request request;
    request.method = "POST";
    request.path = "/mcp";
    request.headers = headers(id);
    request.set_header("Content-Type", "application/json");
    request.body = make_request(1, "tools/call", {{"name", "ask"}}).dump();
    request.content_receiver = reader.request_receiver();
    return client()->send(request);
  });
  ASSERT_TRUE(reader.wait_for("sampling/createMessage", 2s)) << reader.body();
  const json question = messages_of(parse_sse(reader.body())).at(0);
  EXPECT_EQ(question["params"]["maxTokens"], 10);
  const json answer =
      make_result(question["id"], {{"role", "assistant"},
                                   {"content", {{"type", "text"}, {"text", "sampled"}}},
                                   {"model", "m"}});
  const auto posted = post(answer, headers(id));
  EXPECT_EQ(posted->status, 202);
  ASSERT_EQ(call.wait_for(2s), std::future_status::ready);
  ASSERT_TRUE(call.get());
  const std::vector<json> messages = messages_of(parse_sse(reader.body()));
  ASSERT_EQ(messages.size(), 2u) << reader.body();
  EXPECT_EQ(messages[1]["id"], 1);
  EXPECT_EQ(messages[1]["result"]["content"][0]["text"], "sampled");
}

TEST_F(HttpTransportTest, TooManyRunningCallsIsServiceUnavailable) {
  auto probe = std::make_shared<BlockingProbe>();
  server.add_tool(test::blocking_tool(probe));
  HttpOptions options = test_options();
  options.max_concurrent_calls = 1;
  start(options);
  const std::string id = open_session();
  auto first = std::async(std::launch::async, [&] {
    return post(make_request(1, "tools/call", {{"name", "wait"}}), headers(id));
  });
  ASSERT_TRUE(probe->started.wait(2s));
  const auto second = post(make_request(2, "tools/call", {{"name", "wait"}}), headers(id));
  EXPECT_EQ(second->status, 503);
  post(make_notification("notifications/cancelled", {{"requestId", 1}}), headers(id));
  ASSERT_EQ(first.wait_for(2s), std::future_status::ready);
  // The cancelled call ends its stream without a response.
  EXPECT_TRUE(messages_of(parse_sse(first.get()->body)).empty());
}

TEST_F(HttpTransportTest, StandaloneStreamReceivesListChanges) {
  start();
  const std::string id = open_session();
  StreamReader reader;
  auto stream = std::async(std::launch::async, [&] {
    return client()->Get("/mcp", headers(id, "text/event-stream"), reader.receiver("list_changed"));
  });
  ASSERT_TRUE(reader.wait_for("retry:", 2s)) << reader.body();
  server.add_tool(tools::make_echo_tool());
  EXPECT_TRUE(reader.wait_for("notifications/tools/list_changed", 2s)) << reader.body();
  ASSERT_EQ(stream.wait_for(2s), std::future_status::ready);
}

TEST_F(HttpTransportTest, GetNeedsAnEventStreamAcceptAndAKnownSession) {
  start();
  const std::string id = open_session();
  EXPECT_EQ(client()->Get("/mcp", headers(id, "application/json"))->status, 406);
  EXPECT_EQ(client()->Get("/mcp", headers("", "text/event-stream"))->status, 400);
  EXPECT_EQ(client()->Get("/mcp", headers("nope", "text/event-stream"))->status, 404);
}

TEST_F(HttpTransportTest, DeleteEndsTheSession) {
  auto probe = std::make_shared<BlockingProbe>();
  server.add_tool(test::blocking_tool(probe));
  start();
  const std::string id = open_session();
  auto call = std::async(std::launch::async, [&] {
    return post(make_request(1, "tools/call", {{"name", "wait"}}), headers(id));
  });
  ASSERT_TRUE(probe->started.wait(2s));
  const auto deleted = client()->Delete("/mcp", headers(id));
  EXPECT_EQ(deleted->status, 204);
  ASSERT_EQ(call.wait_for(2s), std::future_status::ready);
  EXPECT_TRUE(eventually([&] { return probe->finished.load(); }));
  EXPECT_TRUE(probe->saw_cancel);
  EXPECT_EQ(post(make_request(2, "ping", json::object()), headers(id))->status, 404);
  EXPECT_EQ(client()->Delete("/mcp", headers(id))->status, 404);
  EXPECT_EQ(client()->Delete("/mcp", headers())->status, 400);
  EXPECT_EQ(transport->open_sessions(), 0u);
  EXPECT_EQ(server.session_count(), 0u);
}

TEST_F(HttpTransportTest, SessionLimitIsServiceUnavailable) {
  HttpOptions options = test_options();
  options.max_sessions = 2;
  start(options);
  open_session();
  open_session();
  const auto res =
      post(make_request(1, "initialize", {{"protocolVersion", "2025-11-25"}}), headers());
  EXPECT_EQ(res->status, 503);
}

// --- legacy HTTP+SSE ------------------------------------------------------------------------

TEST_F(HttpTransportTest, LegacySseAnnouncesTheEndpointAndCarriesResponses) {
  server.add_tool(tools::make_echo_tool());
  start();
  StreamReader reader;
  auto stream = std::async(std::launch::async, [&] {
    return client()->Get("/sse", {{"Accept", "text/event-stream"}}, reader.receiver(R"("id":2)"));
  });
  ASSERT_TRUE(reader.wait_for("\n\n", 2s));
  const std::vector<SseEvent> first = parse_sse(reader.body());
  ASSERT_FALSE(first.empty());
  EXPECT_EQ(first[0].event, "endpoint");
  const std::string endpoint = first[0].data;
  ASSERT_THAT(endpoint, HasSubstr("/messages?session_id="));
  EXPECT_EQ(transport->open_sessions(), 1u);

  const auto init = client()->Post(
      endpoint, make_request(1, "initialize", {{"protocolVersion", "2024-11-05"}}).dump(),
      "application/json");
  EXPECT_EQ(init->status, 202);
  ASSERT_TRUE(reader.wait_for(R"("id":1)", 2s)) << reader.body();
  const auto call = client()->Post(
      endpoint,
      make_request(2, "tools/call", {{"name", "echo"}, {"arguments", {{"text", "legacy"}}}}).dump(),
      "application/json");
  EXPECT_EQ(call->status, 202);
  ASSERT_EQ(stream.wait_for(3s), std::future_status::ready);

  const std::vector<json> messages = messages_of(parse_sse(reader.body()));
  ASSERT_EQ(messages.size(), 2u) << reader.body();
  EXPECT_EQ(messages[0]["id"], 1);
  EXPECT_TRUE(messages[0]["result"].contains("protocolVersion"));
  EXPECT_EQ(messages[1]["id"], 2);
  EXPECT_EQ(messages[1]["result"]["content"][0]["text"], "legacy");

  // The session lives as long as its stream; the server notices the
  // disconnection at its next write.
  EXPECT_TRUE(eventually([&] { return transport->open_sessions() == 0; }));
  EXPECT_EQ(client()
                ->Post(endpoint, make_request(3, "ping", json::object()).dump(), "application/json")
                ->status,
            404);
}

TEST_F(HttpTransportTest, LegacyMessagesAreCheckedLikeStreamableOnes) {
  start();
  StreamReader reader;
  auto stream = std::async(std::launch::async, [&] {
    return client()->Get("/sse", {{"Accept", "text/event-stream"}}, reader.receiver(R"("id":3)"));
  });
  ASSERT_TRUE(reader.wait_for("\n\n", 2s));
  const std::string endpoint = parse_sse(reader.body()).at(0).data;
  EXPECT_EQ(client()->Post(endpoint, "{}", "text/plain")->status, 415);
  const auto malformed = client()->Post(endpoint, "{nope", "application/json");
  EXPECT_EQ(malformed->status, 400);
  EXPECT_EQ(body_of(malformed)["error"]["code"], error_code::parse_error);
  httplib::Headers evil = {{"Origin", "http://evil.example.com"}};
  EXPECT_EQ(
      client()
          ->Post(endpoint, evil, make_request(3, "ping", json::object()).dump(), "application/json")
          ->status,
      403);
  EXPECT_EQ(client()
                ->Post(endpoint, make_request(3, "ping", json::object()).dump(), "application/json")
                ->status,
            202);
  ASSERT_EQ(stream.wait_for(2s), std::future_status::ready);
}

TEST_F(HttpTransportTest, LegacyAndStreamableSessionsDoNotMix) {
  start();
  const std::string id = open_session();
  EXPECT_EQ(client()
                ->Post("/messages?session_id=" + id, make_request(1, "ping", json::object()).dump(),
                       "application/json")
                ->status,
            404);
  EXPECT_EQ(client()
                ->Post("/messages?session_id=nope", make_request(1, "ping", json::object()).dump(),
                       "application/json")
                ->status,
            404);
}

// --- load and shutdown ------------------------------------------------------------------------

TEST_F(HttpTransportTest, ManyConcurrentSessions) {
  server.add_tool(tools::make_echo_tool());
  server.add_tool(make_tool("streamed", [](const json& arguments, tools::ToolContext& context) {
    context.progress(0.5);
    return tools::ToolResult::text(arguments.value("text", ""));
  }));
  start();
  constexpr int kClients = 24;
  std::vector<std::future<bool>> clients;
  for (int i = 0; i < kClients; ++i) {
    clients.push_back(std::async(std::launch::async, [this, i] {
      const std::string id = open_session();
      const std::string text = "client " + std::to_string(i);
      const auto echo =
          post(make_request(1, "tools/call", {{"name", "echo"}, {"arguments", {{"text", text}}}}),
               headers(id));
      const auto streamed = post(
          make_request(2, "tools/call", {{"name", "streamed"}, {"arguments", {{"text", text}}}}),
          headers(id));
      const bool ok =
          echo && echo->status == 200 && body_of(echo)["result"]["content"][0]["text"] == text &&
          streamed &&
          messages_of(parse_sse(streamed->body)).back()["result"]["content"][0]["text"] == text;
      return ok && client()->Delete("/mcp", headers(id))->status == 204;
    }));
  }
  int succeeded = 0;
  for (auto& each : clients) succeeded += each.get() ? 1 : 0;
  EXPECT_EQ(succeeded, kClients);
  EXPECT_EQ(transport->open_sessions(), 0u);
}

TEST_F(HttpTransportTest, StopWithOpenStreamsReturnsPromptly) {
  auto probe = std::make_shared<BlockingProbe>();
  server.add_tool(test::blocking_tool(probe));
  start();
  const std::string id = open_session();
  StreamReader standalone;
  auto get = std::async(std::launch::async, [&] {
    return client()->Get("/mcp", headers(id, "text/event-stream"), standalone.receiver(""));
  });
  auto call = std::async(std::launch::async, [&] {
    return post(make_request(1, "tools/call", {{"name", "wait"}}), headers(id));
  });
  StreamReader legacy;
  auto sse = std::async(std::launch::async, [&] {
    return client()->Get("/sse", {{"Accept", "text/event-stream"}}, legacy.receiver(""));
  });
  ASSERT_TRUE(probe->started.wait(2s));
  ASSERT_TRUE(standalone.wait_for("retry:", 2s));
  ASSERT_TRUE(legacy.wait_for("endpoint", 2s));

  const auto before = std::chrono::steady_clock::now();
  stop();
  EXPECT_LT(std::chrono::steady_clock::now() - before, 2s);
  EXPECT_TRUE(probe->finished);  // stop() joined the call
  EXPECT_TRUE(probe->saw_cancel);
  EXPECT_EQ(get.wait_for(2s), std::future_status::ready);
  EXPECT_EQ(call.wait_for(2s), std::future_status::ready);
  EXPECT_EQ(sse.wait_for(2s), std::future_status::ready);
}

}  // namespace
}  // namespace voicedesk::mcp
