#include "tools/mail/gmail_client.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <ctime>
#include <fstream>

#include "tools/mail/mime_codec.hpp"
#include "tools/mail/mime_message.hpp"
#include "tools/net/curl.hpp"

namespace voicedesk::tools::mail {
namespace {

using nlohmann::json;
using SystemClock = std::chrono::system_clock;

constexpr std::size_t kMaxTokenFileBytes = 64u << 10;
constexpr std::size_t kMaxPartDepth = 10;
constexpr auto kRefreshMargin = std::chrono::seconds(60);

// google-auth writes expiry as "2024-05-01T12:34:56.789012Z" (UTC).
std::optional<SystemClock::time_point> parse_expiry(const std::string& text) {
  std::tm tm{};
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
  if (std::sscanf(text.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d", &year, &month, &day, &hour, &minute,
                  &second) != 6) {
    return std::nullopt;
  }
  tm.tm_year = year - 1900;
  tm.tm_mon = month - 1;
  tm.tm_mday = day;
  tm.tm_hour = hour;
  tm.tm_min = minute;
  tm.tm_sec = second;
  return SystemClock::from_time_t(::timegm(&tm));
}

std::string format_expiry(SystemClock::time_point when) {
  const std::time_t seconds = SystemClock::to_time_t(when);
  std::tm tm{};
  ::gmtime_r(&seconds, &tm);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return text;
}

json read_token_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw MailError("Gmail token file " + path.string() + " cannot be read");
  std::string text;
  text.resize(kMaxTokenFileBytes + 1);
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<std::size_t>(in.gcount()));
  if (text.size() > kMaxTokenFileBytes) {
    throw MailError("Gmail token file " + path.string() + " is too large to be a token");
  }
  json token = json::parse(text, nullptr, false);
  if (!token.is_object()) {
    throw MailError("Gmail token file " + path.string() + " is not a JSON object");
  }
  return token;
}

// Replaces the token file atomically with a 0600 file.
void write_token_file(const std::filesystem::path& path, const json& token) {
  const std::string temporary = path.string() + ".tmp";
  const int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) throw MailError("cannot write the Gmail token file " + path.string());
  ::fchmod(fd, 0600);
  const std::string text = token.dump(2) + "\n";
  bool written = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  written = ::fsync(fd) == 0 && written;
  ::close(fd);
  if (!written || std::rename(temporary.c_str(), path.c_str()) != 0) {
    ::unlink(temporary.c_str());
    throw MailError("cannot write the Gmail token file " + path.string());
  }
}

std::string string_field(const json& object, const char* name) {
  const auto it = object.find(name);
  return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// The API's error message ({"error": {"message": ...}}), or the status.
std::string api_error(const net::HttpResponse& response) {
  const json body = json::parse(response.body, nullptr, false);
  std::string message;
  if (body.is_object() && body.contains("error")) {
    const json& error = body["error"];
    message = error.is_object() ? string_field(error, "message") : string_field(body, "error");
    if (message.empty() && error.is_object()) message = string_field(error, "status");
    if (message.empty()) message = string_field(body, "error_description");
  }
  return "HTTP " + std::to_string(response.status) +
         (message.empty() ? "" : ": " + sanitize_utf8(message.substr(0, 300)));
}

MimeHeaders headers_of(const json& part) {
  MimeHeaders headers;
  const auto it = part.find("headers");
  if (it == part.end() || !it->is_array()) return headers;
  for (const json& header : *it) {
    if (!header.is_object()) continue;
    headers.fields.push_back({string_field(header, "name"), string_field(header, "value")});
  }
  return headers;
}

// A Gmail payload (format=full) as a MIME tree: bodies arrive base64url
// encoded with the transfer encoding already undone.
MimePart part_from_payload(const json& payload, std::size_t depth) {
  MimePart part;
  if (!payload.is_object()) return part;
  part.headers = headers_of(payload);
  if (auto type = part.headers.raw("Content-Type")) {
    part.content_type = parse_content_type(*type);
  } else if (const std::string mime_type = string_field(payload, "mimeType"); !mime_type.empty()) {
    part.content_type = parse_content_type(mime_type);
  }
  const auto disposition = part.headers.raw("Content-Disposition").value_or("");
  part.attachment = !string_field(payload, "filename").empty() ||
                    parse_content_type(disposition).media_type == "attachment";
  const auto parts = payload.find("parts");
  if (parts != payload.end() && parts->is_array() && !parts->empty() && depth < kMaxPartDepth) {
    for (const json& child : *parts) part.children.push_back(part_from_payload(child, depth + 1));
    return part;
  }
  const auto body = payload.find("body");
  if (body != payload.end() && body->is_object()) {
    part.body = decode_base64(string_field(*body, "data"), true);
  }
  return part;
}

void check_message_id(const std::string& id) {
  const bool valid =
      !id.empty() && id.size() <= 64 && std::all_of(id.begin(), id.end(), [](unsigned char c) {
        return std::isalnum(c) || c == '-' || c == '_';
      });
  if (!valid) {
    throw NoSuchMail("no message with id \"" + sanitize_utf8(id.substr(0, 80)) +
                     "\" (Gmail ids are the ones list_inbox returns)");
  }
}

}  // namespace

GmailReader::GmailReader(GmailSettings settings, std::shared_ptr<util::TokenBucket> limiter)
    : settings_(std::move(settings)), limiter_(std::move(limiter)) {
  while (!settings_.api_url.empty() && settings_.api_url.back() == '/')
    settings_.api_url.pop_back();
}

