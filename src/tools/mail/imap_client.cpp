#include "tools/mail/imap_client.hpp"

#include <poll.h>

#include <algorithm>
#include <cctype>
#include <memory>

#include "tools/mail/imap_response.hpp"
#include "tools/mail/mime_codec.hpp"
#include "tools/mail/mime_message.hpp"
#include "tools/net/curl.hpp"
#include "util/text.hpp"

namespace voicedesk::tools::mail {
namespace {

using Clock = std::chrono::steady_clock;

// Room for the protocol around the message data in an answer.
constexpr std::size_t kAnswerOverhead = 1u << 20;

struct CurlUrlDeleter {
  void operator()(CURLU* url) const { curl_url_cleanup(url); }
};

std::string url_part(CURLU* url, CURLUPart part, unsigned flags = 0) {
  char* value = nullptr;
  if (curl_url_get(url, part, &value, flags) != CURLUE_OK) return {};
  std::string text = value;
  curl_free(value);
  return text;
}

bool is_loopback(const std::string& host) {
  return host == "localhost" || host.rfind("127.", 0) == 0 || host == "[::1]" || host == "::1";
}

// One logged-in IMAP connection: libcurl connects, negotiates TLS (or
// STARTTLS) and logs in (CURLOPT_CONNECT_ONLY); we then speak IMAP over it,
// which lets us read literals and several FETCH responses exactly.
class ImapSession {
 public:
  ImapSession(const ImapSettings& settings, const std::string& server_url, bool require_tls)
      : deadline_(Clock::now() + settings.timeout), server_url_(server_url) {
    try {
      curl_.set(CURLOPT_URL, server_url.c_str());
      curl_.set(CURLOPT_PROTOCOLS_STR, "imap,imaps");
      curl_.set(CURLOPT_USERNAME, settings.username.c_str());
      curl_.set(CURLOPT_PASSWORD, settings.password.c_str());
      // imap://: STARTTLS whenever the server offers it; a server that does
      // not gets no login (ALL) unless plain IMAP is allowed (TRY). A
      // certificate that fails verification fails the login either way.
      curl_.set(CURLOPT_USE_SSL, static_cast<long>(require_tls ? CURLUSESSL_ALL : CURLUSESSL_TRY));
      if (!settings.ca_file.empty()) curl_.set(CURLOPT_CAINFO, settings.ca_file.c_str());
      curl_.set(CURLOPT_CONNECT_ONLY, 1L);
      curl_.set_timeout(settings.timeout);
      curl_.perform("IMAP login to " + server_url);
      curl_socket_t socket = CURL_SOCKET_BAD;
      if (curl_easy_getinfo(curl_.get(), CURLINFO_ACTIVESOCKET, &socket) != CURLE_OK ||
          socket == CURL_SOCKET_BAD) {
        throw MailError("IMAP: no connection to " + server_url);
      }
      socket_ = socket;
    } catch (const net::TransferError& e) {
      std::string message = e.what();
      if (e.code() == CURLE_PEER_FAILED_VERIFICATION) {
        message += " (the server's certificate must name this host and be signed by a CA in " +
                   (settings.ca_file.empty() ? std::string("the system's store")
                                             : settings.ca_file + " or the system's store") +
                   ")";
      }
      throw MailError(message);
    }
  }

  // Sends command with a fresh tag and returns the whole answer (untagged
  // responses and the tagged status line). Throws MailError unless it is OK.
  std::string command(const std::string& command, std::size_t max_answer_bytes) {
    const std::string tag = "V" + std::to_string(next_tag_++);
    send_all(tag + " " + command + "\r\n");
    std::string answer = read_answer(tag, max_answer_bytes);
    const ImapStatus status = tagged_status(answer, tag);
    if (status.condition != "OK") {
      const std::string verb = command.substr(0, command.find(' ', command.find(' ') + 1));
      throw MailError("IMAP server " + server_url_ + " refused " + verb + ": " +
                      (status.text.empty() ? status.condition : sanitize_utf8(status.text)));
    }
    return answer;
  }

 private:
  void wait_for(short events) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline_ - Clock::now()).count();
    pollfd descriptor{static_cast<int>(socket_), events, 0};
    if (left <= 0 || ::poll(&descriptor, 1, static_cast<int>(left)) == 0) {
      throw MailError("IMAP server " + server_url_ + " timed out");
    }
  }

