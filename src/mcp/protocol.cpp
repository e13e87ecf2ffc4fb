#include "mcp/protocol.hpp"

#include <algorithm>

namespace voicedesk::mcp {

using nlohmann::json;

const std::vector<std::string>& supported_protocol_versions() {
  // 2024-11-05 is what clients of the legacy HTTP+SSE transport speak.
  static const std::vector<std::string> versions = {std::string(kLatestProtocolVersion),
                                                    "2025-06-18", "2025-03-26", "2024-11-05"};
  return versions;
}

bool is_supported_protocol_version(std::string_view version) {
  const auto& versions = supported_protocol_versions();
  return std::find(versions.begin(), versions.end(), version) != versions.end();
}

bool protocol_allows_batches(std::string_view version) {
  return version == "2025-03-26";
}

json make_result(const json& id, json result) {
  return {{"jsonrpc", "2.0"}, {"id", id}, {"result", std::move(result)}};
}

json make_error(const json& id, int code, const std::string& message, const json& data) {
  json error = {{"code", code}, {"message", message}};
  if (!data.is_null()) error["data"] = data;
  return {{"jsonrpc", "2.0"}, {"id", id}, {"error", std::move(error)}};
}

json make_notification(std::string method, json params) {
  json message = {{"jsonrpc", "2.0"}, {"method", std::move(method)}};
  if (!params.is_null()) message["params"] = std::move(params);
  return message;
}

json make_request(const json& id, std::string method, json params) {
  json message = make_notification(std::move(method), std::move(params));
  message["id"] = id;
  return message;
}

namespace {

bool valid_id(const json& id) {
  return id.is_string() || id.is_number_integer();
}

[[noreturn]] void invalid(const std::string& why) {
  throw RpcError(error_code::invalid_request, "Invalid request: " + why);
}

}  // namespace

MessageKind classify(const json& message) {
  if (!message.is_object()) invalid("a message must be a JSON object");
  const auto version = message.find("jsonrpc");
  if (version == message.end() || *version != "2.0") invalid("\"jsonrpc\" must be \"2.0\"");
  const auto id = message.find("id");
  const bool has_id = id != message.end();
  // An error answering an unparsable message carries a null id.
  const bool null_error_id = has_id && id->is_null() && message.contains("error");
  if (has_id && !valid_id(*id) && !null_error_id) {
    invalid("\"id\" must be a string or an integer");
  }
  if (const auto method = message.find("method"); method != message.end()) {
    if (!method->is_string()) invalid("\"method\" must be a string");
    if (const auto params = message.find("params");
        params != message.end() && !params->is_object()) {
      invalid("\"params\" must be an object");
    }
    return has_id ? MessageKind::request : MessageKind::notification;
  }
  const bool has_result = message.contains("result");
  const bool has_error = message.contains("error");
  if (has_result == has_error) invalid("a message needs \"method\", or one of result/error");
  if (!has_id && has_result) invalid("a response needs an \"id\"");
  return MessageKind::response;
}

json request_id_of(const json& message) {
  if (!message.is_object()) return nullptr;
  const auto id = message.find("id");
  return id != message.end() && valid_id(*id) ? *id : json(nullptr);
}

}  // namespace voicedesk::mcp
