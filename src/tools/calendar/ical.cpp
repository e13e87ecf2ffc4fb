#include "tools/calendar/ical.hpp"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <set>

#include "util/text.hpp"

namespace voicedesk::tools::calendar {
namespace {

using namespace std::chrono;

// Bounds the work one recurring event may cost (a daily event over 100 years
// is about 36,500 steps).
constexpr int kMaxRecurrenceSteps = 50000;

icaltimezone* utc_zone() {
  return icaltimezone_get_utc_timezone();
}

year_month_day date_of(const icaltimetype& time) {
  return year{time.year} / month{static_cast<unsigned>(time.month)} /
         day{static_cast<unsigned>(time.day)};
}

icaltimetype wall_clock(year_month_day date, minutes time_of_day) {
  icaltimetype time = icaltime_null_time();
  time.year = static_cast<int>(date.year());
  time.month = static_cast<int>(static_cast<unsigned>(date.month()));
  time.day = static_cast<int>(static_cast<unsigned>(date.day()));
  time.hour = static_cast<int>(time_of_day.count() / 60);
  time.minute = static_cast<int>(time_of_day.count() % 60);
  return time;
}

// Zone names become paths under the zoneinfo directory inside libical: only
// plain names such as "America/Argentina/Buenos_Aires" or "Etc/GMT+5" pass.
bool plausible_zone_name(const std::string& name) {
  if (name.empty() || name.size() > 64 || name.front() == '/' ||
      name.find("..") != std::string::npos) {
    return false;
  }
  return std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '/' || c == '_' || c == '-' ||
           c == '+';
  });
}

// The instant of a parsed time: its own zone, else UTC when marked so, else
// (floating times, dates) the fallback zone.
Seconds instant_of(const icaltimetype& time, const TimeZone& fallback) {
  const icaltimezone* zone = time.zone != nullptr ? time.zone : fallback.get();
  return Seconds{seconds{icaltime_as_timet_with_zone(time, zone)}};
}

std::string strip_mailto(std::string address) {
  constexpr std::string_view kScheme = "mailto:";
  if (util::istarts_with(address, kScheme)) address.erase(0, kScheme.size());
  return address;
}

void collect_events(icalcomponent* component, std::vector<icalcomponent*>& events) {
  if (icalcomponent_isa(component) == ICAL_VEVENT_COMPONENT) {
    events.push_back(component);
    return;
  }
  for (icalcomponent* child = icalcomponent_get_first_component(component, ICAL_ANY_COMPONENT);
       child != nullptr; child = icalcomponent_get_next_component(component, ICAL_ANY_COMPONENT)) {
    const icalcomponent_kind kind = icalcomponent_isa(child);
    if (kind == ICAL_VEVENT_COMPONENT || kind == ICAL_VCALENDAR_COMPONENT) {
      collect_events(child, events);
    }
  }
}

std::string text_or_empty(const char* text) {
  return text != nullptr ? text : "";
}

// The instants of the property's times (EXDATE, RECURRENCE-ID), TZID resolved.
std::set<Seconds> instants_of(icalcomponent* event, icalproperty_kind kind,
                              const TimeZone& fallback) {
  std::set<Seconds> instants;
  for (icalproperty* property = icalcomponent_get_first_property(event, kind); property != nullptr;
       property = icalcomponent_get_next_property(event, kind)) {
    const icaltimetype time = icalproperty_get_datetime_with_component(property, event);
    if (!icaltime_is_null_time(time)) instants.insert(instant_of(time, fallback));
  }
  return instants;
}

// Expands one VEVENT into the occurrences overlapping the window.
class EventExpander {
 public:
  EventExpander(icalcomponent* event, const Window& window, const TimeZone& zone,
                const std::set<Seconds>& overridden)
      : event_(event), window_(window), zone_(zone), overridden_(overridden) {}

