#include "mcp/server.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <future>
#include <thread>

#include "mcp/protocol.hpp"
#include "mcp/recording_outbound.hpp"
#include "mcp/test_tools.hpp"
#include "tools/echo_tool.hpp"

namespace voicedesk::mcp {
namespace {

using nlohmann::json;
using test::BlockingProbe;
using test::make_tool;
using test::RecordingOutbound;
using ::testing::HasSubstr;
using namespace std::chrono_literals;

ServerInfo test_info() {
  ServerInfo info;
  info.version = "1.2.3";
  info.instructions = "Use the tools.";
  return info;
}

ServerOptions with_client_timeout(std::chrono::milliseconds timeout) {
  ServerOptions options;
  options.client_request_timeout = timeout;
  return options;
}

ServerOptions with_page_size(std::size_t page_size) {
  ServerOptions options;
  options.page_size = page_size;
  return options;
}

// A prompt with no messages.
Prompt empty_prompt(std::string name) {
  Prompt prompt;
  prompt.name = std::move(name);
  prompt.get = [](const std::map<std::string, std::string>&) { return json::array(); };
  return prompt;
}

Resource resource(std::string uri, std::string name) {
  Resource result;
  result.uri = std::move(uri);
  result.name = std::move(name);
  return result;
}

using TemplateRead = decltype(ResourceTemplate::read);

ResourceTemplate resource_template(std::string uri_template, std::string name, TemplateRead read) {
  ResourceTemplate result;
  result.uri_template = std::move(uri_template);
  result.name = std::move(name);
  result.read = std::move(read);
  return result;
}

ResourceTemplate template_without_resources(std::string uri_template) {
  return resource_template(std::move(uri_template), "none",
                           [](const std::string&, const std::map<std::string, std::string>&) {
                             return std::optional<std::vector<ResourceContents>>();
                           });
}

ResourceContents text_contents(std::string uri, std::string text, std::string mime_type = "") {
  ResourceContents contents;
  contents.uri = std::move(uri);
  contents.mime_type = std::move(mime_type);
  contents.text = std::move(text);
  return contents;
}

PromptArgument prompt_argument(std::string name, bool required) {
  PromptArgument argument;
  argument.name = std::move(name);
  argument.required = required;
  return argument;
}

// A server, one session on it, and what the server sent besides responses.
class ServerTest : public ::testing::Test {
 protected:
  explicit ServerTest(ServerOptions options = {}) : server(test_info(), options) {}

  // The response to a request (which must get one).
  json call(Session& on, const std::string& method, const json& params = json::object()) {
    const std::optional<json> response =
        server.handle(on, make_request(next_id++, method, params), out);
    EXPECT_TRUE(response.has_value()) << method;
    return response.value_or(json());
  }
  json call(const std::string& method, const json& params = json::object()) {
    return call(*session, method, params);
  }
  json initialize(Session& on, const std::string& version = "2025-11-25",
                  const json& capabilities = json::object()) {
    return call(on, "initialize",
                {{"protocolVersion", version},
                 {"capabilities", capabilities},
                 {"clientInfo", {{"name", "test"}, {"version", "0"}}}});
  }
  json initialize(const std::string& version = "2025-11-25",
                  const json& capabilities = json::object()) {
    return initialize(*session, version, capabilities);
  }
  std::optional<json> handle(const json& message) { return server.handle(*session, message, out); }
  json call_tool(const std::string& name, const json& arguments = json::object(),
                 const json& meta = nullptr) {
    json params = {{"name", name}, {"arguments", arguments}};
    if (!meta.is_null()) params["_meta"] = meta;
    return call("tools/call", params);
  }

