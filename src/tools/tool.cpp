#include "tools/tool.hpp"

#include <array>

namespace voicedesk::tools {
namespace {

constexpr std::array<const char*, 8> kLogLevelNames = {"debug", "info",     "notice", "warning",
                                                       "error", "critical", "alert",  "emergency"};

}  // namespace

const char* to_string(LogLevel level) {
  return kLogLevelNames[static_cast<std::size_t>(level)];
}

std::optional<LogLevel> parse_log_level(std::string_view name) {
  for (std::size_t i = 0; i < kLogLevelNames.size(); ++i) {
    if (name == kLogLevelNames[i]) return static_cast<LogLevel>(i);
  }
  return std::nullopt;
}

ToolResult ToolResult::text(std::string text) {
  ToolResult result;
  result.content.push_back({{"type", "text"}, {"text", std::move(text)}});
  return result;
}

ToolResult ToolResult::error(std::string message) {
  ToolResult result = text(std::move(message));
  result.is_error = true;
  return result;
}

nlohmann::json ToolResult::to_json() const {
  nlohmann::json out = {{"content", content}};
  if (!structured.is_null()) out["structuredContent"] = structured;
  if (is_error) out["isError"] = true;
  return out;
}

nlohmann::json ToolSpec::to_json() const {
  nlohmann::json out = {{"name", name}, {"inputSchema", input_schema}};
  if (!title.empty()) out["title"] = title;
  if (!description.empty()) out["description"] = description;
  if (!output_schema.is_null()) out["outputSchema"] = output_schema;
  if (!annotations.is_null()) out["annotations"] = annotations;
  return out;
}

}  // namespace voicedesk::tools
