#include <gtest/gtest.h>

#include "tools/search/fixtures.hpp"
#include "tools/search/search_client.hpp"

namespace voicedesk::tools::search {
namespace {

using test::fixture;

TEST(ParseDuckDuckGoHtml, UnwrapsRedirectsSkipsAdsAndDecodesText) {
  const auto hits = parse_duckduckgo_html(fixture("ddg_results.html"), 10);
  ASSERT_EQ(hits.size(), 3u);
  EXPECT_EQ(hits[0].title, "References and Borrowing - The Rust Programming Language");
  EXPECT_EQ(hits[0].url, "https://doc.rust-lang.org/book/ch04-02-references-and-borrowing.html");
  EXPECT_EQ(hits[0].snippet,
            "The borrow checker makes sure references are always valid & never outlive their data "
            "\u2014 see \"dangling references\" \u2026");
  EXPECT_EQ(hits[1].title, "Non-lexical lifetimes explained \u2014 Example Blog");
  EXPECT_EQ(hits[1].url, "https://blog.example.org/posts/nll?lang=en&page=2");
  EXPECT_EQ(hits[2].title, "Why does the borrow checker complain? <E0502>");
  EXPECT_EQ(hits[2].url, "http://forum.example.net/t/why-does-the-borrow-checker-complain/42");
  EXPECT_EQ(hits[2].snippet,
            "cannot borrow `v` as mutable because it is also borrowed as immutable");
}

TEST(ParseDuckDuckGoHtml, StopsAtMaxResults) {
  const auto hits = parse_duckduckgo_html(fixture("ddg_results.html"), 1);
  ASSERT_EQ(hits.size(), 1u);
  EXPECT_EQ(hits[0].url, "https://doc.rust-lang.org/book/ch04-02-references-and-borrowing.html");
  EXPECT_FALSE(hits[0].snippet.empty());
}

TEST(ParseDuckDuckGoHtml, NoResultsPageIsAnEmptyList) {
  EXPECT_TRUE(parse_duckduckgo_html(fixture("ddg_no_results.html"), 5).empty());
}

TEST(ParseDuckDuckGoHtml, BotCheckAndOtherPagesAreNotEmptyResults) {
  EXPECT_THROW(parse_duckduckgo_html(fixture("ddg_bot_check.html"), 5), UnexpectedAnswer);
  EXPECT_THROW(parse_duckduckgo_html("<html><body>Service Unavailable</body></html>", 5),
               UnexpectedAnswer);
  EXPECT_THROW(parse_duckduckgo_html("", 5), UnexpectedAnswer);
}

TEST(ParseDuckDuckGoHtml, CutsLongTitlesOnACharacterBoundary) {
  std::string title;
  for (int i = 0; i < 200; ++i) title += "\u00E9";  // 400 bytes
  const std::string html =
      "<div class=\"result\"><a class=\"result__a\" href=\"https://a.example/\">" + title +
      "</a></div>";
  const auto hits = parse_duckduckgo_html(html, 5);
  ASSERT_EQ(hits.size(), 1u);
  EXPECT_LE(hits[0].title.size(), 300u);
  EXPECT_TRUE(hits[0].title.ends_with("\u00E9..."));
}

TEST(ParseDuckDuckGoJson, ReadsAbstractResultsAndNestedTopics) {
  const auto hits = parse_duckduckgo_json(fixture("ddg_instant_answer.json"), 10);
  ASSERT_EQ(hits.size(), 4u);
  EXPECT_EQ(hits[0].title, "SQLite");
  EXPECT_EQ(hits[0].url, "https://en.wikipedia.org/wiki/SQLite");
  EXPECT_TRUE(hits[0].snippet.starts_with("SQLite is a database engine"));
  EXPECT_EQ(hits[1], (SearchHit{"Official site", "https://www.sqlite.org/", "Official site"}));
  EXPECT_EQ(hits[2], (SearchHit{"Embedded database", "https://duckduckgo.com/Embedded_database",
                                "A database management system tightly integrated with the "
                                "application software."}));
  EXPECT_EQ(hits[3], (SearchHit{"D. Richard Hipp", "https://duckduckgo.com/D._Richard_Hipp",
                                "American software developer, creator of SQLite & Fossil."}));
}

TEST(ParseDuckDuckGoJson, EmptyAnswerIsAnEmptyList) {
  EXPECT_TRUE(parse_duckduckgo_json(fixture("ddg_instant_answer_empty.json"), 5).empty());
}

TEST(ParseDuckDuckGoJson, RefusesOtherAnswers) {
  EXPECT_THROW(parse_duckduckgo_json("<html></html>", 5), UnexpectedAnswer);
  EXPECT_THROW(parse_duckduckgo_json("[1, 2]", 5), UnexpectedAnswer);
  EXPECT_THROW(parse_duckduckgo_json(R"({"results": []})", 5), UnexpectedAnswer);
}

TEST(ParseSearxng, ReadsResultsSkippingNonHttpAndRepeats) {
  const auto hits = parse_searxng_json(fixture("searxng_results.json"), 10);
  ASSERT_EQ(hits.size(), 2u);
  EXPECT_EQ(hits[0].title, "Radicale \u2013 a small CalDAV and CardDAV server");
  EXPECT_EQ(hits[0].url, "https://radicale.org/v3.html");
  EXPECT_EQ(hits[1].title, "Ba\u00EFkal");
  EXPECT_EQ(hits[1].snippet, "Ba\u00EFkal is a lightweight CalDAV+CardDAV server.");
}

TEST(ParseSearxng, NoResultsIsEmptyButAllEnginesFailingIsAnOutage) {
  EXPECT_TRUE(parse_searxng_json(fixture("searxng_empty.json"), 5).empty());
  try {
    parse_searxng_json(fixture("searxng_engines_down.json"), 5);
    FAIL() << "expected UnexpectedAnswer";
  } catch (const UnexpectedAnswer& e) {
    EXPECT_STREQ(e.what(),
                 "no results because its engines failed: duckduckgo (CAPTCHA), brave (timeout)");
  }
  EXPECT_THROW(parse_searxng_json(R"({"error": "x"})", 5), UnexpectedAnswer);
}

TEST(Provider, InfersFromTheEndpoint) {
  EXPECT_EQ(infer_provider("https://html.duckduckgo.com/html/"), Provider::duckduckgo_html);
  EXPECT_EQ(infer_provider("https://duckduckgo.com/html/"), Provider::duckduckgo_html);
  EXPECT_EQ(infer_provider("https://api.duckduckgo.com/"), Provider::duckduckgo_json);
  EXPECT_EQ(infer_provider("http://127.0.0.1:8888/search"), Provider::searxng);
  EXPECT_EQ(infer_provider("https://notduckduckgo.com/"), Provider::searxng);
  EXPECT_EQ(parse_provider("SearXNG"), Provider::searxng);
  EXPECT_FALSE(parse_provider("google"));
}

}  // namespace
}  // namespace voicedesk::tools::search
