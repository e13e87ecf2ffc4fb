#include "tools/search/search_tools.hpp"

#include <gtest/gtest.h>

#include "app/config_schema.hpp"
#include "tools/json_schema.hpp"
#include "tools/null_tool_context.hpp"
#include "tools/search/fake_search_server.hpp"

namespace voicedesk::tools::search {
namespace {

using nlohmann::json;

util::Config config_with(const std::vector<std::pair<std::string, std::string>>& overrides) {
  util::Config config(app::config_schema());
  for (const auto& [key, value] : overrides) config.apply_override(key, value);
  return config;
}

TEST(SearchOptions, DefaultsToDuckDuckGoHtmlAtOneSearchPerSecond) {
  const SearchOptions options = search_options(config_with({}));
  EXPECT_EQ(options.endpoint, "https://html.duckduckgo.com/html/");
  EXPECT_EQ(options.provider, Provider::duckduckgo_html);
  ASSERT_TRUE(options.limiter);
  EXPECT_EQ(options.limiter->options().rate_per_second, 1.0);
  EXPECT_EQ(options.limiter->options().mode, util::TokenBucketOptions::Mode::soft_wait);
}

TEST(SearchOptions, InfersOrTakesTheProvider) {
  EXPECT_EQ(search_options(config_with({{"VOICEDESK_SEARCH_URL", "https://api.duckduckgo.com/"}}))
                .provider,
            Provider::duckduckgo_json);
  EXPECT_EQ(
      search_options(config_with({{"VOICEDESK_SEARCH_URL", "http://127.0.0.1:8888/"}})).provider,
      Provider::searxng);
  EXPECT_EQ(search_options(config_with({{"VOICEDESK_SEARCH_URL", "http://127.0.0.1:8888/"},
                                        {"VOICEDESK_SEARCH_PROVIDER", "duckduckgo_html"}}))
                .provider,
            Provider::duckduckgo_html);
  EXPECT_THROW(config_with({{"VOICEDESK_SEARCH_PROVIDER", "google"}}), util::ConfigError);
}

TEST(SearchTools, OfferBothNamesWithTheSameSpec) {
  const std::vector<Tool> tools = make_search_tools(config_with({}));
  ASSERT_EQ(tools.size(), 2u);
  EXPECT_EQ(tools[0].spec.name, "duckduckgo_search");
  EXPECT_EQ(tools[1].spec.name, "web_search");
  EXPECT_EQ(tools[0].spec.input_schema, tools[1].spec.input_schema);
  EXPECT_EQ(tools[0].spec.description, tools[1].spec.description);
  const json& schema = tools[0].spec.input_schema;
  EXPECT_EQ(schema["required"], json({"query"}));
  EXPECT_EQ(schema["properties"]["max_results"]["default"], 5);
  EXPECT_EQ(validate(schema, {{"query", "x"}, {"max_results", 21}}).has_value(), true);
  EXPECT_EQ(validate(schema, {{"query", "x"}, {"max_results", 3}}), std::nullopt);
  EXPECT_EQ(tools[0].spec.annotations["openWorldHint"], true);
}

class SearchToolsTest : public ::testing::Test {
 protected:
  std::vector<Tool> tools(const std::string& path,
                          const std::vector<std::pair<std::string, std::string>>& overrides = {}) {
    std::vector<std::pair<std::string, std::string>> settings = {
        {"VOICEDESK_SEARCH_URL", server_.url(path)},
        {"VOICEDESK_SEARCH_PROVIDER", "duckduckgo_html"},
        {"VOICEDESK_SEARCH_RATE", "0"}};
    settings.insert(settings.end(), overrides.begin(), overrides.end());  // later ones win
    return make_search_tools(config_with(settings));
  }

  test::FakeSearchServer server_;
  tools::test::NullToolContext context_;
};

TEST_F(SearchToolsTest, ReturnsResultsAsStructuredContentAndText) {
  for (const Tool& tool : tools("/html/")) {
    const ToolResult result =
        tool.call({{"query", "rust borrow checker"}, {"max_results", 2}}, context_);
    EXPECT_FALSE(result.is_error);
    EXPECT_EQ(validate(tool.spec.output_schema, result.structured), std::nullopt);
    EXPECT_EQ(result.structured["query"], "rust borrow checker");
    ASSERT_EQ(result.structured["results"].size(), 2u);
    EXPECT_EQ(result.structured["results"][1]["url"],
              "https://blog.example.org/posts/nll?lang=en&page=2");
    const std::string text = result.content[0]["text"];
    EXPECT_TRUE(
        text.starts_with("1. References and Borrowing - The Rust Programming Language\n"
                         "   https://doc.rust-lang.org/book/ch04-02-references-and-borrowing.html\n"
                         "   The borrow checker"))
        << text;
    EXPECT_NE(text.find("\n2. Non-lexical lifetimes"), std::string::npos) << text;
  }
}

TEST_F(SearchToolsTest, DefaultsToFiveResults) {
  const ToolResult result = tools("/html/")[0].call({{"query", "rust"}}, context_);
  EXPECT_EQ(result.structured["results"].size(), 3u);  // all the fixture has
}

TEST_F(SearchToolsTest, NoResultsIsASuccessThatSaysSo) {
  const ToolResult result = tools("/html/")[0].call({{"query", "nothing"}}, context_);
  EXPECT_FALSE(result.is_error);
  EXPECT_EQ(result.structured["results"], json::array());
  EXPECT_EQ(result.content[0]["text"], "No results found for \"nothing\".");
}

TEST_F(SearchToolsTest, OutagesAreToolErrors) {
  EXPECT_THROW(tools("/down/")[0].call({{"query", "x"}}, context_), ToolError);
  EXPECT_THROW(tools("/html/")[0].call({{"query", "x"}, {"max_results", 0}}, context_), ToolError);
}

TEST_F(SearchToolsTest, HardRateLimitIsSharedByBothNames) {
  const auto limited = tools("/html/", {{"VOICEDESK_SEARCH_RATE", "0.001"},
                                        {"VOICEDESK_SEARCH_BURST", "1"},
                                        {"VOICEDESK_RATE_LIMIT_MODE", "hard"}});
  EXPECT_NO_THROW(limited[0].call({{"query", "one"}}, context_));
  try {
    limited[1].call({{"query", "two"}}, context_);
    FAIL() << "expected the rate limit";
  } catch (const ToolError& e) {
    EXPECT_TRUE(std::string(e.what()).starts_with("rate limit for web search exceeded"))
        << e.what();
  }
  EXPECT_EQ(server_.requests(), 1);
}

}  // namespace
}  // namespace voicedesk::tools::search
