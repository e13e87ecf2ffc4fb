#include "mcp/remote_tools.hpp"

#include <string>
#include <utility>

namespace voicedesk::mcp {
namespace {

using nlohmann::json;

// A JSON value of the expected type, or the fallback.
json member(const json& object, const char* name, json fallback) {
  const auto found = object.find(name);
  return found != object.end() && found->type() == fallback.type() ? *found : fallback;
}

tools::ToolSpec spec_of(const json& listed) {
  tools::ToolSpec spec;
  spec.name = member(listed, "name", "").get<std::string>();
  spec.title = member(listed, "title", "").get<std::string>();
  spec.description = member(listed, "description", "").get<std::string>();
  spec.input_schema = member(listed, "inputSchema", {{"type", "object"}});
  spec.output_schema = member(listed, "outputSchema", json::object());
  if (spec.output_schema.empty()) spec.output_schema = nullptr;
  spec.annotations = member(listed, "annotations", json::object());
  if (spec.annotations.empty()) spec.annotations = nullptr;
  return spec;
}

tools::ToolResult result_of(const json& answer) {
  tools::ToolResult result;
  result.content = member(answer, "content", json::array());
  result.structured = member(answer, "structuredContent", json::object());
  if (result.structured.empty()) result.structured = nullptr;
  result.is_error = member(answer, "isError", false).get<bool>();
  return result;
}

}  // namespace

std::vector<tools::Tool> remote_tools(std::shared_ptr<HttpClient> client) {
  const json listing = client->list_tools();
  std::vector<tools::Tool> tools;
  for (const json& listed : member(listing, "tools", json::array())) {
    if (!listed.is_object()) continue;
    tools::ToolSpec spec = spec_of(listed);
    if (spec.name.empty()) continue;
    std::string name = spec.name;
    tools.push_back(
        {.spec = std::move(spec),
         .call = [client, name = std::move(name)](const json& arguments, tools::ToolContext&) {
           try {
             return result_of(client->call_tool(name, arguments));
           } catch (const ClientError& error) {
             return tools::ToolResult::error("the MCP server at " + client->url() +
                                             " failed to run " + name + ": " + error.what());
           }
         }});
  }
  return tools;
}

}  // namespace voicedesk::mcp
