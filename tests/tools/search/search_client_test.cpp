#include "tools/search/search_client.hpp"

#include <gtest/gtest.h>

#include "tools/search/fake_search_server.hpp"
#include "tools/tool.hpp"
#include "util/child_process.hpp"

namespace voicedesk::tools::search {
namespace {

using namespace std::chrono_literals;

// The ToolError message of a search that must fail.
std::string search_error(const SearchClient& client, std::string_view query,
                         std::size_t max_results = 5) {
  try {
    client.search(query, max_results);
  } catch (const ToolError& e) {
    return e.what();
  }
  ADD_FAILURE() << "search for \"" << query << "\" did not fail";
  return {};
}

SearchClient client_for(const std::string& endpoint, Provider provider) {
  SearchOptions options;
  options.endpoint = endpoint;
  options.provider = provider;
  options.timeout = 5s;
  return SearchClient(options);
}

class SearchClientTest : public ::testing::Test {
 protected:
  test::FakeSearchServer server_;
};

TEST_F(SearchClientTest, SearchesDuckDuckGoHtml) {
  const SearchClient client = client_for(server_.url("/html/"), Provider::duckduckgo_html);
  const auto hits = client.search("  c++ & rust?  ", 2);
  ASSERT_EQ(hits.size(), 2u);
  EXPECT_EQ(hits[0].url, "https://doc.rust-lang.org/book/ch04-02-references-and-borrowing.html");
  EXPECT_EQ(server_.last_param("q"), "c++ & rust?");  // trimmed, encoded and decoded intact
  EXPECT_NE(server_.last_user_agent().find("voicedesk"), std::string::npos);
  EXPECT_EQ(client.host(), "127.0.0.1");
}

TEST_F(SearchClientTest, NoResultsFromAWorkingServerIsAnEmptyList) {
  EXPECT_TRUE(
      client_for(server_.url("/html/"), Provider::duckduckgo_html).search("nothing", 5).empty());
  EXPECT_TRUE(
      client_for(server_.url("/api/"), Provider::duckduckgo_json).search("nothing", 5).empty());
  EXPECT_TRUE(client_for(server_.url("/searx"), Provider::searxng).search("nothing", 5).empty());
}

TEST_F(SearchClientTest, SearchesDuckDuckGoInstantAnswers) {
  const auto hits = client_for(server_.url("/api/"), Provider::duckduckgo_json).search("sqlite", 5);
  ASSERT_EQ(hits.size(), 4u);
  EXPECT_EQ(hits[0].title, "SQLite");
  EXPECT_EQ(server_.last_param("format"), "json");
  EXPECT_EQ(server_.last_param("no_html"), "1");
}

TEST_F(SearchClientTest, SearchesSearxngFromItsBaseUrlOrSearchEndpoint) {
  for (const std::string endpoint : {"/searx", "/searx/", "/searx/search"}) {
    const auto hits = client_for(server_.url(endpoint), Provider::searxng).search("caldav", 1);
    ASSERT_EQ(hits.size(), 1u) << endpoint;
    EXPECT_EQ(hits[0].url, "https://radicale.org/v3.html");
    EXPECT_EQ(server_.last_param("format"), "json");
    EXPECT_EQ(server_.last_param("q"), "caldav");
  }
}

TEST_F(SearchClientTest, UpstreamErrorsAreClearNotEmpty) {
  EXPECT_EQ(search_error(client_for(server_.url("/down/"), Provider::duckduckgo_html), "x"),
            "web search is unavailable: 127.0.0.1 answered HTTP 503");
  EXPECT_EQ(
      search_error(client_for(server_.url("/captcha/html/"), Provider::duckduckgo_html), "x"),
      "web search is unavailable: 127.0.0.1 did not return results (HTTP 202, a bot check); try "
      "again later");
  EXPECT_EQ(search_error(client_for(server_.url("/busy/"), Provider::duckduckgo_html), "x"),
            "web search is rate limited by 127.0.0.1 (HTTP 429); try again later");
  EXPECT_NE(search_error(client_for(server_.url("/locked"), Provider::searxng), "x")
                .find("answered HTTP 403 (SearXNG refuses JSON unless `json` is listed"),
            std::string::npos);
  EXPECT_EQ(search_error(client_for(server_.url("/searx"), Provider::searxng), "down"),
            "web search is unavailable: 127.0.0.1 answered with no results because its engines "
            "failed: duckduckgo (CAPTCHA), brave (timeout)");
  // A JSON provider pointed at an HTML page.
  EXPECT_EQ(search_error(client_for(server_.url("/html/"), Provider::searxng), "x"),
            "web search is unavailable: 127.0.0.1 answered HTTP 404");
  EXPECT_EQ(search_error(client_for(server_.url("/html/"), Provider::duckduckgo_json), "x"),
            "web search is unavailable: 127.0.0.1 answered with an answer that is not a JSON "
            "object");
  EXPECT_EQ(search_error(client_for(server_.url("/huge/"), Provider::duckduckgo_html), "x"),
            "web search is unavailable: 127.0.0.1: the answer is larger than the 2097152-byte "
            "limit");
}

TEST(SearchClientNoNetwork, UnreachablePortSaysSo) {
  const int port = test_support::free_tcp_port();  // nothing listens there
  const SearchClient client =
      client_for("http://127.0.0.1:" + std::to_string(port) + "/html/", Provider::duckduckgo_html);
  const std::string error = search_error(client, "weather");
  EXPECT_TRUE(error.starts_with("web search is unavailable: could not reach 127.0.0.1: ")) << error;
  EXPECT_EQ(error.find("weather"), std::string::npos) << "the query stays out of errors: " << error;
}

TEST(SearchClientNoNetwork, UnresolvableHostSaysSo) {
  SearchOptions options;
  options.endpoint = "https://html.duckduckgo.invalid/html/";
  options.timeout = 5s;
  const std::string error = search_error(SearchClient(options), "weather");
  EXPECT_TRUE(
      error.starts_with("web search is unavailable: could not reach html.duckduckgo.invalid: "))
      << error;
}

TEST(SearchClientArguments, RefusesBadQueriesAndCounts) {
  // Checked before any request, so no server is needed.
  const SearchClient client = client_for("http://127.0.0.1:9/", Provider::searxng);
  EXPECT_EQ(search_error(client, " \t\n"), "query: must not be empty");
  EXPECT_EQ(search_error(client, std::string(kMaxQueryBytes + 1, 'q')),
            "query: longer than 500 bytes");
  EXPECT_EQ(search_error(client, "x", 0), "max_results: must be from 1 to 20");
  EXPECT_EQ(search_error(client, "x", 21), "max_results: must be from 1 to 20");
  EXPECT_THROW(SearchClient(SearchOptions{.endpoint = "ftp://example.com/"}),
               std::invalid_argument);
  EXPECT_THROW(SearchClient(SearchOptions{.endpoint = "not a url"}), std::invalid_argument);
}

// A clock the test moves by hand; sleeping moves it too.
struct FakeClock {
  util::TokenBucket::Clock::time_point now{};
  util::TokenBucket::Clock::duration slept{};

