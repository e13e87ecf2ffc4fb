#include "mcp/stdio_transport.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <condition_variable>
#include <future>
#include <set>
#include <sstream>
#include <streambuf>
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
using ::testing::HasSubstr;
using namespace std::chrono_literals;

// Standard input as a client feeds it: lines arrive when the test writes
// them, and reading blocks in between, until close() (end of file).
class ClientInput final : public std::streambuf {
 public:
  void write(const std::string& text) {
    {
      std::lock_guard lock(mutex_);
      pending_ += text;
    }
    changed_.notify_all();
  }
  void write_line(const json& message) { write(message.dump() + "\n"); }
  void close() {
    {
      std::lock_guard lock(mutex_);
      closed_ = true;
    }
    changed_.notify_all();
  }

 protected:
  int_type underflow() override {
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [&] { return !pending_.empty() || closed_; });
    if (pending_.empty()) return traits_type::eof();
    current_ = std::move(pending_);
    pending_.clear();
    setg(current_.data(), current_.data(), current_.data() + current_.size());
    return traits_type::to_int_type(*gptr());
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  std::string pending_;
  std::string current_;
  bool closed_ = false;
};

// Standard output as the client reads it: whole lines, waited for.
class ClientOutput final : public std::streambuf {
 public:
  // The first count lines as JSON, waiting up to timeout for them; fewer
  // when they do not come.
  std::vector<json> wait_for_lines(std::size_t count, std::chrono::milliseconds timeout) {
    std::unique_lock lock(mutex_);
    changed_.wait_for(lock, timeout, [&] { return lines_.size() >= count; });
    std::vector<json> parsed;
    for (std::size_t i = 0; i < std::min(count, lines_.size()); ++i)
      parsed.push_back(json::parse(lines_[i]));
    return parsed;
  }
  json line(std::size_t index, std::chrono::milliseconds timeout = 2s) {
    const std::vector<json> lines = wait_for_lines(index + 1, timeout);
    EXPECT_GT(lines.size(), index) << "no line " << index;
    return lines.size() > index ? lines[index] : json();
  }
  std::size_t line_count() const {
    std::lock_guard lock(mutex_);
    return lines_.size();
  }
  bool has_partial_line() const {
    std::lock_guard lock(mutex_);
    return !partial_.empty();
  }

 protected:
  int_type overflow(int_type c) override {
    if (!traits_type::eq_int_type(c, traits_type::eof())) {
      const char ch = traits_type::to_char_type(c);
      xsputn(&ch, 1);
    }
    return traits_type::not_eof(c);
  }
  std::streamsize xsputn(const char* text, std::streamsize count) override {
    {
      std::lock_guard lock(mutex_);
      for (std::streamsize i = 0; i < count; ++i) {
        if (text[i] == '\n') {
          lines_.push_back(std::move(partial_));
          partial_.clear();
        } else {
          partial_ += text[i];
        }
      }
    }
    changed_.notify_all();
    return count;
  }

 private:
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<std::string> lines_;
  std::string partial_;
};

StdioOptions with_max_message_bytes(std::size_t bytes) {
  StdioOptions options;
  options.max_message_bytes = bytes;
  return options;
}

json initialize_request(int id, const std::string& version = "2025-11-25",
                        const json& capabilities = json::object()) {
  return make_request(id, "initialize",
                      {{"protocolVersion", version},
                       {"capabilities", capabilities},
                       {"clientInfo", {{"name", "t"}, {"version", "0"}}}});
}

class StdioTransportTest : public ::testing::Test {
 protected:
  // Serves on a thread until the input is closed.
  void start(StdioOptions options = {}) {
    serving = std::async(std::launch::async, [this, options] {
      std::istream in(&input);
      std::ostream out(&output);
      serve_stdio(server, in, out, options);
    });
  }
  // Closes the input; true when serve_stdio returned within timeout.
  bool finish(std::chrono::milliseconds timeout = 2s) {
    input.close();
    return serving.wait_for(timeout) == std::future_status::ready;
  }
  void TearDown() override {
    if (serving.valid()) finish();
  }
  void initialize(const std::string& version = "2025-11-25",
                  const json& capabilities = json::object()) {
    input.write_line(initialize_request(0, version, capabilities));
    EXPECT_EQ(output.line(0)["result"]["protocolVersion"], version);
    input.write_line(make_notification("notifications/initialized"));
  }

