#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "tools/calendar/caldav.hpp"
#include "tools/calendar/google_calendar.hpp"
#include "tools/calendar/ical.hpp"
#include "tools/calendar/local_calendar.hpp"
#include "tools/tool.hpp"
#include "util/config.hpp"

namespace voicedesk::tools::calendar {

// The calendar tools, as AI-RTC-Agent named them:
//  - create_calendar_event(title, date, time, duration_minutes, description,
//    attendees[, timezone]) -> {provider: "google"|"caldav"|"ics_fallback", ics,
//    google_event, fallback_reason, event}
//  - load_calendar_events(scope, ics_content, include_google) ->
//    {events: [{title,start,end,description,attendees,source,all_day,uid}],
//    scope: {start,end,timezone}, warnings}
// Events go to Google Calendar when GOOGLE_CALENDAR_TOKEN_FILE is set, else to
// the CalDAV collection when VOICEDESK_CALDAV_URL is set, else (or when that
// fails) to the local .ics file. Times are wall-clock times in
// VOICEDESK_TIMEZONE (default: the system's zone).
class CalendarService {
 public:
  using Clock = std::function<std::chrono::system_clock::time_point()>;

  // Reads VOICEDESK_TIMEZONE, VOICEDESK_CALENDAR_FILE, VOICEDESK_CALENDAR_ORGANIZER
  // VOICEDESK_CALDAV_URL/_USERNAME/_PASSWORD, GOOGLE_CALENDAR_TOKEN_FILE and
  // VOICEDESK_GOOGLE_CALENDAR_API_URL. Contacts nothing yet.
  explicit CalendarService(
      const util::Config& config, Clock now = [] { return std::chrono::system_clock::now(); });

  // The tools; they refer to this service, which must outlive them.
  std::vector<Tool> tools();

  // The local file used: VOICEDESK_CALENDAR_FILE, else
  // $XDG_DATA_HOME/voicedesk/calendar.ics, else ~/.local/share/voicedesk/calendar.ics.
  const std::filesystem::path& local_file() const { return local_.path(); }

 private:
  ToolResult create_event(const nlohmann::json& arguments) const;
  ToolResult load_events(const nlohmann::json& arguments) const;
  const TimeZone& zone() const;

  Clock now_;
  std::optional<TimeZone> zone_;
  std::string zone_error_;  // why VOICEDESK_TIMEZONE is unusable, when it is
  std::string organizer_;
  LocalCalendarFile local_;
  std::unique_ptr<GoogleCalendarClient> google_;  // holds a mutex: not movable
  std::optional<CalDavClient> caldav_;
};

}  // namespace voicedesk::tools::calendar
