#include "tools/calendar/calendar_service.hpp"

#include <algorithm>
#include <cctype>
#include <cstdlib>

#include "tools/calendar/scope.hpp"
#include "util/data_path.hpp"
#include "util/text.hpp"

namespace voicedesk::tools::calendar {
namespace {

using nlohmann::json;
using namespace std::chrono;
namespace fs = std::filesystem;

constexpr std::size_t kMaxIcsContentBytes = 4u << 20;
constexpr std::size_t kMaxEvents = 500;
constexpr std::size_t kMaxTitle = 500;
constexpr std::size_t kMaxDescription = 8000;
constexpr std::size_t kMaxAttendees = 100;

const json& create_input_schema() {
  static const json schema = {
      {"type", "object"},
      {"properties",
       {{"title", {{"type", "string"}, {"minLength", 1}, {"maxLength", kMaxTitle}}},
        {"date", {{"type", "string"}, {"description", "Day of the event, YYYY-MM-DD"}}},
        {"time", {{"type", "string"}, {"description", "Start time, HH:MM (24-hour), local time"}}},
        {"duration_minutes",
         {{"type", "integer"}, {"minimum", 1}, {"maximum", 1440}, {"default", 60}}},
        {"description", {{"type", "string"}, {"maxLength", kMaxDescription}, {"default", ""}}},
        {"attendees",
         {{"type", "array"},
          {"items", {{"type", "string"}}},
          {"maxItems", kMaxAttendees},
          {"description", "E-mail addresses, optionally as \"Name <address>\""}}},
        {"timezone",
         {{"type", "string"},
          {"description",
           "IANA time zone of date and time, e.g. Europe/Berlin; default: the server's"}}}}},
      {"required", {"title", "date", "time"}},
      {"additionalProperties", false}};
  return schema;
}

const json& event_schema() {
  static const json schema = {
      {"type", "object"},
      {"properties",
       {{"uid", {{"type", "string"}}},
        {"title", {{"type", "string"}}},
        {"start", {{"type", "string"}}},
        {"end", {{"type", "string"}}},
        {"all_day", {{"type", "boolean"}}},
        {"description", {{"type", "string"}}},
        {"attendees", {{"type", "array"}, {"items", {{"type", "string"}}}}},
        {"source", {{"type", "string"}}}}},
      {"required", {"title", "start", "end", "description", "attendees", "source"}}};
  return schema;
}

const json& create_output_schema() {
  static const json schema = {
      {"type", "object"},
      {"properties",
       {{"provider", {{"type", "string"}, {"enum", {"google", "caldav", "ics_fallback"}}}},
        {"google_event", {{"type", {"object", "null"}}}},
        {"ics", {{"type", "string"}}},
        {"fallback_reason", {{"type", {"string", "null"}}}},
        {"event", event_schema()}}},
      {"required", {"provider", "google_event", "ics", "fallback_reason", "event"}}};
  return schema;
}

const json& load_input_schema() {
  static const json schema = {
      {"type", "object"},
      {"properties",
       {{"scope",
         {{"type", "string"},
          {"default", "today"},
          {"description",
           "today, tomorrow, week (7 days from today), a weekday name (the next such day), a "
           "date YYYY-MM-DD, or a range YYYY-MM-DD..YYYY-MM-DD"}}},
        {"ics_content",
         {{"type", "string"},
          {"default", ""},
          {"description", "iCalendar text whose events are merged into the answer"}}},
        {"include_google",
         {{"type", "boolean"},
          {"default", true},
          {"description", "Include the configured calendar service (Google or CalDAV)"}}}}},
      {"additionalProperties", false}};
  return schema;
}

const json& load_output_schema() {
  static const json schema = {
      {"type", "object"},
      {"properties",
       {{"events", {{"type", "array"}, {"items", event_schema()}}},
        {"scope",
         {{"type", "object"},
          {"properties",
           {{"start", {{"type", "string"}}},
            {"end", {{"type", "string"}}},
            {"timezone", {{"type", "string"}}}}},
          {"required", {"start", "end"}}}},
        {"warnings", {{"type", "array"}, {"items", {{"type", "string"}}}}}}},
      {"required", {"events", "scope"}}};
  return schema;
}

// Owns its result: callers trim temporaries such as values read from JSON.
std::string trimmed(std::string_view text) {
  return std::string(util::trim(text, util::kAsciiSpace));
}

bool valid_domain(std::string_view domain) {
  if (domain.empty() || domain.size() > 253 || domain.find('.') == std::string_view::npos) {
    return false;
  }
  std::size_t start = 0;
  while (start <= domain.size()) {
    const std::size_t dot = std::min(domain.find('.', start), domain.size());
    const std::string_view label = domain.substr(start, dot - start);
    if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-' ||
        !std::all_of(label.begin(), label.end(), [](char c) {
          return std::isalnum(static_cast<unsigned char>(c)) || c == '-';
        })) {
      return false;
    }
    start = dot + 1;
  }
  return true;
}

// A plain addr-spec (RFC 5322 dot-atom local part), which is all an
// ATTENDEE mailto: needs.
bool valid_email(std::string_view address) {
  const std::size_t at = address.find('@');
  if (at == std::string_view::npos || at == 0 || at > 64 || address.size() > 254) return false;
  const std::string_view local = address.substr(0, at);
  if (local.front() == '.' || local.back() == '.' || local.find("..") != std::string_view::npos) {
    return false;
  }
  const bool local_ok = std::all_of(local.begin(), local.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) ||
           std::string_view("!#$%&'*+/=?^_`{|}~.-").find(c) != std::string_view::npos;
  });
  return local_ok && valid_domain(address.substr(at + 1));
}

