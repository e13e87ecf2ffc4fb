#pragma once

#include <atomic>
#include <chrono>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "tools/calendar/calendar_service.hpp"
#include "tools/json_schema.hpp"
#include "tools/tool.hpp"
#include "util/config.hpp"

namespace voicedesk::tools::calendar::test {

// The calendar keys as src/app/config_schema.cpp declares them (the tests
// do not link the app), set to `values`.
inline util::Config calendar_config(
    const std::vector<std::pair<std::string, std::string>>& values) {
  std::vector<util::ConfigKey> schema;
  for (const char* name :
       {"VOICEDESK_TIMEZONE", "VOICEDESK_CALENDAR_FILE", "VOICEDESK_CALENDAR_ORGANIZER",
        "VOICEDESK_CALDAV_URL", "VOICEDESK_CALDAV_USERNAME", "VOICEDESK_CALDAV_PASSWORD",
        "GOOGLE_CALENDAR_TOKEN_FILE", "VOICEDESK_GOOGLE_CALENDAR_API_URL"}) {
    schema.push_back({.name = name});
  }
  util::Config config(std::move(schema));
  for (const auto& [key, value] : values) config.apply_override(key, value);
  return config;
}

class NullContext final : public ToolContext {
 public:
  void progress(double, std::optional<double>, const std::string&) override {}
  void log(LogLevel, const nlohmann::json&) override {}
  nlohmann::json ask_client(const std::string&, const nlohmann::json&) override {
    throw ClientRequestError("none");
  }
  const std::atomic<bool>& cancelled() const override { return cancelled_; }

 private:
  std::atomic<bool> cancelled_{false};
};

// A fixed "now": 2025-06-10 (a Tuesday) 08:00 UTC = 10:00 in Berlin.
inline std::chrono::system_clock::time_point fixed_now() {
  using namespace std::chrono;
  return sys_days{year{2025} / 6 / 10} + hours{8};
}

// Calls a tool the way the MCP server does: arguments checked against the
// input schema first, structured output checked against the output schema.
inline ToolResult call_tool(const Tool& tool, const nlohmann::json& arguments) {
  if (auto error = validate(tool.spec.input_schema, arguments)) {
    throw std::invalid_argument("arguments do not match the input schema: " + *error);
  }
  NullContext context;
  ToolResult result = tool.call(arguments, context);
  if (auto error = validate(tool.spec.output_schema, result.structured)) {
    throw std::logic_error("output does not match the output schema: " + *error);
  }
  return result;
}

inline const Tool& find_tool(const std::vector<Tool>& tools, const std::string& name) {
  for (const Tool& tool : tools) {
    if (tool.spec.name == name) return tool;
  }
  throw std::out_of_range(name);
}

}  // namespace voicedesk::tools::calendar::test
