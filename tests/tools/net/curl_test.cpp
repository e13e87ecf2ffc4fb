#include "tools/net/curl.hpp"

#include <gtest/gtest.h>
#include <httplib.h>

#include <thread>

namespace voicedesk::tools::net {
namespace {

// A cpp-httplib server on a loopback port for the life of the test.
class CurlTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_.Get("/hello", [](const httplib::Request& request, httplib::Response& response) {
      response.set_header("X-Echo", request.get_header_value("X-Test"));
      response.set_content("hello", "text/plain");
    });
    server_.Get("/moved", [](const httplib::Request&, httplib::Response& response) {
      response.set_redirect("/hello");
    });
    server_.Get("/big", [](const httplib::Request&, httplib::Response& response) {
      response.set_content(std::string(100000, 'x'), "text/plain");
    });
    server_.Put("/put", [](const httplib::Request& request, httplib::Response& response) {
      response.status = 201;
      response.set_content(request.method + ":" + request.body, "text/plain");
    });
    server_.Post("/basic", [](const httplib::Request& request, httplib::Response& response) {
      response.set_content(request.get_header_value("Authorization"), "text/plain");
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    while (!server_.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  void TearDown() override {
    server_.stop();
    thread_.join();
  }
  std::string url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }

  httplib::Server server_;
  std::thread thread_;
  int port_ = 0;
};

TEST_F(CurlTest, GetsBodyStatusAndHeaders) {
  HttpRequest request;
  request.url = url("/hello");
  request.headers = {"X-Test: 42"};
  const HttpResponse response = http_request(request);
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.body, "hello");
  EXPECT_EQ(response.header("x-echo").value_or(""), "42");
  EXPECT_EQ(response.header("Content-Type").value_or(""), "text/plain");
  EXPECT_FALSE(response.header("missing"));
}

TEST_F(CurlTest, FollowsRedirectsAndKeepsTheLastHeaders) {
  HttpRequest request;
  request.url = url("/moved");
  const HttpResponse response = http_request(request);
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.body, "hello");
  EXPECT_FALSE(response.header("location"));
}

TEST_F(CurlTest, SendsCustomMethodsWithBodies) {
  HttpRequest request;
  request.method = "PUT";
  request.url = url("/put");
  request.body = "payload";
  const HttpResponse response = http_request(request);
  EXPECT_EQ(response.status, 201);
  EXPECT_EQ(response.body, "PUT:payload");
}

TEST_F(CurlTest, SendsBasicCredentials) {
  HttpRequest request;
  request.method = "POST";
  request.url = url("/basic");
  request.username = "user";
  request.password = "pass";
  const HttpResponse response = http_request(request);
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.body, "Basic dXNlcjpwYXNz");
}

TEST_F(CurlTest, RefusesAnswersOverTheLimit) {
  HttpRequest request;
  request.url = url("/big");
  request.max_response_bytes = 1000;
  try {
    http_request(request);
    FAIL() << "expected TransferError";
  } catch (const TransferError& error) {
    EXPECT_NE(std::string(error.what()).find("1000-byte limit"), std::string::npos) << error.what();
  }
}

TEST_F(CurlTest, StreamsBodiesToAConsumer) {
  HttpRequest request;
  request.url = url("/big");
  std::size_t received = 0;
  request.on_body = [&](std::string_view chunk) { received += chunk.size(); };
  const HttpResponse response = http_request(request);
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(received, 100000u);
  EXPECT_TRUE(response.body.empty());
}

TEST_F(CurlTest, AConsumersExceptionEndsTheTransferAndComesOut) {
  HttpRequest request;
  request.url = url("/big");
  request.on_body = [](std::string_view) { throw std::logic_error("enough"); };
  EXPECT_THROW(http_request(request), std::logic_error);
}

TEST_F(CurlTest, ReportsUnreachableServers) {
  HttpRequest request;
  request.url = "http://127.0.0.1:1/";
  EXPECT_THROW(http_request(request), TransferError);
}

TEST(CurlProtocols, RefusesNonHttpUrls) {
  HttpRequest request;
  request.url = "file:///etc/passwd";
  EXPECT_THROW(http_request(request), TransferError);
}

TEST(UrlEncode, KeepsUnreservedAndEscapesTheRest) {
  EXPECT_EQ(url_encode("a b&c=d/é~._-"), "a%20b%26c%3Dd%2F%C3%A9~._-");
}

}  // namespace
}  // namespace voicedesk::tools::net
