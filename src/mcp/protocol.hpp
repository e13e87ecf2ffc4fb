#pragma once

#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace voicedesk::mcp {

// Protocol versions this server speaks, newest first.
inline constexpr std::string_view kLatestProtocolVersion = "2025-11-25";
const std::vector<std::string>& supported_protocol_versions();
bool is_supported_protocol_version(std::string_view version);
// JSON-RPC batches exist only in 2025-03-26; later versions removed them.
bool protocol_allows_batches(std::string_view version);

// JSON-RPC 2.0 and MCP error codes.
namespace error_code {
inline constexpr int parse_error = -32700;
inline constexpr int invalid_request = -32600;
inline constexpr int method_not_found = -32601;
inline constexpr int invalid_params = -32602;
inline constexpr int internal_error = -32603;
inline constexpr int resource_not_found = -32002;
}  // namespace error_code

// Thrown by a method handler; becomes the JSON-RPC error response.
class RpcError : public std::runtime_error {
 public:
  RpcError(int code, const std::string& message, nlohmann::json data = nullptr)
      : std::runtime_error(message), code_(code), data_(std::move(data)) {}
  int code() const { return code_; }
  const nlohmann::json& data() const { return data_; }

 private:
  int code_;
  nlohmann::json data_;
};

nlohmann::json make_result(const nlohmann::json& id, nlohmann::json result);
nlohmann::json make_error(const nlohmann::json& id, int code, const std::string& message,
                          const nlohmann::json& data = nullptr);
nlohmann::json make_notification(std::string method, nlohmann::json params = nullptr);
nlohmann::json make_request(const nlohmann::json& id, std::string method, nlohmann::json params);

enum class MessageKind { request, notification, response };

// Classifies one JSON-RPC message, or throws RpcError(invalid_request) with a
// message saying what is wrong: jsonrpc must be "2.0", ids are strings or
// integers, method a string, params an object, a response has exactly one of
// result or error.
MessageKind classify(const nlohmann::json& message);

// The request id to echo in an error about message, or null when it has none
// usable.
nlohmann::json request_id_of(const nlohmann::json& message);

}  // namespace voicedesk::mcp
