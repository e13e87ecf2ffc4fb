// The agent's tools over HTTP: remote_tools() lists another MCP server's tools
// and calls them with a fresh service token per request.
#include "mcp/remote_tools.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>

#include "auth/token.hpp"
#include "mcp/test_tools.hpp"
#include "mcp/token_checked_server.hpp"
#include "tools/null_tool_context.hpp"

namespace voicedesk::mcp {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;

// send_note changes something; list_notes only reads and answers with structured content.
std::vector<tools::Tool> note_tools() {
  tools::Tool send = test::make_tool("send_note", [](const json& arguments, tools::ToolContext&) {
    if (arguments.value("text", "").empty()) return tools::ToolResult::error("text is empty");
    return tools::ToolResult::text("sent: " + arguments["text"].get<std::string>());
  });
  send.spec.title = "Send a note";
  send.spec.description = "Sends a note to the team.";
  send.spec.input_schema = {
      {"type", "object"}, {"properties", {{"text", {{"type", "string"}}}}}, {"required", {"text"}}};
  tools::Tool list = test::make_tool("list_notes", [](const json&, tools::ToolContext&) {
    tools::ToolResult result = tools::ToolResult::text("2 notes");
    result.structured = {{"count", 2}};
    return result;
  });
  list.spec.annotations = {{"readOnlyHint", true}};
  list.spec.output_schema = {{"type", "object"},
                             {"properties", {{"count", {{"type", "integer"}}}}}};
  return {std::move(send), std::move(list)};
}

std::shared_ptr<HttpClient> client_for(const std::string& url, const auth::ServiceSecret& secret) {
  return std::make_shared<HttpClient>(
      ClientOptions{.url = url, .token = [secret] {
                      return auth::mint_token(secret, "mcp", std::chrono::system_clock::now());
                    }});
}

TEST(RemoteTools, ListsTheServersToolsWithTheirSpecs) {
  const auth::ServiceSecret secret = auth::ServiceSecret::generate();
  test::TokenCheckedServer server(secret, note_tools());
  const std::vector<tools::Tool> remote = remote_tools(client_for(server.url(), secret));
  ASSERT_EQ(remote.size(), 2u);
  const auto& send = remote[0].spec.name == "send_note" ? remote[0] : remote[1];
  const auto& list = remote[0].spec.name == "send_note" ? remote[1] : remote[0];
  EXPECT_EQ(send.spec.title, "Send a note");
  EXPECT_EQ(send.spec.description, "Sends a note to the team.");
  EXPECT_EQ(send.spec.input_schema["required"], json::array({"text"}));
  EXPECT_TRUE(send.spec.annotations.is_null());
  EXPECT_TRUE(send.spec.output_schema.is_null());
  EXPECT_EQ(list.spec.name, "list_notes");
  EXPECT_EQ(list.spec.annotations["readOnlyHint"], true);
  EXPECT_EQ(list.spec.output_schema["properties"]["count"]["type"], "integer");
}

TEST(RemoteTools, CallsGoToTheServerWithAFreshTokenEach) {
  const auth::ServiceSecret secret = auth::ServiceSecret::generate();
  test::TokenCheckedServer server(secret, note_tools());
  const std::vector<tools::Tool> remote = remote_tools(client_for(server.url(), secret));
  const auto& send = remote[0].spec.name == "send_note" ? remote[0] : remote[1];
  const auto& list = remote[0].spec.name == "send_note" ? remote[1] : remote[0];
  tools::test::NullToolContext context;
  for (int i = 0; i < 2; ++i) {
    const tools::ToolResult sent = send.call({{"text", "hello"}}, context);
    EXPECT_FALSE(sent.is_error);
    EXPECT_EQ(sent.content, json::array({{{"type", "text"}, {"text", "sent: hello"}}}));
  }
  const tools::ToolResult listed = list.call(json::object(), context);
  EXPECT_EQ(listed.structured, json({{"count", 2}}));
  // The tool's own error stays an error result.
  const tools::ToolResult refused = send.call({{"text", ""}}, context);
  EXPECT_TRUE(refused.is_error);
  EXPECT_THAT(refused.content.dump(), HasSubstr("text is empty"));
  EXPECT_EQ(server.rejected(), 0);
}

TEST(RemoteTools, AServerThatGoesAwayGivesAnErrorResultNamingIt) {
  const auth::ServiceSecret secret = auth::ServiceSecret::generate();
  std::vector<tools::Tool> remote;
  std::string url;
  {
    test::TokenCheckedServer server(secret, note_tools());
    url = server.url();
    remote = remote_tools(client_for(url, secret));
  }
  tools::test::NullToolContext context;
  const tools::ToolResult result = remote.front().call({{"text", "hello"}}, context);
  EXPECT_TRUE(result.is_error);
  EXPECT_THAT(result.content.dump(), HasSubstr(url));
}

TEST(RemoteTools, AWrongSecretFailsTheListing) {
  const auth::ServiceSecret secret = auth::ServiceSecret::generate();
  test::TokenCheckedServer server(secret, note_tools());
  try {
    remote_tools(client_for(server.url(), auth::ServiceSecret::generate()));
    FAIL() << "listed with a wrong secret";
  } catch (const ClientError& error) {
    EXPECT_THAT(error.what(), HasSubstr("401"));
  }
  EXPECT_GE(server.rejected(), 1);
}

}  // namespace
}  // namespace voicedesk::mcp
