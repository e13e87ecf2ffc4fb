#pragma once

#include <cstddef>
#include <iosfwd>

namespace voicedesk::mcp {

class Server;

struct StdioOptions {
  std::size_t max_message_bytes = 64u << 20;  // longer lines are refused, not buffered
  // Requests beyond this wait their turn, in order, while reading goes on.
  std::size_t max_concurrent_requests = 16;
};

// Serves one MCP session over newline-delimited JSON-RPC (the stdio
// transport): reads messages from in until end of file, writes responses and
// notifications to out, one per line. Requests run on their own threads, so a
// tool waiting for the client's answer to a sampling request does not block
// reading that answer. Returns once in is exhausted and every request has
// finished (cancelled first).
void serve_stdio(Server& server, std::istream& in, std::ostream& out, StdioOptions options = {});

}  // namespace voicedesk::mcp
