#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "tools/tool.hpp"

namespace voicedesk::mcp {

// Where messages to the client go: the response stream of the request being
// handled, or a session's standalone stream. Implementations are thread-safe.
class Outbound {
 public:
  virtual ~Outbound() = default;
  // Delivers (or queues) one message; false when the stream is gone and the
  // message was dropped.
  virtual bool send(const nlohmann::json& message) = 0;
  // See tools::ToolContext::release_connection().
  virtual void release_connection() {}
};

// One item of a resources/read result: text or base64 blob.
struct ResourceContents {
  std::string uri;
  std::string mime_type;
  std::optional<std::string> text;
  std::optional<std::string> blob;  // base64
  nlohmann::json to_json() const;
};

using Completer =
    std::function<std::vector<std::string>(const std::string& name, const std::string& prefix)>;

struct Resource {
  std::string uri;
  std::string name;
  std::string title;
  std::string description;
  std::string mime_type;
  std::function<std::vector<ResourceContents>()> read;
};

// A family of resources addressed by an RFC 6570 level-1 template such as
// "transcripts://{id}".
struct ResourceTemplate {
  std::string uri_template;
  std::string name;
  std::string title;
  std::string description;
  std::string mime_type;
  // Called with a URI matching the template and its variables; nullopt when
  // no such resource exists.
  std::function<std::optional<std::vector<ResourceContents>>(
      const std::string& uri, const std::map<std::string, std::string>& variables)>
      read;
  Completer complete;  // values for a variable; may be empty
};

struct PromptArgument {
  std::string name;
  std::string title;
  std::string description;
  bool required = false;
};

struct Prompt {
  std::string name;
  std::string title;
  std::string description;
  std::vector<PromptArgument> arguments;
  // The prompt's messages ([{role, content}]) for arguments that include every
  // required one; throws RpcError(invalid_params) for bad values.
  std::function<nlohmann::json(const std::map<std::string, std::string>& arguments)> get;
  Completer complete;  // values for an argument; may be empty
};

struct ServerInfo {
  std::string name = "voicedesk";
  std::string title = "voicedesk";
  std::string version;
  std::string instructions;
};

struct ServerOptions {
  // How long a tool waits for the client to answer a sampling or elicitation request.
  std::chrono::milliseconds client_request_timeout{std::chrono::minutes(5)};
  std::size_t page_size = 100;  // list results per page
};

// The state of one client connection: negotiated version, the client's
// capabilities and log level, subscriptions, requests in flight both ways.
class Session {
 public:
  explicit Session(std::string id);
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  const std::string& id() const { return id_; }
  bool initialized() const;
  std::string protocol_version() const;
  nlohmann::json client_capabilities() const;
  tools::LogLevel log_level() const { return log_level_.load(); }

  // Where notifications that belong to no request go (list changes, resource
  // updates): the HTTP GET stream, stdout, the legacy SSE stream.
  void set_background(std::shared_ptr<Outbound> outbound);
  bool notify(const nlohmann::json& notification);

  // Sends a request to the client on out and waits for the answer delivered
  // through deliver_response(); throws tools::ClientRequestError on an error
  // answer, a timeout, cancellation or close().
  nlohmann::json ask_client(const std::string& method, const nlohmann::json& params, Outbound& out,
                            const std::atomic<bool>& cancelled, std::chrono::milliseconds timeout);
  // Routes a response message from the client; false when nothing waits for its id.
  bool deliver_response(const nlohmann::json& response);

  // Ends the session: requests in flight are cancelled, waiting ones woken.
  void close();
  bool closed() const { return closed_.load(); }

  std::chrono::steady_clock::time_point last_active() const;
  void touch();

 private:
  friend class Server;
  struct PendingAnswer;

