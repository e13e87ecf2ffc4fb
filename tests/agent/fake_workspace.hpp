#pragma once

#include <functional>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "tools/tool.hpp"

namespace voicedesk::test_support {

// Tools with the workspace's names and annotations over an in-memory mailbox
// and calendar, recording every call, so the agent's decisions can be seen.
class FakeWorkspace {
 public:
  std::vector<tools::Tool> tools() {
    return {
        tool("send_email", false,
             {{"type", "object"},
              {"properties",
               {{"to_email", {{"type", "string"}}},
                {"subject", {{"type", "string"}}},
                {"body", {{"type", "string"}}}}},
              {"required", {"to_email", "subject", "body"}}},
             [](const nlohmann::json&) {
               return nlohmann::json{{"status", "sent"}, {"id", 1}};
             }),
        tool("list_inbox", true, {{"type", "object"}},
             [](const nlohmann::json& a) {
               nlohmann::json emails = nlohmann::json::array();
               for (int i = 0; i < a.value("limit", 10) && i < 3; ++i) {
                 emails.push_back({{"id", std::to_string(30 - i)},
                                   {"from", "sender" + std::to_string(i + 1) + "@example.com"},
                                   {"subject", "Subject " + std::to_string(i + 1)}});
               }
               return nlohmann::json{{"emails", emails}};
             }),
        tool("read_email", true, {{"type", "object"}, {"required", {"email_id"}}},
             [](const nlohmann::json& a) {
               return nlohmann::json{{"id", a["email_id"]},
                                     {"from", "sender@example.com"},
                                     {"subject", "Hello"},
                                     {"body", "Body of " + a["email_id"].get<std::string>()}};
             }),
        tool("reply_to_email", false, {{"type", "object"}, {"required", {"email_id", "body"}}},
             [](const nlohmann::json&) {
               return nlohmann::json{{"status", "queued"}};
             }),
        tool("create_calendar_event", false, {{"type", "object"}},
             [](const nlohmann::json&) {
               return nlohmann::json{{"provider", "ics_fallback"}};
             }),
        tool("load_calendar_events", true, {{"type", "object"}},
             [](const nlohmann::json&) {
               return nlohmann::json{
                   {"events", {{{"title", "Standup"}, {"start", "2026-11-25T09:00:00+01:00"}}}}};
             }),
        tool("duckduckgo_search", true, {{"type", "object"}, {"required", {"query"}}},
             [](const nlohmann::json& a) -> nlohmann::json {
               if (a["query"] == "fail") throw tools::ToolError("web search is unavailable");
               return {{"results", {{{"title", "Opus"}, {"url", "https://opus-codec.org"}}}}};
             }),
    };
  }
  std::vector<std::pair<std::string, nlohmann::json>> calls() const {
    std::lock_guard lock(mutex_);
    return calls_;
  }
  std::vector<std::string> names() const {
    std::vector<std::string> names;
    for (const auto& [name, arguments] : calls()) names.push_back(name);
    return names;
  }

 private:
  tools::Tool tool(const std::string& name, bool read_only, nlohmann::json schema,
                   std::function<nlohmann::json(const nlohmann::json&)> answer) {
    tools::Tool tool;
    tool.spec.name = name;
    tool.spec.input_schema = std::move(schema);
    tool.spec.annotations = {{"readOnlyHint", read_only}};
    tool.call = [this, name, answer](const nlohmann::json& arguments, tools::ToolContext&) {
      {
        std::lock_guard lock(mutex_);
        calls_.emplace_back(name, arguments);
      }
      tools::ToolResult result = tools::ToolResult::text("ok");
      result.structured = answer(arguments);
      return result;
    };
    return tool;
  }

  mutable std::mutex mutex_;
  std::vector<std::pair<std::string, nlohmann::json>> calls_;
};

}  // namespace voicedesk::test_support
