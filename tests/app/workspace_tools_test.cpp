#include "app/workspace_tools.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "agent/openai_test_server.hpp"
#include "app/config_schema.hpp"
#include "tools/null_tool_context.hpp"
#include "util/temp_dir.hpp"

namespace voicedesk::app {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;
using ::testing::UnorderedElementsAre;

// A configuration with nothing set but a private calendar file.
class WorkspaceToolsTest : public ::testing::Test {
 protected:
  util::Config config_with(const std::vector<std::pair<std::string, std::string>>& values) {
    util::Config config(config_schema());
    config.apply_override("VOICEDESK_CALENDAR_FILE", (dir_.path() / "calendar.ics").string());
    for (const auto& [key, value] : values) config.apply_override(key, value);
    return config;
  }
  static const tools::Tool& tool(const WorkspaceTools& workspace, const std::string& name) {
    for (const auto& tool : workspace.tools()) {
      if (tool.spec.name == name) return tool;
    }
    throw std::runtime_error("no tool " + name);
  }
  static std::string error_of(const tools::Tool& tool, const json& arguments) {
    tools::test::NullToolContext context;
    try {
      const tools::ToolResult result = tool.call(arguments, context);
      return result.is_error ? result.content.dump() : "";
    } catch (const tools::ToolError& error) {
      return error.what();
    }
  }

  test_support::TempDir dir_;
};

TEST_F(WorkspaceToolsTest, ListsEveryToolEvenWhenNothingIsConfigured) {
  const WorkspaceTools workspace(config_with({}));
  std::vector<std::string> names;
  for (const auto& tool : workspace.tools()) names.push_back(tool.spec.name);
  EXPECT_THAT(names,
              UnorderedElementsAre("send_email", "outbox_status", "list_inbox", "read_email",
                                   "reply_to_email", "draft_reply", "create_calendar_event",
                                   "load_calendar_events", "duckduckgo_search", "web_search"));
}

TEST_F(WorkspaceToolsTest, UnconfiguredMailSaysWhatToSet) {
  const WorkspaceTools workspace(config_with({}));
  EXPECT_THAT(error_of(tool(workspace, "send_email"),
                       {{"to_email", "a@example.com"}, {"subject", "s"}, {"body", "b"}}),
              HasSubstr("MAIL_HOST"));
  EXPECT_THAT(error_of(tool(workspace, "list_inbox"), json::object()),
              HasSubstr("VOICEDESK_IMAP_URL"));
}

TEST_F(WorkspaceToolsTest, DraftsWithTheConfiguredModel) {
  test_support::OpenAiTestServer model;
  model.script({.chunks = test_support::OpenAiTestServer::text_chunks(
                    {"Hi Ann,\n\nFriday works for me.\n\nBest"})});
  const WorkspaceTools workspace(config_with({{"VOICEDESK_LLM_BASE_URL", model.base_url()},
                                              {"VOICEDESK_LLM_API_KEY", model.api_key()},
                                              {"VOICEDESK_LLM_MODEL", "drafter"}}));
  tools::test::NullToolContext context;
  const tools::ToolResult result = tool(workspace, "draft_reply")
                                       .call({{"original_subject", "Budget"},
                                              {"original_body", "Can we meet on Friday?"},
                                              {"tone", "friendly"}},
                                             context);
  ASSERT_FALSE(result.is_error) << result.content.dump();
  EXPECT_EQ(result.structured["generator"], "llm");
  EXPECT_THAT(result.structured["body"].get<std::string>(), HasSubstr("Friday works for me."));
  ASSERT_EQ(model.requests().size(), 1u);
  EXPECT_EQ(model.requests()[0]["model"], "drafter");
  EXPECT_THAT(model.requests()[0]["messages"][0]["content"].get<std::string>(),
              HasSubstr("Can we meet on Friday?"));
  EXPECT_TRUE(model.violations().empty());
}

TEST_F(WorkspaceToolsTest, FallsBackToTheTemplateWhenTheModelFails) {
  test_support::OpenAiTestServer model;  // nothing scripted: it answers 500
  const WorkspaceTools workspace(config_with(
      {{"VOICEDESK_LLM_BASE_URL", model.base_url()}, {"VOICEDESK_LLM_API_KEY", model.api_key()}}));
  tools::test::NullToolContext context;
  const tools::ToolResult result =
      tool(workspace, "draft_reply")
          .call({{"original_subject", "Budget"}, {"original_body", "Can we meet on Friday?"}},
                context);
  ASSERT_FALSE(result.is_error) << result.content.dump();
  EXPECT_EQ(result.structured["generator"], "template");
  EXPECT_TRUE(result.structured.contains("note"));
}

}  // namespace
}  // namespace voicedesk::app
