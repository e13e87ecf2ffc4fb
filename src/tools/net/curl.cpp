#include "tools/net/curl.hpp"

#include <algorithm>
#include <cctype>
#include <mutex>

#include "util/text.hpp"

namespace voicedesk::tools::net {
namespace {

// libcurl's global state is set up once, before any handle, and never torn
// down: other threads may still hold handles at exit.
void init_libcurl_once() {
  static std::once_flag once;
  static CURLcode result = CURLE_OK;
  std::call_once(once, [] { result = curl_global_init(CURL_GLOBAL_DEFAULT); });
  if (result != CURLE_OK) {
    throw TransferError(std::string("libcurl initialization failed: ") +
                        curl_easy_strerror(result));
  }
}

}  // namespace

CurlList::~CurlList() {
  curl_slist_free_all(list_);
}

void CurlList::append(const std::string& item) {
  curl_slist* extended = curl_slist_append(list_, item.c_str());
  if (extended == nullptr) throw TransferError("out of memory building a libcurl list");
  list_ = extended;
}

CurlHandle::CurlHandle() {
  init_libcurl_once();
  handle_ = curl_easy_init();
  if (handle_ == nullptr) throw TransferError("libcurl could not create a handle");
  set(CURLOPT_ERRORBUFFER, error_);
  set(CURLOPT_NOSIGNAL, 1L);
  set(CURLOPT_NOPROGRESS, 1L);
}

CurlHandle::~CurlHandle() {
  curl_easy_cleanup(handle_);
}

void CurlHandle::fail_option(CURLoption option) {
  throw TransferError("libcurl rejected option " + std::to_string(static_cast<int>(option)) +
                      " (not supported by this libcurl build?)");
}

std::size_t CurlHandle::write_body(char* data, std::size_t size, std::size_t count,
                                   void* sink_ptr) {
  auto& sink = *static_cast<Sink*>(sink_ptr);
  const std::size_t bytes = size * count;
  if (sink.used + bytes > sink.max_bytes) {
    sink.overflowed = true;
    return 0;  // makes libcurl fail the transfer with CURLE_WRITE_ERROR
  }
  sink.used += bytes;
  if (!sink.consumer) {
    sink.text->append(data, bytes);
    return bytes;
  }
  // Exceptions must not cross libcurl's C frames: keep it for perform().
  try {
    sink.consumer(std::string_view(data, bytes));
  } catch (...) {
    sink.consumer_error = std::current_exception();
    return 0;
  }
  return bytes;
}

std::size_t CurlHandle::write_header(char* data, std::size_t size, std::size_t count,
                                     void* sink_ptr) {
  auto& sink = *static_cast<Sink*>(sink_ptr);
  const std::size_t bytes = size * count;
  if (sink.used + bytes > sink.max_bytes) {
    sink.overflowed = true;
    return 0;
  }
  sink.used += bytes;
  sink.lines->emplace_back(data, bytes);
  return bytes;
}

void CurlHandle::collect_body(std::string& body, std::size_t max_bytes) {
  body_ = Sink{};
  body_.text = &body;
  body_.max_bytes = max_bytes;
  body_.used = body.size();
  set(CURLOPT_WRITEFUNCTION, &CurlHandle::write_body);
  set(CURLOPT_WRITEDATA, static_cast<void*>(&body_));
}

void CurlHandle::stream_body(std::function<void(std::string_view)> consumer,
                             std::size_t max_bytes) {
  body_ = Sink{};
  body_.consumer = std::move(consumer);
  body_.max_bytes = max_bytes;
  set(CURLOPT_WRITEFUNCTION, &CurlHandle::write_body);
  set(CURLOPT_WRITEDATA, static_cast<void*>(&body_));
}

void CurlHandle::collect_headers(std::vector<std::string>& headers, std::size_t max_bytes) {
  headers_ = Sink{};
  headers_.lines = &headers;
  headers_.max_bytes = max_bytes;
  set(CURLOPT_HEADERFUNCTION, &CurlHandle::write_header);
  set(CURLOPT_HEADERDATA, static_cast<void*>(&headers_));
}

void CurlHandle::set_timeout(std::chrono::milliseconds timeout) {
  set(CURLOPT_TIMEOUT_MS, static_cast<long>(timeout.count()));
  set(CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(std::min<long long>(timeout.count(), 10000)));
}

void CurlHandle::perform(std::string_view what) {
  error_[0] = '\0';
  const CURLcode code = curl_easy_perform(handle_);
  if (code == CURLE_OK) return;
  if (body_.consumer_error) std::rethrow_exception(body_.consumer_error);
  std::string message(what);
  if (body_.overflowed) {
    message += ": the answer is larger than the " + std::to_string(body_.max_bytes) + "-byte limit";
  } else if (headers_.overflowed) {
    message +=
        ": the headers are larger than the " + std::to_string(headers_.max_bytes) + "-byte limit";
  } else {
    message += ": ";
    message += error_[0] != '\0' ? error_ : curl_easy_strerror(code);
  }
  throw TransferError(message, code);
}

long CurlHandle::response_code() const {
  long code = 0;
  curl_easy_getinfo(handle_, CURLINFO_RESPONSE_CODE, &code);
  return code;
}

std::optional<std::string> HttpResponse::header(std::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (util::iequals(key, name)) return value;
  }
  return std::nullopt;
}

