#include "mcp/server.hpp"

#include <openssl/rand.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <condition_variable>
#include <regex>

#include "mcp/protocol.hpp"
#include "tools/json_schema.hpp"

namespace voicedesk::mcp {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

namespace {

// Session ids must be unguessable: they are the only thing tying an HTTP
// request to a session.
std::string random_hex_id() {
  unsigned char bytes[16];
  if (RAND_bytes(bytes, sizeof bytes) != 1) throw std::runtime_error("RAND_bytes failed");
  static constexpr char kHex[] = "0123456789abcdef";
  std::string id;
  for (const unsigned char byte : bytes) {
    id += kHex[byte >> 4];
    id += kHex[byte & 15];
  }
  return id;
}

const json& object_param(const json& params, const char* key) {
  const auto it = params.find(key);
  if (it == params.end() || !it->is_object()) {
    throw RpcError(error_code::invalid_params, std::string("params.") + key + " must be an object");
  }
  return *it;
}

std::string string_param(const json& params, const char* key) {
  const auto it = params.find(key);
  if (it == params.end() || !it->is_string()) {
    throw RpcError(error_code::invalid_params, std::string("params.") + key + " must be a string");
  }
  return it->get<std::string>();
}

// RFC 6570 level 1: "{name}" matches one path segment's worth of characters.
std::optional<std::map<std::string, std::string>> match_template(const std::string& uri_template,
                                                                 const std::string& uri) {
  std::string pattern;
  std::vector<std::string> names;
  static const std::regex variable(R"(\{([A-Za-z0-9_]+)\})");
  std::size_t last = 0;
  for (auto it = std::sregex_iterator(uri_template.begin(), uri_template.end(), variable);
       it != std::sregex_iterator(); ++it) {
    const std::string literal = uri_template.substr(last, it->position() - last);
    pattern += std::regex_replace(literal, std::regex(R"([.^$|()\[\]{}*+?\\])"), R"(\$&)");
    pattern += "([^/?#]+)";
    names.push_back((*it)[1]);
    last = it->position() + it->length();
  }
  pattern +=
      std::regex_replace(uri_template.substr(last), std::regex(R"([.^$|()\[\]{}*+?\\])"), R"(\$&)");
  std::smatch match;
  if (!std::regex_match(uri, match, std::regex(pattern))) return std::nullopt;
  std::map<std::string, std::string> variables;
  for (std::size_t i = 0; i < names.size(); ++i) variables[names[i]] = match[i + 1];
  return variables;
}

json contents_json(const std::vector<ResourceContents>& contents) {
  json out = json::array();
  for (const ResourceContents& item : contents) out.push_back(item.to_json());
  return out;
}

}  // namespace

json ResourceContents::to_json() const {
  json out = {{"uri", uri}};
  if (!mime_type.empty()) out["mimeType"] = mime_type;
  if (text) out["text"] = *text;
  if (blob) out["blob"] = *blob;
  return out;
}

// --- Session -----------------------------------------------------------------

struct Session::PendingAnswer {
  std::mutex mutex;
  std::condition_variable ready;
  std::optional<json> response;
};

Session::Session(std::string id) : id_(std::move(id)), last_active_(Clock::now()) {}

bool Session::initialized() const {
  std::lock_guard lock(mutex_);
  return initialized_;
}

std::string Session::protocol_version() const {
  std::lock_guard lock(mutex_);
  return protocol_version_;
}

json Session::client_capabilities() const {
  std::lock_guard lock(mutex_);
  return client_capabilities_;
}

void Session::set_background(std::shared_ptr<Outbound> outbound) {
  std::lock_guard lock(mutex_);
  background_ = std::move(outbound);
}

bool Session::notify(const json& notification) {
  std::shared_ptr<Outbound> background;
  {
    std::lock_guard lock(mutex_);
    background = background_;
  }
  return background && background->send(notification);
}

json Session::ask_client(const std::string& method, const json& params, Outbound& out,
                         const std::atomic<bool>& cancelled, std::chrono::milliseconds timeout) {
  auto pending = std::make_shared<PendingAnswer>();
  std::string id;
  {
    std::lock_guard lock(mutex_);
    if (closed_) throw tools::ClientRequestError("the session is closed");
    id = "srv-" + std::to_string(next_request_id_++);
    pending_answers_[id] = pending;
  }
  auto forget = [&] {
    std::lock_guard lock(mutex_);
    pending_answers_.erase(id);
  };
  if (!out.send(make_request(id, method, params))) {
    forget();
    throw tools::ClientRequestError("the client's stream is closed");
  }
  const auto deadline = Clock::now() + timeout;
  std::unique_lock lock(pending->mutex);
  while (!pending->response) {
    if (cancelled || closed_) {
      lock.unlock();
      forget();
      throw tools::ClientRequestError("cancelled while waiting for the client");
    }
    if (Clock::now() >= deadline) {
      lock.unlock();
      forget();
      throw tools::ClientRequestError("the client did not answer " + method + " in time");
    }
    pending->ready.wait_for(lock, std::chrono::milliseconds(50));
  }
  const json response = std::move(*pending->response);
  lock.unlock();
  forget();
  if (const auto error = response.find("error"); error != response.end()) {
    throw tools::ClientRequestError("the client refused " + method + ": " +
                                    error->value("message", std::string("error")));
  }
  return response.value("result", json::object());
}

bool Session::deliver_response(const json& response) {
  // An error answering an unparsable message may come without an id.
  const auto id = response.find("id");
  if (id == response.end()) return false;
  const std::string key = id->is_string() ? id->get<std::string>() : id->dump();
  std::shared_ptr<PendingAnswer> pending;
  {
    std::lock_guard lock(mutex_);
    const auto it = pending_answers_.find(key);
    if (it == pending_answers_.end()) return false;
    pending = it->second;
  }
  {
    std::lock_guard lock(pending->mutex);
    pending->response = response;
  }
  pending->ready.notify_all();
  return true;
}

void Session::close() {
  std::lock_guard lock(mutex_);
  closed_ = true;
  for (auto& [id, flag] : in_flight_) *flag = true;
  for (auto& [id, pending] : pending_answers_) pending->ready.notify_all();
  background_.reset();
}

Clock::time_point Session::last_active() const {
  std::lock_guard lock(mutex_);
  return last_active_;
}

void Session::touch() {
  std::lock_guard lock(mutex_);
  last_active_ = Clock::now();
}

// --- Request context -----------------------------------------------------------

// What a tool sees of the request it runs in. Registered in the session
// while the request runs, so notifications/cancelled can reach it.
class Server::RequestContext final : public tools::ToolContext {
 public:
  RequestContext(Session& session, Outbound& out, const json& request,
                 std::chrono::milliseconds client_timeout)
      : session_(session), out_(out), client_timeout_(client_timeout) {
    key_ = request["id"].dump();
    if (const auto params = request.find("params"); params != request.end()) {
      if (const auto meta = params->find("_meta"); meta != params->end() && meta->is_object()) {
        progress_token_ = meta->value("progressToken", json());
      }
    }
    std::lock_guard lock(session_.mutex_);
    session_.in_flight_[key_] = &cancelled_;
    if (session_.closed_) cancelled_ = true;
  }
  ~RequestContext() override {
    std::lock_guard lock(session_.mutex_);
    session_.in_flight_.erase(key_);
  }
  RequestContext(const RequestContext&) = delete;
  RequestContext& operator=(const RequestContext&) = delete;