  void expand(std::vector<Occurrence>& out) {
    const icaltimetype start = icalcomponent_get_dtstart(event_);
    if (icaltime_is_null_time(start)) return;
    measure_length(start);
    icalproperty* rrule = icalcomponent_get_first_property(event_, ICAL_RRULE_PROPERTY);
    if (rrule == nullptr) {
      add_if_in_window(start, out);
      return;
    }
    const std::set<Seconds> excluded = instants_of(event_, ICAL_EXDATE_PROPERTY, zone_);
    icalrecur_iterator* iterator = icalrecur_iterator_new(icalproperty_get_rrule(rrule), start);
    if (iterator == nullptr) {  // a rule libical cannot run: show the first instance only
      add_if_in_window(start, out);
      return;
    }
    for (int step = 0; step < kMaxRecurrenceSteps; ++step) {
      icaltimetype next = icalrecur_iterator_next(iterator);
      if (icaltime_is_null_time(next)) break;
      next.zone = start.zone;
      next.is_date = start.is_date;
      const Seconds instant = instant_of(next, zone_);
      if (instant >= window_.end) break;
      if (!excluded.contains(instant) && !overridden_.contains(instant)) {
        add_if_in_window(next, out);
      }
    }
    icalrecur_iterator_free(iterator);
  }

 private:
  void measure_length(const icaltimetype& start) {
    const icaltimetype end = icalcomponent_get_dtend(event_);  // DTEND, or DTSTART + DURATION
    if (start.is_date) {
      days_ =
          icaltime_is_null_time(end) ? days{1} : sys_days{date_of(end)} - sys_days{date_of(start)};
      days_ = std::max(days_, days{1});
    } else if (!icaltime_is_null_time(end)) {
      length_ = std::max(seconds{}, instant_of(end, zone_) - instant_of(start, zone_));
    }
  }

  void add_if_in_window(const icaltimetype& time, std::vector<Occurrence>& out) const {
    Occurrence occurrence;
    occurrence.start = instant_of(time, zone_);
    if (time.is_date) {
      const year_month_day first = date_of(time);
      const year_month_day after_last{sys_days{first} + days_};
      occurrence.all_day = true;
      occurrence.end = zone_.start_of_day(after_last);
      occurrence.start_text = format_date(first);
      occurrence.end_text = format_date(after_last);
    } else {
      occurrence.end = occurrence.start + length_;
      occurrence.start_text = zone_.format(occurrence.start);
      occurrence.end_text = zone_.format(occurrence.end);
    }
    const bool overlaps = occurrence.start < window_.end &&
                          (occurrence.end > window_.start || (occurrence.end == occurrence.start &&
                                                              occurrence.start >= window_.start));
    if (!overlaps) return;
    occurrence.uid = text_or_empty(icalcomponent_get_uid(event_));
    occurrence.title = text_or_empty(icalcomponent_get_summary(event_));
    occurrence.description = text_or_empty(icalcomponent_get_description(event_));
    for (icalproperty* attendee = icalcomponent_get_first_property(event_, ICAL_ATTENDEE_PROPERTY);
         attendee != nullptr;
         attendee = icalcomponent_get_next_property(event_, ICAL_ATTENDEE_PROPERTY)) {
      occurrence.attendees.push_back(
          strip_mailto(text_or_empty(icalproperty_get_attendee(attendee))));
    }
    out.push_back(std::move(occurrence));
  }

  icalcomponent* event_;
  const Window& window_;
  const TimeZone& zone_;
  const std::set<Seconds>& overridden_;
  seconds length_{};
  days days_{1};
};

}  // namespace

IcalComponent parse_ical(std::string_view text, std::string_view what) {
  const std::string terminated(text);
  if (terminated.find("BEGIN:") == std::string::npos) {
    throw CalendarError(std::string(what) + ": not iCalendar data (no BEGIN:VCALENDAR)");
  }
  IcalComponent component{icalparser_parse_string(terminated.c_str())};
  if (!component) throw CalendarError(std::string(what) + ": not valid iCalendar data");
  return component;
}

std::string to_ical_string(icalcomponent* component) {
  return icalcomponent_as_ical_string(component);  // a ring buffer string libical owns
}