  Server server{ServerInfo{}};
  ClientInput input;
  ClientOutput output;
  std::future<void> serving;
};

// Runs serve_stdio over fixed input to its end; returns the output lines.
std::vector<json> serve_text(Server& server, const std::string& text, StdioOptions options = {}) {
  std::istringstream in(text);
  std::ostringstream out;
  serve_stdio(server, in, out, options);
  std::vector<json> lines;
  std::istringstream written(out.str());
  for (std::string line; std::getline(written, line);) lines.push_back(json::parse(line));
  EXPECT_TRUE(out.str().empty() || out.str().back() == '\n');
  return lines;
}

TEST_F(StdioTransportTest, EachRequestGetsOneLine) {
  server.add_tool(tools::make_echo_tool());
  start();
  initialize();
  input.write_line(make_request(1, "tools/list", json::object()));
  const json list = output.line(1);
  EXPECT_EQ(list["id"], 1);
  EXPECT_EQ(list["result"]["tools"][0]["name"], "echo");
  input.write_line(
      make_request("two", "tools/call", {{"name", "echo"}, {"arguments", {{"text", "hi"}}}}));
  const json call = output.line(2);
  EXPECT_EQ(call["id"], "two");
  EXPECT_EQ(call["result"]["content"][0]["text"], "hi");
  ASSERT_TRUE(finish());
  EXPECT_EQ(output.line_count(), 3u);
  EXPECT_FALSE(output.has_partial_line());
  EXPECT_EQ(server.session_count(), 0u);
}

TEST_F(StdioTransportTest, ParseErrorIsAnsweredWithANullId) {
  start();
  input.write("{not json\n");
  const json error = output.line(0);
  EXPECT_EQ(error["error"]["code"], error_code::parse_error);
  EXPECT_TRUE(error.contains("id"));
  EXPECT_EQ(error["id"], nullptr);
  input.write_line(make_request(1, "ping", json::object()));
  EXPECT_EQ(output.line(1)["result"], json::object());
}

TEST_F(StdioTransportTest, OverlongLineIsRefusedAndTheNextLineStillWorks) {
  start(with_max_message_bytes(64));
  input.write(R"({"jsonrpc":"2.0","id":1,"method":"ping","params":{"pad":")" +
              std::string(500, 'x') + "\"}}\n");
  const json error = output.line(0);
  EXPECT_EQ(error["error"]["code"], error_code::invalid_request);
  EXPECT_THAT(error["error"]["message"].get<std::string>(), HasSubstr("64 bytes"));
  input.write_line(make_request(2, "ping", json::object()));
  const json pong = output.line(1);
  EXPECT_EQ(pong["id"], 2);
  EXPECT_EQ(pong["result"], json::object());
}

TEST_F(StdioTransportTest, BlankLinesAreIgnored) {
  start();
  input.write("\n   \n\t\r\n\r\n");
  input.write_line(make_request(1, "ping", json::object()));
  EXPECT_EQ(output.line(0)["id"], 1);
  ASSERT_TRUE(finish());
  EXPECT_EQ(output.line_count(), 1u);
}

TEST_F(StdioTransportTest, InvalidMessagesGetErrorLines) {
  start();
  input.write_line(json::parse(R"({"jsonrpc":"2.0","id":1.5,"method":"ping"})"));
  EXPECT_EQ(output.line(0)["error"]["code"], error_code::invalid_request);
  input.write_line(json("just a string"));
  EXPECT_EQ(output.line(1)["error"]["code"], error_code::invalid_request);
}

