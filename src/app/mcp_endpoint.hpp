#pragma once

#include <cstddef>
#include <memory>
#include <string>

#include "auth/authenticator.hpp"
#include "mcp/http_transport.hpp"
#include "mcp/server.hpp"
#include "stt/transcription_service.hpp"
#include "util/config.hpp"

namespace httplib {
class Server;
}

namespace voicedesk::app {

// Inline audio arrives base64-encoded: 4/3 of the WAV limit, plus JSON.
inline constexpr std::size_t kMaxAudioBytes = 32u << 20;
inline constexpr std::size_t kMaxMcpRequestBody = kMaxAudioBytes / 3 * 4 + (1u << 20);
inline constexpr std::size_t kMaxConcurrentCalls = 64;
// Every open event stream holds an HTTP thread, and a tool waiting for the
// client's answer needs another one free to receive it.
inline constexpr std::size_t kMcpHttpThreads = kMaxConcurrentCalls + 32;

// voicedesk's MCP server description (name, version, instructions).
mcp::ServerInfo mcp_server_info();

// Registers the transcribe tool over service, with the allowed directories
// and rate limit from the configuration. service must outlive server's use.
void add_transcribe_tool(const util::Config& config, mcp::Server& server,
                         stt::TranscriptionService& service);

// The MCP endpoint of an HTTP server listening on listen_text: service
// tokens per VOICEDESK_AUTH (off is refused unless on loopback: BadInput),
// Host and Origin checks, Streamable HTTP at /mcp and legacy SSE.
class McpEndpoint {
 public:
  McpEndpoint(const util::Config& config, mcp::Server& server, const std::string& listen_text);
  void install(httplib::Server& http) { transport_->install(http); }
  // Ends streams and sessions; call before stopping the HTTP server.
  void stop() { transport_->stop(); }

 private:
  std::unique_ptr<auth::Authenticator> authenticator_;
  std::unique_ptr<mcp::HttpTransport> transport_;
};

}  // namespace voicedesk::app
