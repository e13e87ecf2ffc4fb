#include "tools/tool.hpp"

#include <gtest/gtest.h>

#include "tools/echo_tool.hpp"
#include "tools/json_schema.hpp"

namespace voicedesk::tools {
namespace {

using nlohmann::json;

TEST(LogLevel, NamesRoundTripInSeverityOrder) {
  const LogLevel levels[] = {LogLevel::debug,   LogLevel::info,     LogLevel::notice,
                             LogLevel::warning, LogLevel::error,    LogLevel::critical,
                             LogLevel::alert,   LogLevel::emergency};
  for (const LogLevel level : levels) EXPECT_EQ(parse_log_level(to_string(level)), level);
  EXPECT_LT(LogLevel::debug, LogLevel::emergency);
  EXPECT_EQ(parse_log_level("warn"), std::nullopt);
  EXPECT_EQ(parse_log_level("INFO"), std::nullopt);
  EXPECT_EQ(parse_log_level(""), std::nullopt);
}

TEST(ToolResult, TextAndErrorInMcpForm) {
  EXPECT_EQ(ToolResult::text("hi").to_json(),
            json::parse(R"({"content":[{"type":"text","text":"hi"}]})"));
  EXPECT_EQ(ToolResult::error("bad").to_json(),
            json::parse(R"({"content":[{"type":"text","text":"bad"}],"isError":true})"));
  ToolResult structured = ToolResult::text("x");
  structured.structured = {{"n", 1}};
  EXPECT_EQ(structured.to_json()["structuredContent"], json({{"n", 1}}));
}

TEST(ToolSpec, OmitsEmptyOptionalFields) {
  ToolSpec spec;
  spec.name = "t";
  EXPECT_EQ(spec.to_json(), json::parse(R"({"name":"t","inputSchema":{"type":"object"}})"));
  spec.title = "T";
  spec.description = "D";
  spec.output_schema = {{"type", "object"}};
  spec.annotations = {{"readOnlyHint", true}};
  const json full = spec.to_json();
  EXPECT_EQ(full["title"], "T");
  EXPECT_EQ(full["description"], "D");
  EXPECT_EQ(full["outputSchema"], json({{"type", "object"}}));
  EXPECT_EQ(full["annotations"]["readOnlyHint"], true);
}

class NullContext final : public ToolContext {
 public:
  void progress(double, std::optional<double>, const std::string&) override {}
  void log(LogLevel, const json&) override {}
  json ask_client(const std::string&, const json&) override { throw ClientRequestError("none"); }
  const std::atomic<bool>& cancelled() const override { return cancelled_; }

 private:
  std::atomic<bool> cancelled_{false};
};

TEST(EchoTool, ReturnsItsTextAsContentAndStructuredOutput) {
  const Tool echo = make_echo_tool();
  EXPECT_TRUE(echo.spec.quick);
  NullContext context;
  const ToolResult result = echo.call({{"text", "héllo"}}, context);
  EXPECT_FALSE(result.is_error);
  EXPECT_EQ(result.content[0]["text"], "héllo");
  EXPECT_EQ(validate(echo.spec.output_schema, result.structured), std::nullopt);
  EXPECT_NE(validate(echo.spec.input_schema, json::object()), std::nullopt);
}

}  // namespace
}  // namespace voicedesk::tools
