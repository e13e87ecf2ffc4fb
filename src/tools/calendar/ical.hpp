#pragma once

#include <libical/ical.h>

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace voicedesk::tools::calendar {

// iCalendar text we cannot use, or a calendar store or service that failed.
// what() names the cause without credentials.
class CalendarError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct IcalComponentDeleter {
  void operator()(icalcomponent* component) const { icalcomponent_free(component); }
};
// An icalcomponent tree we own (a VCALENDAR with its children, or one component).
using IcalComponent = std::unique_ptr<icalcomponent, IcalComponentDeleter>;

// Parses iCalendar text; throws CalendarError naming `what` when it is not iCalendar.
IcalComponent parse_ical(std::string_view text, std::string_view what);
// The component's iCalendar text (CRLF line ends, folded).
std::string to_ical_string(icalcomponent* component);

using Seconds = std::chrono::sys_seconds;

// A time zone by its IANA name ("Europe/Berlin", "UTC"), resolved through
// libical's built-in zones (the system's zoneinfo), which libical keeps for
// the life of the process.
class TimeZone {
 public:
  // nullopt when libical does not know the name.
  static std::optional<TimeZone> find(const std::string& name);
  static TimeZone utc();
  // TZ from the environment when set, else the zone /etc/localtime links to, else UTC.
  static TimeZone system_default();

  const std::string& name() const { return name_; }
  icaltimezone* get() const { return zone_; }
  bool is_utc() const { return zone_ == icaltimezone_get_utc_timezone(); }

  // The instant a wall-clock time in this zone stands for.
  Seconds to_utc(std::chrono::year_month_day date, std::chrono::minutes time_of_day) const;
  Seconds start_of_day(std::chrono::year_month_day date) const { return to_utc(date, {}); }
  // The date in this zone at an instant.
  std::chrono::year_month_day date_at(Seconds instant) const;
  // "2025-06-10T14:00:00+02:00".
  std::string format(Seconds instant) const;

 private:
  TimeZone(std::string name, icaltimezone* zone) : name_(std::move(name)), zone_(zone) {}
  std::string name_;
  icaltimezone* zone_;
};

std::string format_date(std::chrono::year_month_day date);  // "2025-06-10"

struct Attendee {
  std::string email;
  std::string name;  // empty when unknown
};

// An event to create: a wall-clock start in `zone` and a duration.
struct NewEvent {
  std::string uid;
  std::string title;
  std::string description;
  std::vector<Attendee> attendees;
  std::string organizer_email;  // empty: no ORGANIZER
  std::chrono::year_month_day date;
  std::chrono::minutes time_of_day{};
  std::chrono::minutes duration{60};
};

// A new UID: 128 random bits in hex, "@voicedesk".
std::string generate_uid();

// A VCALENDAR with the VEVENT and, unless the zone is UTC (then times are in
// UTC), the zone's VTIMEZONE; DTSTART/DTEND carry TZID=<IANA name>.
IcalComponent build_event_calendar(const NewEvent& event, const TimeZone& zone, Seconds stamp);

// One occurrence of an event, as shown to the caller.
struct Occurrence {
  std::string uid;
  std::string title;
  std::string description;
  std::vector<std::string> attendees;  // e-mail addresses
  Seconds start;
  Seconds end;
  bool all_day = false;
  std::string start_text;  // ISO 8601 with offset, or a date for all-day events
  std::string end_text;    // all-day events: the day after the last (exclusive, as iCalendar)
};

struct Window {
  Seconds start;
  Seconds end;  // exclusive
};

// The occurrences of the VEVENTs in `calendar` (a VCALENDAR, several, or a
// bare VEVENT) that overlap the window, recurring events (RRULE, EXDATE,
// overridden instances) expanded. Floating times and dates are read in `zone`,
// which also formats the texts; a TZID neither in the text nor known to
// libical is read as floating. At most max_count, earliest first.
std::vector<Occurrence> occurrences_in(icalcomponent* calendar, const Window& window,
                                       const TimeZone& zone, std::size_t max_count);

}  // namespace voicedesk::tools::calendar
