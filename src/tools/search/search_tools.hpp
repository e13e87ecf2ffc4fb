#pragma once

#include <vector>

#include "tools/search/search_client.hpp"
#include "tools/tool.hpp"
#include "util/config.hpp"

namespace voicedesk::tools::search {

// The search settings from VOICEDESK_SEARCH_URL, VOICEDESK_SEARCH_PROVIDER
// ("auto" infers it from the URL), VOICEDESK_SEARCH_TIMEOUT_MS and the rate
// limit VOICEDESK_SEARCH_RATE/BURST with VOICEDESK_RATE_LIMIT_MODE and
// VOICEDESK_RATE_LIMIT_MAX_WAIT_MS. Throws util::ConfigError.
SearchOptions search_options(const util::Config& config);

// AI-RTC-Agent's `duckduckgo_search(query, max_results=5)` and the same tool
// under the name `web_search`, sharing one client and one rate limit. Result:
// {query, results:[{title, url, snippet}]} and the list as text.
std::vector<Tool> make_search_tools(SearchOptions options);
std::vector<Tool> make_search_tools(const util::Config& config);

}  // namespace voicedesk::tools::search
