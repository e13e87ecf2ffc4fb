#pragma once

#include <atomic>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <string>

namespace voicedesk::tools {

// Syslog severities, as MCP's logging uses them (RFC 5424 names).
enum class LogLevel { debug, info, notice, warning, error, critical, alert, emergency };
const char* to_string(LogLevel level);
std::optional<LogLevel> parse_log_level(std::string_view name);

// A tool failed in a way its caller should see as a result with isError (bad
// arguments, an upstream service down), not as a protocol error. what() is
// shown to the user or the model, so it names the field or the cause.
class ToolError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The client refused or could not answer a request from a tool (it lacks the
// capability, declined, timed out, or the call was cancelled).
class ClientRequestError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// What a running tool can do besides returning: report progress, log to the
// caller, ask the caller's client (sampling, elicitation), notice that it was
// cancelled. The MCP server implements it per request; in-process callers
// implement it too.
class ToolContext {
 public:
  virtual ~ToolContext() = default;
  virtual void progress(double done, std::optional<double> total = {},
                        const std::string& message = {}) = 0;
  virtual void log(LogLevel level, const nlohmann::json& data) = 0;
  // Sends a request such as "sampling/createMessage" or "elicitation/create"
  // to the client and waits for its result; throws ClientRequestError.
  virtual nlohmann::json ask_client(const std::string& method, const nlohmann::json& params) = 0;
  // Becomes true when the caller cancels; long tools poll it.
  virtual const std::atomic<bool>& cancelled() const = 0;
  // Lets go of the connection the caller is waiting on, for a long call: an
  // HTTP client then polls (reconnects and resumes the event stream) instead
  // of holding a connection open. Later messages and the result are kept for
  // it. Transports without such connections ignore this.
  virtual void release_connection() {}
};

// A tool's result in MCP form: content items ({type:"text",text}, images,
// audio, embedded resources...), optional structured content matching the
// output schema, and whether it is an error.
struct ToolResult {
  nlohmann::json content = nlohmann::json::array();
  nlohmann::json structured;  // null when the tool has no structured output
  bool is_error = false;

  static ToolResult text(std::string text);
  static ToolResult error(std::string message);
  nlohmann::json to_json() const;
};

struct ToolSpec {
  std::string name;  // unique, [A-Za-z0-9_.-]
  std::string title;
  std::string description;
  nlohmann::json input_schema = {{"type", "object"}};  // JSON Schema 2020-12
  nlohmann::json output_schema;                        // null when none
  nlohmann::json annotations;                          // readOnlyHint etc.; null when none
  // A quick tool never reports progress, logs or asks the client, so an HTTP
  // transport may answer it as one JSON body instead of an event stream.
  bool quick = false;

  nlohmann::json to_json() const;
};

// A tool is a value: its description and the function that runs it. call may
// run on several threads at once, so it must be thread-safe.
struct Tool {
  ToolSpec spec;
  std::function<ToolResult(const nlohmann::json& arguments, ToolContext& context)> call;
};

}  // namespace voicedesk::tools