  Server server;
  std::shared_ptr<Session> session = server.open_session();
  RecordingOutbound out;
  int next_id = 1;
};

int error_code_of(const json& response) {
  return response.at("error").at("code").get<int>();
}
std::string error_message_of(const json& response) {
  return response.at("error").at("message").get<std::string>();
}
std::string text_of(const json& response) {
  return response.at("result").at("content").at(0).at("text").get<std::string>();
}
bool is_error_result(const json& response) {
  return response.at("result").value("isError", false);
}

// --- initialize ------------------------------------------------------------------

TEST_F(ServerTest, InitializeEchoesEverySupportedVersion) {
  for (const std::string& version : supported_protocol_versions()) {
    const auto fresh = server.open_session();
    const json response = initialize(*fresh, version);
    EXPECT_EQ(response["result"]["protocolVersion"], version);
    EXPECT_EQ(fresh->protocol_version(), version);
    EXPECT_TRUE(fresh->initialized());
  }
}

TEST_F(ServerTest, InitializeAnswersAnUnknownVersionWithTheLatest) {
  EXPECT_EQ(initialize("2024-10-07")["result"]["protocolVersion"], "2025-11-25");
  EXPECT_EQ(session->protocol_version(), "2025-11-25");
  const auto other = server.open_session();
  EXPECT_EQ(initialize(*other, "9999-01-01")["result"]["protocolVersion"], "2025-11-25");
}

TEST_F(ServerTest, InitializeDescribesCapabilitiesAndServer) {
  const json response = initialize("2025-11-25", {{"sampling", json::object()}});
  ASSERT_TRUE(response.contains("result")) << response.dump();
  const json& result = response["result"];
  const json& capabilities = result["capabilities"];
  EXPECT_TRUE(capabilities["logging"].is_object());
  EXPECT_TRUE(capabilities["completions"].is_object());
  EXPECT_EQ(capabilities["tools"]["listChanged"], true);
  EXPECT_EQ(capabilities["prompts"]["listChanged"], true);
  EXPECT_EQ(capabilities["resources"]["subscribe"], true);
  EXPECT_EQ(capabilities["resources"]["listChanged"], true);
  EXPECT_EQ(result["serverInfo"]["name"], "voicedesk");
  EXPECT_EQ(result["serverInfo"]["version"], "1.2.3");
  EXPECT_EQ(result["instructions"], "Use the tools.");
  EXPECT_EQ(session->client_capabilities(), json({{"sampling", json::object()}}));
}

TEST_F(ServerTest, InitializeWithoutAVersionIsInvalidParams) {
  const json response = call("initialize", {{"capabilities", json::object()}});
  EXPECT_EQ(error_code_of(response), error_code::invalid_params);
  EXPECT_THAT(error_message_of(response), HasSubstr("protocolVersion"));
  EXPECT_FALSE(session->initialized());
}

TEST_F(ServerTest, SecondInitializeIsRejected) {
  initialize("2025-06-18");
  const json again = initialize("2025-11-25");
  EXPECT_EQ(error_code_of(again), error_code::invalid_request);
  EXPECT_EQ(session->protocol_version(), "2025-06-18");
}

TEST_F(ServerTest, RequestsBeforeInitializeAreRejectedExceptPing) {
  for (const char* method : {"tools/list", "tools/call", "resources/list", "prompts/list"}) {
    const json response = call(method);
    EXPECT_EQ(error_code_of(response), error_code::invalid_request) << method;
    EXPECT_THAT(error_message_of(response), HasSubstr("initialize")) << method;
  }
  EXPECT_EQ(call("ping")["result"], json::object());
}

TEST_F(ServerTest, NotificationsGetNoResponse) {
  initialize();
  EXPECT_EQ(handle(make_notification("notifications/initialized")), std::nullopt);
  EXPECT_EQ(handle(make_notification("notifications/roots/list_changed")), std::nullopt);
  EXPECT_EQ(handle(make_notification("no/such/notification", {{"x", 1}})), std::nullopt);
  EXPECT_TRUE(out.messages().empty());
}

// --- JSON-RPC shapes -----------------------------------------------------------

TEST_F(ServerTest, UnknownMethodIsMethodNotFound) {
  initialize();
  const json response = call("tools/frobnicate");
  EXPECT_EQ(error_code_of(response), error_code::method_not_found);
  EXPECT_THAT(error_message_of(response), HasSubstr("tools/frobnicate"));
  EXPECT_EQ(response["id"], next_id - 1);
}

TEST_F(ServerTest, InvalidMessagesAreInvalidRequestsEchoingUsableIds) {
  initialize();
  const std::pair<const char*, json> cases[] = {
      {R"({"id":4,"method":"ping"})", 4},
      {R"({"jsonrpc":"1.0","id":"a","method":"ping"})", "a"},
      {R"({"jsonrpc":"2.0","id":null,"method":"ping"})", nullptr},
      {R"({"jsonrpc":"2.0","id":1.5,"method":"ping"})", nullptr},
      {R"({"jsonrpc":"2.0","id":{"x":1},"method":"ping"})", nullptr},
      {R"({"jsonrpc":"2.0","id":9,"method":"ping","params":[1,2]})", 9},
      {R"({"jsonrpc":"2.0","id":9,"method":"tools/list","params":"x"})", 9},
      {R"({"jsonrpc":"2.0","id":10,"method":7})", 10},
      {R"({"jsonrpc":"2.0","id":11})", 11},
      {R"([])", nullptr},
      {R"(42)", nullptr},
  };
  for (const auto& [text, id] : cases) {
    const std::optional<json> response = handle(json::parse(text));
    ASSERT_TRUE(response.has_value()) << text;
    EXPECT_EQ(error_code_of(*response), error_code::invalid_request) << text;
    EXPECT_EQ((*response)["id"], id) << text;
    EXPECT_EQ((*response)["jsonrpc"], "2.0") << text;
  }
}

TEST_F(ServerTest, ResponsesFromTheClientWithoutAWaiterAreIgnored) {
  initialize();
  EXPECT_EQ(handle(make_result("srv-99", json::object())), std::nullopt);
  EXPECT_EQ(handle(make_result(99, json::object())), std::nullopt);
  EXPECT_EQ(handle(make_error(nullptr, -32700, "your parse error")), std::nullopt);
  // An error response without any id (malformed, but well-formed enough to be
  // taken for a response) must not crash the server either.
  EXPECT_EQ(handle(json::parse(R"({"jsonrpc":"2.0","error":{"code":-1,"message":"x"}})")),
            std::nullopt);
  EXPECT_EQ(call("ping")["result"], json::object());
}

// --- tools -----------------------------------------------------------------------

TEST_F(ServerTest, ToolsListShowsEachSpec) {
  server.add_tool(tools::make_echo_tool());
  initialize();
  const json tools = call("tools/list")["result"]["tools"];
  ASSERT_EQ(tools.size(), 1u);
  EXPECT_EQ(tools[0]["name"], "echo");
  EXPECT_EQ(tools[0]["inputSchema"]["required"], json({"text"}));
  EXPECT_TRUE(tools[0].contains("outputSchema"));
}

TEST_F(ServerTest, AddingAToolWithTheSameNameReplacesIt) {
  server.add_tool(make_tool(
      "t", [](const json&, tools::ToolContext&) { return tools::ToolResult::text("one"); }));
  server.add_tool(make_tool(
      "t", [](const json&, tools::ToolContext&) { return tools::ToolResult::text("two"); }));
  initialize();
  EXPECT_EQ(call("tools/list")["result"]["tools"].size(), 1u);
  EXPECT_EQ(text_of(call_tool("t")), "two");
}

TEST_F(ServerTest, EchoToolCallReturnsContentAndStructuredContent) {
  server.add_tool(tools::make_echo_tool());
  initialize();
  const json response = call_tool("echo", {{"text", "hello"}});
  EXPECT_FALSE(is_error_result(response));
  EXPECT_EQ(text_of(response), "hello");
  EXPECT_EQ(response["result"]["structuredContent"], json({{"text", "hello"}}));
}

TEST_F(ServerTest, UnknownToolIsInvalidParams) {
  initialize();
  const json response = call_tool("nope");
  EXPECT_EQ(error_code_of(response), error_code::invalid_params);
  EXPECT_THAT(error_message_of(response), HasSubstr("nope"));
  EXPECT_EQ(error_code_of(call("tools/call", {{"arguments", json::object()}})),
            error_code::invalid_params);
  EXPECT_EQ(error_code_of(call("tools/call", {{"name", 5}})), error_code::invalid_params);
}

TEST_F(ServerTest, BadArgumentsAreAToolErrorNamingTheField) {
  server.add_tool(tools::make_echo_tool());
  initialize();
  const json wrong_type = call_tool("echo", {{"text", 5}});
  EXPECT_TRUE(is_error_result(wrong_type));
  EXPECT_THAT(text_of(wrong_type), HasSubstr("text: expected string"));
  const json missing = call_tool("echo", json::object());
  EXPECT_TRUE(is_error_result(missing));
  EXPECT_THAT(text_of(missing), HasSubstr("missing required field \"text\""));
  const json not_object = call("tools/call", {{"name", "echo"}, {"arguments", "hello"}});
  EXPECT_TRUE(is_error_result(not_object));
  EXPECT_THAT(text_of(not_object), HasSubstr("arguments: expected object"));
}

TEST_F(ServerTest, ToolErrorBecomesAnErrorResult) {
  server.add_tool(make_tool("flaky", [](const json&, tools::ToolContext&) -> tools::ToolResult {
    throw tools::ToolError("upstream: the service is down");
  }));
  initialize();
  const json response = call_tool("flaky");
  EXPECT_TRUE(is_error_result(response));
  EXPECT_EQ(text_of(response), "upstream: the service is down");
}

TEST_F(ServerTest, StdExceptionFromAToolBecomesAnErrorResultNotACrash) {
  server.add_tool(
      make_tool("buggy", [](const json& arguments, tools::ToolContext&) -> tools::ToolResult {
        return tools::ToolResult::text(arguments.at("missing").get<std::string>());  // throws
      }));
  server.add_tool(make_tool("thrower", [](const json&, tools::ToolContext&) -> tools::ToolResult {
    throw std::runtime_error("boom");
  }));
  initialize();
  const json buggy = call_tool("buggy");
  EXPECT_TRUE(is_error_result(buggy));
  EXPECT_THAT(text_of(buggy), HasSubstr("buggy failed"));
  const json thrower = call_tool("thrower");
  EXPECT_TRUE(is_error_result(thrower));
  EXPECT_THAT(text_of(thrower), HasSubstr("boom"));
  EXPECT_EQ(call("ping")["result"], json::object());
}

TEST_F(ServerTest, MayStreamOnlyToolCallsOfToolsThatAreNotQuick) {
  server.add_tool(tools::make_echo_tool());
  server.add_tool(test::blocking_tool(std::make_shared<BlockingProbe>()));
  auto request = [](const json& params) { return make_request(1, "tools/call", params); };
  EXPECT_FALSE(server.may_stream(request({{"name", "echo"}})));
  EXPECT_TRUE(server.may_stream(request({{"name", "wait"}})));
  EXPECT_FALSE(server.may_stream(request({{"name", "unknown"}})));
  EXPECT_FALSE(server.may_stream(make_request(1, "tools/list", json::object())));
  EXPECT_FALSE(server.may_stream(json::array()));
}

// --- progress and logging ----------------------------------------------------------

class ServerProgressTest : public ServerTest {
 protected:
  void SetUp() override {
    server.add_tool(make_tool("progress", [](const json&, tools::ToolContext& context) {
      context.progress(0.5, 1.0, "half");
      context.progress(1.0);
      return tools::ToolResult::text("ok");
    }));
    initialize();
  }
};

TEST_F(ServerProgressTest, NoProgressWithoutAToken) {
  EXPECT_EQ(text_of(call_tool("progress")), "ok");
  EXPECT_EQ(text_of(call_tool("progress", json::object(), {{"other", 1}})), "ok");
  EXPECT_TRUE(out.with_method("notifications/progress").empty());
}

TEST_F(ServerProgressTest, ProgressEchoesAStringToken) {
  call_tool("progress", json::object(), {{"progressToken", "tok-1"}});
  const auto progress = out.with_method("notifications/progress");
  ASSERT_EQ(progress.size(), 2u);
  EXPECT_EQ(
      progress[0]["params"],
      json({{"progressToken", "tok-1"}, {"progress", 0.5}, {"total", 1.0}, {"message", "half"}}));
  EXPECT_EQ(progress[1]["params"], json({{"progressToken", "tok-1"}, {"progress", 1.0}}));
}

TEST_F(ServerProgressTest, ProgressEchoesAnIntegerToken) {
  call_tool("progress", json::object(), {{"progressToken", 7}});
  const auto progress = out.with_method("notifications/progress");
  ASSERT_EQ(progress.size(), 2u);
  EXPECT_TRUE(progress[0]["params"]["progressToken"].is_number_integer());
  EXPECT_EQ(progress[0]["params"]["progressToken"], 7);
}

class ServerLoggingTest : public ServerTest {
 protected:
  void SetUp() override {
    server.add_tool(make_tool("chatty", [](const json&, tools::ToolContext& context) {
      context.log(tools::LogLevel::debug, "d");
      context.log(tools::LogLevel::info, "i");
      context.log(tools::LogLevel::warning, {{"w", 1}});
      context.log(tools::LogLevel::emergency, "e");
      return tools::ToolResult::text("ok");
    }));
    initialize();
  }
  std::vector<std::string> logged_levels() {
    std::vector<std::string> levels;
    for (const json& message : out.with_method("notifications/message")) {
      levels.push_back(message["params"]["level"]);
    }
    return levels;
  }
};

TEST_F(ServerLoggingTest, DefaultLevelIsInfo) {
  call_tool("chatty");
  EXPECT_EQ(logged_levels(), (std::vector<std::string>{"info", "warning", "emergency"}));
  EXPECT_EQ(out.with_method("notifications/message")[1]["params"]["data"], json({{"w", 1}}));
}

TEST_F(ServerLoggingTest, SetLevelFiltersLowerSeverities) {
  EXPECT_EQ(call("logging/setLevel", {{"level", "warning"}})["result"], json::object());
  call_tool("chatty");
  EXPECT_EQ(logged_levels(), (std::vector<std::string>{"warning", "emergency"}));
}

TEST_F(ServerLoggingTest, DebugLevelLetsEverythingThrough) {
  call("logging/setLevel", {{"level", "debug"}});
  call_tool("chatty");
  EXPECT_EQ(logged_levels(), (std::vector<std::string>{"debug", "info", "warning", "emergency"}));
}

TEST_F(ServerLoggingTest, UnknownLevelIsInvalidParams) {
  EXPECT_EQ(error_code_of(call("logging/setLevel", {{"level", "loud"}})),
            error_code::invalid_params);
  EXPECT_EQ(error_code_of(call("logging/setLevel", json::object())), error_code::invalid_params);
  EXPECT_EQ(session->log_level(), tools::LogLevel::info);
}

// --- cancellation ------------------------------------------------------------------

class ServerCancelTest : public ServerTest {
 protected:
  void SetUp() override {
    server.add_tool(test::blocking_tool(probe));
    initialize();
  }
  // Starts a call of `wait` with id on a thread; its response, if any, comes
  // from the future.
  std::future<std::optional<json>> start_wait(const json& id) {
    auto done = std::async(std::launch::async, [this, id] {
      return server.handle(*session, make_request(id, "tools/call", {{"name", "wait"}}), out);
    });
    EXPECT_TRUE(probe->started.wait(2s));
    return done;
  }