  std::shared_ptr<util::TokenBucket> bucket(util::TokenBucketOptions::Mode mode) {
    util::TokenBucketOptions options;
    options.rate_per_second = 1;
    options.burst = 1;
    options.mode = mode;
    options.max_wait = 2s;
    return std::make_shared<util::TokenBucket>(
        "web search", options, [this] { return now; },
        [this](util::TokenBucket::Clock::duration duration) {
          slept += duration;
          now += duration;
        });
  }
};

TEST_F(SearchClientTest, HardRateLimitRefusesWithoutAsking) {
  FakeClock clock;
  SearchOptions options;
  options.endpoint = server_.url("/html/");
  options.limiter = clock.bucket(util::TokenBucketOptions::Mode::hard_fail);
  const SearchClient client(options);
  client.search("one", 5);
  EXPECT_EQ(search_error(client, "two"), "rate limit for web search exceeded; retry in 1000 ms");
  EXPECT_EQ(server_.requests(), 1) << "a refused search never reaches the server";
  clock.now += 1s;
  EXPECT_NO_THROW(client.search("three", 5));
  EXPECT_EQ(server_.requests(), 2);
}

TEST_F(SearchClientTest, SoftRateLimitWaitsForATurn) {
  FakeClock clock;
  SearchOptions options;
  options.endpoint = server_.url("/html/");
  options.limiter = clock.bucket(util::TokenBucketOptions::Mode::soft_wait);
  const SearchClient client(options);
  client.search("one", 5);
  EXPECT_EQ(clock.slept, util::TokenBucket::Clock::duration::zero());
  client.search("two", 5);
  EXPECT_EQ(std::chrono::duration_cast<std::chrono::milliseconds>(clock.slept), 1000ms);
  EXPECT_EQ(server_.requests(), 2);
}

}  // namespace
}  // namespace voicedesk::tools::search
