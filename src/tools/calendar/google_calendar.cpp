#include "tools/calendar/google_calendar.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>

#include "tools/calendar/scope.hpp"
#include "tools/net/curl.hpp"

namespace voicedesk::tools::calendar {
namespace {

using nlohmann::json;
using namespace std::chrono;
namespace fs = std::filesystem;

constexpr std::size_t kMaxTokenFileBytes = 64u << 10;

json read_token_file(const fs::path& path) {
  std::ifstream in(path);
  if (!in) throw CalendarError("Google token file " + path.string() + ": cannot be read");
  std::string text(kMaxTokenFileBytes + 1, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<std::size_t>(in.gcount()));
  json token = json::parse(text, nullptr, false);
  if (text.size() > kMaxTokenFileBytes || !token.is_object()) {
    throw CalendarError("Google token file " + path.string() + ": not a token JSON object");
  }
  return token;
}

// Replaces the file with a new 0600 one (created so, never wider for a moment).
void write_token_file(const fs::path& path, const json& token) {
  const std::string temp = path.string() + ".tmp";
  const std::string text = token.dump(2) + "\n";
  const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  const bool written =
      fd >= 0 && ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  const bool closed = fd >= 0 && ::close(fd) == 0;
  if (!written || !closed || ::rename(temp.c_str(), path.c_str()) != 0) {
    ::unlink(temp.c_str());
    throw CalendarError("Google token file " + path.string() +
                        ": cannot write the refreshed token");
  }
}

// "2025-06-10T09:00:00Z" or with fractions, as google-auth writes expiry (UTC).
std::optional<sys_seconds> parse_utc(const std::string& text) {
  int y, mo, d, h, mi, s;
  if (std::sscanf(text.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d", &y, &mo, &d, &h, &mi, &s) != 6) {
    return std::nullopt;
  }
  return sys_days{year{y} / mo / d} + hours{h} + minutes{mi} + seconds{s};
}

std::string format_utc(sys_seconds instant) {
  return TimeZone::utc().format(instant);
}

// An RFC 3339 date-time with offset, as the API answers.
std::optional<Seconds> parse_rfc3339(const std::string& text) {
  const auto local = parse_utc(text);
  if (!local || text.size() < 20) return std::nullopt;
  if (text.back() == 'Z') return *local;
  const std::string zone = text.substr(text.size() - 6);
  int h, m;
  if ((zone[0] != '+' && zone[0] != '-') || std::sscanf(zone.c_str() + 1, "%2d:%2d", &h, &m) != 2) {
    return std::nullopt;
  }
  const seconds offset = hours{h} + minutes{m};
  return zone[0] == '+' ? *local - offset : *local + offset;
}

std::string form_encode(const std::vector<std::pair<std::string, std::string>>& fields) {
  std::string body;
  for (const auto& [name, value] : fields) {
    if (!body.empty()) body += '&';
    body += net::url_encode(name) + "=" + net::url_encode(value);
  }
  return body;
}

std::string string_field(const json& object, const char* name) {
  const auto found = object.find(name);
  return found != object.end() && found->is_string() ? found->get<std::string>() : "";
}

}  // namespace

GoogleCalendarClient::GoogleCalendarClient(GoogleCalendarSettings settings, Clock now)
    : settings_(std::move(settings)), now_(std::move(now)) {
  while (settings_.api_url.ends_with('/')) settings_.api_url.pop_back();
}

std::string GoogleCalendarClient::access_token(bool force_refresh) {
  const std::lock_guard lock(token_mutex_);
  json token = read_token_file(settings_.token_file);
  const sys_seconds now = time_point_cast<seconds>(now_());
  const auto expiry = parse_utc(string_field(token, "expiry"));
  const std::string current = string_field(token, "token");
  if (!force_refresh && !current.empty() && (!expiry || *expiry > now + minutes{1})) {
    return current;
  }
  const std::string token_uri = string_field(token, "token_uri").empty()
                                    ? "https://oauth2.googleapis.com/token"
                                    : string_field(token, "token_uri");
  if (string_field(token, "refresh_token").empty()) {
    throw CalendarError("Google token file has no refresh_token and its token has expired");
  }
  net::HttpRequest request;
  request.method = "POST";
  request.url = token_uri;
  request.headers = {"Content-Type: application/x-www-form-urlencoded"};
  request.body = form_encode({{"grant_type", "refresh_token"},
                              {"refresh_token", string_field(token, "refresh_token")},
                              {"client_id", string_field(token, "client_id")},
                              {"client_secret", string_field(token, "client_secret")}});
  request.timeout = settings_.timeout;
  request.max_response_bytes = 64u << 10;
  net::HttpResponse response;
  try {
    response = net::http_request(request);
  } catch (const net::TransferError& e) {
    throw CalendarError(std::string("Google token refresh: ") + e.what());
  }
  const json answer = json::parse(response.body, nullptr, false);
  if (response.status != 200 || !answer.is_object() ||
      string_field(answer, "access_token").empty()) {
    throw CalendarError("Google token refresh: HTTP " + std::to_string(response.status) +
                        (answer.is_object() ? " " + string_field(answer, "error") : ""));
  }
  token["token"] = string_field(answer, "access_token");
  const long long lifetime = answer.value("expires_in", 3600LL);
  token["expiry"] = format_utc(now + seconds{lifetime}).substr(0, 19) + "Z";
  write_token_file(settings_.token_file, token);
  return token["token"];
}

json GoogleCalendarClient::call(const std::string& method, const std::string& url,
                                const std::string& body) {
  for (bool retried = false;; retried = true) {
    net::HttpRequest request;
    request.method = method;
    request.url = url;
    request.headers = {"Authorization: Bearer " + access_token(retried),
                       "Content-Type: application/json"};
    request.body = body;
    request.timeout = settings_.timeout;
    request.max_response_bytes = 8u << 20;
    net::HttpResponse response;
    try {
      response = net::http_request(request);
    } catch (const net::TransferError& e) {
      throw CalendarError(std::string("Google Calendar ") + e.what());
    }
    if (response.status == 401 && !retried) continue;  // revoked early: refresh once
    json answer = json::parse(response.body, nullptr, false);
    if (response.status != 200 || !answer.is_object()) {
      std::string message =
          "Google Calendar " + method + ": HTTP " + std::to_string(response.status);
      if (answer.is_object() && answer.contains("error") && answer["error"].is_object()) {
        message += " " + string_field(answer["error"], "message");
      }
      throw CalendarError(message);
    }
    return answer;
  }
}

json GoogleCalendarClient::create(const NewEvent& event, const TimeZone& zone) {
  const Seconds start = zone.to_utc(event.date, event.time_of_day);
  json attendees = json::array();
  for (const Attendee& attendee : event.attendees) {
    json entry = {{"email", attendee.email}};
    if (!attendee.name.empty()) entry["displayName"] = attendee.name;
    attendees.push_back(std::move(entry));
  }
  const json body = {
      {"summary", event.title},
      {"description", event.description},
      {"iCalUID", event.uid},
      {"start", {{"dateTime", zone.format(start)}, {"timeZone", zone.name()}}},
      {"end", {{"dateTime", zone.format(start + event.duration)}, {"timeZone", zone.name()}}},
      {"attendees", std::move(attendees)}};
  return call(
      "POST",
      settings_.api_url + "/calendars/" + net::url_encode(settings_.calendar_id) + "/events",
      body.dump());
}

std::vector<Occurrence> GoogleCalendarClient::list(const Window& window, const TimeZone& zone) {
  const std::string url = settings_.api_url + "/calendars/" +
                          net::url_encode(settings_.calendar_id) +
                          "/events?singleEvents=true&orderBy=startTime&maxResults=500&timeMin=" +
                          net::url_encode(format_utc(window.start)) +
                          "&timeMax=" + net::url_encode(format_utc(window.end));
  const json answer = call("GET", url, "");
  std::vector<Occurrence> occurrences;
  if (!answer.contains("items") || !answer["items"].is_array()) return occurrences;
  for (const json& item : answer["items"]) {
    if (!item.is_object() || string_field(item, "status") == "cancelled") continue;
    const json start = item.value("start", json::object());
    const json end = item.value("end", json::object());
    Occurrence occurrence;
    if (const auto start_date = parse_date(string_field(start, "date"))) {
      const auto end_date = parse_date(string_field(end, "date"));
      occurrence.all_day = true;
      occurrence.start = zone.start_of_day(*start_date);
      occurrence.end = zone.start_of_day(end_date ? *end_date : *start_date);
      occurrence.start_text = format_date(*start_date);
      occurrence.end_text = end_date ? format_date(*end_date) : occurrence.start_text;
    } else {
      const auto start_time = parse_rfc3339(string_field(start, "dateTime"));
      const auto end_time = parse_rfc3339(string_field(end, "dateTime"));
      if (!start_time) continue;
      occurrence.start = *start_time;
      occurrence.end = end_time ? *end_time : *start_time;
      occurrence.start_text = zone.format(occurrence.start);
      occurrence.end_text = zone.format(occurrence.end);
    }
    occurrence.uid = string_field(item, "iCalUID");
    occurrence.title = string_field(item, "summary");
    occurrence.description = string_field(item, "description");
    if (item.contains("attendees") && item["attendees"].is_array()) {
      for (const json& attendee : item["attendees"]) {
        if (attendee.is_object()) occurrence.attendees.push_back(string_field(attendee, "email"));
      }
    }
    occurrences.push_back(std::move(occurrence));
  }
  return occurrences;
}

}  // namespace voicedesk::tools::calendar