  std::shared_ptr<BlockingProbe> probe = std::make_shared<BlockingProbe>();
};

TEST_F(ServerCancelTest, CancelledNotificationStopsTheToolAndSuppressesTheResponse) {
  auto done = start_wait(42);
  EXPECT_EQ(
      handle(make_notification("notifications/cancelled", {{"requestId", 42}, {"reason", "user"}})),
      std::nullopt);
  ASSERT_EQ(done.wait_for(2s), std::future_status::ready);
  EXPECT_EQ(done.get(), std::nullopt);
  EXPECT_TRUE(probe->saw_cancel);
}

TEST_F(ServerCancelTest, CancelWorksForStringIds) {
  auto done = start_wait("call-7");
  handle(make_notification("notifications/cancelled", {{"requestId", "call-7"}}));
  ASSERT_EQ(done.wait_for(2s), std::future_status::ready);
  EXPECT_EQ(done.get(), std::nullopt);
  EXPECT_TRUE(probe->saw_cancel);
}

TEST_F(ServerCancelTest, CancelOfAnotherIdLeavesTheCallRunning) {
  auto done = start_wait(42);
  // "42" (a string) is not the request 42.
  handle(make_notification("notifications/cancelled", {{"requestId", "42"}}));
  handle(make_notification("notifications/cancelled", {{"requestId", 43}}));
  handle(make_notification("notifications/cancelled", json::object()));
  EXPECT_EQ(done.wait_for(100ms), std::future_status::timeout);
  EXPECT_FALSE(probe->finished);
  handle(make_notification("notifications/cancelled", {{"requestId", 42}}));
  ASSERT_EQ(done.wait_for(2s), std::future_status::ready);
  EXPECT_EQ(done.get(), std::nullopt);
}

TEST_F(ServerCancelTest, ClosingTheSessionCancelsRunningCalls) {
  auto done = start_wait(1);
  server.close_session(session->id());
  ASSERT_EQ(done.wait_for(2s), std::future_status::ready);
  EXPECT_TRUE(probe->saw_cancel);
  // Still answered, for a transport that can deliver it (stdio after end of input).
  const std::optional<json> response = done.get();
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(text_of(*response), "cancelled");
  EXPECT_TRUE(session->closed());
  EXPECT_EQ(server.find_session(session->id()), nullptr);
}

// --- requests to the client ----------------------------------------------------------

class ServerAskClientTest : public ServerTest {
 protected:
  ServerAskClientTest() : ServerTest(with_client_timeout(300ms)) {}
  void SetUp() override {
    server.add_tool(make_tool("ask", [](const json& arguments, tools::ToolContext& context) {
      const json answer = context.ask_client(arguments.at("method"), {{"question", "why?"}});
      return tools::ToolResult::text(answer.dump());
    }));
  }
  std::future<json> start_ask(const std::string& method) {
    return std::async(std::launch::async, [this, method] {
      return call_tool("ask", {{"method", method}});
    });
  }
};

TEST_F(ServerAskClientTest, RoundTripThroughTheClientsResponse) {
  initialize("2025-11-25", {{"sampling", json::object()}});
  auto done = start_ask("sampling/createMessage");
  const std::optional<json> request = out.wait_for_method("sampling/createMessage", 2s);
  ASSERT_TRUE(request.has_value());
  EXPECT_EQ((*request)["params"]["question"], "why?");
  EXPECT_EQ(classify(*request), MessageKind::request);
  // The answer arrives like any client message, on another thread.
  std::thread client([&] {
    EXPECT_EQ(server.handle(*session, make_result((*request)["id"], {{"answer", 42}}), out),
              std::nullopt);
  });
  client.join();
  ASSERT_EQ(done.wait_for(2s), std::future_status::ready);
  const json response = done.get();
  EXPECT_FALSE(is_error_result(response));
  EXPECT_EQ(json::parse(text_of(response)), json({{"answer", 42}}));
}

TEST_F(ServerAskClientTest, ClientErrorAnswerIsAnErrorResult) {
  initialize("2025-11-25", {{"elicitation", json::object()}});
  auto done = start_ask("elicitation/create");
  const std::optional<json> request = out.wait_for_method("elicitation/create", 2s);
  ASSERT_TRUE(request.has_value());
  EXPECT_TRUE(session->deliver_response(make_error((*request)["id"], -1, "user declined")));
  ASSERT_EQ(done.wait_for(2s), std::future_status::ready);
  const json response = done.get();
  EXPECT_TRUE(is_error_result(response));
  EXPECT_THAT(text_of(response), HasSubstr("user declined"));
  // Nothing waits for that id any more.
  EXPECT_FALSE(session->deliver_response(make_result((*request)["id"], json::object())));
}

TEST_F(ServerAskClientTest, UnansweredRequestTimesOut) {
  initialize("2025-11-25", {{"sampling", json::object()}});
  const auto start = std::chrono::steady_clock::now();
  const json response = call_tool("ask", {{"method", "sampling/createMessage"}});
  const auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_TRUE(is_error_result(response));
  EXPECT_THAT(text_of(response), HasSubstr("did not answer sampling/createMessage in time"));
  EXPECT_GE(elapsed, 250ms);
  EXPECT_LT(elapsed, 2s);
}

TEST_F(ServerAskClientTest, MissingCapabilityIsAnErrorResultWithoutAsking) {
  initialize("2025-11-25", {{"sampling", json::object()}});
  const json response = call_tool("ask", {{"method", "elicitation/create"}});
  EXPECT_TRUE(is_error_result(response));
  EXPECT_THAT(text_of(response), HasSubstr("does not support elicitation"));
  EXPECT_TRUE(out.messages().empty());
}

TEST_F(ServerAskClientTest, CancellingWhileWaitingForTheClientEndsTheCall) {
  initialize("2025-11-25", {{"sampling", json::object()}});
  auto done = std::async(std::launch::async, [this] {
    return server.handle(
        *session,
        make_request("c1", "tools/call",
                     {{"name", "ask"}, {"arguments", {{"method", "sampling/createMessage"}}}}),
        out);
  });
  ASSERT_TRUE(out.wait_for_method("sampling/createMessage", 2s).has_value());
  handle(make_notification("notifications/cancelled", {{"requestId", "c1"}}));
  ASSERT_EQ(done.wait_for(2s), std::future_status::ready);
  EXPECT_EQ(done.get(), std::nullopt);
}

TEST_F(ServerAskClientTest, DeliverResponseForUnknownIdIsFalse) {
  EXPECT_FALSE(session->deliver_response(make_result("srv-1", json::object())));
  EXPECT_FALSE(session->deliver_response(make_result(1, json::object())));
}

// --- pagination ----------------------------------------------------------------------

class ServerPagingTest : public ServerTest {
 protected:
  ServerPagingTest() : ServerTest(with_page_size(2)) {}
  void SetUp() override {
    for (int i = 0; i < 5; ++i) {
      server.add_tool(make_tool("tool" + std::to_string(i), [](const json&, tools::ToolContext&) {
        return tools::ToolResult::text("");
      }));
      server.add_prompt(empty_prompt("prompt" + std::to_string(i)));
      server.add_resource(resource("mem://" + std::to_string(i), "r" + std::to_string(i)));
    }
    initialize();
  }
  std::vector<std::string> all_pages(const std::string& method, const std::string& key,
                                     const std::string& field) {
    std::vector<std::string> names;
    json params = json::object();
    for (int page = 0; page < 10; ++page) {
      const json result = call(method, params)["result"];
      EXPECT_LE(result[key].size(), 2u);
      for (const json& item : result[key]) names.push_back(item[field]);
      if (!result.contains("nextCursor")) break;
      EXPECT_TRUE(result["nextCursor"].is_string());
      params["cursor"] = result["nextCursor"];
    }
    return names;
  }
};

TEST_F(ServerPagingTest, CursorsWalkEveryListOnce) {
  EXPECT_EQ(all_pages("tools/list", "tools", "name"),
            (std::vector<std::string>{"tool0", "tool1", "tool2", "tool3", "tool4"}));
  EXPECT_EQ(all_pages("prompts/list", "prompts", "name"),
            (std::vector<std::string>{"prompt0", "prompt1", "prompt2", "prompt3", "prompt4"}));
  EXPECT_EQ(all_pages("resources/list", "resources", "uri"),
            (std::vector<std::string>{"mem://0", "mem://1", "mem://2", "mem://3", "mem://4"}));
}

TEST_F(ServerPagingTest, InvalidCursorIsInvalidParams) {
  for (const json& cursor : {json("abc"), json("-1"), json("99"), json("2x"), json(""), json(2)}) {
    for (const char* method :
         {"tools/list", "prompts/list", "resources/list", "resources/templates/list"}) {
      const json response = call(method, {{"cursor", cursor}});
      EXPECT_EQ(error_code_of(response), error_code::invalid_params)
          << method << " " << cursor.dump();
    }
  }
  EXPECT_EQ(call("tools/list", {{"cursor", nullptr}})["result"]["tools"].size(), 2u);
}

// --- resources -----------------------------------------------------------------------

class ServerResourceTest : public ServerTest {
 protected:
  void SetUp() override {
    Resource status = resource("voicedesk://status", "status");
    status.title = "Status";
    status.mime_type = "application/json";
    status.read = [] {
      return std::vector<ResourceContents>{
          text_contents("voicedesk://status", "{}", "application/json")};
    };
    server.add_resource(std::move(status));

    ResourceTemplate segment = resource_template(
        "transcripts://{id}/segments/{index}", "segment",
        [](const std::string& uri, const std::map<std::string, std::string>& variables)
            -> std::optional<std::vector<ResourceContents>> {
          if (variables.at("id") == "missing") return std::nullopt;
          return std::vector<ResourceContents>{
              text_contents(uri, variables.at("id") + "#" + variables.at("index"))};
        });
    segment.mime_type = "text/plain";
    server.add_resource_template(std::move(segment));

    server.add_resource_template(
        resource_template("file:///logs/{name}.txt", "log",
                          [](const std::string& uri, const std::map<std::string, std::string>&)
                              -> std::optional<std::vector<ResourceContents>> {
                            ResourceContents contents;
                            contents.uri = uri;
                            contents.blob = "AAEC";
                            return std::vector<ResourceContents>{contents};
                          }));
    initialize();
  }
};

TEST_F(ServerResourceTest, ListsResourcesAndTemplates) {
  const json resources = call("resources/list")["result"]["resources"];
  ASSERT_EQ(resources.size(), 1u);
  EXPECT_EQ(resources[0], json({{"uri", "voicedesk://status"},
                                {"name", "status"},
                                {"title", "Status"},
                                {"mimeType", "application/json"}}));
  const json templates = call("resources/templates/list")["result"]["resourceTemplates"];
  ASSERT_EQ(templates.size(), 2u);
  EXPECT_EQ(templates[0]["uriTemplate"], "transcripts://{id}/segments/{index}");
  EXPECT_EQ(templates[0]["mimeType"], "text/plain");
}

TEST_F(ServerResourceTest, ReadsAStaticResource) {
  const json contents =
      call("resources/read", {{"uri", "voicedesk://status"}})["result"]["contents"];
  EXPECT_EQ(
      contents,
      json::parse(R"([{"uri":"voicedesk://status","mimeType":"application/json","text":"{}"}])"));
}

TEST_F(ServerResourceTest, ReadsATemplateWithItsVariables) {
  const json contents =
      call("resources/read", {{"uri", "transcripts://abc/segments/3"}})["result"]["contents"];
  ASSERT_EQ(contents.size(), 1u);
  EXPECT_EQ(contents[0]["uri"], "transcripts://abc/segments/3");
  EXPECT_EQ(contents[0]["text"], "abc#3");
  const json blob =
      call("resources/read", {{"uri", "file:///logs/today.txt"}})["result"]["contents"];
  EXPECT_EQ(blob[0]["blob"], "AAEC");
  EXPECT_FALSE(blob[0].contains("text"));
}

TEST_F(ServerResourceTest, UnknownResourceIsResourceNotFound) {
  for (const char* uri : {"voicedesk://nothing", "transcripts://abc",
                          "transcripts://a/b/segments/1", "transcripts://missing/segments/1",
                          "file:///logs/todayXtxt", "xtranscripts://abc/segments/3"}) {
    const json response = call("resources/read", {{"uri", uri}});
    EXPECT_EQ(error_code_of(response), error_code::resource_not_found) << uri;
    EXPECT_EQ(response["error"]["data"]["uri"], uri);
  }
  EXPECT_EQ(error_code_of(call("resources/read", json::object())), error_code::invalid_params);
}

TEST_F(ServerResourceTest, SubscribedSessionsAloneHearOfUpdates) {
  auto listener = std::make_shared<RecordingOutbound>();
  auto bystander = std::make_shared<RecordingOutbound>();
  session->set_background(listener);
  const auto other = server.open_session();
  initialize(*other);
  other->set_background(bystander);

  EXPECT_EQ(call("resources/subscribe", {{"uri", "voicedesk://status"}})["result"], json::object());
  server.notify_resource_updated("voicedesk://status");
  server.notify_resource_updated("voicedesk://other");
  const auto updates = listener->with_method("notifications/resources/updated");
  ASSERT_EQ(updates.size(), 1u);
  EXPECT_EQ(updates[0]["params"]["uri"], "voicedesk://status");
  EXPECT_TRUE(bystander->messages().empty());

  call("resources/unsubscribe", {{"uri", "voicedesk://status"}});
  server.notify_resource_updated("voicedesk://status");
  EXPECT_EQ(listener->with_method("notifications/resources/updated").size(), 1u);
}

// --- prompts and completion --------------------------------------------------------------

class ServerPromptTest : public ServerTest {
 protected:
  void SetUp() override {
    Prompt summarize;
    summarize.name = "summarize";
    summarize.title = "Summarize";
    summarize.description = "Summarize a transcript";
    summarize.arguments = {prompt_argument("transcript", true), prompt_argument("style", false)};
    summarize.get = [](const std::map<std::string, std::string>& arguments) {
      const auto style = arguments.find("style");
      const std::string text = "Summarize " + arguments.at("transcript") +
                               (style == arguments.end() ? "" : " as " + style->second);
      return json::array({{{"role", "user"}, {"content", {{"type", "text"}, {"text", text}}}}});
    };
    summarize.complete = [](const std::string& name, const std::string& prefix) {
      std::vector<std::string> values;
      if (name == "style") {
        for (int i = 0; i < 150; ++i) values.push_back(prefix + std::to_string(i));
      } else {
        values = {prefix + "a", prefix + "b"};
      }
      return values;
    };
    server.add_prompt(std::move(summarize));
    server.add_prompt(empty_prompt("plain"));
    ResourceTemplate transcript = template_without_resources("transcripts://{id}");
    transcript.complete = [](const std::string&, const std::string& prefix) {
      return std::vector<std::string>{prefix + "1", prefix + "2"};
    };
    server.add_resource_template(std::move(transcript));
    initialize();
  }
};

TEST_F(ServerPromptTest, ListShowsArgumentsAndWhetherTheyAreRequired) {
  const json prompts = call("prompts/list")["result"]["prompts"];
  ASSERT_EQ(prompts.size(), 2u);
  EXPECT_EQ(prompts[0]["name"], "summarize");
  EXPECT_EQ(
      prompts[0]["arguments"],
      json::parse(R"([{"name":"transcript","required":true},{"name":"style","required":false}])"));
  EXPECT_FALSE(prompts[1].contains("arguments"));
}

TEST_F(ServerPromptTest, GetFillsInTheArguments) {
  const json result = call(
      "prompts/get",
      {{"name", "summarize"}, {"arguments", {{"transcript", "T"}, {"style", "haiku"}}}})["result"];
  EXPECT_EQ(result["description"], "Summarize a transcript");
  EXPECT_EQ(result["messages"][0]["content"]["text"], "Summarize T as haiku");
  EXPECT_EQ(call("prompts/get", {{"name", "plain"}})["result"]["messages"], json::array());
}

TEST_F(ServerPromptTest, MissingRequiredArgumentIsInvalidParams) {
  const json response =
      call("prompts/get", {{"name", "summarize"}, {"arguments", {{"style", "x"}}}});
  EXPECT_EQ(error_code_of(response), error_code::invalid_params);
  EXPECT_THAT(error_message_of(response), HasSubstr("transcript"));
  EXPECT_EQ(error_code_of(call("prompts/get", {{"name", "summarize"}})),
            error_code::invalid_params);
}

TEST_F(ServerPromptTest, BadArgumentsAndUnknownPromptsAreInvalidParams) {
  EXPECT_EQ(error_code_of(
                call("prompts/get", {{"name", "summarize"}, {"arguments", {{"transcript", 5}}}})),
            error_code::invalid_params);
  EXPECT_EQ(error_code_of(call("prompts/get", {{"name", "summarize"}, {"arguments", "T"}})),
            error_code::invalid_params);
  EXPECT_EQ(error_code_of(call("prompts/get", {{"name", "nope"}})), error_code::invalid_params);
}

TEST_F(ServerPromptTest, CompletionIsCappedAtOneHundredValues) {
  const json completion =
      call("completion/complete",
           {{"ref", {{"type", "ref/prompt"}, {"name", "summarize"}}},
            {"argument", {{"name", "style"}, {"value", "s"}}}})["result"]["completion"];
  EXPECT_EQ(completion["values"].size(), 100u);
  EXPECT_EQ(completion["values"][0], "s0");
  EXPECT_EQ(completion["total"], 150);
  EXPECT_EQ(completion["hasMore"], true);
}

TEST_F(ServerPromptTest, ShortCompletionHasNoMore) {
  const json completion =
      call("completion/complete",
           {{"ref", {{"type", "ref/prompt"}, {"name", "summarize"}}},
            {"argument", {{"name", "transcript"}, {"value", "x"}}}})["result"]["completion"];
  EXPECT_EQ(completion["values"], json({"xa", "xb"}));
  EXPECT_EQ(completion["hasMore"], false);
  const json none = call("completion/complete",
                         {{"ref", {{"type", "ref/prompt"}, {"name", "plain"}}},
                          {"argument", {{"name", "x"}, {"value", ""}}}})["result"]["completion"];
  EXPECT_EQ(none["values"], json::array());
  EXPECT_EQ(none["total"], 0);
}

TEST_F(ServerPromptTest, CompletesResourceTemplateVariables) {
  const json completion =
      call("completion/complete",
           {{"ref", {{"type", "ref/resource"}, {"uri", "transcripts://{id}"}}},
            {"argument", {{"name", "id"}, {"value", "4"}}}})["result"]["completion"];
  EXPECT_EQ(completion["values"], json({"41", "42"}));
}

TEST_F(ServerPromptTest, BadCompletionReferencesAreInvalidParams) {
  const json argument = {{"name", "x"}, {"value", ""}};
  for (const json& ref : {json({{"type", "ref/prompt"}, {"name", "nope"}}),
                          json({{"type", "ref/resource"}, {"uri", "nope://{x}"}}),
                          json({{"type", "ref/tool"}, {"name", "x"}}), json({{"name", "x"}})}) {
    EXPECT_EQ(error_code_of(call("completion/complete", {{"ref", ref}, {"argument", argument}})),
              error_code::invalid_params)
        << ref.dump();
  }
  EXPECT_EQ(error_code_of(call("completion/complete",
                               {{"ref", {{"type", "ref/prompt"}, {"name", "plain"}}}})),
            error_code::invalid_params);
}

// --- list changes and sessions ----------------------------------------------------------

TEST_F(ServerTest, RegistryChangesReachInitializedSessionsBackgroundStreams) {
  auto background = std::make_shared<RecordingOutbound>();
  session->set_background(background);
  initialize();
  auto uninitialized_background = std::make_shared<RecordingOutbound>();
  server.open_session()->set_background(uninitialized_background);

  server.add_tool(tools::make_echo_tool());
  server.add_prompt(empty_prompt("p"));
  server.add_resource(resource("mem://x", "x"));
  server.add_resource_template(template_without_resources("mem://{x}"));

  EXPECT_EQ(background->with_method("notifications/tools/list_changed").size(), 1u);
  EXPECT_EQ(background->with_method("notifications/prompts/list_changed").size(), 1u);
  EXPECT_EQ(background->with_method("notifications/resources/list_changed").size(), 2u);
  EXPECT_TRUE(uninitialized_background->messages().empty());
  EXPECT_TRUE(out.messages().empty());
}

TEST_F(ServerTest, AddingAToolWhileACallRunsNotifiesTheBackgroundStream) {
  auto probe = std::make_shared<BlockingProbe>();
  server.add_tool(test::blocking_tool(probe));
  auto background = std::make_shared<RecordingOutbound>();
  session->set_background(background);
  initialize();
  auto done = std::async(std::launch::async, [this] {
    return handle(make_request(1, "tools/call", {{"name", "wait"}}));
  });
  ASSERT_TRUE(probe->started.wait(2s));
  server.add_tool(tools::make_echo_tool());
  EXPECT_TRUE(background->wait_for_method("notifications/tools/list_changed", 2s).has_value());
  EXPECT_TRUE(
      out.with_method("notifications/tools/list_changed").empty());  // not the call's stream
  handle(make_notification("notifications/cancelled", {{"requestId", 1}}));
  ASSERT_EQ(done.wait_for(2s), std::future_status::ready);
}

TEST_F(ServerTest, SessionsHaveDistinctUnguessableIds) {
  const auto a = server.open_session();
  const auto b = server.open_session();
  EXPECT_NE(a->id(), b->id());
  EXPECT_EQ(a->id().size(), 32u);
  EXPECT_EQ(a->id().find_first_not_of("0123456789abcdef"), std::string::npos);
  EXPECT_EQ(server.find_session(a->id()), a);
  EXPECT_EQ(server.find_session("nope"), nullptr);
  EXPECT_EQ(server.session_count(), 3u);
  server.close_session(a->id());
  server.close_session(a->id());  // twice is harmless
  EXPECT_TRUE(a->closed());
  EXPECT_EQ(server.session_count(), 2u);
}

TEST_F(ServerTest, IdleSessionsAreClosed) {
  const auto idle = server.open_session();
  EXPECT_EQ(server.close_idle_sessions(1h), 0u);
  std::this_thread::sleep_for(20ms);
  session->touch();
  EXPECT_EQ(server.close_idle_sessions(10ms), 1u);
  EXPECT_TRUE(idle->closed());
  EXPECT_FALSE(session->closed());
}

TEST_F(ServerTest, ClosedSessionDropsItsBackgroundStream) {
  auto background = std::make_shared<RecordingOutbound>();
  session->set_background(background);
  initialize();
  server.close_session(session->id());
  EXPECT_FALSE(session->notify(make_notification("x")));
  server.add_tool(tools::make_echo_tool());
  EXPECT_TRUE(background->messages().empty());
}

}  // namespace
}  // namespace voicedesk::mcp
