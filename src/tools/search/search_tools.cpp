#include "tools/search/search_tools.hpp"

#include <memory>

#include "util/config_error.hpp"
#include "util/rate_limit_config.hpp"

namespace voicedesk::tools::search {
namespace {

using nlohmann::json;

const json& input_schema() {
  static const json schema = {{"type", "object"},
                              {"properties",
                               {{"query",
                                 {{"type", "string"},
                                  {"description", "What to search the web for"},
                                  {"minLength", 1},
                                  {"maxLength", kMaxQueryBytes}}},
                                {"max_results",
                                 {{"type", "integer"},
                                  {"description", "How many results to return (default 5)"},
                                  {"minimum", 1},
                                  {"maximum", kMaxResults},
                                  {"default", 5}}}}},
                              {"required", {"query"}},
                              {"additionalProperties", false}};
  return schema;
}

const json& output_schema() {
  static const json schema = {{"type", "object"},
                              {"properties",
                               {{"query", {{"type", "string"}}},
                                {"results",
                                 {{"type", "array"},
                                  {"items",
                                   {{"type", "object"},
                                    {"properties",
                                     {{"title", {{"type", "string"}}},
                                      {"url", {{"type", "string"}}},
                                      {"snippet", {{"type", "string"}}}}},
                                    {"required", {"title", "url", "snippet"}}}}}}}},
                              {"required", {"query", "results"}}};
  return schema;
}

std::string results_text(const std::string& query, const std::vector<SearchHit>& hits) {
  if (hits.empty()) return "No results found for \"" + query + "\".";
  std::string text;
  for (std::size_t i = 0; i < hits.size(); ++i) {
    text += std::to_string(i + 1) + ". " + hits[i].title + "\n   " + hits[i].url + "\n";
    if (!hits[i].snippet.empty()) text += "   " + hits[i].snippet + "\n";
  }
  return text;
}

ToolResult run_search(const SearchClient& client, const json& arguments) {
  const auto query = arguments.find("query");
  if (query == arguments.end() || !query->is_string())
    throw ToolError("query: a string is required");
  std::size_t max_results = 5;
  if (const auto max = arguments.find("max_results"); max != arguments.end()) {
    if (!max->is_number_integer() || max->get<long long>() < 1 ||
        max->get<long long>() > static_cast<long long>(kMaxResults)) {
      throw ToolError("max_results: must be an integer from 1 to " + std::to_string(kMaxResults));
    }
    max_results = max->get<std::size_t>();
  }
  const std::string query_text = query->get<std::string>();
  const std::vector<SearchHit> hits = client.search(query_text, max_results);
  json results = json::array();
  for (const SearchHit& hit : hits) {
    results.push_back({{"title", hit.title}, {"url", hit.url}, {"snippet", hit.snippet}});
  }
  ToolResult result = ToolResult::text(results_text(query_text, hits));
  result.structured = {{"query", query_text}, {"results", std::move(results)}};
  return result;
}

Tool search_tool(const std::string& name, std::shared_ptr<const SearchClient> client) {
  ToolSpec spec;
  spec.name = name;
  spec.title = "Web search";
  spec.description =
      "Search the web (" + std::string(to_string(client->options().provider)) + " at " +
      client->host() +
      ") and return the top results with title, URL and snippet. Use it for current facts the "
      "model does not know.";
  spec.input_schema = input_schema();
  spec.output_schema = output_schema();
  spec.annotations = {{"readOnlyHint", true}, {"openWorldHint", true}};
  spec.quick = true;
  return Tool{std::move(spec), [client = std::move(client)](const json& arguments, ToolContext&) {
                return run_search(*client, arguments);
              }};
}

}  // namespace

SearchOptions search_options(const util::Config& config) {
  SearchOptions options;
  options.endpoint = config.get("VOICEDESK_SEARCH_URL");
  if (options.endpoint.empty()) options.endpoint = kDefaultEndpoint;
  const std::string& provider = config.get("VOICEDESK_SEARCH_PROVIDER");
  options.provider = provider.empty() || provider == "auto"
                         ? infer_provider(options.endpoint)
                         : parse_provider(provider).value();  // the enum lets only these through
  options.timeout = std::chrono::milliseconds(config.get_int("VOICEDESK_SEARCH_TIMEOUT_MS"));

  options.limiter = util::configured_rate_limiter(config, "web search", "VOICEDESK_SEARCH_RATE",
                                                  "VOICEDESK_SEARCH_BURST");
  return options;
}

std::vector<Tool> make_search_tools(SearchOptions options) {
  auto client = std::make_shared<const SearchClient>(std::move(options));
  return {search_tool("duckduckgo_search", client), search_tool("web_search", client)};
}

std::vector<Tool> make_search_tools(const util::Config& config) {
  try {
    return make_search_tools(search_options(config));
  } catch (const std::invalid_argument& e) {
    throw util::ConfigError(std::string("VOICEDESK_SEARCH_URL: ") + e.what());
  }
}

}  // namespace voicedesk::tools::search
