#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "util/token_bucket.hpp"

namespace voicedesk::tools::search {

// The answer formats a search endpoint can speak.
enum class Provider {
  duckduckgo_html,  // https://html.duckduckgo.com/html/?q=... (result page)
  duckduckgo_json,  // https://api.duckduckgo.com/?q=...&format=json (Instant Answers)
  searxng,          // a SearXNG instance's /search?q=...&format=json
};
const char* to_string(Provider provider);
std::optional<Provider> parse_provider(std::string_view name);
// api.duckduckgo.com speaks Instant Answer JSON, any other duckduckgo.com host
// the HTML result page, and anything else is taken for a SearXNG instance.
Provider infer_provider(std::string_view endpoint_url);

inline constexpr std::string_view kDefaultEndpoint = "https://html.duckduckgo.com/html/";
inline constexpr std::size_t kMaxQueryBytes = 500;
inline constexpr std::size_t kMaxResults = 20;

struct SearchHit {
  std::string title;
  std::string url;  // http(s) only
  std::string snippet;

  bool operator==(const SearchHit&) const = default;
};

// An answer that is not the result list the parser expected (a bot check, an
// error page, another format). what() completes "<host> answered with ...".
class UnexpectedAnswer : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The parsers of each provider's answer: at most max_results hits, titles and
// snippets as plain text, only http(s) URLs. An answer that says "no results"
// gives an empty list; one that is not a result list throws UnexpectedAnswer.
std::vector<SearchHit> parse_duckduckgo_html(std::string_view html, std::size_t max_results);
std::vector<SearchHit> parse_duckduckgo_json(std::string_view json, std::size_t max_results);
std::vector<SearchHit> parse_searxng_json(std::string_view json, std::size_t max_results);

struct SearchOptions {
  std::string endpoint{kDefaultEndpoint};
  Provider provider = Provider::duckduckgo_html;
  std::chrono::milliseconds timeout{10000};
  std::size_t max_response_bytes = 2u << 20;
  std::string user_agent = "Mozilla/5.0 (compatible; voicedesk-search/1.0)";
  // Shared by every caller (both tool names); null means no limit.
  std::shared_ptr<util::TokenBucket> limiter{};
};

// Queries one search endpoint. Thread-safe; every failure is a ToolError whose
// message the model can act on: bad arguments name the field, an unreachable
// or refusing upstream says "web search is unavailable: ...", and the rate
// limit says so. A working endpoint with nothing found returns an empty list.
class SearchClient {
 public:
  // Throws std::invalid_argument when the endpoint is not an http(s) URL.
  explicit SearchClient(SearchOptions options);

  std::vector<SearchHit> search(std::string_view query, std::size_t max_results) const;

  const SearchOptions& options() const { return options_; }
  // The endpoint's host, as errors name it.
  const std::string& host() const { return host_; }

 private:
  std::string request_url(std::string_view query) const;

  SearchOptions options_;
  std::string host_;
};

}  // namespace voicedesk::tools::search
