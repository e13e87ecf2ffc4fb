#include "tools/calendar/scope.hpp"

#include <algorithm>
#include <array>
#include <string>

#include "tools/tool.hpp"
#include "util/text.hpp"

namespace voicedesk::tools::calendar {
namespace {

using namespace std::chrono;

std::optional<int> digits(std::string_view text) {
  if (text.empty() ||
      !std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return std::nullopt;
  }
  int value = 0;
  for (char c : text) value = value * 10 + (c - '0');
  return value;
}

}  // namespace

std::optional<year_month_day> parse_date(std::string_view text) {
  if (text.size() != 10 || text[4] != '-' || text[7] != '-') return std::nullopt;
  const auto y = digits(text.substr(0, 4));
  const auto m = digits(text.substr(5, 2));
  const auto d = digits(text.substr(8, 2));
  if (!y || !m || !d || *y < 1900 || *y > 2199) return std::nullopt;
  const year_month_day date{year{*y}, month{static_cast<unsigned>(*m)},
                            day{static_cast<unsigned>(*d)}};
  if (!date.ok()) return std::nullopt;
  return date;
}

std::optional<minutes> parse_time(std::string_view text) {
  if (text.size() != 5 || text[2] != ':') return std::nullopt;
  const auto h = digits(text.substr(0, 2));
  const auto m = digits(text.substr(3, 2));
  if (!h || !m || *h > 23 || *m > 59) return std::nullopt;
  return hours{*h} + minutes{*m};
}

DayRange parse_scope(std::string_view scope_text, year_month_day today) {
  const std::string scope = util::ascii_lower(util::trim(scope_text, util::kAsciiSpace));
  const sys_days base{today};
  if (scope.empty() || scope == "today") return {today, today};
  if (scope == "tomorrow") return {year_month_day{base + days{1}}, year_month_day{base + days{1}}};
  if (scope == "week") return {today, year_month_day{base + days{6}}};
  if (const auto date = parse_date(scope)) return {*date, *date};

  static constexpr std::array<std::string_view, 7> kWeekdays = {
      "sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"};
  for (unsigned index = 0; index < kWeekdays.size(); ++index) {
    if (scope == kWeekdays[index]) {
      const year_month_day date{base + (weekday{index} - weekday{base})};
      return {date, date};
    }
  }

  for (std::string_view separator : {"..", "/"}) {
    const std::size_t at = scope.find(separator);
    if (at == std::string::npos) continue;
    const auto first = parse_date(std::string_view(scope).substr(0, at));
    const auto last = parse_date(std::string_view(scope).substr(at + separator.size()));
    if (!first || !last) break;
    if (sys_days{*last} < sys_days{*first}) {
      throw ToolError("scope: the range ends before it starts");
    }
    if (sys_days{*last} - sys_days{*first} >= kMaxScopeDays) {
      throw ToolError("scope: a range may cover at most " + std::to_string(kMaxScopeDays.count()) +
                      " days");
    }
    return {*first, *last};
  }
  throw ToolError(
      "scope: expected today, tomorrow, week, a weekday name, a date YYYY-MM-DD or "
      "a range YYYY-MM-DD..YYYY-MM-DD; got \"" +
      std::string(scope_text.substr(0, 64)) + "\"");
}

}  // namespace voicedesk::tools::calendar