std::optional<TimeZone> TimeZone::find(const std::string& name) {
  if (name == "UTC" || name == "Etc/UTC") return utc();
  if (!plausible_zone_name(name)) return std::nullopt;
  icaltimezone* zone = icaltimezone_get_builtin_timezone(name.c_str());
  if (zone == nullptr) return std::nullopt;
  return TimeZone(name, zone);
}

TimeZone TimeZone::utc() {
  return TimeZone("UTC", utc_zone());
}

TimeZone TimeZone::system_default() {
  if (const char* tz = std::getenv("TZ"); tz != nullptr && *tz != '\0') {
    if (auto zone = find(tz[0] == ':' ? tz + 1 : tz)) return *zone;
  }
  std::error_code error;
  const std::string target = std::filesystem::read_symlink("/etc/localtime", error).string();
  if (const auto at = target.find("zoneinfo/"); !error && at != std::string::npos) {
    if (auto zone = find(target.substr(at + 9))) return *zone;
  }
  std::string name;
  if (std::ifstream("/etc/timezone") >> name) {
    if (auto zone = find(name)) return *zone;
  }
  return utc();
}

Seconds TimeZone::to_utc(year_month_day date, minutes time_of_day) const {
  return Seconds{seconds{icaltime_as_timet_with_zone(wall_clock(date, time_of_day), zone_)}};
}

year_month_day TimeZone::date_at(Seconds instant) const {
  return date_of(icaltime_from_timet_with_zone(instant.time_since_epoch().count(), 0, zone_));
}

std::string TimeZone::format(Seconds instant) const {
  const time_t at = instant.time_since_epoch().count();
  const icaltimetype local = icaltime_from_timet_with_zone(at, 0, zone_);
  const long offset = static_cast<long>(icaltime_as_timet_with_zone(local, utc_zone()) - at);
  const long offset_minutes = std::labs(offset) / 60;
  char text[40];
  std::snprintf(text, sizeof text, "%04d-%02d-%02dT%02d:%02d:%02d%c%02ld:%02ld", local.year,
                local.month, local.day, local.hour, local.minute, local.second,
                offset < 0 ? '-' : '+', offset_minutes / 60, offset_minutes % 60);
  return text;
}

std::string format_date(year_month_day date) {
  char text[16];
  std::snprintf(text, sizeof text, "%04d-%02u-%02u", static_cast<int>(date.year()),
                static_cast<unsigned>(date.month()), static_cast<unsigned>(date.day()));
  return text;
}

std::string generate_uid() {
  std::random_device random;
  std::string uid;
  char hex[9];
  for (int i = 0; i < 4; ++i) {
    std::snprintf(hex, sizeof hex, "%08x", static_cast<unsigned>(random()));
    uid += hex;
  }
  return uid + "@voicedesk";
}