HttpResponse http_request(const HttpRequest& request) {
  CurlHandle curl;
  HttpResponse response;
  std::vector<std::string> header_lines;
  curl.set(CURLOPT_URL, request.url.c_str());
  curl.set(CURLOPT_PROTOCOLS_STR, "http,https");
  curl.set(CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  curl.set(CURLOPT_FOLLOWLOCATION, request.max_redirects > 0 ? 1L : 0L);
  curl.set(CURLOPT_MAXREDIRS, static_cast<long>(request.max_redirects));
  curl.set(CURLOPT_ACCEPT_ENCODING, "");  // whatever libcurl can decode
  curl.set_timeout(request.timeout);
  if (request.on_body) {
    curl.stream_body(request.on_body, request.max_response_bytes);
  } else {
    curl.collect_body(response.body, request.max_response_bytes);
  }
  curl.collect_headers(header_lines, 64u << 10);

  CurlList headers;
  for (const auto& header : request.headers) headers.append(header);
  curl.set(CURLOPT_HTTPHEADER, headers.get());
  if (!request.username.empty() || !request.password.empty()) {
    curl.set(CURLOPT_HTTPAUTH, static_cast<long>(CURLAUTH_BASIC));
    curl.set(CURLOPT_USERNAME, request.username.c_str());
    curl.set(CURLOPT_PASSWORD, request.password.c_str());
  }
  if (request.method == "HEAD") {
    curl.set(CURLOPT_NOBODY, 1L);
  } else if (request.method != "GET" || !request.body.empty()) {
    if (request.method != "GET" && request.method != "POST") {
      curl.set(CURLOPT_CUSTOMREQUEST, request.method.c_str());
    }
    curl.set(CURLOPT_POSTFIELDS, request.body.data());
    curl.set(CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request.body.size()));
  }
  curl.perform(request.method + " " + request.url);
  response.status = curl.response_code();

  // After redirects, only the last response's headers count.
  for (const auto& line : header_lines) {
    if (line.rfind("HTTP/", 0) == 0) {
      response.headers.clear();
      continue;
    }
    const auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    const std::string_view field = line;
    response.headers.emplace_back(util::ascii_lower(util::trim(field.substr(0, colon))),
                                  std::string(util::trim(field.substr(colon + 1))));
  }
  return response;
}

std::string url_encode(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string encoded;
  encoded.reserve(text.size());
  for (const unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      encoded += static_cast<char>(c);
    } else {
      encoded += '%';
      encoded += kHex[c >> 4];
      encoded += kHex[c & 0xF];
    }
  }
  return encoded;
}

}  // namespace voicedesk::tools::net