void GmailReader::refresh(json& token) {
  const std::string refresh_token = string_field(token, "refresh_token");
  const std::string token_uri = string_field(token, "token_uri").empty()
                                    ? std::string("https://oauth2.googleapis.com/token")
                                    : string_field(token, "token_uri");
  if (refresh_token.empty()) {
    throw MailError("the Gmail access token has expired and " + settings_.token_file.string() +
                    " holds no refresh_token; authorize again");
  }
  net::HttpRequest request;
  request.method = "POST";
  request.url = token_uri;
  request.headers = {"Content-Type: application/x-www-form-urlencoded", "Accept: application/json"};
  request.body = "grant_type=refresh_token&refresh_token=" + net::url_encode(refresh_token) +
                 "&client_id=" + net::url_encode(string_field(token, "client_id")) +
                 "&client_secret=" + net::url_encode(string_field(token, "client_secret"));
  request.timeout = settings_.timeout;
  request.max_response_bytes = kMaxTokenFileBytes;
  request.max_redirects = 0;
  net::HttpResponse response;
  try {
    response = net::http_request(request);
  } catch (const net::TransferError& e) {
    throw MailError(std::string("Gmail token refresh failed: ") + e.what());
  }
  const json answer = json::parse(response.body, nullptr, false);
  const std::string access = answer.is_object() ? string_field(answer, "access_token") : "";
  if (response.status != 200 || access.empty()) {
    throw MailError("Gmail token refresh was refused (" + api_error(response) +
                    "); authorize again");
  }
  token["token"] = access;
  token.erase("access_token");
  const auto expires_in = answer.find("expires_in");
  const long long seconds =
      expires_in != answer.end() && expires_in->is_number() ? expires_in->get<long long>() : 3600;
  token["expiry"] = format_expiry(SystemClock::now() + std::chrono::seconds(seconds));
  if (const std::string rotated = string_field(answer, "refresh_token"); !rotated.empty()) {
    token["refresh_token"] = rotated;
  }
  write_token_file(settings_.token_file, token);
}

std::string GmailReader::access_token(bool force_refresh) {
  std::lock_guard lock(token_mutex_);
  json token = read_token_file(settings_.token_file);
  std::string access = string_field(token, "token");
  if (access.empty()) access = string_field(token, "access_token");  // oauth2client's name
  const auto expiry = parse_expiry(string_field(token, "expiry"));
  const bool expired = expiry && *expiry - kRefreshMargin <= SystemClock::now();
  if (force_refresh || access.empty() || expired) {
    refresh(token);
    access = string_field(token, "token");
  }
  return access;
}

json GmailReader::get(const std::string& path) {
  net::HttpRequest request;
  request.url = settings_.api_url + path;
  request.timeout = settings_.timeout;
  request.max_response_bytes = settings_.max_response_bytes;
  request.max_redirects = 0;
  for (int attempt = 0; attempt < 2; ++attempt) {
    request.headers = {"Authorization: Bearer " + access_token(attempt > 0),
                       "Accept: application/json"};
    net::HttpResponse response;
    try {
      response = net::http_request(request);
    } catch (const net::TransferError& e) {
      throw MailError(std::string("Gmail API: ") + e.what());
    }
    if (response.status == 401 && attempt == 0) continue;  // revoked or expired early: refresh
    if (response.status == 404) throw NoSuchMail("Gmail has no such message");
    if (response.status != 200)
      throw MailError("Gmail API refused the request: " + api_error(response));
    json body = json::parse(response.body, nullptr, false);
    if (!body.is_object()) throw MailError("Gmail API answered something other than JSON");
    return body;
  }
  throw MailError("Gmail API refused the access token even after a refresh; authorize again");
}

std::vector<MailSummary> GmailReader::list_newest(int limit) {
  if (limiter_) limiter_->acquire();
  const json list = get("/gmail/v1/users/me/messages?labelIds=INBOX&maxResults=" +
                        std::to_string(std::max(limit, 1)));
  std::vector<MailSummary> summaries;
  const auto messages = list.find("messages");
  if (messages == list.end() || !messages->is_array()) return summaries;
  for (const json& entry : *messages) {
    if (static_cast<int>(summaries.size()) >= limit) break;
    const std::string id = entry.is_object() ? string_field(entry, "id") : "";
    check_message_id(id);
    const json message = get("/gmail/v1/users/me/messages/" + id +
                             "?format=metadata&metadataHeaders=From&metadataHeaders=Subject"
                             "&metadataHeaders=Date");
    const MimeHeaders headers = headers_of(message.value("payload", json::object()));
    summaries.push_back(
        {id, headers.text("From"), headers.text("Subject"), headers.text("Date"),
         make_snippet(html_to_text(string_field(message, "snippet")), settings_.snippet_chars)});
  }
  return summaries;
}

MailDetail GmailReader::read(const std::string& id) {
  check_message_id(id);
  if (limiter_) limiter_->acquire();
  const json message = get("/gmail/v1/users/me/messages/" + id + "?format=full");
  const MailMessage mail =
      mail_from_tree(part_from_payload(message.value("payload", json::object()), 0));
  return MailDetail{id,           mail.from, mail.to,   mail.cc,         mail.reply_to,
                    mail.subject, mail.date, mail.body, mail.message_id, mail.references};
}

}  // namespace voicedesk::tools::mail
