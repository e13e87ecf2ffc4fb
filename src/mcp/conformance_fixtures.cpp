#include "mcp/conformance_fixtures.hpp"

#include <thread>

#include "mcp/server.hpp"

namespace voicedesk::mcp {
namespace {

using nlohmann::json;
using tools::Tool;
using tools::ToolContext;
using tools::ToolResult;
using namespace std::chrono_literals;

// A 1x1 PNG and a WAV header with one silent sample.
constexpr const char* kPng =
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg"
    "==";
constexpr const char* kWav = "UklGRiYAAABXQVZFZm10IBAAAAABAAEAQB8AAAB9AAACABAAZGF0YQIAAAA=";

json empty_object_schema() {
  return {{"type", "object"}, {"properties", json::object()}};
}

Tool fixture(const char* name, const char* description, json content) {
  tools::ToolSpec spec;
  spec.name = name;
  spec.description = description;
  spec.input_schema = empty_object_schema();
  spec.quick = true;
  return {std::move(spec), [content = std::move(content)](const json&, ToolContext&) {
            ToolResult result;
            result.content = content;
            return result;
          }};
}

Tool streaming_fixture(const char* name, const char* description, json input_schema,
                       std::function<ToolResult(const json&, ToolContext&)> call) {
  tools::ToolSpec spec;
  spec.name = name;
  spec.description = description;
  spec.input_schema = std::move(input_schema);
  return {std::move(spec), std::move(call)};
}

json text(const std::string& value) {
  return {{"type", "text"}, {"text", value}};
}

json embedded(const std::string& uri, const std::string& mime_type, const std::string& value) {
  return {{"type", "resource"},
          {"resource", {{"uri", uri}, {"mimeType", mime_type}, {"text", value}}}};
}

ToolResult elicit(ToolContext& context, json params) {
  const json answer = context.ask_client("elicitation/create", params);
  return ToolResult::text("User response: action=" + answer.value("action", std::string()) +
                          ", content=" + answer.value("content", json::object()).dump());
}

void add_tools(Server& server) {
  server.add_tool(fixture("test_simple_text", "Returns simple text",
                          {text("This is a simple text response for testing.")}));
  server.add_tool(fixture("test_image_content", "Returns image content",
                          {{{"type", "image"}, {"data", kPng}, {"mimeType", "image/png"}}}));
  server.add_tool(fixture("test_audio_content", "Returns audio content",
                          {{{"type", "audio"}, {"data", kWav}, {"mimeType", "audio/wav"}}}));
  server.add_tool(fixture("test_embedded_resource", "Returns an embedded resource",
                          {embedded("test://embedded-resource", "text/plain",
                                    "This is an embedded resource content.")}));
  server.add_tool(fixture("test_multiple_content_types", "Returns text, image and resource content",
                          {text("Multiple content types test:"),
                           {{"type", "image"}, {"data", kPng}, {"mimeType", "image/png"}},
                           embedded("test://mixed-content-resource", "application/json",
                                    R"({"test":"data","value":123})")}));
  {
    Tool error_tool =
        fixture("test_error_handling", "Always returns an error result", json::array());
    error_tool.call = [](const json&, ToolContext&) {
      return ToolResult::error("This tool intentionally returns an error for testing");
    };
    server.add_tool(std::move(error_tool));
  }
  server.add_tool(
      streaming_fixture("test_tool_with_logging", "Sends log notifications while it runs",
                        empty_object_schema(), [](const json&, ToolContext& context) {
                          context.log(tools::LogLevel::info, "Tool execution started");
                          std::this_thread::sleep_for(50ms);
                          context.log(tools::LogLevel::info, "Tool processing data");
                          std::this_thread::sleep_for(50ms);
                          context.log(tools::LogLevel::info, "Tool execution completed");
                          return ToolResult::text("Tool with logging executed successfully");
                        }));
  server.add_tool(streaming_fixture("test_tool_with_progress",
                                    "Sends progress notifications while it runs",
                                    empty_object_schema(), [](const json&, ToolContext& context) {
                                      for (const double done : {0.0, 50.0, 100.0}) {
                                        context.progress(done, 100.0);
                                        if (done < 100) std::this_thread::sleep_for(50ms);
                                      }
                                      return ToolResult::text("Progress test completed");
                                    }));
  server.add_tool(streaming_fixture(
      "test_reconnection", "Releases its event stream mid-call so the client resumes (SEP-1699)",
      empty_object_schema(), [](const json&, ToolContext& context) {
        context.release_connection();
        std::this_thread::sleep_for(100ms);
        return ToolResult::text("Reconnection test completed successfully.");
      }));
  server.add_tool(streaming_fixture(
      "test_sampling", "Asks the client's model to complete a prompt",
      {{"type", "object"},
       {"properties",
        {{"prompt", {{"type", "string"}, {"description", "The prompt to send to the LLM"}}}}},
       {"required", {"prompt"}}},
      [](const json& arguments, ToolContext& context) {
        const json answer = context.ask_client(
            "sampling/createMessage",
            {{"messages", {{{"role", "user"}, {"content", text(arguments["prompt"])}}}},
             {"maxTokens", 100}});
        const json content = answer.value("content", json::object());
        return ToolResult::text("LLM response: " +
                                (content.is_object() ? content.value("text", std::string()) : ""));
      }));
  server.add_tool(streaming_fixture(
      "test_elicitation", "Asks the user for information",
      {{"type", "object"},
       {"properties",
        {{"message", {{"type", "string"}, {"description", "The message to show the user"}}}}},
       {"required", {"message"}}},
      [](const json& arguments, ToolContext& context) {
        return elicit(
            context,
            {{"message", arguments["message"]},
             {"requestedSchema",
              {{"type", "object"},
               {"properties",
                {{"username", {{"type", "string"}, {"description", "User's response"}}},
                 {"email", {{"type", "string"}, {"description", "User's email address"}}}}},
               {"required", {"username", "email"}}}}});
      }));
  server.add_tool(streaming_fixture(
      "test_elicitation_sep1034_defaults", "Asks for a form whose fields have defaults",
      empty_object_schema(), [](const json&, ToolContext& context) {
        return elicit(
            context,
            {{"message", "Please review and update the form fields with defaults"},
             {"requestedSchema",
              {{"type", "object"},
               {"properties",
                {{"name",
                  {{"type", "string"}, {"description", "User name"}, {"default", "John Doe"}}},
                 {"age", {{"type", "integer"}, {"description", "User age"}, {"default", 30}}},
                 {"score", {{"type", "number"}, {"description", "User score"}, {"default", 95.5}}},
                 {"status",
                  {{"type", "string"},
                   {"description", "User status"},
                   {"enum", {"active", "inactive", "pending"}},
                   {"default", "active"}}},
                 {"verified",
                  {{"type", "boolean"},
                   {"description", "Verification status"},
                   {"default", true}}}}},
               {"required", json::array()}}}});
      }));
  server.add_tool(streaming_fixture(
      "test_elicitation_sep1330_enums", "Asks for a form with every kind of enum field",
      empty_object_schema(), [](const json&, ToolContext& context) {
        auto titled = [](const char* prefix, const char* titles_word) {
          json options = json::array();
          const char* ordinals[] = {"First", "Second", "Third"};
          for (int i = 0; i < 3; ++i) {
            options.push_back({{"const", std::string(prefix) + std::to_string(i + 1)},
                               {"title", std::string(ordinals[i]) + " " + titles_word}});
          }
          return options;
        };
        const json untitled = {"option1", "option2", "option3"};
        return elicit(
            context,
            {{"message", "Please choose from each kind of option list"},
             {"requestedSchema",
              {{"type", "object"},
               {"properties",
                {{"untitledSingle",
                  {{"type", "string"}, {"description", "Select one option"}, {"enum", untitled}}},
                 {"titledSingle",
                  {{"type", "string"},
                   {"description", "Select one option with titles"},
                   {"oneOf", titled("value", "Option")}}},
                 {"legacyEnum",
                  {{"type", "string"},
                   {"description", "Select one option (legacy)"},
                   {"enum", {"opt1", "opt2", "opt3"}},
                   {"enumNames", {"Option One", "Option Two", "Option Three"}}}},
                 {"untitledMulti",
                  {{"type", "array"},
                   {"description", "Select multiple options"},
                   {"minItems", 1},
                   {"maxItems", 3},
                   {"items", {{"type", "string"}, {"enum", untitled}}}}},
                 {"titledMulti",
                  {{"type", "array"},
                   {"description", "Select multiple options with titles"},
                   {"minItems", 1},
                   {"maxItems", 3},
                   {"items", {{"anyOf", titled("value", "Choice")}}}}}}},
               {"required", json::array()}}}});
      }));
  {
    Tool schema_tool = fixture("json_schema_2020_12_tool", "Tool with JSON Schema 2020-12 features",
                               json::array());
    schema_tool.spec.input_schema = {
        {"$schema", "https://json-schema.org/draft/2020-12/schema"},
        {"type", "object"},
        {"$defs",
         {{"address",
           {{"type", "object"},
            {"properties", {{"street", {{"type", "string"}}}, {"city", {{"type", "string"}}}}}}}}},
        {"properties",
         {{"name", {{"type", "string"}}}, {"address", {{"$ref", "#/$defs/address"}}}}},
        {"additionalProperties", false}};
    schema_tool.call = [](const json& arguments, ToolContext&) {
      return ToolResult::text("Received: " + arguments.dump());
    };
    server.add_tool(std::move(schema_tool));
  }
}

Resource text_resource(const char* uri, const char* name, const char* description,
                       const char* content) {
  return {uri, name, "", description, "text/plain", [uri, content] {
            return std::vector<ResourceContents>{{uri, "text/plain", std::string(content), {}}};
          }};
}

void add_resources(Server& server) {
  server.add_resource(text_resource("test://static-text", "static-text", "Static text resource",
                                    "This is the content of the static text resource."));
  server.add_resource({"test://static-binary", "static-binary", "", "Static binary resource (PNG)",
                       "image/png", [] {
                         return std::vector<ResourceContents>{
                             {"test://static-binary", "image/png", {}, std::string(kPng)}};
                       }});
  server.add_resource(text_resource("test://watched-resource", "watched-resource",
                                    "A resource clients can subscribe to",
                                    "Watched resource content"));
  server.add_resource_template(
      {"test://template/{id}/data",
       "template",
       "",
       "Data for an id",
       "application/json",
       [](const std::string& uri, const std::map<std::string, std::string>& variables)
           -> std::optional<std::vector<ResourceContents>> {
         const std::string& id = variables.at("id");
         const json data = {{"id", id}, {"templateTest", true}, {"data", "Data for ID: " + id}};
         return std::vector<ResourceContents>{{uri, "application/json", data.dump(), {}}};
       },
       {}});
}

json user_message(json content) {
  return {{"role", "user"}, {"content", std::move(content)}};
}

void add_prompts(Server& server) {
  using Arguments = std::map<std::string, std::string>;
  server.add_prompt({"test_simple_prompt",
                     "",
                     "A simple prompt without arguments",
                     {},
                     [](const Arguments&) {
                       return json::array(
                           {user_message(text("This is a simple prompt for testing."))});
                     },
                     {}});
  server.add_prompt(
      {"test_prompt_with_arguments",
       "",
       "A prompt with required arguments",
       {{"arg1", "", "First test argument", true}, {"arg2", "", "Second test argument", true}},
       [](const Arguments& arguments) {
         return json::array(
             {user_message(text("Prompt with arguments: arg1='" + arguments.at("arg1") +
                                "', arg2='" + arguments.at("arg2") + "'"))});
       },
       [](const std::string& name, const std::string& prefix) {
         std::vector<std::string> values;
         for (const char* candidate : {"testValue1", "testValue2", "other"}) {
           if (name.starts_with("arg") && std::string(candidate).starts_with(prefix))
             values.emplace_back(candidate);
         }
         return values;
       }});
  server.add_prompt({"test_prompt_with_embedded_resource",
                     "",
                     "A prompt with an embedded resource",
                     {{"resourceUri", "", "URI of the resource to embed", true}},
                     [](const Arguments& arguments) {
                       return json::array(
                           {user_message(embedded(arguments.at("resourceUri"), "text/plain",
                                                  "Embedded resource content for testing.")),
                            user_message(text("Please process the embedded resource above."))});
                     },
                     {}});
  server.add_prompt(
      {"test_prompt_with_image",
       "",
       "A prompt with image content",
       {},
       [](const Arguments&) {
         return json::array(
             {user_message({{"type", "image"}, {"data", kPng}, {"mimeType", "image/png"}}),
              user_message(text("Please analyze the image above."))});
       },
       {}});
}

}  // namespace

void register_conformance_fixtures(Server& server) {
  add_tools(server);
  add_resources(server);
  add_prompts(server);
}

}  // namespace voicedesk::mcp
