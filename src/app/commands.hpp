#pragma once

#include <filesystem>
#include <iosfwd>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "util/config.hpp"

namespace voicedesk::app {

// Exit codes shared by every subcommand.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;
inline constexpr int kExitBadInput = 2;

// Bad input found by a command (not by a parser with its own error type).
class BadInput : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct SegmentRequest {
  std::filesystem::path wav;
  bool json = false;
  std::optional<std::filesystem::path> write_dir;
};

// `voicedesk segment`: runs a WAV file through the streaming front-end.
int run_segment(const util::Config& config, const SegmentRequest& request, std::ostream& out);

struct TranscribeRequest {
  std::filesystem::path wav;
  bool json = false;
  std::optional<std::filesystem::path> dump_mel;     // first window, [mel][frame] f32
  std::optional<std::string> teacher_force;          // "ID ID ..." decoder tokens
  std::optional<std::filesystem::path> dump_logits;  // one f32 row per forced token
};

// `voicedesk transcribe`: Whisper when VOICEDESK_WHISPER_MODEL is set, else pocketsphinx.
int run_transcribe(const util::Config& config, const TranscribeRequest& request, std::ostream& out);

// `voicedesk bench stt`: the engine against OpenBLAS SGEMM in the same run.
int run_bench_stt(const util::Config& config, bool json, std::ostream& out);

struct McpRequest {
  bool stdio = false;                 // serve stdin/stdout instead of HTTP
  bool conformance_fixtures = false;  // the conformance suite's test_* tools, resources, prompts
  bool bench_tools = false;           // the trivial `echo` tool, for benchmarks
};

// `voicedesk mcp`: the MCP server (tools over Streamable HTTP, legacy SSE or
// stdio) until SIGINT/SIGTERM or end of input.
int run_mcp(const util::Config& config, const McpRequest& request);
struct TokenRequest {
  std::string audience = "mcp";
  bool legacy = false;  // AI-RTC-Agent's key format instead of a vd1 token
};

// `voicedesk token`: prints one token and a newline (creating the secret file if missing).
int run_token(const util::Config& config, const TokenRequest& request, std::ostream& out);

struct ChatRequest {
  std::vector<std::string> lines;  // say these in order; empty: read lines from stdin
};

// `voicedesk chat`: talks to the agent in text, with the workspace tools:
// each line is a turn, each final reply one "assistant: ..." line.
int run_chat(const util::Config& config, const ChatRequest& request, std::istream& in,
             std::ostream& out);

struct HistoryRequest {
  std::optional<std::string> session_id;  // none: list the recent sessions
  bool json = false;
  int limit = 20;
};

// `voicedesk history`: reads the conversation store (VOICEDESK_HISTORY_PATH) without
// creating it. BadInput for an unknown session.
int run_history(const util::Config& config, const HistoryRequest& request, std::ostream& out);

// `voicedesk up`: serves until SIGINT/SIGTERM.
int run_up(const util::Config& config);

}  // namespace voicedesk::app
