#pragma once

#include <curl/curl.h>

#include <chrono>
#include <cstddef>
#include <exception>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace voicedesk::tools::net {

// A transfer failed: the network, TLS, the protocol, or the peer's answer was
// over a size limit. what() says which, without credentials.
class TransferError : public std::runtime_error {
 public:
  explicit TransferError(const std::string& message, CURLcode code = CURLE_OK)
      : std::runtime_error(message), code_(code) {}
  // libcurl's result when perform() failed, so callers can tell failures apart.
  CURLcode code() const { return code_; }

 private:
  CURLcode code_;
};

// A libcurl string list (request headers, SMTP recipients), freed on destruction.
class CurlList {
 public:
  CurlList() = default;
  ~CurlList();
  CurlList(const CurlList&) = delete;
  CurlList& operator=(const CurlList&) = delete;

  void append(const std::string& item);
  curl_slist* get() const { return list_; }

 private:
  curl_slist* list_ = nullptr;
};

// One libcurl easy handle: the building block of our SMTP, IMAP and HTTP
// clients. It never raises signals (safe on any thread), collects the
// response within a size limit, and reports failures with libcurl's message.
class CurlHandle {
 public:
  // Initializes libcurl for the process on first use; throws TransferError.
  CurlHandle();
  ~CurlHandle();
  CurlHandle(const CurlHandle&) = delete;
  CurlHandle& operator=(const CurlHandle&) = delete;

  CURL* get() const { return handle_; }

  // curl_easy_setopt that throws TransferError naming the option's purpose.
  template <typename Value>
  void set(CURLoption option, Value value) {
    if (curl_easy_setopt(handle_, option, value) != CURLE_OK) fail_option(option);
  }

  // The response body (or, for IMAP, the server's answer) goes to body; the
  // transfer fails once it would exceed max_bytes.
  void collect_body(std::string& body, std::size_t max_bytes);
  // The response body goes to consumer chunk by chunk as it arrives (an event
  // stream), max_bytes in all. An exception from consumer ends the transfer
  // and comes out of perform().
  void stream_body(std::function<void(std::string_view)> consumer, std::size_t max_bytes);
  // Response header lines go to headers, within max_bytes in all.
  void collect_headers(std::vector<std::string>& headers, std::size_t max_bytes);
  // Overall time limit for the transfer, including connecting.
  void set_timeout(std::chrono::milliseconds timeout);

  // Runs the transfer. what names it in the error ("SMTP send to
  // smtp://host:587"): "what: libcurl's message".
  void perform(std::string_view what);
  // The last response code (HTTP status, SMTP/IMAP reply code).
  long response_code() const;

 private:
  struct Sink {
    std::string* text = nullptr;
    std::function<void(std::string_view)> consumer;
    std::exception_ptr consumer_error;
    std::vector<std::string>* lines = nullptr;
    std::size_t max_bytes = 0;
    std::size_t used = 0;
    bool overflowed = false;
  };
  static std::size_t write_body(char* data, std::size_t size, std::size_t count, void* sink);
  static std::size_t write_header(char* data, std::size_t size, std::size_t count, void* sink);
  [[noreturn]] static void fail_option(CURLoption option);

  CURL* handle_ = nullptr;
  char error_[CURL_ERROR_SIZE] = {};
  Sink body_;
  Sink headers_;
};

struct HttpRequest {
  std::string method = "GET";
  std::string url;                   // http:// or https:// only
  std::vector<std::string> headers;  // "Name: value"
  std::string body;                  // sent when not empty, or for POST/PUT
  std::string username;              // HTTP Basic auth when not empty (use https off loopback)
  std::string password;
  std::chrono::milliseconds timeout{15000};
  std::size_t max_response_bytes = 4u << 20;
  int max_redirects = 5;  // followed only to http(s)
  // When set, the body is handed here as it arrives instead of being kept in
  // HttpResponse::body (server-sent events, long answers).
  std::function<void(std::string_view)> on_body;
};

struct HttpResponse {
  long status = 0;
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased, last response
  std::string body;

  // The value of the first header named name (case-insensitive), if any.
  std::optional<std::string> header(std::string_view name) const;
};

// Performs request; any status is a response, only transport failures throw
// TransferError. Bounded in time and size.
HttpResponse http_request(const HttpRequest& request);

// Percent-encodes text for a URL query or path segment (RFC 3986 unreserved kept).
std::string url_encode(std::string_view text);

}  // namespace voicedesk::tools::net
