#include "tools/search/search_client.hpp"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "tools/net/curl.hpp"
#include "tools/search/html_text.hpp"
#include "tools/tool.hpp"
#include "util/text.hpp"

namespace voicedesk::tools::search {
namespace {

using nlohmann::json;

constexpr std::size_t kMaxTitleBytes = 300;
constexpr std::size_t kMaxSnippetBytes = 600;

// Cuts text to at most max_bytes without splitting a UTF-8 sequence, marking the cut.
std::string truncate_utf8(std::string text, std::size_t max_bytes) {
  if (text.size() <= max_bytes) return text;
  std::size_t cut = max_bytes - 3;
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
  text.resize(cut);
  return text + "...";
}

struct UrlParts {
  std::string scheme;  // lower-case
  std::string host;    // lower-case, without user info or port
  std::string path;    // from the first '/', without query or fragment
  std::string query;   // after '?', without fragment
};

// Splits an absolute URL; nullopt when it has no scheme or host.
std::optional<UrlParts> split_url(std::string_view url) {
  const std::size_t scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos || scheme_end == 0) return std::nullopt;
  UrlParts parts;
  parts.scheme = util::ascii_lower(url.substr(0, scheme_end));
  std::string_view rest = url.substr(scheme_end + 3);
  rest = rest.substr(0, rest.find('#'));
  const std::size_t authority_end = rest.find_first_of("/?");
  std::string_view authority = rest.substr(0, authority_end);
  if (const std::size_t at = authority.rfind('@'); at != std::string_view::npos) {
    authority = authority.substr(at + 1);
  }
  if (authority.starts_with('[')) {
    authority = authority.substr(0, authority.find(']') + 1);  // an IPv6 literal keeps its colons
  } else {
    authority = authority.substr(0, authority.find(':'));
  }
  if (authority.empty()) return std::nullopt;
  parts.host = util::ascii_lower(authority);
  if (authority_end != std::string_view::npos) {
    const std::string_view tail = rest.substr(authority_end);
    const std::size_t question = tail.find('?');
    parts.path = std::string(tail.substr(0, question));
    if (question != std::string_view::npos) parts.query = std::string(tail.substr(question + 1));
  }
  return parts;
}

bool is_http_url(std::string_view url) {
  const std::optional<UrlParts> parts = split_url(url);
  return parts && (parts->scheme == "http" || parts->scheme == "https") &&
         url.find_first_of(" \t\r\n") == std::string_view::npos;
}

bool is_duckduckgo_host(std::string_view host) {
  return host == "duckduckgo.com" || host.ends_with(".duckduckgo.com");
}

std::optional<std::string> query_parameter(std::string_view query, std::string_view name) {
  std::size_t pos = 0;
  while (pos <= query.size()) {
    const std::size_t end = std::min(query.find('&', pos), query.size());
    const std::string_view pair = query.substr(pos, end - pos);
    const std::size_t equals = pair.find('=');
    if (pair.substr(0, equals) == name) {
      return equals == std::string_view::npos ? "" : percent_decode(pair.substr(equals + 1), true);
    }
    pos = end + 1;
  }
  return std::nullopt;
}

// The page a DuckDuckGo result link leads to: its redirect links
// (//duckduckgo.com/l/?uddg=<encoded target>) are unwrapped; ads (y.js) and
// anything that is not http(s) give nullopt.
std::optional<std::string> duckduckgo_target(std::string href) {
  if (href.starts_with("//")) {
    href = "https:" + href;
  } else if (href.starts_with("/")) {
    href = "https://duckduckgo.com" + href;
  }
  std::optional<UrlParts> parts = split_url(href);
  if (parts && is_duckduckgo_host(parts->host) && parts->path.starts_with("/l/")) {
    std::optional<std::string> target = query_parameter(parts->query, "uddg");
    if (!target) return std::nullopt;
    href = std::move(*target);
    parts = split_url(href);
  }
  if (!parts || !is_http_url(href)) return std::nullopt;
  if (is_duckduckgo_host(parts->host) && parts->path == "/y.js") return std::nullopt;
  return href;
}

// Collects hits, dropping ones without a usable URL and repeats.
class HitList {
 public:
  explicit HitList(std::size_t max_results) : max_results_(max_results) {}

