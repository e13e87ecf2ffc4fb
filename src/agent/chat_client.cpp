#include "agent/chat_client.hpp"

#include <map>

#include "tools/net/curl.hpp"

namespace voicedesk::agent {
namespace {

// Tool calls arrive in pieces, each tagged with its index: the first piece
// has the id and name, later ones add to the arguments.
class ToolCallAssembler {
 public:
  void add(const nlohmann::json& delta) {
    if (!delta.is_object()) return;
    ChatToolCall& call = calls_[delta.value("index", 0)];
    if (delta.contains("id") && delta["id"].is_string()) call.id = delta["id"].get<std::string>();
    if (const auto function = delta.find("function");
        function != delta.end() && function->is_object()) {
      if (function->contains("name") && (*function)["name"].is_string()) {
        call.name += (*function)["name"].get<std::string>();
      }
      if (function->contains("arguments") && (*function)["arguments"].is_string()) {
        call.arguments += (*function)["arguments"].get<std::string>();
      }
    }
  }
  std::vector<ChatToolCall> calls() const {
    std::vector<ChatToolCall> out;
    for (const auto& [index, call] : calls_) out.push_back(call);
    return out;
  }

 private:
  std::map<int, ChatToolCall> calls_;
};

// Reads a server-sent event stream of completion chunks, line by line as the
// bytes arrive.
class ChunkReader {
 public:
  explicit ChunkReader(const std::function<void(std::string_view)>& on_text) : on_text_(on_text) {}

  void feed(std::string_view bytes) {
    pending_.append(bytes);
    for (std::size_t end; (end = pending_.find('\n')) != std::string::npos;) {
      std::string line = pending_.substr(0, end);
      pending_.erase(0, end + 1);
      if (!line.empty() && line.back() == '\r') line.pop_back();
      handle_line(line);
    }
  }

  // Everything read (bounded by the request's size limit): the body when it
  // was not an event stream, or an error status's answer.
  const std::string& raw() const { return raw_; }
  bool saw_events() const { return saw_events_; }
  ChatReply reply() const {
    ChatReply reply = reply_;
    reply.tool_calls = tool_calls_.calls();
    return reply;
  }

  void record(std::string_view bytes) { raw_.append(bytes); }

 private:
  void handle_line(const std::string& line) {
    if (line.rfind("data:", 0) != 0) return;
    saw_events_ = true;
    std::string_view data(line);
    data.remove_prefix(5);
    if (!data.empty() && data.front() == ' ') data.remove_prefix(1);
    if (data == "[DONE]") return;
    const nlohmann::json chunk = nlohmann::json::parse(data, nullptr, false);
    if (chunk.is_discarded()) throw LlmError("the model sent a malformed stream chunk");
    if (chunk.contains("error")) throw LlmError("the model failed: " + chunk["error"].dump());
    const auto choices = chunk.find("choices");
    if (choices == chunk.end() || !choices->is_array() || choices->empty()) return;
    const nlohmann::json& choice = choices->front();
    if (choice.contains("finish_reason") && choice["finish_reason"].is_string()) {
      reply_.finish_reason = choice["finish_reason"].get<std::string>();
    }
    const auto delta = choice.find("delta");
    if (delta == choice.end() || !delta->is_object()) return;
    if (delta->contains("content") && (*delta)["content"].is_string()) {
      const std::string text = (*delta)["content"].get<std::string>();
      reply_.content += text;
      if (on_text_ && !text.empty()) on_text_(text);
    }
    if (delta->contains("tool_calls") && (*delta)["tool_calls"].is_array()) {
      for (const auto& piece : (*delta)["tool_calls"]) tool_calls_.add(piece);
    }
  }

