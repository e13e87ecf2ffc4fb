#pragma once

#include <memory>
#include <vector>

#include "mcp/http_client.hpp"
#include "tools/tool.hpp"

namespace voicedesk::mcp {

// The tools of another MCP server, reached over Streamable HTTP, as tool
// values like the in-process ones: the agent can act through a separate
// `voicedesk mcp` (or any MCP server) without knowing the difference. The
// tools are listed once, here (the first page of tools/list); each call goes
// through the shared client, with its per-request credential. A call that
// fails in transport or protocol comes back as an error result naming the
// server, never as an exception. Throws ClientError when the listing fails.
std::vector<tools::Tool> remote_tools(std::shared_ptr<HttpClient> client);

}  // namespace voicedesk::mcp