  void add(std::string title, std::string url, std::string snippet) {
    if (full() || !is_http_url(url)) return;
    if (std::any_of(hits_.begin(), hits_.end(),
                    [&](const SearchHit& hit) { return hit.url == url; })) {
      return;
    }
    if (title.empty()) title = url;
    hits_.push_back({truncate_utf8(std::move(title), kMaxTitleBytes), std::move(url),
                     truncate_utf8(std::move(snippet), kMaxSnippetBytes)});
  }
  bool full() const { return hits_.size() >= max_results_; }
  std::vector<SearchHit> take() { return std::move(hits_); }

 private:
  std::size_t max_results_;
  std::vector<SearchHit> hits_;
};

bool is_bot_check(const HtmlTag& tag) {
  return tag.attribute("id") == "challenge-form" ||
         tag.attribute("class").value_or("").find("anomaly-modal") != std::string::npos;
}

json parse_json_object(std::string_view text) {
  json document = json::parse(text, nullptr, false);
  if (document.is_discarded() || !document.is_object()) {
    throw UnexpectedAnswer("an answer that is not a JSON object");
  }
  return document;
}

std::string string_field(const json& object, const char* name) {
  const auto it = object.find(name);
  return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// One DuckDuckGo topic ({FirstURL, Text, Result: "<a href=..>Title</a>Description"}).
void add_duckduckgo_topic(const json& topic, HitList& hits) {
  const std::string result_html = string_field(topic, "Result");
  std::string title;
  std::string snippet;
  std::size_t pos = 0;
  while (const std::optional<HtmlTag> tag = next_tag(result_html, pos)) {
    if (tag->name == "a" && !tag->closing) {
      const std::string_view anchor = element_content(result_html, *tag);
      title = html_to_text(anchor);
      const std::size_t after =
          static_cast<std::size_t>(anchor.data() - result_html.data()) + anchor.size();
      snippet = html_to_text(std::string_view(result_html).substr(after));
      break;
    }
    pos = tag->end;
  }
  const std::string text = html_to_text(string_field(topic, "Text"));
  if (snippet.starts_with("- ")) snippet.erase(0, 2);  // "<a>Title</a> - Description"
  if (snippet.empty()) snippet = text;
  if (title.empty()) title = text.substr(0, text.find(" - "));
  hits.add(std::move(title), string_field(topic, "FirstURL"), std::move(snippet));
}

// Topics come in named groups of topics; DuckDuckGo nests them one level,
// and deeper nesting (a hostile answer) is ignored rather than recursed into.
void add_duckduckgo_topics(const json& topics, HitList& hits, int depth = 0) {
  if (!topics.is_array() || depth > 2) return;
  for (const json& topic : topics) {
    if (!topic.is_object()) continue;
    if (const auto group = topic.find("Topics"); group != topic.end()) {
      add_duckduckgo_topics(*group, hits, depth + 1);
    } else {
      add_duckduckgo_topic(topic, hits);
    }
  }
}

}  // namespace

const char* to_string(Provider provider) {
  switch (provider) {
    case Provider::duckduckgo_html:
      return "duckduckgo_html";
    case Provider::duckduckgo_json:
      return "duckduckgo_json";
    case Provider::searxng:
      return "searxng";
  }
  return "?";
}

std::optional<Provider> parse_provider(std::string_view name) {
  for (const Provider provider :
       {Provider::duckduckgo_html, Provider::duckduckgo_json, Provider::searxng}) {
    if (util::iequals(name, to_string(provider))) return provider;
  }
  return std::nullopt;
}

Provider infer_provider(std::string_view endpoint_url) {
  const std::optional<UrlParts> parts = split_url(endpoint_url);
  if (!parts || !is_duckduckgo_host(parts->host)) return Provider::searxng;
  return parts->host == "api.duckduckgo.com" ? Provider::duckduckgo_json
                                             : Provider::duckduckgo_html;
}

std::vector<SearchHit> parse_duckduckgo_html(std::string_view html, std::size_t max_results) {
  HitList hits(max_results);
  std::optional<SearchHit> pending;  // the current result, until its snippet is read
  bool in_ad = false;
  bool saw_result_list = false;
  const auto flush = [&] {
    if (pending)
      hits.add(std::move(pending->title), std::move(pending->url), std::move(pending->snippet));
    pending.reset();
  };
  std::size_t pos = 0;
  while (const std::optional<HtmlTag> tag = next_tag(html, pos)) {
    pos = tag->end;
    if (tag->closing) continue;
    if (is_bot_check(*tag)) throw UnexpectedAnswer("a bot check (captcha) page");
    if (tag->has_class("no-results")) saw_result_list = true;
    if (tag->has_class("result")) {
      flush();
      in_ad = tag->has_class("result--ad");
    } else if (tag->has_class("result__a")) {
      flush();
      saw_result_list = true;
      if (in_ad) continue;
      const std::optional<std::string> target =
          duckduckgo_target(tag->attribute("href").value_or(""));
      if (!target) continue;
      pending = SearchHit{html_to_text(element_content(html, *tag)), *target, {}};
    } else if (tag->has_class("result__snippet") && pending) {
      pending->snippet = html_to_text(element_content(html, *tag));
    }
    if (hits.full()) break;
  }
  flush();
  if (!saw_result_list) {
    throw UnexpectedAnswer("a page without a result list (blocked, or its layout changed)");
  }
  return hits.take();
}

std::vector<SearchHit> parse_duckduckgo_json(std::string_view text, std::size_t max_results) {
  const json document = parse_json_object(text);
  if (!document.contains("AbstractText") && !document.contains("RelatedTopics")) {
    throw UnexpectedAnswer("JSON that is not a DuckDuckGo Instant Answer");
  }
  HitList hits(max_results);
  const std::string abstract = html_to_text(string_field(document, "AbstractText"));
  if (!abstract.empty()) {
    std::string title = html_to_text(string_field(document, "Heading"));
    if (title.empty()) title = string_field(document, "AbstractSource");
    hits.add(std::move(title), string_field(document, "AbstractURL"), abstract);
  }
  const std::string definition = html_to_text(string_field(document, "Definition"));
  if (!definition.empty()) {
    hits.add(string_field(document, "DefinitionSource"), string_field(document, "DefinitionURL"),
             definition);
  }
  if (const auto results = document.find("Results"); results != document.end()) {
    add_duckduckgo_topics(*results, hits);
  }
  if (const auto related = document.find("RelatedTopics"); related != document.end()) {
    add_duckduckgo_topics(*related, hits);
  }
  return hits.take();
}

std::vector<SearchHit> parse_searxng_json(std::string_view text, std::size_t max_results) {
  const json document = parse_json_object(text);
  const auto results = document.find("results");
  if (results == document.end() || !results->is_array()) {
    throw UnexpectedAnswer("JSON without a results list (is this a SearXNG instance?)");
  }
  HitList hits(max_results);
  for (const json& result : *results) {
    if (!result.is_object()) continue;
    hits.add(html_to_text(string_field(result, "title")), string_field(result, "url"),
             html_to_text(string_field(result, "content")));
  }
  // With every engine failing, SearXNG answers 200 with no results: that is
  // an outage, not an empty search.
  const auto failed = document.find("unresponsive_engines");
  if (results->empty() && failed != document.end() && failed->is_array() && !failed->empty()) {
    std::string engines;
    for (const json& engine : *failed) {
      if (!engine.is_array() || engine.size() < 2 || !engine[0].is_string()) continue;
      if (!engines.empty()) engines += ", ";
      engines += engine[0].get<std::string>();
      if (engine[1].is_string()) engines += " (" + engine[1].get<std::string>() + ")";
    }
    throw UnexpectedAnswer("no results because its engines failed: " + engines);
  }
  return hits.take();
}

SearchClient::SearchClient(SearchOptions options) : options_(std::move(options)) {
  const std::optional<UrlParts> parts = split_url(options_.endpoint);
  if (!parts || !is_http_url(options_.endpoint)) {
    throw std::invalid_argument("search endpoint is not an http(s) URL: " + options_.endpoint);
  }
  host_ = parts->host;
}

std::string SearchClient::request_url(std::string_view query) const {
  std::string url = options_.endpoint;
  if (options_.provider == Provider::searxng) {
    // The instance's base URL or its /search endpoint both work.
    const std::string path = split_url(url)->path;
    if (!path.ends_with("/search") && url.find('?') == std::string::npos) {
      if (!url.ends_with('/')) url += '/';
      url += "search";
    }
  }
  url += url.find('?') == std::string::npos ? '?' : '&';
  url += "q=" + net::url_encode(query);
  switch (options_.provider) {
    case Provider::duckduckgo_html:
      break;
    case Provider::duckduckgo_json:
      url += "&format=json&no_html=1&skip_disambig=1";
      break;
    case Provider::searxng:
      url += "&format=json";
      break;
  }
  return url;
}

std::vector<SearchHit> SearchClient::search(std::string_view query, std::size_t max_results) const {
  query = util::trim(query);
  if (query.empty()) throw ToolError("query: must not be empty");
  if (query.size() > kMaxQueryBytes) {
    throw ToolError("query: longer than " + std::to_string(kMaxQueryBytes) + " bytes");
  }
  if (max_results < 1 || max_results > kMaxResults) {
    throw ToolError("max_results: must be from 1 to " + std::to_string(kMaxResults));
  }
  if (options_.limiter) {
    try {
      options_.limiter->acquire();
    } catch (const util::RateLimited& e) {
      throw ToolError(e.what());
    }
  }

  net::HttpRequest request;
  request.url = request_url(query);
  request.headers = {"User-Agent: " + options_.user_agent,
                     options_.provider == Provider::duckduckgo_html
                         ? "Accept: text/html,application/xhtml+xml"
                         : "Accept: application/json",
                     "Accept-Language: en-US,en;q=0.8"};
  request.timeout = options_.timeout;
  request.max_response_bytes = options_.max_response_bytes;
  const std::string unavailable = "web search is unavailable: ";
  net::HttpResponse response;
  try {
    response = net::http_request(request);
  } catch (const net::TransferError& e) {
    // Drop the "GET <url>: " prefix: the URL holds the query, the host is enough.
    std::string detail = e.what();
    const std::string prefix = request.method + " " + request.url + ": ";
    if (detail.starts_with(prefix)) detail.erase(0, prefix.size());
    if (detail.find("-byte limit") != std::string::npos) {
      throw ToolError(unavailable + host_ + ": " + detail);
    }
    throw ToolError(unavailable + "could not reach " + host_ + ": " + detail);
  }

  if (response.status == 429) {
    throw ToolError("web search is rate limited by " + host_ + " (HTTP 429); try again later");
  }
  if (response.status == 202) {
    // DuckDuckGo's answer when it takes the client for a bot.
    throw ToolError(unavailable + host_ +
                    " did not return results (HTTP 202, a bot check); try again later");
  }
  if (response.status < 200 || response.status > 299) {
    std::string message = unavailable + host_ + " answered HTTP " + std::to_string(response.status);
    if (response.status == 403 && options_.provider == Provider::searxng) {
      message +=
          " (SearXNG refuses JSON unless `json` is listed in search.formats of settings.yml)";
    }
    throw ToolError(message);
  }
  try {
    switch (options_.provider) {
      case Provider::duckduckgo_html:
        return parse_duckduckgo_html(response.body, max_results);
      case Provider::duckduckgo_json:
        return parse_duckduckgo_json(response.body, max_results);
      case Provider::searxng:
        return parse_searxng_json(response.body, max_results);
    }
  } catch (const UnexpectedAnswer& e) {
    throw ToolError(unavailable + host_ + " answered with " + e.what());
  }
  throw std::logic_error("unhandled search provider");
}

}  // namespace voicedesk::tools::search
