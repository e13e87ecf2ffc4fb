#pragma once

#include <httplib.h>

#include <chrono>
#include <deque>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "tools/json_schema.hpp"

namespace voicedesk::test_support {

// The Chat Completions request body, as OpenAI's API reference defines the
// parts we send: a server that accepts only this catches a request any real
// endpoint would reject.
inline const nlohmann::json& chat_request_schema() {
  static const nlohmann::json schema = nlohmann::json::parse(R"({
    "type": "object",
    "required": ["model", "messages"],
    "properties": {
      "model": {"type": "string", "minLength": 1},
      "stream": {"type": "boolean"},
      "temperature": {"type": "number", "minimum": 0, "maximum": 2},
      "tool_choice": {"enum": ["none", "auto", "required"]},
      "messages": {
        "type": "array", "minItems": 1,
        "items": {"oneOf": [
          {"type": "object", "required": ["role", "content"], "additionalProperties": false,
           "properties": {"role": {"enum": ["system", "user"]}, "content": {"type": "string"}}},
          {"type": "object", "required": ["role"], "additionalProperties": false,
           "properties": {
             "role": {"const": "assistant"},
             "content": {"type": ["string", "null"]},
             "tool_calls": {"type": "array", "minItems": 1, "items": {
               "type": "object", "required": ["id", "type", "function"], "additionalProperties": false,
               "properties": {
                 "id": {"type": "string", "minLength": 1},
                 "type": {"const": "function"},
                 "function": {"type": "object", "required": ["name", "arguments"],
                   "additionalProperties": false,
                   "properties": {"name": {"type": "string"}, "arguments": {"type": "string"}}}}}}}},
          {"type": "object", "required": ["role", "content", "tool_call_id"], "additionalProperties": false,
           "properties": {"role": {"const": "tool"}, "content": {"type": "string"},
                          "tool_call_id": {"type": "string", "minLength": 1}}}]}},
      "tools": {"type": "array", "items": {
        "type": "object", "required": ["type", "function"], "additionalProperties": false,
        "properties": {
          "type": {"const": "function"},
          "function": {"type": "object", "required": ["name"], "additionalProperties": false,
            "properties": {
              "name": {"type": "string", "pattern": "^[a-zA-Z0-9_-]{1,64}$"},
              "description": {"type": "string"},
              "parameters": {"type": "object"}}}}}}
    },
    "additionalProperties": false
  })");
  return schema;
}

// A scripted answer: an event stream of chunks, a plain JSON completion, or an
// error status with its body.
struct ScriptedAnswer {
  int status = 200;
  std::vector<nlohmann::json> chunks = {};  // streamed when not empty
  nlohmann::json body = nullptr;            // sent as JSON otherwise
};

// An OpenAI-compatible endpoint on a loopback port that checks every request
// against the schema (a violation answers 400 and is recorded) and replays
// the scripted answers in order.
class OpenAiTestServer {
 public:
  explicit OpenAiTestServer(std::string api_key = "test-key") : api_key_(std::move(api_key)) {
    http_.Post("/v1/chat/completions",
               [this](const httplib::Request& request, httplib::Response& response) {
                 std::lock_guard lock(mutex_);
                 const nlohmann::json body = nlohmann::json::parse(request.body, nullptr, false);
                 requests_.push_back(body);
                 if (request.get_header_value("Authorization") != "Bearer " + api_key_) {
                   response.status = 401;
                   response.set_content(R"({"error":{"message":"Incorrect API key provided"}})",
                                        "application/json");
                   return;
                 }
                 std::string violation = body.is_discarded() ? "malformed JSON" : "";
                 if (violation.empty()) {
                   if (auto error = tools::validate(chat_request_schema(), body))
                     violation = *error;
                 }
                 if (!violation.empty()) {
                   violations_.push_back(violation);
                   response.status = 400;
                   response.set_content(nlohmann::json{{"error", {{"message", violation}}}}.dump(),
                                        "application/json");
                   return;
                 }
                 if (script_.empty()) {
                   response.status = 500;
                   response.set_content(R"({"error":{"message":"no scripted answer left"}})",
                                        "application/json");
                   return;
                 }
                 const ScriptedAnswer answer = script_.front();
                 script_.pop_front();
                 response.status = answer.status;
                 if (answer.chunks.empty()) {
                   response.set_content(answer.body.dump(), "application/json");
                   return;
                 }
                 std::string stream;
                 for (const auto& chunk : answer.chunks) stream += "data: " + chunk.dump() + "\n\n";
                 stream += "data: [DONE]\n\n";
                 response.set_content(stream, "text/event-stream");
               });
    port_ = http_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { http_.listen_after_bind(); });
    while (!http_.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ~OpenAiTestServer() {
    http_.stop();
    thread_.join();
  }
  OpenAiTestServer(const OpenAiTestServer&) = delete;
  OpenAiTestServer& operator=(const OpenAiTestServer&) = delete;

  std::string base_url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/v1"; }
  const std::string& api_key() const { return api_key_; }

  void script(ScriptedAnswer answer) {
    std::lock_guard lock(mutex_);
    script_.push_back(std::move(answer));
  }
  std::vector<nlohmann::json> requests() const {
    std::lock_guard lock(mutex_);
    return requests_;
  }
  std::vector<std::string> violations() const {
    std::lock_guard lock(mutex_);
    return violations_;
  }

  // Chunks streaming text in pieces, then "stop".
  static std::vector<nlohmann::json> text_chunks(const std::vector<std::string>& pieces) {
    std::vector<nlohmann::json> chunks;
    chunks.push_back(delta({{"role", "assistant"}, {"content", ""}}));
    for (const auto& piece : pieces) chunks.push_back(delta({{"content", piece}}));
    chunks.push_back(finish("stop"));
    return chunks;
  }
  static nlohmann::json delta(nlohmann::json delta) {
    return {{"object", "chat.completion.chunk"},
            {"choices", {{{"index", 0}, {"delta", std::move(delta)}, {"finish_reason", nullptr}}}}};
  }
  static nlohmann::json finish(const std::string& reason) {
    return {{"object", "chat.completion.chunk"},
            {"choices",
             {{{"index", 0}, {"delta", nlohmann::json::object()}, {"finish_reason", reason}}}}};
  }

 private:
  std::string api_key_;
  httplib::Server http_;
  std::thread thread_;
  int port_ = 0;
  mutable std::mutex mutex_;
  std::deque<ScriptedAnswer> script_;
  std::vector<nlohmann::json> requests_;
  std::vector<std::string> violations_;
};

}  // namespace voicedesk::test_support
