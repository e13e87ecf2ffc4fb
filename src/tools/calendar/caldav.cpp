#include "tools/calendar/caldav.hpp"

#include <cstdio>

#include "tools/net/curl.hpp"

namespace voicedesk::tools::calendar {
namespace {

constexpr std::size_t kMaxQueryAnswerBytes = 16u << 20;

std::string utc_stamp(Seconds instant) {
  const time_t at = instant.time_since_epoch().count();
  std::tm parts{};
  gmtime_r(&at, &parts);
  char text[20];
  std::strftime(text, sizeof text, "%Y%m%dT%H%M%SZ", &parts);
  return text;
}

void append_utf8(std::string& out, unsigned long code) {
  if (code < 0x80) {
    out += static_cast<char>(code);
  } else if (code < 0x800) {
    out += static_cast<char>(0xC0 | (code >> 6));
    out += static_cast<char>(0x80 | (code & 0x3F));
  } else if (code < 0x10000) {
    out += static_cast<char>(0xE0 | (code >> 12));
    out += static_cast<char>(0x80 | ((code >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (code & 0x3F));
  } else if (code < 0x110000) {
    out += static_cast<char>(0xF0 | (code >> 18));
    out += static_cast<char>(0x80 | ((code >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((code >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (code & 0x3F));
  }
}

// Appends text with its character and entity references decoded; an unknown
// reference stays as it is.
void append_decoded(std::string& out, std::string_view text) {
  for (std::size_t i = 0; i < text.size(); ++i) {
    const std::size_t semicolon = text[i] == '&' ? text.find(';', i) : std::string_view::npos;
    if (semicolon == std::string_view::npos || semicolon - i > 10) {
      out += text[i];
      continue;
    }
    const std::string_view name = text.substr(i + 1, semicolon - i - 1);
    if (name == "lt") {
      out += '<';
    } else if (name == "gt") {
      out += '>';
    } else if (name == "amp") {
      out += '&';
    } else if (name == "quot") {
      out += '"';
    } else if (name == "apos") {
      out += '\'';
    } else if (name.size() > 1 && name[0] == '#') {
      const bool hex = name[1] == 'x' || name[1] == 'X';
      const std::string digits(name.substr(hex ? 2 : 1));
      char* end = nullptr;
      const unsigned long code = std::strtoul(digits.c_str(), &end, hex ? 16 : 10);
      if (digits.empty() || *end != '\0') {
        out += text[i];
        continue;
      }
      append_utf8(out, code);
    } else {
      out += text[i];
      continue;
    }
    i = semicolon;
  }
}

// Element content: CDATA sections verbatim, the rest with references decoded.
std::string decode_content(std::string_view content) {
  std::string out;
  while (!content.empty()) {
    const std::size_t cdata = content.find("<![CDATA[");
    append_decoded(out, content.substr(0, cdata));
    if (cdata == std::string_view::npos) break;
    const std::size_t cdata_end = content.find("]]>", cdata + 9);
    out += content.substr(cdata + 9, cdata_end - (cdata + 9));
    if (cdata_end == std::string_view::npos) break;
    content.remove_prefix(cdata_end + 3);
  }
  return out;
}

// The end of a start tag beginning at `from` (after its '>'), quotes respected.
std::size_t end_of_tag(std::string_view xml, std::size_t from) {
  char quote = 0;
  for (std::size_t i = from; i < xml.size(); ++i) {
    if (quote != 0) {
      if (xml[i] == quote) quote = 0;
    } else if (xml[i] == '"' || xml[i] == '\'') {
      quote = xml[i];
    } else if (xml[i] == '>') {
      return i + 1;
    }
  }
  return std::string_view::npos;
}

bool name_char(char c) {
  return c != ' ' && c != '\t' && c != '\r' && c != '\n' && c != '>' && c != '/';
}

std::string describe_status(long status) {
  switch (status) {
    case 401:
      return "HTTP 401: the server refused the user name or password";
    case 403:
      return "HTTP 403: access denied";
    case 404:
      return "HTTP 404: the calendar collection does not exist";
    default:
      return "HTTP " + std::to_string(status);
  }
}

}  // namespace

std::vector<std::string> xml_element_texts(std::string_view xml, std::string_view local_name) {
  std::vector<std::string> texts;
  std::size_t at = 0;
  while ((at = xml.find('<', at)) != std::string_view::npos) {
    const std::string_view rest = xml.substr(at);
    const auto skip_past = [&](std::string_view terminator) {
      const std::size_t end = xml.find(terminator, at);
      at = end == std::string_view::npos ? xml.size() : end + terminator.size();
    };
    if (rest.starts_with("<!--")) {
      skip_past("-->");
      continue;
    }
    if (rest.starts_with("<![CDATA[")) {
      skip_past("]]>");
      continue;
    }
    if (rest.starts_with("<?") || rest.starts_with("<!") || rest.starts_with("</")) {
      skip_past(">");
      continue;
    }
    std::size_t name_end = at + 1;
    while (name_end < xml.size() && name_char(xml[name_end])) ++name_end;
    const std::string_view name = xml.substr(at + 1, name_end - at - 1);
    const std::size_t colon = name.rfind(':');
    const std::string_view local = colon == std::string_view::npos ? name : name.substr(colon + 1);
    const std::size_t content_start = end_of_tag(xml, name_end);
    if (content_start == std::string_view::npos) break;
    at = content_start;
    if (local != local_name) continue;
    if (xml[content_start - 2] == '/') {  // <C:calendar-data/>
      texts.emplace_back();
      continue;
    }
    // The content ends at the matching end tag; the element does not nest in itself.
    const std::string close = "</" + std::string(name);
    std::size_t content_end = content_start;
    while ((content_end = xml.find(close, content_end)) != std::string_view::npos) {
      const std::size_t after = content_end + close.size();
      if (after < xml.size() && !name_char(xml[after])) break;
      content_end = after;
    }
    if (content_end == std::string_view::npos) break;
    texts.push_back(decode_content(xml.substr(content_start, content_end - content_start)));
    at = content_end;
  }
  return texts;
}

CalDavClient::CalDavClient(CalDavSettings settings) : settings_(std::move(settings)) {
  if (!settings_.collection_url.ends_with('/')) settings_.collection_url += '/';
}

namespace {

net::HttpResponse send(const CalDavSettings& settings, std::string method, std::string url,
                       std::vector<std::string> headers, std::string body,
                       std::size_t max_bytes = 4u << 20) {
  net::HttpRequest request;
  request.method = std::move(method);
  request.url = std::move(url);
  request.headers = std::move(headers);
  request.body = std::move(body);
  request.username = settings.username;
  request.password = settings.password;
  request.timeout = settings.timeout;
  request.max_response_bytes = max_bytes;
  try {
    return net::http_request(request);
  } catch (const net::TransferError& e) {
    throw CalendarError(std::string("CalDAV ") + e.what());
  }
}

}  // namespace

std::string CalDavClient::create(const std::string& uid, const std::string& ics) const {
  const std::string url = settings_.collection_url + net::url_encode(uid) + ".ics";
  const net::HttpResponse response =
      send(settings_, "PUT", url,
           {"Content-Type: text/calendar; charset=utf-8", "If-None-Match: *"}, ics);
  if (response.status == 201 || response.status == 204 || response.status == 200) return url;
  if (response.status == 412) {
    throw CalendarError("CalDAV PUT " + url + ": an event with this UID already exists");
  }
  if (response.status != 401) check_collection();  // a clearer reason when the collection is wrong
  throw CalendarError("CalDAV PUT " + url + ": " + describe_status(response.status));
}

std::vector<std::string> CalDavClient::query(Seconds start, Seconds end) const {
  const std::string body =
      "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n"
      "<C:calendar-query xmlns:D=\"DAV:\" xmlns:C=\"urn:ietf:params:xml:ns:caldav\">\n"
      "  <D:prop><D:getetag/><C:calendar-data/></D:prop>\n"
      "  <C:filter><C:comp-filter name=\"VCALENDAR\"><C:comp-filter name=\"VEVENT\">\n"
      "    <C:time-range start=\"" +
      utc_stamp(start) + "\" end=\"" + utc_stamp(end) +
      "\"/>\n"
      "  </C:comp-filter></C:comp-filter></C:filter>\n"
      "</C:calendar-query>\n";
  const net::HttpResponse response = send(
      settings_, "REPORT", settings_.collection_url,
      {"Depth: 1", "Content-Type: application/xml; charset=utf-8"}, body, kMaxQueryAnswerBytes);
  if (response.status != 207) {
    throw CalendarError("CalDAV REPORT " + settings_.collection_url + ": " +
                        describe_status(response.status));
  }
  return xml_element_texts(response.body, "calendar-data");
}

void CalDavClient::check_collection() const {
  const std::string& url = settings_.collection_url;
  const net::HttpResponse response =
      send(settings_, "PROPFIND", url, {"Depth: 0", "Content-Type: application/xml; charset=utf-8"},
           "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n"
           "<D:propfind xmlns:D=\"DAV:\"><D:prop><D:resourcetype/></D:prop></D:propfind>\n");
  if (response.status != 207) {
    throw CalendarError("CalDAV PROPFIND " + url + ": " + describe_status(response.status));
  }
  if (xml_element_texts(response.body, "calendar").empty()) {
    throw CalendarError("CalDAV " + url + " is not a calendar collection");
  }
}

}  // namespace voicedesk::tools::calendar