TEST_F(StdioTransportTest, EndOfInputCancelsARunningTool) {
  auto probe = std::make_shared<BlockingProbe>();
  server.add_tool(test::blocking_tool(probe));
  start();
  initialize();
  input.write_line(make_request(1, "tools/call", {{"name", "wait"}}));
  ASSERT_TRUE(probe->started.wait(2s));
  const auto before = std::chrono::steady_clock::now();
  ASSERT_TRUE(finish(2s));
  EXPECT_LT(std::chrono::steady_clock::now() - before, 2s);
  EXPECT_TRUE(probe->saw_cancel);
}

TEST_F(StdioTransportTest, CancelledNotificationStopsACallWithoutAResponse) {
  auto probe = std::make_shared<BlockingProbe>();
  server.add_tool(test::blocking_tool(probe));
  start();
  initialize();
  input.write_line(make_request(5, "tools/call", {{"name", "wait"}}));
  ASSERT_TRUE(probe->started.wait(2s));
  input.write_line(make_notification("notifications/cancelled", {{"requestId", 5}}));
  const auto deadline = std::chrono::steady_clock::now() + 2s;
  while (!probe->finished && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(2ms);
  EXPECT_TRUE(probe->saw_cancel);
  input.write_line(make_request(6, "ping", json::object()));
  EXPECT_EQ(output.line(1)["id"], 6);  // the ping, not a response to 5
  ASSERT_TRUE(finish());
  EXPECT_EQ(output.line_count(), 2u);
}

TEST_F(StdioTransportTest, ToolCanAskTheClientWhileTheReaderWaitsForTheAnswer) {
  server.add_tool(make_tool("ask", [](const json&, tools::ToolContext& context) {
    const json answer = context.ask_client("sampling/createMessage", {{"messages", json::array()}});
    return tools::ToolResult::text(answer.at("content").at("text").get<std::string>());
  }));
  start();
  initialize("2025-11-25", {{"sampling", json::object()}});
  input.write_line(make_request(1, "tools/call", {{"name", "ask"}}));
  const json question = output.line(1);
  ASSERT_EQ(question["method"], "sampling/createMessage");
  input.write_line(
      make_result(question["id"],
                  {{"role", "assistant"}, {"content", {{"type", "text"}, {"text", "sampled"}}}}));
  const json answer = output.line(2);
  EXPECT_EQ(answer["id"], 1);
  EXPECT_EQ(answer["result"]["content"][0]["text"], "sampled");
}

// At the limit of running requests the reader keeps reading: a request over
// the limit waits its turn, and the answer a running tool waits for still
// gets through.
TEST_F(StdioTransportTest, ReaderKeepsReadingAtTheRequestLimit) {
  server.add_tool(make_tool("ask", [](const json&, tools::ToolContext& context) {
    const json answer = context.ask_client("sampling/createMessage", {{"messages", json::array()}});
    return tools::ToolResult::text(answer.at("content").at("text").get<std::string>());
  }));
  StdioOptions options;
  options.max_concurrent_requests = 1;
  start(options);
  initialize("2025-11-25", {{"sampling", json::object()}});
  input.write_line(make_request(1, "tools/call", {{"name", "ask"}}));
  const json question = output.line(1);
  ASSERT_EQ(question["method"], "sampling/createMessage");
  input.write_line(make_request(2, "ping", json::object()));
  EXPECT_EQ(output.wait_for_lines(3, 100ms).size(), 2u);  // the ping waits
  input.write_line(
      make_result(question["id"],
                  {{"role", "assistant"}, {"content", {{"type", "text"}, {"text", "sampled"}}}}));
  const json answer = output.line(2);
  EXPECT_EQ(answer["id"], 1);
  EXPECT_EQ(answer["result"]["content"][0]["text"], "sampled");
  const json pong = output.line(3);
  EXPECT_EQ(pong["id"], 2);
  EXPECT_EQ(pong["result"], json::object());
}

TEST_F(StdioTransportTest, RequestsWaitingForASlotAreAnsweredAtEndOfInput) {
  auto probe = std::make_shared<BlockingProbe>();
  server.add_tool(test::blocking_tool(probe));
  StdioOptions options;
  options.max_concurrent_requests = 1;
  start(options);
  initialize();
  input.write_line(make_request(1, "tools/call", {{"name", "wait"}}));
  ASSERT_TRUE(probe->started.wait(2s));
  input.write_line(make_request(2, "ping", json::object()));
  input.write_line(make_request(3, "tools/list", json::object()));
  ASSERT_TRUE(finish());
  EXPECT_TRUE(probe->saw_cancel);
  std::set<json> ids;
  for (const json& line : output.wait_for_lines(4, 0ms)) ids.insert(line["id"]);
  EXPECT_EQ(ids, (std::set<json>{0, 1, 2, 3}));
}

TEST_F(StdioTransportTest, ListChangesGoToStdout) {
  start();
  initialize();
  input.write_line(make_request(1, "ping", json::object()));
  output.line(1);
  server.add_tool(tools::make_echo_tool());
  EXPECT_EQ(output.line(2)["method"], "notifications/tools/list_changed");
}

TEST_F(StdioTransportTest, BatchesOnlyOn2025_03_26) {
  start();
  initialize("2025-03-26");
  input.write(
      R"([{"jsonrpc":"2.0","id":1,"method":"ping"},{"jsonrpc":"2.0","method":"notifications/initialized"},{"jsonrpc":"2.0","id":2,"method":"ping"}])"
      "\n");
  const json responses = output.line(1);
  ASSERT_TRUE(responses.is_array());
  ASSERT_EQ(responses.size(), 2u);
  EXPECT_EQ(responses[0]["id"], 1);
  EXPECT_EQ(responses[1]["id"], 2);
  input.write("[]\n");
  EXPECT_EQ(output.line(2)["error"]["code"], error_code::invalid_request);
}

TEST_F(StdioTransportTest, BatchesAreRefusedOnCurrentVersions) {
  start();
  initialize("2025-11-25");
  input.write(R"([{"jsonrpc":"2.0","id":1,"method":"ping"}])"
              "\n");
  const json error = output.line(1);
  EXPECT_EQ(error["error"]["code"], error_code::invalid_request);
  EXPECT_THAT(error["error"]["message"].get<std::string>(), HasSubstr("2025-11-25"));
}

// A client may write its requests and close its end of the pipe at once
// (`voicedesk mcp --stdio < requests.jsonl`): every request that completes
// is still answered.
TEST(StdioTransportPiped, RequestsBeforeEndOfInputAreAnswered) {
  Server server{ServerInfo{}};
  server.add_tool(tools::make_echo_tool());
  const std::string text = make_request(1, "ping", json::object()).dump() + "\n" + "{oops\n" +
                           make_request(2, "ping", json::object()).dump() + "\n" +
                           make_request(3, "ping", json::object()).dump();  // no final newline
  for (int round = 0; round < 20; ++round) {
    const std::vector<json> lines = serve_text(server, text);
    std::set<json> ids;
    for (const json& line : lines) ids.insert(line["id"]);
    EXPECT_EQ(ids, (std::set<json>{nullptr, 1, 2, 3})) << "round " << round;
  }
}

TEST(StdioTransportPiped, OverlongLastLineWithoutNewlineIsRefused) {
  Server server{ServerInfo{}};
  const std::vector<json> lines =
      serve_text(server, std::string(100, '{'), with_max_message_bytes(10));
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0]["error"]["code"], error_code::invalid_request);
}

TEST(StdioTransportPiped, EmptyInputEndsAtOnce) {
  Server server{ServerInfo{}};
  EXPECT_TRUE(serve_text(server, "").empty());
  EXPECT_EQ(server.session_count(), 0u);
}

}  // namespace
}  // namespace voicedesk::mcp