  void send_all(std::string_view data) {
    while (!data.empty()) {
      std::size_t sent = 0;
      const CURLcode code = curl_easy_send(curl_.get(), data.data(), data.size(), &sent);
      if (code == CURLE_AGAIN) {
        wait_for(POLLOUT);
        continue;
      }
      if (code != CURLE_OK) {
        throw MailError("IMAP send to " + server_url_ + ": " + curl_easy_strerror(code));
      }
      data.remove_prefix(sent);
    }
  }

  std::string read_answer(const std::string& tag, std::size_t max_bytes) {
    std::size_t scanned = 0;
    while (true) {
      if (const auto end = find_tagged_end(buffer_, tag, scanned)) {
        std::string answer = buffer_.substr(0, *end);
        buffer_.erase(0, *end);
        return answer;
      }
      if (buffer_.size() > max_bytes) {
        throw MailError("IMAP answer from " + server_url_ + " is larger than the " +
                        std::to_string(max_bytes) + "-byte limit");
      }
      char chunk[16384];
      std::size_t received = 0;
      const CURLcode code = curl_easy_recv(curl_.get(), chunk, sizeof chunk, &received);
      if (code == CURLE_AGAIN) {
        wait_for(POLLIN);
        continue;
      }
      if (code != CURLE_OK || received == 0) {
        throw MailError("IMAP connection to " + server_url_ + " closed: " +
                        (code != CURLE_OK ? curl_easy_strerror(code) : "by the server"));
      }
      buffer_.append(chunk, received);
    }
  }

  net::CurlHandle curl_;
  curl_socket_t socket_ = CURL_SOCKET_BAD;
  Clock::time_point deadline_;
  std::string server_url_;
  std::string buffer_;
  int next_tag_ = 1;
};

// The string value of the first FETCH item whose name starts with prefix
// ("BODY[TEXT]" for "BODY[TEXT]<0>"); "" when absent or NIL.
std::string fetch_string(const std::vector<ImapValue>& attributes, std::string_view prefix) {
  for (std::size_t i = 0; i + 1 < attributes.size(); i += 2) {
    if (attributes[i].kind == ImapValue::Kind::atom &&
        util::istarts_with(attributes[i].text, prefix) &&
        attributes[i + 1].kind == ImapValue::Kind::string) {
      return attributes[i + 1].text;
    }
  }
  return {};
}

struct FetchedMessage {
  std::uint64_t uid = 0;
  const std::vector<ImapValue>* attributes = nullptr;
};

// The "* n FETCH (...)" responses that carry a UID.
std::vector<FetchedMessage> fetched_messages(const std::vector<std::vector<ImapValue>>& responses) {
  std::vector<FetchedMessage> messages;
  for (const auto& response : responses) {
    if (response.size() < 3 || !response[1].is_atom("FETCH") ||
        response[2].kind != ImapValue::Kind::list) {
      continue;
    }
    const ImapValue* uid = fetch_item(response[2].items, "UID");
    if (uid == nullptr || uid->kind != ImapValue::Kind::atom || uid->text.empty() ||
        uid->text.size() > 10 ||
        !std::all_of(uid->text.begin(), uid->text.end(),
                     [](unsigned char c) { return std::isdigit(c); })) {
      continue;
    }
    messages.push_back({std::stoull(uid->text), &response[2].items});
  }
  return messages;
}

}  // namespace

ImapReader::ImapReader(ImapSettings settings) : settings_(std::move(settings)) {
  std::unique_ptr<CURLU, CurlUrlDeleter> url(curl_url());
  if (!url || curl_url_set(url.get(), CURLUPART_URL, settings_.url.c_str(), 0) != CURLUE_OK) {
    throw MailError("IMAP URL is not a URL (expected imaps://host:993/INBOX)");
  }
  const std::string scheme = url_part(url.get(), CURLUPART_SCHEME);
  if (scheme != "imap" && scheme != "imaps") {
    throw MailError("IMAP URL must start with imaps:// or imap:// (got " + scheme + "://)");
  }
  const std::string host = url_part(url.get(), CURLUPART_HOST);
  const std::string port = url_part(url.get(), CURLUPART_PORT, CURLU_DEFAULT_PORT);
  server_url_ = scheme + "://" + host + ":" + port + "/";
  std::string path = url_part(url.get(), CURLUPART_PATH, CURLU_URLDECODE);
  while (!path.empty() && path.front() == '/') path.erase(0, 1);
  if (const auto semicolon = path.find(';'); semicolon != std::string::npos) path.resize(semicolon);
  mailbox_ = path.empty() ? "INBOX" : path;
  require_tls_ = !(settings_.allow_plain || is_loopback(host));
}