IcalComponent build_event_calendar(const NewEvent& event, const TimeZone& zone, Seconds stamp) {
  IcalComponent calendar{icalcomponent_new(ICAL_VCALENDAR_COMPONENT)};
  icalcomponent_add_property(calendar.get(), icalproperty_new_version("2.0"));
  icalcomponent_add_property(calendar.get(), icalproperty_new_prodid("-//voicedesk//calendar//EN"));
  icalcomponent_add_property(calendar.get(), icalproperty_new_calscale("GREGORIAN"));

  const Seconds start = zone.to_utc(event.date, event.time_of_day);
  const Seconds end = start + event.duration;
  auto time_property = [&](icalproperty* (*make)(icaltimetype), Seconds instant) {
    if (zone.is_utc()) {
      return make(icaltime_from_timet_with_zone(instant.time_since_epoch().count(), 0, utc_zone()));
    }
    // A floating value with our own TZID parameter: libical would write its
    // "/freeassociation.sourceforge.net/" prefix, which other clients may not know.
    icaltimetype local =
        icaltime_from_timet_with_zone(instant.time_since_epoch().count(), 0, zone.get());
    local.zone = nullptr;
    icalproperty* property = make(local);
    icalproperty_add_parameter(property, icalparameter_new_tzid(zone.name().c_str()));
    return property;
  };

  if (!zone.is_utc()) {
    icalcomponent* timezone = icalcomponent_new_clone(icaltimezone_get_component(zone.get()));
    icalproperty* tzid = icalcomponent_get_first_property(timezone, ICAL_TZID_PROPERTY);
    if (tzid != nullptr) icalproperty_set_tzid(tzid, zone.name().c_str());
    // Observances from 1970 on: enough for any event we create, a tenth of the full history.
    icaltimezone_truncate_vtimezone(timezone, icaltime_from_timet_with_zone(0, 0, utc_zone()),
                                    icaltime_null_time(), 0);
    icalcomponent_add_component(calendar.get(), timezone);
  }

  icalcomponent* vevent = icalcomponent_new(ICAL_VEVENT_COMPONENT);
  icalcomponent_add_property(vevent, icalproperty_new_uid(event.uid.c_str()));
  icalcomponent_add_property(vevent, icalproperty_new_dtstamp(icaltime_from_timet_with_zone(
                                         stamp.time_since_epoch().count(), 0, utc_zone())));
  icalcomponent_add_property(vevent, time_property(icalproperty_new_dtstart, start));
  icalcomponent_add_property(vevent, time_property(icalproperty_new_dtend, end));
  icalcomponent_add_property(vevent, icalproperty_new_summary(event.title.c_str()));
  if (!event.description.empty()) {
    icalcomponent_add_property(vevent, icalproperty_new_description(event.description.c_str()));
  }
  if (!event.organizer_email.empty()) {
    icalcomponent_add_property(
        vevent, icalproperty_new_organizer(("mailto:" + event.organizer_email).c_str()));
  }
  for (const Attendee& attendee : event.attendees) {
    icalproperty* property = icalproperty_new_attendee(("mailto:" + attendee.email).c_str());
    const std::string& name = attendee.name.empty() ? attendee.email : attendee.name;
    icalproperty_add_parameter(property, icalparameter_new_cn(name.c_str()));
    icalproperty_add_parameter(property, icalparameter_new_role(ICAL_ROLE_REQPARTICIPANT));
    icalproperty_add_parameter(property, icalparameter_new_partstat(ICAL_PARTSTAT_NEEDSACTION));
    icalproperty_add_parameter(property, icalparameter_new_rsvp(ICAL_RSVP_TRUE));
    icalcomponent_add_property(vevent, property);
  }
  icalcomponent_add_component(calendar.get(), vevent);
  return calendar;
}

std::vector<Occurrence> occurrences_in(icalcomponent* calendar, const Window& window,
                                       const TimeZone& zone, std::size_t max_count) {
  std::vector<icalcomponent*> events;
  collect_events(calendar, events);
  // Instances moved or changed by a VEVENT with RECURRENCE-ID replace the
  // master's instance at that time.
  std::map<std::string, std::set<Seconds>> overridden;
  for (icalcomponent* event : events) {
    for (Seconds instant : instants_of(event, ICAL_RECURRENCEID_PROPERTY, zone)) {
      overridden[text_or_empty(icalcomponent_get_uid(event))].insert(instant);
    }
  }
  const std::set<Seconds> none;
  std::vector<Occurrence> occurrences;
  for (icalcomponent* event : events) {
    const bool is_override =
        icalcomponent_get_first_property(event, ICAL_RECURRENCEID_PROPERTY) != nullptr;
    const auto found = overridden.find(text_or_empty(icalcomponent_get_uid(event)));
    EventExpander(event, window, zone,
                  is_override || found == overridden.end() ? none : found->second)
        .expand(occurrences);
  }
  std::stable_sort(occurrences.begin(), occurrences.end(),
                   [](const Occurrence& a, const Occurrence& b) { return a.start < b.start; });
  if (occurrences.size() > max_count) occurrences.resize(max_count);
  return occurrences;
}

}  // namespace voicedesk::tools::calendar
