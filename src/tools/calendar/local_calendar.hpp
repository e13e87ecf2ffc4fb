#pragma once

#include <cstddef>
#include <filesystem>
#include <string>

#include "tools/calendar/ical.hpp"

namespace voicedesk::tools::calendar {

// One .ics file holding a single VCALENDAR, the calendar used when no service
// is configured. Appends are safe between threads and processes: they take an
// exclusive flock on "<file>.lock", then replace the file atomically (temp
// file, fsync, rename), so readers need no lock and always see a whole
// VCALENDAR. The file and its lock are created mode 0600.
class LocalCalendarFile {
 public:
  static constexpr std::size_t kMaxBytes = 32u << 20;

  explicit LocalCalendarFile(std::filesystem::path path) : path_(std::move(path)) {}

  const std::filesystem::path& path() const { return path_; }

  // Adds the VEVENTs of `event_calendar` and the VTIMEZONEs the file lacks
  // (by TZID). Throws CalendarError when the file cannot be read, written,
  // is not iCalendar (it is then left alone) or would exceed kMaxBytes.
  void append(icalcomponent* event_calendar) const;

  // The file's VCALENDAR; an empty one when the file does not exist yet.
  IcalComponent read() const;

 private:
  std::filesystem::path path_;
};

}  // namespace voicedesk::tools::calendar