  std::string id_;
  mutable std::mutex mutex_;
  bool initialized_ = false;
  std::string protocol_version_;
  nlohmann::json client_capabilities_ = nlohmann::json::object();
  std::atomic<tools::LogLevel> log_level_{tools::LogLevel::info};
  std::shared_ptr<Outbound> background_;
  std::set<std::string> subscriptions_;
  std::unordered_map<std::string, std::shared_ptr<PendingAnswer>> pending_answers_;
  std::unordered_map<std::string, std::atomic<bool>*> in_flight_;  // by request id dump
  std::uint64_t next_request_id_ = 1;
  std::atomic<bool> closed_{false};
  std::chrono::steady_clock::time_point last_active_;
};

// The transport-independent MCP server: registries of tools, resources and
// prompts, the sessions, and the dispatcher every transport calls.
class Server {
 public:
  explicit Server(ServerInfo info, ServerOptions options = {});
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Registration may happen while serving; sessions are told the list changed.
  void add_tool(tools::Tool tool);
  void add_resource(Resource resource);
  void add_resource_template(ResourceTemplate resource_template);
  void add_prompt(Prompt prompt);
  // Tells the sessions subscribed to uri that it changed.
  void notify_resource_updated(const std::string& uri);

  std::shared_ptr<Session> open_session();
  std::shared_ptr<Session> find_session(const std::string& id) const;
  void close_session(const std::string& id);
  // Closes sessions idle for longer than max_idle; returns how many.
  std::size_t close_idle_sessions(std::chrono::steady_clock::duration max_idle);
  std::size_t session_count() const;

  // Handles one JSON-RPC message (not a batch) from the session's client.
  // Returns the response to a request; nullopt for notifications, responses,
  // and requests the client cancelled. Messages the handling produces
  // (progress, logs, requests to the client) go to out. Never throws for bad
  // input: that becomes a JSON-RPC error response.
  std::optional<nlohmann::json> handle(Session& session, const nlohmann::json& message,
                                       Outbound& out);

  // Whether answering message may send messages before the response (a
  // tools/call of a tool that is not quick), so an HTTP transport knows to
  // answer with an event stream rather than one JSON body.
  bool may_stream(const nlohmann::json& message) const;

  const ServerInfo& info() const { return info_; }

 private:
  class RequestContext;
  using Method = nlohmann::json (Server::*)(Session&, const nlohmann::json&, RequestContext&);

  nlohmann::json handle_request(Session& session, const nlohmann::json& request, Outbound& out,
                                bool& cancelled);
  void handle_notification(Session& session, const nlohmann::json& notification);
  void broadcast(const nlohmann::json& notification);

  nlohmann::json initialize(Session&, const nlohmann::json&, RequestContext&);
  nlohmann::json ping(Session&, const nlohmann::json&, RequestContext&);
  nlohmann::json set_log_level(Session&, const nlohmann::json&, RequestContext&);
  nlohmann::json list_tools(Session&, const nlohmann::json&, RequestContext&);
  nlohmann::json call_tool(Session&, const nlohmann::json&, RequestContext&);
  nlohmann::json list_resources(Session&, const nlohmann::json&, RequestContext&);
  nlohmann::json list_resource_templates(Session&, const nlohmann::json&, RequestContext&);
  nlohmann::json read_resource(Session&, const nlohmann::json&, RequestContext&);
  nlohmann::json subscribe(Session&, const nlohmann::json&, RequestContext&);
  nlohmann::json unsubscribe(Session&, const nlohmann::json&, RequestContext&);
  nlohmann::json list_prompts(Session&, const nlohmann::json&, RequestContext&);
  nlohmann::json get_prompt(Session&, const nlohmann::json&, RequestContext&);
  nlohmann::json complete(Session&, const nlohmann::json&, RequestContext&);

  // One page of items and the cursor of the next.
  nlohmann::json page(const nlohmann::json& params, const char* key,
                      const std::vector<nlohmann::json>& items) const;

  ServerInfo info_;
  ServerOptions options_;
  std::unordered_map<std::string, Method> methods_;

  mutable std::mutex registry_mutex_;
  std::vector<std::shared_ptr<const tools::Tool>> tools_;
  std::vector<Resource> resources_;
  std::vector<ResourceTemplate> resource_templates_;
  std::vector<Prompt> prompts_;

  mutable std::mutex sessions_mutex_;
  std::unordered_map<std::string, std::shared_ptr<Session>> sessions_;
};

}  // namespace voicedesk::mcp
