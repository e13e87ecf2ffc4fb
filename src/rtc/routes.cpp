#include "rtc/routes.hpp"

#include <httplib.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <functional>
#include <nlohmann/json.hpp>
#include <string_view>

#include "rtc/gateway.hpp"

namespace voicedesk::rtc {
namespace {

using Handler = std::function<void(const httplib::Request&, httplib::Response&)>;

void json_error(httplib::Response& res, int status, std::string_view message) {
  res.status = status;
  res.set_content(nlohmann::json{{"error", message}}.dump(), "application/json");
}

int http_status(GatewayError::Code code) {
  switch (code) {
    case GatewayError::Code::not_found:
      return 404;
    case GatewayError::Code::too_many_sessions:
      return 503;
    case GatewayError::Code::bad_offer:
      return 400;
    case GatewayError::Code::offer_too_large:
    case GatewayError::Code::too_large:
      return 413;
    case GatewayError::Code::conflict:
      return 409;
    case GatewayError::Code::internal:
      return 500;
  }
  return 500;
}

// "application/sdp", optionally with parameters ("; charset=utf-8").
bool is_sdp(const std::string& content_type) {
  const std::string_view type = std::string_view(content_type).substr(0, content_type.find(';'));
  return type == "application/sdp";
}

// Every route goes through here: the Origin check (a page from another site
// must not open sessions on a local voicedesk) and the mapping of gateway
// errors to statuses.
Handler guarded(std::vector<std::string> allowed_origins, Handler handler) {
  return [allowed_origins = std::move(allowed_origins), handler = std::move(handler)](
             const httplib::Request& req, httplib::Response& res) {
    if (req.has_header("Origin")) {
      const std::string origin = req.get_header_value("Origin");
      if (std::find(allowed_origins.begin(), allowed_origins.end(), origin) ==
          allowed_origins.end()) {
        json_error(res, 403, "origin not allowed");
        return;
      }
      res.set_header("Access-Control-Allow-Origin", origin);
      res.set_header("Vary", "Origin");
    }
    try {
      handler(req, res);
    } catch (const GatewayError& error) {
      json_error(res, http_status(error.code()), error.what());
    } catch (const std::exception& error) {
      spdlog::error("rtc {} {}: {}", req.method, req.path, error.what());
      json_error(res, 500, "internal error");
    }
  };
}

}  // namespace

void install_routes(httplib::Server& server, Gateway& gateway,
                    const std::vector<std::string>& allowed_origins) {
  server.Post(
      "/session", guarded(allowed_origins, [&gateway, ice_servers = gateway.browser_ice_servers()](
                                               const httplib::Request&, httplib::Response& res) {
        res.status = 201;
        // TURN credentials: the browser needs them; caches must not keep them.
        res.set_header("Cache-Control", "no-store");
        res.set_content(
            nlohmann::json{{"id", gateway.create_session()}, {"ice_servers", ice_servers}}.dump(),
            "application/json");
      }));
  server.Post(
      R"(/session/([^/]+)/offer)",
      guarded(allowed_origins, [&gateway](const httplib::Request& req, httplib::Response& res) {
        if (!is_sdp(req.get_header_value("Content-Type"))) {
          json_error(res, 415, "the offer must be application/sdp");
          return;
        }
        res.set_content(gateway.answer(req.matches[1], req.body), "application/sdp");
      }));
  // CORS preflight, for pages served from another allowed origin (a dev
  // server): application/sdp is not a "simple" content type.
  server.Options(R"(/session(/[^/]+(/offer)?)?)",
                 guarded(allowed_origins, [](const httplib::Request&, httplib::Response& res) {
                   res.set_header("Access-Control-Allow-Methods", "POST, DELETE");
                   res.set_header("Access-Control-Allow-Headers", "Content-Type");
                   res.set_header("Access-Control-Max-Age", "600");
                   res.status = 204;
                 }));
  server.Delete(
      R"(/session/([^/]+))",
      guarded(allowed_origins, [&gateway](const httplib::Request& req, httplib::Response& res) {
        gateway.close(req.matches[1]);
        res.status = 204;
      }));
}

}  // namespace voicedesk::rtc
