#include "tools/calendar/calendar_service.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <thread>

#include "tools/calendar/calendar_test_support.hpp"
#include "tools/calendar/local_calendar.hpp"
#include "util/child_process.hpp"
#include "util/temp_dir.hpp"

namespace voicedesk::tools::calendar {
namespace {

using nlohmann::json;
using test::calendar_config;
using test::call_tool;
using test::find_tool;
using test::fixed_now;
using ::testing::HasSubstr;

class CalendarTools : public ::testing::Test {
 protected:
  CalendarService make_service(std::vector<std::pair<std::string, std::string>> extra = {}) {
    extra.emplace_back("VOICEDESK_TIMEZONE", "Europe/Berlin");
    extra.emplace_back("VOICEDESK_CALENDAR_FILE", file_.string());
    return CalendarService(calendar_config(extra), fixed_now);
  }

  test_support::TempDir dir_;
  std::filesystem::path file_ = dir_.path() / "cal" / "calendar.ics";
};

json meeting_arguments() {
  return {{"title", "Dentist"},
          {"date", "2025-06-12"},
          {"time", "15:30"},
          {"duration_minutes", 45},
          {"description", "Bring the card"},
          {"attendees", {"Ann Smith <ann@example.com>", "bob@example.org"}}};
}

TEST_F(CalendarTools, WithNoServiceTheEventGoesToTheLocalIcsFile) {
  CalendarService service = make_service();
  const auto tools = service.tools();
  const ToolResult result =
      call_tool(find_tool(tools, "create_calendar_event"), meeting_arguments());
  ASSERT_FALSE(result.is_error);
  const json& out = result.structured;
  EXPECT_EQ(out["provider"], "ics_fallback");
  EXPECT_TRUE(out["google_event"].is_null());
  EXPECT_THAT(out["fallback_reason"].get<std::string>(), HasSubstr("no calendar service"));
  const std::string ics = out["ics"];
  EXPECT_THAT(ics, HasSubstr("BEGIN:VCALENDAR"));
  EXPECT_THAT(ics, HasSubstr("DTSTART;TZID=Europe/Berlin:20250612T153000"));
  EXPECT_EQ(out["event"]["start"], "2025-06-12T15:30:00+02:00");
  EXPECT_EQ(out["event"]["end"], "2025-06-12T16:15:00+02:00");
  EXPECT_THAT(result.content[0]["text"].get<std::string>(), HasSubstr("local calendar file"));

  // The returned ics and the file both parse with libical.
  const IcalComponent parsed = parse_ical(ics, "result");
  EXPECT_EQ(icalcomponent_isa(parsed.get()), ICAL_VCALENDAR_COMPONENT);
  EXPECT_EQ(icalcomponent_count_errors(parsed.get()), 0);
  struct stat info {};
  ASSERT_EQ(::stat(file_.c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0600u);

  const ToolResult listed =
      call_tool(find_tool(tools, "load_calendar_events"), {{"scope", "thursday"}});
  ASSERT_EQ(listed.structured["events"].size(), 1u);
  const json& event = listed.structured["events"][0];
  EXPECT_EQ(event["title"], "Dentist");
  EXPECT_EQ(event["source"], "ics_fallback");
  EXPECT_EQ(event["description"], "Bring the card");
  EXPECT_EQ(event["attendees"], json({"ann@example.com", "bob@example.org"}));
  EXPECT_EQ(listed.structured["scope"]["start"], "2025-06-12T00:00:00+02:00");
  EXPECT_EQ(listed.structured["scope"]["end"], "2025-06-13T00:00:00+02:00");
  EXPECT_TRUE(call_tool(find_tool(tools, "load_calendar_events"), json::object())
                  .structured["events"]
                  .empty());  // today is the 10th
}

TEST_F(CalendarTools, AFailingCalDavServerFallsBackToTheLocalFileAndSaysWhy) {
  const int closed_port = test_support::free_tcp_port();
  CalendarService service = make_service(
      {{"VOICEDESK_CALDAV_URL", "http://127.0.0.1:" + std::to_string(closed_port) + "/cal/"}});
  const auto tools = service.tools();
  const ToolResult result =
      call_tool(find_tool(tools, "create_calendar_event"), meeting_arguments());
  EXPECT_EQ(result.structured["provider"], "ics_fallback");
  EXPECT_THAT(result.structured["fallback_reason"].get<std::string>(),
              HasSubstr("the CalDAV server failed"));
  const ToolResult listed =
      call_tool(find_tool(tools, "load_calendar_events"), {{"scope", "week"}});
  EXPECT_EQ(listed.structured["events"].size(), 1u);
  ASSERT_EQ(listed.structured["warnings"].size(), 1u);
  EXPECT_THAT(listed.structured["warnings"][0].get<std::string>(), HasSubstr("CalDAV"));
}

TEST_F(CalendarTools, ValidationErrorsNameTheField) {
  CalendarService service = make_service();
  const auto tools = service.tools();
  const Tool& create = find_tool(tools, "create_calendar_event");
  auto error_of = [&](json arguments) -> std::string {
    try {
      test::NullContext context;
      create.call(arguments, context);
    } catch (const ToolError& e) {
      return e.what();
    }
    return "no error";
  };
  auto with = [](const std::string& key, json value) {
    json arguments = meeting_arguments();
    arguments[key] = std::move(value);
    return arguments;
  };
  EXPECT_THAT(error_of(with("date", "2025-02-29")), HasSubstr("date:"));
  EXPECT_THAT(error_of(with("date", "12.06.2025")), HasSubstr("date:"));
  EXPECT_THAT(error_of(with("time", "24:00")), HasSubstr("time:"));
  EXPECT_THAT(error_of(with("time", "7pm")), HasSubstr("time:"));
  EXPECT_THAT(error_of(with("duration_minutes", 0)), HasSubstr("duration_minutes:"));
  EXPECT_THAT(error_of(with("duration_minutes", 1441)), HasSubstr("duration_minutes:"));
  EXPECT_THAT(error_of(with("title", "   ")), HasSubstr("title:"));
  EXPECT_THAT(error_of(with("attendees", {"ok@example.com", "not-an-address"})),
              HasSubstr("attendees[1]:"));
  EXPECT_THAT(error_of(with("attendees", {"a@b.c\r\nX-EVIL:1"})), HasSubstr("attendees[0]:"));
  EXPECT_THAT(error_of(with("timezone", "Mars/Base")), HasSubstr("timezone:"));
  EXPECT_FALSE(std::filesystem::exists(file_));

  CalendarService bad_zone(calendar_config({{"VOICEDESK_TIMEZONE", "Nowhere/City"},
                                            {"VOICEDESK_CALENDAR_FILE", file_.string()}}),
                           fixed_now);
  const auto bad_tools = bad_zone.tools();
  test::NullContext context;
  try {
    find_tool(bad_tools, "load_calendar_events").call(json::object(), context);
    FAIL() << "no error";
  } catch (const ToolError& e) {
    EXPECT_THAT(e.what(), HasSubstr("VOICEDESK_TIMEZONE"));
  }
  EXPECT_THROW(find_tool(tools, "load_calendar_events").call({{"scope", "someday"}}, context),
               ToolError);
  EXPECT_THROW(
      find_tool(tools, "load_calendar_events").call({{"ics_content", "not a calendar"}}, context),
      ToolError);
}

TEST_F(CalendarTools, AnExplicitTimeZoneOverridesTheConfiguredOne) {
  CalendarService service = make_service();
  const auto tools = service.tools();
  json arguments = meeting_arguments();
  arguments["timezone"] = "America/New_York";
  const ToolResult result = call_tool(find_tool(tools, "create_calendar_event"), arguments);
  EXPECT_THAT(result.structured["ics"].get<std::string>(),
              HasSubstr("DTSTART;TZID=America/New_York:20250612T153000"));
  EXPECT_EQ(result.structured["event"]["start"], "2025-06-12T15:30:00-04:00");
  // Listed in the configured zone (Berlin).
  const ToolResult listed =
      call_tool(find_tool(tools, "load_calendar_events"), {{"scope", "2025-06-12"}});
  EXPECT_EQ(listed.structured["events"][0]["start"], "2025-06-12T21:30:00+02:00");
}

TEST_F(CalendarTools, MergesIcsContentWithTheCalendarSortedByStart) {
  CalendarService service = make_service();
  const auto tools = service.tools();
  json arguments = meeting_arguments();
  arguments["date"] = "2025-06-10";
  arguments["time"] = "11:00";
  call_tool(find_tool(tools, "create_calendar_event"), arguments);
  const std::string client_ics =
      "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//x//EN\r\n"
      "BEGIN:VEVENT\r\nUID:a\r\nDTSTART:20250610T060000Z\r\nDTEND:20250610T070000Z\r\n"
      "SUMMARY:Breakfast\r\nEND:VEVENT\r\n"
      "BEGIN:VEVENT\r\nUID:b\r\nDTSTART:20250610T150000Z\r\nSUMMARY:Call\r\nEND:VEVENT\r\n"
      "BEGIN:VEVENT\r\nUID:c\r\nDTSTART:20250620T150000Z\r\nSUMMARY:Out of scope\r\nEND:VEVENT\r\n"
      "END:VCALENDAR\r\n";
  const ToolResult listed = call_tool(find_tool(tools, "load_calendar_events"),
                                      {{"scope", "today"}, {"ics_content", client_ics}});
  const json& events = listed.structured["events"];
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[0]["title"], "Breakfast");
  EXPECT_EQ(events[0]["source"], "ics_content");
  EXPECT_EQ(events[1]["title"], "Dentist");
  EXPECT_EQ(events[1]["source"], "ics_fallback");
  EXPECT_EQ(events[2]["title"], "Call");
  EXPECT_THAT(listed.content[0]["text"].get<std::string>(), HasSubstr("3 events"));
}

TEST_F(CalendarTools, ConcurrentWritersFromThreadsAndProcessesKeepTheFileValid) {
  constexpr int kThreads = 3;
  constexpr int kProcesses = 2;
  constexpr int kEach = 4;
  auto write_events = [&](const std::string& who) {
    CalendarService service = make_service();
    const auto tools = service.tools();
    for (int i = 0; i < kEach; ++i) {
      json arguments = meeting_arguments();
      arguments["title"] = who + " #" + std::to_string(i);
      call_tool(find_tool(tools, "create_calendar_event"), arguments);
    }
  };
  std::vector<pid_t> children;
  for (int p = 0; p < kProcesses; ++p) {
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      try {
        write_events("process " + std::to_string(p));
      } catch (...) {
        ::_exit(1);
      }
      ::_exit(0);
    }
    children.push_back(pid);
  }
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back(write_events, "thread " + std::to_string(t));
  }
  for (auto& thread : threads) thread.join();
  for (pid_t pid : children) {
    int status = 0;
    ::waitpid(pid, &status, 0);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  }