std::vector<MailSummary> ImapReader::list_newest(int limit) {
  ImapSession session(settings_, server_url_, require_tls_);
  session.command("EXAMINE " + imap_quote(mailbox_), kAnswerOverhead);

  // UIDs grow with arrival, so the largest are the newest.
  const std::string search = session.command("UID SEARCH ALL", 16u << 20);
  std::vector<std::uint64_t> uids;
  for (const auto& response : parse_untagged_responses(search)) {
    if (response.empty() || !response[0].is_atom("SEARCH")) continue;
    for (std::size_t i = 1; i < response.size(); ++i) {
      const std::string& text = response[i].text;
      if (response[i].kind == ImapValue::Kind::atom && !text.empty() && text.size() <= 10 &&
          std::all_of(text.begin(), text.end(), [](unsigned char c) { return std::isdigit(c); })) {
        uids.push_back(std::stoull(text));
      }
    }
  }
  std::sort(uids.begin(), uids.end(), std::greater<>());
  if (uids.size() > static_cast<std::size_t>(std::max(limit, 0))) uids.resize(limit);
  if (uids.empty()) return {};

  std::string set;
  for (const std::uint64_t uid : uids) set += (set.empty() ? "" : ",") + std::to_string(uid);
  const std::size_t text_bytes = settings_.max_listing_text_bytes;
  const std::string answer =
      session.command("UID FETCH " + set +
                          " (UID BODY.PEEK[HEADER.FIELDS (FROM SUBJECT DATE CONTENT-TYPE "
                          "CONTENT-TRANSFER-ENCODING)] BODY.PEEK[TEXT]<0." +
                          std::to_string(text_bytes) + ">)",
                      kAnswerOverhead + uids.size() * (text_bytes + (64u << 10)));
  const auto responses = parse_untagged_responses(answer);
  std::vector<FetchedMessage> messages = fetched_messages(responses);
  std::sort(messages.begin(), messages.end(),
            [](const FetchedMessage& a, const FetchedMessage& b) { return a.uid > b.uid; });

  std::vector<MailSummary> summaries;
  for (const FetchedMessage& message : messages) {
    const MailMessage mail = parse_mail(fetch_string(*message.attributes, "BODY[HEADER") + "\r\n" +
                                        fetch_string(*message.attributes, "BODY[TEXT]"));
    summaries.push_back({std::to_string(message.uid), mail.from, mail.subject, mail.date,
                         make_snippet(mail.body, settings_.snippet_chars)});
  }
  return summaries;
}

MailDetail ImapReader::read(const std::string& id) {
  if (id.empty() || id.size() > 10 ||
      !std::all_of(id.begin(), id.end(), [](unsigned char c) { return std::isdigit(c); }) ||
      std::stoull(id) == 0) {
    throw NoSuchMail("no message with id \"" + sanitize_utf8(id) +
                     "\" (IMAP ids are the numbers list_inbox returns)");
  }
  ImapSession session(settings_, server_url_, require_tls_);
  session.command("EXAMINE " + imap_quote(mailbox_), kAnswerOverhead);
  const std::string answer = session.command("UID FETCH " + id + " (UID BODY.PEEK[]<0." +
                                                 std::to_string(settings_.max_message_bytes) + ">)",
                                             kAnswerOverhead + settings_.max_message_bytes);
  const auto responses = parse_untagged_responses(answer);
  for (const FetchedMessage& message : fetched_messages(responses)) {
    if (std::to_string(message.uid) != id) continue;
    const MailMessage mail = parse_mail(fetch_string(*message.attributes, "BODY[]"));
    return MailDetail{id,           mail.from, mail.to,   mail.cc,         mail.reply_to,
                      mail.subject, mail.date, mail.body, mail.message_id, mail.references};
  }
  throw NoSuchMail("no message with id " + id + " in " + mailbox_);
}

}  // namespace voicedesk::tools::mail
