#include "mcp/stdio_transport.hpp"

#include <spdlog/spdlog.h>

#include <istream>
#include <mutex>
#include <ostream>

#include "mcp/protocol.hpp"
#include "mcp/request_threads.hpp"
#include "mcp/server.hpp"

namespace voicedesk::mcp {
namespace {

using nlohmann::json;

// Every message goes out as one line; writers on several threads take turns.
class LineWriter final : public Outbound {
 public:
  explicit LineWriter(std::ostream& out) : out_(out) {}
  bool send(const json& message) override {
    const std::string line = message.dump() + "\n";
    std::lock_guard lock(mutex_);
    out_.write(line.data(), static_cast<std::streamsize>(line.size()));
    out_.flush();
    return static_cast<bool>(out_);
  }

 private:
  std::mutex mutex_;
  std::ostream& out_;
};

// Reads one line of at most limit bytes; an overlong line is consumed and
// reported through `overlong`. False at end of input.
bool read_line(std::streambuf& in, std::string& line, std::size_t limit, bool& overlong) {
  line.clear();
  overlong = false;
  for (;;) {
    const int c = in.sbumpc();
    if (c == std::char_traits<char>::eof()) return !line.empty() || overlong;
    if (c == '\n') return true;
    if (line.size() >= limit) {
      overlong = true;
    } else {
      line.push_back(static_cast<char>(c));
    }
  }
}

}  // namespace

void serve_stdio(Server& server, std::istream& in, std::ostream& out, StdioOptions options) {
  const std::shared_ptr<Session> session = server.open_session();
  auto writer = std::make_shared<LineWriter>(out);
  session->set_background(writer);

  RequestThreads requests(options.max_concurrent_requests);

  std::string line;
  bool overlong = false;
  while (read_line(*in.rdbuf(), line, options.max_message_bytes, overlong)) {
    if (overlong) {
      writer->send(make_error(
          nullptr, error_code::invalid_request,
          "Message larger than " + std::to_string(options.max_message_bytes) + " bytes"));
      continue;
    }
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    json message = json::parse(line, nullptr, false);
    if (message.is_discarded()) {
      writer->send(make_error(nullptr, error_code::parse_error, "Parse error: not valid JSON"));
      continue;
    }
    if (message.is_array()) {
      // Batches are handled in order, on this thread, where the version allows them.
      if (!protocol_allows_batches(session->protocol_version()) || message.empty()) {
        writer->send(make_error(nullptr, error_code::invalid_request,
                                "Invalid request: JSON-RPC batches are not supported in protocol "
                                "version " +
                                    session->protocol_version()));
        continue;
      }
      json responses = json::array();
      for (const json& item : message) {
        if (auto response = server.handle(*session, item, *writer)) responses.push_back(*response);
      }
      if (!responses.empty()) writer->send(responses);
      continue;
    }
    const bool is_request =
        message.is_object() && message.contains("method") && message.contains("id");
    if (!is_request) {
      if (auto response = server.handle(*session, message, *writer)) writer->send(*response);
      continue;
    }
    requests.start([&server, session, writer, message = std::move(message)] {
      if (auto response = server.handle(*session, message, *writer)) writer->send(*response);
    });
  }
  // End of input: the client is gone, so nobody waits for what is running.
  session->close();
  requests.join_all();
  server.close_session(session->id());
}

}  // namespace voicedesk::mcp