  const std::function<void(std::string_view)>& on_text_;
  std::string pending_;
  std::string raw_;
  bool saw_events_ = false;
  ChatReply reply_;
  ToolCallAssembler tool_calls_;
};

// A non-streamed completion, for servers that ignore "stream".
ChatReply parse_completion(const std::string& body) {
  const nlohmann::json completion = nlohmann::json::parse(body, nullptr, false);
  if (completion.is_discarded() || !completion.contains("choices") ||
      !completion["choices"].is_array() || completion["choices"].empty()) {
    throw LlmError("the model's answer is not a chat completion");
  }
  const nlohmann::json& choice = completion["choices"].front();
  ChatReply reply;
  reply.finish_reason = choice.value("finish_reason", "");
  const nlohmann::json message = choice.value("message", nlohmann::json::object());
  if (message.contains("content") && message["content"].is_string()) {
    reply.content = message["content"].get<std::string>();
  }
  if (message.contains("tool_calls") && message["tool_calls"].is_array()) {
    ToolCallAssembler calls;
    int index = 0;
    for (auto call : message["tool_calls"]) {
      if (!call.is_object()) continue;
      call["index"] = index++;
      calls.add(call);
    }
    reply.tool_calls = calls.calls();
  }
  return reply;
}

std::string error_message(long status, const std::string& body) {
  const nlohmann::json answer = nlohmann::json::parse(body, nullptr, false);
  std::string detail;
  if (!answer.is_discarded() && answer.contains("error")) {
    const auto& error = answer["error"];
    detail = error.is_object() && error.contains("message") && error["message"].is_string()
                 ? error["message"].get<std::string>()
                 : error.dump();
  } else {
    detail = body.substr(0, 300);
  }
  return "the model endpoint answered HTTP " + std::to_string(status) +
         (detail.empty() ? "" : ": " + detail);
}

}  // namespace

std::optional<LlmOptions> llm_options(const util::Config& config) {
  LlmOptions options;
  options.base_url = config.get("VOICEDESK_LLM_BASE_URL");
  options.model = config.get("VOICEDESK_LLM_MODEL");
  options.api_key = config.get("VOICEDESK_LLM_API_KEY");
  if (options.api_key.empty()) options.api_key = config.get("OPENAI_API_KEY");
  std::string default_model;
  if (options.base_url.empty()) {
    if (const std::string ollama = config.get("OLLAMA_BASE_URL"); !ollama.empty()) {
      options.base_url = ollama + (ollama.back() == '/' ? "v1" : "/v1");
      default_model = "llama3.2";
    } else if (!options.api_key.empty()) {
      options.base_url = "https://api.openai.com/v1";
      default_model = "gpt-4o-mini";
    } else {
      return std::nullopt;
    }
  }
  if (options.model.empty()) options.model = default_model.empty() ? "gpt-4o-mini" : default_model;
  options.timeout = std::chrono::milliseconds(config.get_int("VOICEDESK_LLM_TIMEOUT_MS"));
  return options;
}

nlohmann::json ChatMessage::to_json() const {
  nlohmann::json message = {{"role", role}};
  if (role == "assistant" && !tool_calls.empty()) {
    message["content"] = content.empty() ? nlohmann::json(nullptr) : nlohmann::json(content);
    nlohmann::json calls = nlohmann::json::array();
    for (const auto& call : tool_calls) {
      calls.push_back({{"id", call.id},
                       {"type", "function"},
                       {"function", {{"name", call.name}, {"arguments", call.arguments}}}});
    }
    message["tool_calls"] = std::move(calls);
  } else {
    message["content"] = content;
  }
  if (role == "tool") message["tool_call_id"] = tool_call_id;
  return message;
}

ChatClient::ChatClient(LlmOptions options) : options_(std::move(options)) {
  while (!options_.base_url.empty() && options_.base_url.back() == '/')
    options_.base_url.pop_back();
}

nlohmann::json ChatClient::tool_definition(const tools::ToolSpec& spec) {
  return {{"type", "function"},
          {"function",
           {{"name", spec.name},
            {"description", spec.description.empty() ? spec.title : spec.description},
            {"parameters", spec.input_schema}}}};
}

ChatReply ChatClient::complete(const std::vector<ChatMessage>& messages,
                               const nlohmann::json& tools,
                               const std::function<void(std::string_view)>& on_text) const {
  nlohmann::json body = {{"model", options_.model},
                         {"messages", nlohmann::json::array()},
                         {"temperature", options_.temperature},
                         {"stream", true}};
  for (const auto& message : messages) body["messages"].push_back(message.to_json());
  if (tools.is_array() && !tools.empty()) {
    body["tools"] = tools;
    body["tool_choice"] = "auto";
  }

  tools::net::HttpRequest request;
  request.method = "POST";
  request.url = options_.base_url + "/chat/completions";
  request.headers = {"Content-Type: application/json", "Accept: text/event-stream"};
  if (!options_.api_key.empty())
    request.headers.push_back("Authorization: Bearer " + options_.api_key);
  request.body = body.dump();
  request.timeout = options_.timeout;
  request.max_response_bytes = options_.max_response_bytes;
  ChunkReader reader(on_text);
  request.on_body = [&reader](std::string_view bytes) {
    reader.record(bytes);
    reader.feed(bytes);
  };
  tools::net::HttpResponse response;
  try {
    response = tools::net::http_request(request);
  } catch (const tools::net::TransferError& error) {
    throw LlmError(std::string("cannot reach the model: ") + error.what());
  }
  if (response.status < 200 || response.status >= 300) {
    throw LlmError(error_message(response.status, reader.raw()));
  }
  return reader.saw_events() ? reader.reply() : parse_completion(reader.raw());
}

}  // namespace voicedesk::agent
