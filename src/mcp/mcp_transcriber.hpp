#pragma once

#include <memory>
#include <string>

#include "mcp/http_client.hpp"
#include "stt/transcriber.hpp"

namespace voicedesk::mcp {

// Speech-to-text on another process: each utterance goes to an MCP server's
// `transcribe` tool as a 16 kHz WAV (the original's split of gateway and STT
// services, so the two can run on different machines).
class McpTranscriber final : public stt::Transcriber {
 public:
  explicit McpTranscriber(ClientOptions options);
  stt::Transcript transcribe(std::span<const float> audio_16k,
                             const stt::TranscribeOptions& options) const override;
  std::string model_name() const override;

 private:
  std::unique_ptr<HttpClient> client_;
};

}  // namespace voicedesk::mcp
