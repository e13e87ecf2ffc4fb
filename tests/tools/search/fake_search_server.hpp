#pragma once

#include <httplib.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <string>
#include <thread>

#include "tools/search/fixtures.hpp"

namespace voicedesk::tools::search::test {

// A cpp-httplib server on a loopback port standing in for the search
// services, answering with the hand-written fixtures:
//   /html/          DuckDuckGo's HTML result page (q=nothing: its "No results." page)
//   /captcha/html/  DuckDuckGo's bot check (HTTP 202)
//   /api/           DuckDuckGo Instant Answers (q=nothing: the empty answer)
//   /searx/search   SearXNG JSON (q=nothing: empty; q=down: every engine failed)
//   /locked/search  SearXNG with JSON disabled (HTTP 403)
//   /down/          HTTP 503;  /busy/  HTTP 429;  /huge/  a 3 MB page
class FakeSearchServer {
 public:
  FakeSearchServer() {
    server_.Get("/html/", [this](const httplib::Request& request, httplib::Response& response) {
      record(request);
      response.set_content(fixture(request.get_param_value("q") == "nothing" ? "ddg_no_results.html"
                                                                             : "ddg_results.html"),
                           "text/html; charset=UTF-8");
    });
    server_.Get("/captcha/html/",
                [this](const httplib::Request& request, httplib::Response& response) {
                  record(request);
                  response.status = 202;
                  response.set_content(fixture("ddg_bot_check.html"), "text/html; charset=UTF-8");
                });
    server_.Get("/api/", [this](const httplib::Request& request, httplib::Response& response) {
      record(request);
      response.set_content(
          fixture(request.get_param_value("q") == "nothing" ? "ddg_instant_answer_empty.json"
                                                            : "ddg_instant_answer.json"),
          "application/x-javascript");
    });
    server_.Get("/searx/search",
                [this](const httplib::Request& request, httplib::Response& response) {
                  record(request);
                  const std::string q = request.get_param_value("q");
                  response.set_content(fixture(q == "nothing" ? "searxng_empty.json"
                                               : q == "down"  ? "searxng_engines_down.json"
                                                              : "searxng_results.json"),
                                       "application/json");
                });
    server_.Get("/locked/search",
                [this](const httplib::Request& request, httplib::Response& response) {
                  record(request);
                  response.status = 403;
                  response.set_content("Forbidden", "text/plain");
                });
    server_.Get("/down/", [this](const httplib::Request& request, httplib::Response& response) {
      record(request);
      response.status = 503;
      response.set_content("<html><body>Service Unavailable</body></html>", "text/html");
    });
    server_.Get("/busy/", [this](const httplib::Request& request, httplib::Response& response) {
      record(request);
      response.status = 429;
      response.set_content("Too Many Requests", "text/plain");
    });
    server_.Get("/huge/", [this](const httplib::Request& request, httplib::Response& response) {
      record(request);
      response.set_content(std::string(3u << 20, 'x'), "text/html");
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    while (!server_.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ~FakeSearchServer() {
    server_.stop();
    thread_.join();
  }
  FakeSearchServer(const FakeSearchServer&) = delete;
  FakeSearchServer& operator=(const FakeSearchServer&) = delete;

  std::string url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }
  int requests() const { return requests_; }
  // The last request's query parameter name, and its User-Agent.
  std::string last_param(const std::string& name) const {
    const std::lock_guard lock(mutex_);
    const auto it = last_params_.find(name);
    return it == last_params_.end() ? std::string() : it->second;
  }
  std::string last_user_agent() const {
    const std::lock_guard lock(mutex_);
    return last_user_agent_;
  }

 private:
  void record(const httplib::Request& request) {
    const std::lock_guard lock(mutex_);
    last_params_ = request.params;
    last_user_agent_ = request.get_header_value("User-Agent");
    ++requests_;
  }

  httplib::Server server_;
  std::thread thread_;
  int port_ = 0;
  mutable std::mutex mutex_;
  httplib::Params last_params_;
  std::string last_user_agent_;
  std::atomic<int> requests_{0};
};

}  // namespace voicedesk::tools::search::test