// "ann@example.com" or "Ann Smith <ann@example.com>".
Attendee parse_attendee(const std::string& text, std::size_t index) {
  const std::string field = "attendees[" + std::to_string(index) + "]";
  std::string entry = trimmed(text);
  Attendee attendee;
  if (const std::size_t open = entry.rfind('<');
      open != std::string::npos && entry.ends_with('>')) {
    attendee.email = trimmed(std::string_view(entry).substr(open + 1, entry.size() - open - 2));
    attendee.name = trimmed(std::string_view(entry).substr(0, open));
    if (attendee.name.size() >= 2 && attendee.name.front() == '"' && attendee.name.back() == '"') {
      attendee.name = attendee.name.substr(1, attendee.name.size() - 2);
    }
    const bool name_ok = attendee.name.size() <= 200 &&
                         std::none_of(attendee.name.begin(), attendee.name.end(), [](char c) {
                           return c == '"' || std::iscntrl(static_cast<unsigned char>(c));
                         });
    if (!name_ok)
      throw ToolError(field + ": the name may not contain quotes or control characters");
  } else {
    attendee.email = entry;
  }
  if (!valid_email(attendee.email)) {
    throw ToolError(field + ": \"" + text.substr(0, 100) + "\" is not a valid e-mail address");
  }
  return attendee;
}

bool has_control_characters(const std::string& text, bool allow_newlines) {
  return std::any_of(text.begin(), text.end(), [&](char c) {
    return std::iscntrl(static_cast<unsigned char>(c)) &&
           !(allow_newlines && (c == '\n' || c == '\r' || c == '\t'));
  });
}

json event_json(const Occurrence& occurrence, const std::string& source) {
  return {{"uid", occurrence.uid},
          {"title", occurrence.title},
          {"start", occurrence.start_text},
          {"end", occurrence.end_text},
          {"all_day", occurrence.all_day},
          {"description", occurrence.description},
          {"attendees", occurrence.attendees},
          {"source", source}};
}

struct SourcedOccurrence {
  Occurrence occurrence;
  std::string source;
};

