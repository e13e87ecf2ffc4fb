// The CalDAV client and the tools against a real Radicale server on 127.0.0.1.
#include "tools/calendar/caldav.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <optional>

#include "tools/calendar/calendar_test_support.hpp"
#include "tools/net/curl.hpp"
#include "util/child_process.hpp"
#include "util/temp_dir.hpp"

namespace voicedesk::tools::calendar {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;

constexpr const char* kPython = "/usr/bin/python3";

bool radicale_installed() {
  return std::filesystem::exists(kPython) &&
         std::system("/usr/bin/python3 -c 'import radicale' >/dev/null 2>&1") == 0;
}

class Radicale : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!radicale_installed()) {
      GTEST_SKIP() << "Radicale is not installed (/usr/bin/python3 -m radicale); "
                      "scripts/deps installs the radicale package";
    }
    port_ = test_support::free_tcp_port();
    const auto users = dir_.write("users", "alice:secret\n");
    const auto config = dir_.write(
        "config", "[server]\nhosts = 127.0.0.1:" + std::to_string(port_) +
                      "\n[auth]\ntype = htpasswd\nhtpasswd_filename = " + users.string() +
                      "\nhtpasswd_encryption = plain\n[storage]\nfilesystem_folder = " +
                      (dir_.path() / "collections").string() +
                      "\n[rights]\ntype = owner_only\n[logging]\nlevel = warning\n");
    server_.emplace(
        std::vector<std::string>{kPython, "-m", "radicale", "--config", config.string()},
        dir_.path() / "radicale.log");
    server_->wait_for_port(port_);
    collection_ = "http://127.0.0.1:" + std::to_string(port_) + "/alice/work/";
    net::HttpRequest make;
    make.method = "MKCALENDAR";
    make.url = collection_;
    make.username = "alice";
    make.password = "secret";
    const auto response = net::http_request(make);
    ASSERT_EQ(response.status, 201) << response.body << server_->log_text();
  }

  CalendarService make_service(const std::string& password = "secret") {
    return CalendarService(
        test::calendar_config({{"VOICEDESK_TIMEZONE", "Europe/Berlin"},
                               {"VOICEDESK_CALENDAR_FILE", (dir_.path() / "local.ics").string()},
                               {"VOICEDESK_CALDAV_URL", collection_},
                               {"VOICEDESK_CALDAV_USERNAME", "alice"},
                               {"VOICEDESK_CALDAV_PASSWORD", password}}),
        test::fixed_now);
  }

  test_support::TempDir dir_;
  int port_ = 0;
  std::optional<test_support::ChildProcess> server_;
  std::string collection_;
};

TEST_F(Radicale, CreatesAnEventAndListsItForTodayAndTheWeek) {
  CalendarService service = make_service();
  const auto tools = service.tools();
  const ToolResult created = test::call_tool(test::find_tool(tools, "create_calendar_event"),
                                             {{"title", "Review"},
                                              {"date", "2025-06-10"},
                                              {"time", "16:00"},
                                              {"duration_minutes", 30},
                                              {"attendees", {"ann@example.com"}}});
  EXPECT_EQ(created.structured["provider"], "caldav");
  EXPECT_TRUE(created.structured["fallback_reason"].is_null());
  EXPECT_FALSE(std::filesystem::exists(dir_.path() / "local.ics"));
  test::call_tool(test::find_tool(tools, "create_calendar_event"),
                  {{"title", "Lunch"}, {"date", "2025-06-13"}, {"time", "12:00"}});

  const ToolResult today =
      test::call_tool(test::find_tool(tools, "load_calendar_events"), {{"scope", "today"}});
  ASSERT_EQ(today.structured["events"].size(), 1u) << today.structured.dump(2);
  EXPECT_EQ(today.structured["events"][0]["title"], "Review");
  EXPECT_EQ(today.structured["events"][0]["source"], "caldav");
  EXPECT_EQ(today.structured["events"][0]["start"], "2025-06-10T16:00:00+02:00");
  EXPECT_EQ(today.structured["events"][0]["attendees"], json({"ann@example.com"}));
  EXPECT_TRUE(today.structured["warnings"].empty());

  const ToolResult week =
      test::call_tool(test::find_tool(tools, "load_calendar_events"), {{"scope", "week"}});
  ASSERT_EQ(week.structured["events"].size(), 2u);
  EXPECT_EQ(week.structured["events"][1]["title"], "Lunch");
  EXPECT_TRUE(
      test::call_tool(test::find_tool(tools, "load_calendar_events"), {{"scope", "2025-06-11"}})
          .structured["events"]
          .empty());
}

TEST_F(Radicale, TheEventFetchedBackIsValidIcalendar) {
  CalDavClient client({.collection_url = collection_, .username = "alice", .password = "secret"});
  client.check_collection();
  NewEvent event;
  event.uid = generate_uid();
  event.title = "Fetched";
  event.date = std::chrono::year{2025} / 6 / 10;
  event.time_of_day = std::chrono::hours{9};
  const IcalComponent calendar =
      build_event_calendar(event, *TimeZone::find("Europe/Berlin"),
                           std::chrono::time_point_cast<std::chrono::seconds>(test::fixed_now()));
  const std::string url = client.create(event.uid, to_ical_string(calendar.get()));
  EXPECT_THAT(url, HasSubstr(collection_));
  EXPECT_THROW(client.create(event.uid, to_ical_string(calendar.get())), CalendarError);

  const auto day = TimeZone::find("Europe/Berlin")->start_of_day(std::chrono::year{2025} / 6 / 10);
  const auto found = client.query(day, day + std::chrono::days{1});
  ASSERT_EQ(found.size(), 1u);
  const IcalComponent fetched = parse_ical(found[0], "fetched");
  EXPECT_EQ(icalcomponent_isa(fetched.get()), ICAL_VCALENDAR_COMPONENT);
  EXPECT_EQ(icalcomponent_count_errors(fetched.get()), 0);
  icalcomponent* vevent = icalcomponent_get_first_component(fetched.get(), ICAL_VEVENT_COMPONENT);
  ASSERT_NE(vevent, nullptr);
  EXPECT_STREQ(icalcomponent_get_uid(vevent), event.uid.c_str());
  EXPECT_TRUE(client.query(day + std::chrono::days{1}, day + std::chrono::days{2}).empty());
}

TEST_F(Radicale, WrongCredentialsOrCollectionFallBackWithAReason) {
  CalendarService service = make_service("wrong");
  const auto tools = service.tools();
  const ToolResult created =
      test::call_tool(test::find_tool(tools, "create_calendar_event"),
                      {{"title", "Review"}, {"date", "2025-06-10"}, {"time", "16:00"}});
  EXPECT_EQ(created.structured["provider"], "ics_fallback");
  EXPECT_THAT(created.structured["fallback_reason"].get<std::string>(), HasSubstr("401"));

  CalDavClient missing(
      {.collection_url = "http://127.0.0.1:" + std::to_string(port_) + "/alice/nothing/",
       .username = "alice",
       .password = "secret"});
  try {
    missing.create("x", "BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n");
    FAIL() << "no error";
  } catch (const CalendarError& e) {
    EXPECT_THAT(e.what(), HasSubstr("nothing"));
  }
}

}  // namespace
}  // namespace voicedesk::tools::calendar
