#pragma once

#include <chrono>
#include <optional>
#include <string_view>

namespace voicedesk::tools::calendar {

// A strict YYYY-MM-DD that names a real calendar date (years 1900-2199).
std::optional<std::chrono::year_month_day> parse_date(std::string_view text);
// HH:MM, 00:00 to 23:59; the time of day as minutes.
std::optional<std::chrono::minutes> parse_time(std::string_view text);

// Whole days, first to last inclusive.
struct DayRange {
  std::chrono::year_month_day first;
  std::chrono::year_month_day last;
};

// The longest range a scope may cover.
inline constexpr std::chrono::days kMaxScopeDays{400};

// Reads a scope relative to today: "today", "tomorrow", "week" (7 days from
// today), a date, a range "FIRST..LAST" or "FIRST/LAST", or a weekday name
// ("friday": today when it is Friday, else the next Friday). Case and
// surrounding blanks are ignored. Throws ToolError naming `scope`.
DayRange parse_scope(std::string_view scope, std::chrono::year_month_day today);

}  // namespace voicedesk::tools::calendar