  const IcalComponent calendar = LocalCalendarFile(file_).read();
  EXPECT_EQ(icalcomponent_count_components(calendar.get(), ICAL_VEVENT_COMPONENT),
            (kThreads + kProcesses) * kEach);
  EXPECT_EQ(icalcomponent_count_components(calendar.get(), ICAL_VTIMEZONE_COMPONENT), 1);
  EXPECT_EQ(icalcomponent_count_errors(calendar.get()), 0);
  // No temporary file is left behind.
  int entries = 0;
  for ([[maybe_unused]] const auto& entry :
       std::filesystem::directory_iterator(file_.parent_path())) {
    ++entries;
  }
  EXPECT_EQ(entries, 2);  // calendar.ics and calendar.ics.lock
}

TEST_F(CalendarTools, ACorruptLocalFileIsNeitherOverwrittenNorFatalToListing) {
  std::filesystem::create_directories(file_.parent_path());
  std::ofstream(file_) << "this is not a calendar";
  CalendarService service = make_service();
  const auto tools = service.tools();
  test::NullContext context;
  EXPECT_THROW(find_tool(tools, "create_calendar_event").call(meeting_arguments(), context),
               ToolError);
  std::ifstream in(file_);
  EXPECT_EQ(std::string(std::istreambuf_iterator<char>(in), {}), "this is not a calendar");
  const ToolResult listed = call_tool(find_tool(tools, "load_calendar_events"), json::object());
  EXPECT_EQ(listed.structured["warnings"].size(), 1u);
}

}  // namespace
}  // namespace voicedesk::tools::calendar