void add_occurrences(icalcomponent* calendar, const Window& window, const TimeZone& zone,
                     const std::string& source, std::vector<SourcedOccurrence>& out) {
  for (Occurrence& occurrence : occurrences_in(calendar, window, zone, kMaxEvents)) {
    out.push_back({std::move(occurrence), source});
  }
}

}  // namespace

CalendarService::CalendarService(const util::Config& config, Clock now)
    : now_(std::move(now)),
      organizer_(config.get("VOICEDESK_CALENDAR_ORGANIZER")),
      local_(config.get("VOICEDESK_CALENDAR_FILE").empty()
                 ? util::default_data_file("calendar.ics", "VOICEDESK_CALENDAR_FILE")
                 : fs::path(config.get("VOICEDESK_CALENDAR_FILE"))) {
  const std::string& zone_name = config.get("VOICEDESK_TIMEZONE");
  zone_ = zone_name.empty() ? TimeZone::system_default() : TimeZone::find(zone_name);
  if (!zone_) zone_error_ = "VOICEDESK_TIMEZONE: unknown time zone \"" + zone_name + "\"";
  if (config.is_set("GOOGLE_CALENDAR_TOKEN_FILE")) {
    GoogleCalendarSettings google{.token_file = config.get("GOOGLE_CALENDAR_TOKEN_FILE")};
    if (config.is_set("VOICEDESK_GOOGLE_CALENDAR_API_URL")) {
      google.api_url = config.get("VOICEDESK_GOOGLE_CALENDAR_API_URL");
    }
    google_ = std::make_unique<GoogleCalendarClient>(std::move(google), now_);
  }
  if (config.is_set("VOICEDESK_CALDAV_URL")) {
    caldav_.emplace(CalDavSettings{.collection_url = config.get("VOICEDESK_CALDAV_URL"),
                                   .username = config.get("VOICEDESK_CALDAV_USERNAME"),
                                   .password = config.get("VOICEDESK_CALDAV_PASSWORD")});
  }
}

const TimeZone& CalendarService::zone() const {
  if (!zone_) throw ToolError(zone_error_);
  return *zone_;
}

