#include "tools/echo_tool.hpp"

namespace voicedesk::tools {

Tool make_echo_tool() {
  ToolSpec spec;
  spec.name = "echo";
  spec.title = "Echo";
  spec.description = "Returns the given text (for benchmarks)";
  spec.input_schema = {
      {"type", "object"}, {"properties", {{"text", {{"type", "string"}}}}}, {"required", {"text"}}};
  spec.output_schema = {
      {"type", "object"}, {"properties", {{"text", {{"type", "string"}}}}}, {"required", {"text"}}};
  spec.quick = true;
  return {std::move(spec), [](const nlohmann::json& arguments, ToolContext&) {
            ToolResult result = ToolResult::text(arguments["text"].get<std::string>());
            result.structured = {{"text", arguments["text"]}};
            return result;
          }};
}

}  // namespace voicedesk::tools
