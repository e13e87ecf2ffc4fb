#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "tools/tool.hpp"
#include "util/config.hpp"

namespace voicedesk::agent {

// Where the language model is: any OpenAI-compatible Chat Completions
// endpoint (OpenAI, Ollama's /v1, llama.cpp server, vLLM, Gemini's
// OpenAI-compatible endpoint).
struct LlmOptions {
  std::string
      base_url;  // e.g. https://api.openai.com/v1; requests go to base_url + /chat/completions
  std::string model = {};
  std::string api_key = {};  // sent as a Bearer token when not empty
  std::chrono::milliseconds timeout{60000};
  double temperature = 0.2;
  std::size_t max_response_bytes = 4u << 20;
};

// The configured model (VOICEDESK_LLM_*, else AI-RTC-Agent's OLLAMA_BASE_URL
// or OPENAI_API_KEY), or nullopt when none is configured.
std::optional<LlmOptions> llm_options(const util::Config& config);

// The model failed: the endpoint is unreachable, answered an error status
// (what() carries its message), or answered something that is not a chat
// completion.
class LlmError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct ChatToolCall {
  std::string id;
  std::string name;
  std::string arguments;  // JSON text, as the model wrote it
};

// One message of a conversation, in the Chat Completions roles: system,
// user, assistant (text and/or tool calls), tool (a tool's result, answering
// tool_call_id).
struct ChatMessage {
  std::string role;
  std::string content;
  std::vector<ChatToolCall> tool_calls;
  std::string tool_call_id;

  static ChatMessage system(std::string text) { return {"system", std::move(text), {}, {}}; }
  static ChatMessage user(std::string text) { return {"user", std::move(text), {}, {}}; }
  static ChatMessage tool_result(std::string call_id, std::string text) {
    return {"tool", std::move(text), {}, std::move(call_id)};
  }
  nlohmann::json to_json() const;
};

// What the model answered: text, tool calls to make, and why it stopped
// ("stop", "tool_calls", "length").
struct ChatReply {
  std::string content;
  std::vector<ChatToolCall> tool_calls;
  std::string finish_reason;

  ChatMessage as_message() const { return {"assistant", content, tool_calls, {}}; }
};

// A Chat Completions client with tool calling. Replies are streamed: text
// reaches on_text as the model writes it, so speech can start before the
// answer is complete.
class ChatClient {
 public:
  explicit ChatClient(LlmOptions options);

  // tools: the function definitions (see tool_definition), or empty.
  ChatReply complete(const std::vector<ChatMessage>& messages, const nlohmann::json& tools,
                     const std::function<void(std::string_view)>& on_text = {}) const;

  const LlmOptions& options() const { return options_; }

  // An MCP tool as a Chat Completions function definition.
  static nlohmann::json tool_definition(const tools::ToolSpec& spec);

 private:
  LlmOptions options_;
};

}  // namespace voicedesk::agent