  void progress(double done, std::optional<double> total, const std::string& message) override {
    if (progress_token_.is_null()) return;
    json params = {{"progressToken", progress_token_}, {"progress", done}};
    if (total) params["total"] = *total;
    if (!message.empty()) params["message"] = message;
    out_.send(make_notification("notifications/progress", std::move(params)));
  }

  void log(tools::LogLevel level, const json& data) override {
    if (level < session_.log_level()) return;
    out_.send(make_notification("notifications/message",
                                {{"level", tools::to_string(level)}, {"data", data}}));
  }

  json ask_client(const std::string& method, const json& params) override {
    const json capabilities = session_.client_capabilities();
    const std::string needed = method.substr(0, method.find('/'));
    if (!capabilities.contains(needed)) {
      throw tools::ClientRequestError("the client does not support " + needed);
    }
    return session_.ask_client(method, params, out_, cancelled_, client_timeout_);
  }

  const std::atomic<bool>& cancelled() const override { return cancelled_; }

  void release_connection() override { out_.release_connection(); }

 private:
  Session& session_;
  Outbound& out_;
  std::chrono::milliseconds client_timeout_;
  std::string key_;
  json progress_token_;
  std::atomic<bool> cancelled_{false};
};

// --- Server ------------------------------------------------------------------

Server::Server(ServerInfo info, ServerOptions options) : info_(std::move(info)), options_(options) {
  methods_ = {
      {"initialize", &Server::initialize},
      {"ping", &Server::ping},
      {"logging/setLevel", &Server::set_log_level},
      {"tools/list", &Server::list_tools},
      {"tools/call", &Server::call_tool},
      {"resources/list", &Server::list_resources},
      {"resources/templates/list", &Server::list_resource_templates},
      {"resources/read", &Server::read_resource},
      {"resources/subscribe", &Server::subscribe},
      {"resources/unsubscribe", &Server::unsubscribe},
      {"prompts/list", &Server::list_prompts},
      {"prompts/get", &Server::get_prompt},
      {"completion/complete", &Server::complete},
  };
}

void Server::add_tool(tools::Tool tool) {
  {
    std::lock_guard lock(registry_mutex_);
    const auto same_name = [&](const auto& existing) {
      return existing->spec.name == tool.spec.name;
    };
    std::erase_if(tools_, same_name);
    tools_.push_back(std::make_shared<const tools::Tool>(std::move(tool)));
  }
  broadcast(make_notification("notifications/tools/list_changed"));
}

void Server::add_resource(Resource resource) {
  {
    std::lock_guard lock(registry_mutex_);
    resources_.push_back(std::move(resource));
  }
  broadcast(make_notification("notifications/resources/list_changed"));
}

void Server::add_resource_template(ResourceTemplate resource_template) {
  {
    std::lock_guard lock(registry_mutex_);
    resource_templates_.push_back(std::move(resource_template));
  }
  broadcast(make_notification("notifications/resources/list_changed"));
}

void Server::add_prompt(Prompt prompt) {
  {
    std::lock_guard lock(registry_mutex_);
    prompts_.push_back(std::move(prompt));
  }
  broadcast(make_notification("notifications/prompts/list_changed"));
}

void Server::notify_resource_updated(const std::string& uri) {
  std::vector<std::shared_ptr<Session>> sessions;
  {
    std::lock_guard lock(sessions_mutex_);
    for (const auto& [id, session] : sessions_) sessions.push_back(session);
  }
  for (const auto& session : sessions) {
    bool subscribed = false;
    {
      std::lock_guard lock(session->mutex_);
      subscribed = session->subscriptions_.contains(uri);
    }
    if (subscribed) {
      session->notify(make_notification("notifications/resources/updated", {{"uri", uri}}));
    }
  }
}

void Server::broadcast(const json& notification) {
  std::vector<std::shared_ptr<Session>> sessions;
  {
    std::lock_guard lock(sessions_mutex_);
    for (const auto& [id, session] : sessions_) sessions.push_back(session);
  }
  for (const auto& session : sessions) {
    if (session->initialized()) session->notify(notification);
  }
}

std::shared_ptr<Session> Server::open_session() {
  auto session = std::make_shared<Session>(random_hex_id());
  std::lock_guard lock(sessions_mutex_);
  sessions_[session->id()] = session;
  return session;
}

std::shared_ptr<Session> Server::find_session(const std::string& id) const {
  std::lock_guard lock(sessions_mutex_);
  const auto it = sessions_.find(id);
  return it == sessions_.end() ? nullptr : it->second;
}

void Server::close_session(const std::string& id) {
  std::shared_ptr<Session> session;
  {
    std::lock_guard lock(sessions_mutex_);
    const auto it = sessions_.find(id);
    if (it == sessions_.end()) return;
    session = std::move(it->second);
    sessions_.erase(it);
  }
  session->close();
}

std::size_t Server::close_idle_sessions(Clock::duration max_idle) {
  const auto cutoff = Clock::now() - max_idle;
  std::vector<std::string> idle;
  {
    std::lock_guard lock(sessions_mutex_);
    for (const auto& [id, session] : sessions_) {
      if (session->last_active() < cutoff) idle.push_back(id);
    }
  }
  for (const std::string& id : idle) close_session(id);
  return idle.size();
}

std::size_t Server::session_count() const {
  std::lock_guard lock(sessions_mutex_);
  return sessions_.size();
}

bool Server::may_stream(const json& message) const {
  if (!message.is_object() || message.value("method", json()) != "tools/call") return false;
  const auto params = message.find("params");
  if (params == message.end() || !params->is_object()) return false;
  const json name = params->value("name", json());
  std::lock_guard lock(registry_mutex_);
  for (const auto& tool : tools_) {
    if (tool->spec.name == name) return !tool->spec.quick;
  }
  return false;
}

std::optional<json> Server::handle(Session& session, const json& message, Outbound& out) {
  session.touch();
  MessageKind kind;
  try {
    kind = classify(message);
  } catch (const RpcError& e) {
    return make_error(request_id_of(message), e.code(), e.what());
  }
  switch (kind) {
    case MessageKind::notification:
      handle_notification(session, message);
      return std::nullopt;
    case MessageKind::response:
      if (!session.deliver_response(message)) {
        spdlog::debug("mcp: response to unknown request {}", message.value("id", json()).dump());
      }
      return std::nullopt;
    case MessageKind::request:
      break;
  }
  bool cancelled = false;
  json response = handle_request(session, message, out, cancelled);
  // A request the client cancelled gets no response. One cut short by the
  // session closing still gets one, for the transport to deliver if it can:
  // a stdio client that closed our input reads our output until we exit.
  if (cancelled && !session.closed()) return std::nullopt;
  return response;
}

json Server::handle_request(Session& session, const json& request, Outbound& out, bool& cancelled) {
  const json& id = request["id"];
  const std::string method = request["method"];
  const auto it = methods_.find(method);
  if (it == methods_.end()) {
    return make_error(id, error_code::method_not_found, "Method not found: " + method);
  }
  if (method != "initialize" && method != "ping" && !session.initialized()) {
    return make_error(id, error_code::invalid_request,
                      "The session is not initialized: send initialize first");
  }
  const json params = request.value("params", json::object());
  RequestContext context(session, out, request, options_.client_request_timeout);
  try {
    json result = (this->*(it->second))(session, params, context);
    cancelled = context.cancelled();
    return make_result(id, std::move(result));
  } catch (const RpcError& e) {
    return make_error(id, e.code(), e.what(), e.data());
  } catch (const std::exception& e) {
    cancelled = context.cancelled();
    spdlog::error("mcp: {} failed: {}", method, e.what());
    return make_error(id, error_code::internal_error, std::string("Internal error: ") + e.what());
  }
}

void Server::handle_notification(Session& session, const json& notification) {
  const std::string method = notification["method"];
  const json params = notification.value("params", json::object());
  if (method == "notifications/initialized") return;
  if (method == "notifications/cancelled") {
    const json request_id = params.value("requestId", json());
    std::lock_guard lock(session.mutex_);
    if (const auto it = session.in_flight_.find(request_id.dump());
        it != session.in_flight_.end()) {
      *it->second = true;
    }
    return;
  }
  // Other notifications (progress for our requests, roots changes) need no action.
}

json Server::initialize(Session& session, const json& params, RequestContext&) {
  const std::string requested = string_param(params, "protocolVersion");
  const std::string version =
      is_supported_protocol_version(requested) ? requested : std::string(kLatestProtocolVersion);
  {
    std::lock_guard lock(session.mutex_);
    if (session.initialized_) {
      throw RpcError(error_code::invalid_request, "The session is already initialized");
    }
    session.initialized_ = true;
    session.protocol_version_ = version;
    session.client_capabilities_ = params.value("capabilities", json::object());
    if (!session.client_capabilities_.is_object()) session.client_capabilities_ = json::object();
  }
  json result = {
      {"protocolVersion", version},
      {"capabilities",
       {{"logging", json::object()},
        {"completions", json::object()},
        {"prompts", {{"listChanged", true}}},
        {"resources", {{"subscribe", true}, {"listChanged", true}}},
        {"tools", {{"listChanged", true}}}}},
      {"serverInfo", {{"name", info_.name}, {"title", info_.title}, {"version", info_.version}}}};
  if (!info_.instructions.empty()) result["instructions"] = info_.instructions;
  return result;
}

json Server::ping(Session&, const json&, RequestContext&) {
  return json::object();
}

json Server::set_log_level(Session& session, const json& params, RequestContext&) {
  const std::string name = string_param(params, "level");
  const auto level = tools::parse_log_level(name);
  if (!level) throw RpcError(error_code::invalid_params, "Unknown log level: " + name);
  session.log_level_ = *level;
  return json::object();
}

json Server::page(const json& params, const char* key, const std::vector<json>& items) const {
  std::size_t offset = 0;
  if (const auto cursor = params.find("cursor"); cursor != params.end() && !cursor->is_null()) {
    const std::string text = cursor->is_string() ? cursor->get<std::string>() : "";
    try {
      std::size_t used = 0;
      offset = std::stoul(text, &used);
      if (used != text.size() || offset > items.size()) throw std::out_of_range("cursor");
    } catch (const std::logic_error&) {
      throw RpcError(error_code::invalid_params, "Invalid cursor");
    }
  }
  const std::size_t end = std::min(items.size(), offset + options_.page_size);
  json result = {{key, json(std::vector<json>(items.begin() + static_cast<std::ptrdiff_t>(offset),
                                              items.begin() + static_cast<std::ptrdiff_t>(end)))}};
  if (end < items.size()) result["nextCursor"] = std::to_string(end);
  return result;
}

json Server::list_tools(Session&, const json& params, RequestContext&) {
  std::vector<json> items;
  {
    std::lock_guard lock(registry_mutex_);
    for (const auto& tool : tools_) items.push_back(tool->spec.to_json());
  }
  return page(params, "tools", items);
}

json Server::call_tool(Session&, const json& params, RequestContext& context) {
  const std::string name = string_param(params, "name");
  std::shared_ptr<const tools::Tool> tool;
  {
    std::lock_guard lock(registry_mutex_);
    const auto it = std::find_if(tools_.begin(), tools_.end(), [&](const auto& candidate) {
      return candidate->spec.name == name;
    });
    if (it != tools_.end()) tool = *it;
  }
  if (!tool) throw RpcError(error_code::invalid_params, "Unknown tool: " + name);
  const json arguments = params.value("arguments", json::object());
  if (auto problem = tools::validate(tool->spec.input_schema, arguments)) {
    return tools::ToolResult::error("Invalid arguments for " + name + ": " + *problem).to_json();
  }
  try {
    return tool->call(arguments, context).to_json();
  } catch (const tools::ToolError& e) {
    return tools::ToolResult::error(e.what()).to_json();
  } catch (const tools::ClientRequestError& e) {
    return tools::ToolResult::error(e.what()).to_json();
  } catch (const std::exception& e) {
    if (context.cancelled()) throw;
    spdlog::error("mcp: tool {} failed: {}", name, e.what());
    return tools::ToolResult::error(name + " failed: " + e.what()).to_json();
  }
}

json Server::list_resources(Session&, const json& params, RequestContext&) {
  std::vector<json> items;
  {
    std::lock_guard lock(registry_mutex_);
    for (const Resource& resource : resources_) {
      json item = {{"uri", resource.uri}, {"name", resource.name}};
      if (!resource.title.empty()) item["title"] = resource.title;
      if (!resource.description.empty()) item["description"] = resource.description;
      if (!resource.mime_type.empty()) item["mimeType"] = resource.mime_type;
      items.push_back(std::move(item));
    }
  }
  return page(params, "resources", items);
}

json Server::list_resource_templates(Session&, const json& params, RequestContext&) {
  std::vector<json> items;
  {
    std::lock_guard lock(registry_mutex_);
    for (const ResourceTemplate& entry : resource_templates_) {
      json item = {{"uriTemplate", entry.uri_template}, {"name", entry.name}};
      if (!entry.title.empty()) item["title"] = entry.title;
      if (!entry.description.empty()) item["description"] = entry.description;
      if (!entry.mime_type.empty()) item["mimeType"] = entry.mime_type;
      items.push_back(std::move(item));
    }
  }
  return page(params, "resourceTemplates", items);
}

json Server::read_resource(Session&, const json& params, RequestContext&) {
  const std::string uri = string_param(params, "uri");
  std::function<std::vector<ResourceContents>()> read;
  std::vector<ResourceTemplate> templates;
  {
    std::lock_guard lock(registry_mutex_);
    for (const Resource& resource : resources_) {
      if (resource.uri == uri) read = resource.read;
    }
    if (!read) templates = resource_templates_;
  }
  if (read) return {{"contents", contents_json(read())}};
  for (const ResourceTemplate& entry : templates) {
    if (auto variables = match_template(entry.uri_template, uri)) {
      if (auto contents = entry.read(uri, *variables))
        return {{"contents", contents_json(*contents)}};
    }
  }
  throw RpcError(error_code::resource_not_found, "Resource not found: " + uri, {{"uri", uri}});
}

json Server::subscribe(Session& session, const json& params, RequestContext&) {
  const std::string uri = string_param(params, "uri");
  std::lock_guard lock(session.mutex_);
  session.subscriptions_.insert(uri);
  return json::object();
}

json Server::unsubscribe(Session& session, const json& params, RequestContext&) {
  const std::string uri = string_param(params, "uri");
  std::lock_guard lock(session.mutex_);
  session.subscriptions_.erase(uri);
  return json::object();
}

json Server::list_prompts(Session&, const json& params, RequestContext&) {
  std::vector<json> items;
  {
    std::lock_guard lock(registry_mutex_);
    for (const Prompt& prompt : prompts_) {
      json item = {{"name", prompt.name}};
      if (!prompt.title.empty()) item["title"] = prompt.title;
      if (!prompt.description.empty()) item["description"] = prompt.description;
      if (!prompt.arguments.empty()) {
        json arguments = json::array();
        for (const PromptArgument& argument : prompt.arguments) {
          json entry = {{"name", argument.name}, {"required", argument.required}};
          if (!argument.title.empty()) entry["title"] = argument.title;
          if (!argument.description.empty()) entry["description"] = argument.description;
          arguments.push_back(std::move(entry));
        }
        item["arguments"] = std::move(arguments);
      }
      items.push_back(std::move(item));
    }
  }
  return page(params, "prompts", items);
}

json Server::get_prompt(Session&, const json& params, RequestContext&) {
  const std::string name = string_param(params, "name");
  std::optional<Prompt> prompt;
  {
    std::lock_guard lock(registry_mutex_);
    for (const Prompt& candidate : prompts_) {
      if (candidate.name == name) prompt = candidate;
    }
  }
  if (!prompt) throw RpcError(error_code::invalid_params, "Unknown prompt: " + name);
  std::map<std::string, std::string> arguments;
  if (const auto given = params.find("arguments"); given != params.end() && !given->is_null()) {
    if (!given->is_object()) {
      throw RpcError(error_code::invalid_params, "params.arguments must be an object");
    }
    for (const auto& [key, value] : given->items()) {
      if (!value.is_string()) {
        throw RpcError(error_code::invalid_params, "Prompt argument " + key + " must be a string");
      }
      arguments[key] = value.get<std::string>();
    }
  }
  for (const PromptArgument& argument : prompt->arguments) {
    if (argument.required && !arguments.contains(argument.name)) {
      throw RpcError(error_code::invalid_params, "Missing required argument: " + argument.name);
    }
  }
  json result = {{"messages", prompt->get(arguments)}};
  if (!prompt->description.empty()) result["description"] = prompt->description;
  return result;
}

json Server::complete(Session&, const json& params, RequestContext&) {
  const json& reference = object_param(params, "ref");
  const json& argument = object_param(params, "argument");
  const std::string type = string_param(reference, "type");
  const std::string name = string_param(argument, "name");
  const std::string value = string_param(argument, "value");
  Completer completer;
  {
    std::lock_guard lock(registry_mutex_);
    if (type == "ref/prompt") {
      const std::string prompt_name = string_param(reference, "name");
      const auto it = std::find_if(prompts_.begin(), prompts_.end(), [&](const Prompt& prompt) {
        return prompt.name == prompt_name;
      });
      if (it == prompts_.end()) {
        throw RpcError(error_code::invalid_params, "Unknown prompt: " + prompt_name);
      }
      completer = it->complete;
    } else if (type == "ref/resource") {
      const std::string uri = string_param(reference, "uri");
      const auto it =
          std::find_if(resource_templates_.begin(), resource_templates_.end(),
                       [&](const ResourceTemplate& entry) { return entry.uri_template == uri; });
      if (it == resource_templates_.end()) {
        throw RpcError(error_code::invalid_params, "Unknown resource template: " + uri);
      }
      completer = it->complete;
    } else {
      throw RpcError(error_code::invalid_params, "Unknown reference type: " + type);
    }
  }
  std::vector<std::string> values;
  if (completer) values = completer(name, value);
  // The protocol caps one answer at 100 values.
  constexpr std::size_t kMaxValues = 100;
  const std::size_t total = values.size();
  if (values.size() > kMaxValues) values.resize(kMaxValues);
  return {{"completion", {{"values", values}, {"total", total}, {"hasMore", total > kMaxValues}}}};
}

}  // namespace voicedesk::mcp
