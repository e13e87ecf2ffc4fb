#pragma once

// An MCP server over Streamable HTTP on a free loopback port, serving the given
// tools and checking vd1 service tokens, as `voicedesk mcp` does.
#include <httplib.h>

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "auth/authenticator.hpp"
#include "mcp/http_transport.hpp"
#include "mcp/server.hpp"
#include "tools/tool.hpp"

namespace voicedesk::mcp::test {

class TokenCheckedServer {
 public:
  TokenCheckedServer(const auth::ServiceSecret& secret, std::vector<tools::Tool> tools)
      : authenticator_({.mode = auth::Mode::hmac, .secret = secret}), server_(ServerInfo{}) {
    for (auto& tool : tools) server_.add_tool(std::move(tool));
    HttpOptions options;
    options.authenticate = [this](const httplib::Request& req) -> std::optional<nlohmann::json> {
      const std::string key = req.get_header_value("X-API-Key");
      const auth::AuthResult result = authenticator_.check(
          "mcp", req.has_header("X-API-Key") ? std::optional<std::string_view>(key) : std::nullopt,
          std::nullopt);
      if (result.ok) return std::nullopt;
      ++rejected_;
      return result.error_body();
    };
    transport_ = std::make_unique<HttpTransport>(server_, std::move(options));
    transport_->install(http_);
    port_ = http_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { http_.listen_after_bind(); });
  }
  ~TokenCheckedServer() {
    transport_->stop();
    http_.stop();
    thread_.join();
  }
  TokenCheckedServer(const TokenCheckedServer&) = delete;
  TokenCheckedServer& operator=(const TokenCheckedServer&) = delete;

  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/mcp"; }
  int rejected() const { return rejected_; }

 private:
  auth::Authenticator authenticator_;
  Server server_;
  std::unique_ptr<HttpTransport> transport_;
  httplib::Server http_;
  int port_ = 0;
  std::atomic<int> rejected_{0};
  std::thread thread_;
};

}  // namespace voicedesk::mcp::test
