#pragma once

namespace voicedesk::mcp {

class Server;

// Registers the tools, resources and prompts that the official MCP
// conformance suite (@modelcontextprotocol/conformance) calls: test_* tools
// returning each content type, logging, progress, sampling, elicitation and
// a stream release; test:// resources and a template; test_* prompts. Only
// `voicedesk mcp --conformance-fixtures` registers them.
void register_conformance_fixtures(Server& server);

}  // namespace voicedesk::mcp
