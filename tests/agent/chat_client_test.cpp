#include "agent/chat_client.hpp"

#include <gtest/gtest.h>

#include "agent/openai_test_server.hpp"
#include "app/config_schema.hpp"

namespace voicedesk::agent {
namespace {

using nlohmann::json;
using test_support::OpenAiTestServer;
using test_support::ScriptedAnswer;

class ChatClientTest : public ::testing::Test {
 protected:
  ChatClient client() const {
    return ChatClient({.base_url = server_.base_url() + "/",
                       .model = "test-model",
                       .api_key = server_.api_key()});
  }
  void TearDown() override {
    EXPECT_TRUE(server_.violations().empty()) << server_.violations().front();
  }
  OpenAiTestServer server_;
};

json send_email_tool() {
  tools::ToolSpec spec;
  spec.name = "send_email";
  spec.description = "Send an email";
  spec.input_schema = {{"type", "object"},
                       {"properties", {{"to_email", {{"type", "string"}}}}},
                       {"required", {"to_email"}}};
  return json::array({ChatClient::tool_definition(spec)});
}

TEST_F(ChatClientTest, StreamsTextAsItArrives) {
  server_.script({.chunks = OpenAiTestServer::text_chunks({"Hel", "lo ", "there."})});
  std::vector<std::string> pieces;
  const ChatReply reply =
      client().complete({ChatMessage::system("Be brief."), ChatMessage::user("Hi")}, json::array(),
                        [&](std::string_view text) { pieces.emplace_back(text); });
  EXPECT_EQ(reply.content, "Hello there.");
  EXPECT_EQ(reply.finish_reason, "stop");
  EXPECT_EQ(pieces, (std::vector<std::string>{"Hel", "lo ", "there."}));
  const json request = server_.requests().at(0);
  EXPECT_EQ(request["model"], "test-model");
  EXPECT_EQ(request["stream"], true);
  EXPECT_EQ(request["messages"][1], (json{{"role", "user"}, {"content", "Hi"}}));
  EXPECT_FALSE(request.contains("tools"));
}

TEST_F(ChatClientTest, AssemblesToolCallsStreamedInPieces) {
  server_.script(
      {.chunks = {
           OpenAiTestServer::delta({{"role", "assistant"}, {"content", nullptr}}),
           OpenAiTestServer::delta(
               {{"tool_calls",
                 {{{"index", 0},
                   {"id", "call_a"},
                   {"type", "function"},
                   {"function", {{"name", "send_email"}, {"arguments", ""}}}}}}}),
           OpenAiTestServer::delta(
               {{"tool_calls",
                 {{{"index", 1},
                   {"id", "call_b"},
                   {"type", "function"},
                   {"function", {{"name", "list_inbox"}, {"arguments", "{}"}}}}}}}),
           OpenAiTestServer::delta(
               {{"tool_calls", {{{"index", 0}, {"function", {{"arguments", "{\"to_email\":"}}}}}}}),
           OpenAiTestServer::delta(
               {{"tool_calls", {{{"index", 0}, {"function", {{"arguments", "\"a@b.c\"}"}}}}}}}),
           OpenAiTestServer::finish("tool_calls"),
       }});
  const ChatReply reply = client().complete({ChatMessage::user("mail a@b.c")}, send_email_tool());
  EXPECT_EQ(reply.finish_reason, "tool_calls");
  ASSERT_EQ(reply.tool_calls.size(), 2u);
  EXPECT_EQ(reply.tool_calls[0].id, "call_a");
  EXPECT_EQ(reply.tool_calls[0].name, "send_email");
  EXPECT_EQ(json::parse(reply.tool_calls[0].arguments), (json{{"to_email", "a@b.c"}}));
  EXPECT_EQ(reply.tool_calls[1].name, "list_inbox");
  const json request = server_.requests().at(0);
  EXPECT_EQ(request["tools"][0]["function"]["name"], "send_email");
  EXPECT_EQ(request["tool_choice"], "auto");
}

TEST_F(ChatClientTest, SendsToolCallsAndResultsBackInTheHistory) {
  server_.script({.chunks = OpenAiTestServer::text_chunks({"Sent."})});
  ChatReply earlier;
  earlier.tool_calls = {{"call_1", "send_email", R"({"to_email":"a@b.c"})"}};
  const std::vector<ChatMessage> history = {
      ChatMessage::user("mail a@b.c"), earlier.as_message(),
      ChatMessage::tool_result("call_1", R"({"status":"sent"})")};
  EXPECT_EQ(client().complete(history, send_email_tool()).content, "Sent.");
  const json messages = server_.requests().at(0)["messages"];
  EXPECT_EQ(messages[1]["content"], nullptr);
  EXPECT_EQ(messages[1]["tool_calls"][0]["function"]["arguments"], R"({"to_email":"a@b.c"})");
  EXPECT_EQ(messages[2]["tool_call_id"], "call_1");
}

TEST_F(ChatClientTest, AcceptsAPlainCompletionFromServersThatDoNotStream) {
  server_.script(
      {.body = {{"choices",
                 {{{"index", 0},
                   {"finish_reason", "tool_calls"},
                   {"message",
                    {{"role", "assistant"},
                     {"content", nullptr},
                     {"tool_calls",
                      {{{"id", "c1"},
                        {"type", "function"},
                        {"function",
                         {{"name", "list_inbox"}, {"arguments", "{\"limit\":3}"}}}}}}}}}}}}});
  const ChatReply reply = client().complete({ChatMessage::user("inbox")}, send_email_tool());
  ASSERT_EQ(reply.tool_calls.size(), 1u);
  EXPECT_EQ(reply.tool_calls[0].name, "list_inbox");
  EXPECT_EQ(reply.tool_calls[0].arguments, "{\"limit\":3}");
}

TEST_F(ChatClientTest, ReportsTheEndpointsErrorMessage) {
  const ChatClient wrong_key({.base_url = server_.base_url(), .model = "m", .api_key = "nope"});
  try {
    wrong_key.complete({ChatMessage::user("hi")}, json::array());
    FAIL() << "expected LlmError";
  } catch (const LlmError& error) {
    EXPECT_NE(std::string(error.what()).find("401"), std::string::npos) << error.what();
    EXPECT_NE(std::string(error.what()).find("Incorrect API key"), std::string::npos)
        << error.what();
  }
  server_.script({.status = 429, .body = {{"error", {{"message", "Rate limit reached"}}}}});
  try {
    client().complete({ChatMessage::user("hi")}, json::array());
    FAIL() << "expected LlmError";
  } catch (const LlmError& error) {
    EXPECT_NE(std::string(error.what()).find("Rate limit reached"), std::string::npos)
        << error.what();
  }
}

TEST(ChatClient, ReportsAnUnreachableEndpoint) {
  const ChatClient client({.base_url = "http://127.0.0.1:1/v1", .model = "m"});
  EXPECT_THROW(client.complete({ChatMessage::user("hi")}, json::array()), LlmError);
}

TEST(ChatClient, DescribesToolsAsFunctions) {
  tools::ToolSpec spec;
  spec.name = "list_inbox";
  spec.title = "List inbox";
  spec.input_schema = {{"type", "object"}};
  EXPECT_EQ(ChatClient::tool_definition(spec), (json{{"type", "function"},
                                                     {"function",
                                                      {{"name", "list_inbox"},
                                                       {"description", "List inbox"},
                                                       {"parameters", {{"type", "object"}}}}}}));
}

util::Config config_with(const std::vector<std::pair<std::string, std::string>>& values) {
  util::Config config(app::config_schema());
  for (const auto& [key, value] : values) config.apply_override(key, value);
  return config;
}

TEST(LlmOptions, NoneUnlessAModelIsConfigured) {
  EXPECT_FALSE(llm_options(config_with({})));
}

TEST(LlmOptions, UsesAiRtcAgentsOllamaAndOpenAiSettings) {
  const auto ollama = llm_options(config_with({{"OLLAMA_BASE_URL", "http://localhost:11434"}}));
  ASSERT_TRUE(ollama);
  EXPECT_EQ(ollama->base_url, "http://localhost:11434/v1");
  EXPECT_EQ(ollama->model, "llama3.2");
  const auto openai = llm_options(config_with({{"OPENAI_API_KEY", "sk-test"}}));
  ASSERT_TRUE(openai);
  EXPECT_EQ(openai->base_url, "https://api.openai.com/v1");
  EXPECT_EQ(openai->api_key, "sk-test");
  EXPECT_EQ(openai->model, "gpt-4o-mini");
}

TEST(LlmOptions, ExplicitSettingsWin) {
  const auto options = llm_options(config_with({{"VOICEDESK_LLM_BASE_URL", "http://127.0.0.1:9/v1"},
                                                {"VOICEDESK_LLM_MODEL", "qwen"},
                                                {"VOICEDESK_LLM_API_KEY", "k"},
                                                {"OPENAI_API_KEY", "other"},
                                                {"VOICEDESK_LLM_TIMEOUT_MS", "5000"}}));
  ASSERT_TRUE(options);
  EXPECT_EQ(options->base_url, "http://127.0.0.1:9/v1");
  EXPECT_EQ(options->model, "qwen");
  EXPECT_EQ(options->api_key, "k");
  EXPECT_EQ(options->timeout, std::chrono::milliseconds(5000));
}

}  // namespace
}  // namespace voicedesk::agent