ToolResult CalendarService::create_event(const json& arguments) const {
  NewEvent event;
  event.title = trimmed(arguments.value("title", ""));
  if (event.title.empty()) throw ToolError("title: must not be empty");
  if (event.title.size() > kMaxTitle || has_control_characters(event.title, false)) {
    throw ToolError("title: at most " + std::to_string(kMaxTitle) +
                    " characters, without control characters");
  }
  const std::string date_text = arguments.value("date", "");
  const auto date = parse_date(date_text);
  if (!date)
    throw ToolError("date: expected a real calendar date YYYY-MM-DD, got \"" +
                    date_text.substr(0, 40) + "\"");
  event.date = *date;
  const std::string time_text = arguments.value("time", "");
  const auto time_of_day = parse_time(time_text);
  if (!time_of_day)
    throw ToolError("time: expected HH:MM from 00:00 to 23:59, got \"" + time_text.substr(0, 40) +
                    "\"");
  event.time_of_day = *time_of_day;
  const json duration = arguments.value("duration_minutes", json(60));
  if (!duration.is_number_integer() || duration.get<long long>() < 1 ||
      duration.get<long long>() > 1440) {
    throw ToolError("duration_minutes: expected a whole number from 1 to 1440");
  }
  event.duration = minutes{duration.get<long long>()};
  event.description = arguments.value("description", "");
  if (event.description.size() > kMaxDescription ||
      has_control_characters(event.description, true)) {
    throw ToolError("description: at most " + std::to_string(kMaxDescription) +
                    " characters, without control characters");
  }
  const json attendees = arguments.value("attendees", json::array());
  if (!attendees.is_array() || attendees.size() > kMaxAttendees) {
    throw ToolError("attendees: expected at most " + std::to_string(kMaxAttendees) +
                    " e-mail addresses");
  }
  for (std::size_t i = 0; i < attendees.size(); ++i) {
    if (!attendees[i].is_string())
      throw ToolError("attendees[" + std::to_string(i) + "]: expected a string");
    event.attendees.push_back(parse_attendee(attendees[i].get<std::string>(), i));
  }
  std::optional<TimeZone> requested_zone;
  if (arguments.contains("timezone")) {
    const std::string name = arguments["timezone"].get<std::string>();
    requested_zone = TimeZone::find(name);
    if (!requested_zone)
      throw ToolError("timezone: unknown time zone \"" + name.substr(0, 64) + "\"");
  }
  const TimeZone& event_zone = requested_zone ? *requested_zone : zone();
  event.organizer_email = organizer_;
  event.uid = generate_uid();

  const Seconds now = time_point_cast<seconds>(now_());
  const IcalComponent calendar = build_event_calendar(event, event_zone, now);
  const std::string ics = to_ical_string(calendar.get());

  std::string provider = "ics_fallback";
  json google_event = nullptr;
  json fallback_reason = nullptr;
  if (google_) {
    try {
      google_event = google_->create(event, event_zone);
      provider = "google";
    } catch (const CalendarError& e) {
      fallback_reason = std::string("Google Calendar failed (") + e.what() +
                        "); the event was saved to the local calendar file instead";
    }
  } else if (caldav_) {
    try {
      caldav_->create(event.uid, ics);
      provider = "caldav";
    } catch (const CalendarError& e) {
      fallback_reason = std::string("the CalDAV server failed (") + e.what() +
                        "); the event was saved to the local calendar file instead";
    }
  } else {
    fallback_reason =
        "no calendar service is configured (GOOGLE_CALENDAR_TOKEN_FILE or VOICEDESK_CALDAV_URL); "
        "the event was saved to the local calendar file";
  }
  if (provider == "ics_fallback") {
    try {
      local_.append(calendar.get());
    } catch (const CalendarError& e) {
      throw ToolError(
          std::string("the event could not be saved: ") + e.what() +
          (fallback_reason.is_string() ? "; " + fallback_reason.get<std::string>() : ""));
    }
  }

  // The created event as load_calendar_events shows it, read back from the ics.
  const Seconds start = event_zone.to_utc(event.date, event.time_of_day);
  const auto occurrences = occurrences_in(
      calendar.get(), Window{start, start + event.duration + seconds{1}}, event_zone, 1);
  const json event_view =
      occurrences.empty() ? json::object() : event_json(occurrences.front(), provider);

  std::string text = "Created \"" + event.title + "\" from " + event_view.value("start", "") +
                     " to " + event_view.value("end", "") +
                     (provider == "google"   ? " on Google Calendar."
                      : provider == "caldav" ? " on the CalDAV calendar."
                                             : " in the local calendar file.");
  if (fallback_reason.is_string()) text += " Note: " + fallback_reason.get<std::string>() + ".";
  ToolResult result = ToolResult::text(std::move(text));
  result.structured = {{"provider", provider},
                       {"google_event", google_event},
                       {"ics", ics},
                       {"fallback_reason", fallback_reason},
                       {"event", event_view}};
  return result;
}

