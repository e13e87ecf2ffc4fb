#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "tools/calendar/ical.hpp"

namespace voicedesk::tools::calendar {

struct CalDavSettings {
  std::string collection_url;  // the calendar collection, e.g. https://host/dav/user/calendar/
  std::string username;        // HTTP Basic auth when not empty
  std::string password;
  std::chrono::milliseconds timeout{15000};
};

// A CalDAV (RFC 4791) client for one calendar collection. Methods throw
// CalendarError saying what failed (never the credentials).
class CalDavClient {
 public:
  explicit CalDavClient(CalDavSettings settings);

  // PUTs a new calendar object resource "<collection>/<uid>.ics" (refused by
  // the server when it exists: If-None-Match: *). Returns its URL.
  std::string create(const std::string& uid, const std::string& ics) const;

  // The calendar-data of every event overlapping [start, end), by a
  // calendar-query REPORT with a time-range filter.
  std::vector<std::string> query(Seconds start, Seconds end) const;

  // PROPFIND Depth 0: throws unless the collection exists and is a calendar.
  void check_collection() const;

 private:
  CalDavSettings settings_;
};

// The text of every element with this local name (any namespace prefix) in
// an XML document such as a WebDAV multistatus, entities and CDATA decoded;
// empty elements give "". Not a validating parser: enough for the answers of
// CalDAV servers, which put calendar data in text or CDATA.
std::vector<std::string> xml_element_texts(std::string_view xml, std::string_view local_name);

}  // namespace voicedesk::tools::calendar