ToolResult CalendarService::load_events(const json& arguments) const {
  const TimeZone& calendar_zone = zone();
  const Seconds now = time_point_cast<seconds>(now_());
  const DayRange days = parse_scope(arguments.value("scope", "today"), calendar_zone.date_at(now));
  const Window window{
      calendar_zone.start_of_day(days.first),
      calendar_zone.start_of_day(year_month_day{sys_days{days.last} + std::chrono::days{1}})};

  std::vector<SourcedOccurrence> found;
  json warnings = json::array();
  const bool include_service = arguments.value("include_google", true);
  if (google_ && include_service) {
    try {
      for (Occurrence& occurrence : google_->list(window, calendar_zone)) {
        found.push_back({std::move(occurrence), "google"});
      }
    } catch (const CalendarError& e) {
      warnings.push_back(std::string("Google Calendar not read: ") + e.what());
    }
  }
  if (caldav_ && include_service) {
    try {
      for (const std::string& data : caldav_->query(window.start, window.end)) {
        add_occurrences(parse_ical(data, "CalDAV calendar-data").get(), window, calendar_zone,
                        "caldav", found);
      }
    } catch (const CalendarError& e) {
      warnings.push_back(std::string("CalDAV calendar not read: ") + e.what());
    }
  }
  try {
    if (fs::exists(local_.path())) {
      add_occurrences(local_.read().get(), window, calendar_zone, "ics_fallback", found);
    }
  } catch (const CalendarError& e) {
    warnings.push_back(std::string("local calendar file not read: ") + e.what());
  }
  const std::string ics_content = arguments.value("ics_content", "");
  if (ics_content.size() > kMaxIcsContentBytes) {
    throw ToolError("ics_content: larger than " + std::to_string(kMaxIcsContentBytes >> 20) +
                    " MiB");
  }
  if (!trimmed(ics_content).empty()) {
    try {
      add_occurrences(parse_ical(ics_content, "ics_content").get(), window, calendar_zone,
                      "ics_content", found);
    } catch (const CalendarError& e) {
      throw ToolError(e.what());
    }
  }

  std::stable_sort(found.begin(), found.end(), [](const auto& a, const auto& b) {
    return a.occurrence.start < b.occurrence.start;
  });
  if (found.size() > kMaxEvents) {
    found.resize(kMaxEvents);
    warnings.push_back("only the first " + std::to_string(kMaxEvents) + " events are listed");
  }

  json events = json::array();
  std::string text = std::to_string(found.size()) + (found.size() == 1 ? " event" : " events") +
                     " from " + format_date(days.first) + " to " + format_date(days.last) + " (" +
                     calendar_zone.name() + ")" + (found.empty() ? "." : ":");
  for (const SourcedOccurrence& item : found) {
    events.push_back(event_json(item.occurrence, item.source));
    text += "\n- " + item.occurrence.start_text + " to " + item.occurrence.end_text + ": " +
            (item.occurrence.title.empty() ? "(no title)" : item.occurrence.title);
  }
  for (const auto& warning : warnings) text += "\nWarning: " + warning.get<std::string>();
  ToolResult result = ToolResult::text(std::move(text));
  result.structured = {{"events", std::move(events)},
                       {"scope",
                        {{"start", calendar_zone.format(window.start)},
                         {"end", calendar_zone.format(window.end)},
                         {"timezone", calendar_zone.name()}}},
                       {"warnings", std::move(warnings)}};
  return result;
}

std::vector<Tool> CalendarService::tools() {
  ToolSpec create;
  create.name = "create_calendar_event";
  create.title = "Create a calendar event";
  create.description =
      "Create an event at a local date and time for a duration, with optional description and "
      "attendees (e-mail addresses). Saved to the configured calendar (Google Calendar or CalDAV), "
      "else to the local "
      "calendar file; returns the provider used and the event as iCalendar (.ics) text.";
  create.input_schema = create_input_schema();
  create.output_schema = create_output_schema();
  create.annotations = {{"readOnlyHint", false},
                        {"destructiveHint", false},
                        {"idempotentHint", false},
                        {"openWorldHint", true}};
  create.quick = true;

  ToolSpec load;
  load.name = "load_calendar_events";
  load.title = "List calendar events";
  load.description =
      "List the events in a time scope (today, tomorrow, week, a weekday, a date or a date "
      "range) from the configured calendar, the local calendar file and any iCalendar text "
      "given in ics_content, sorted by start.";
  load.input_schema = load_input_schema();
  load.output_schema = load_output_schema();
  load.annotations = {{"readOnlyHint", true}, {"openWorldHint", true}};
  load.quick = true;

  return {Tool{std::move(create),
               [this](const json& arguments, ToolContext&) { return create_event(arguments); }},
          Tool{std::move(load),
               [this](const json& arguments, ToolContext&) { return load_events(arguments); }}};
}

}  // namespace voicedesk::tools::calendar
