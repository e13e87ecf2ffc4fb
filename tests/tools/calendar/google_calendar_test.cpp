// The Google Calendar provider against a local cpp-httplib fake of the token
// endpoint and the Calendar API.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <sys/stat.h>

#include <fstream>
#include <thread>

#include "tools/calendar/calendar_test_support.hpp"
#include "util/temp_dir.hpp"

namespace voicedesk::tools::calendar {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;

class GoogleCalendar : public ::testing::Test {
 protected:
  void SetUp() override {
    server_.Post("/token", [this](const httplib::Request& request, httplib::Response& response) {
      ++refreshes_;
      EXPECT_THAT(request.body, HasSubstr("grant_type=refresh_token"));
      EXPECT_THAT(request.body, HasSubstr("refresh_token=refresh-me"));
      response.set_content(R"({"access_token":"fresh","expires_in":3599})", "application/json");
    });
    server_.Post("/api/calendars/primary/events",
                 [this](const httplib::Request& request, httplib::Response& response) {
                   if (request.get_header_value("Authorization") != "Bearer fresh") {
                     response.status = 401;
                     return;
                   }
                   inserted_ = json::parse(request.body);
                   json event = inserted_;
                   event["id"] = "evt1";
                   response.set_content(event.dump(), "application/json");
                 });
    server_.Get("/api/calendars/primary/events", [this](const httplib::Request& request,
                                                        httplib::Response& response) {
      query_ = request.params;
      const json items = {
          {{"summary", "Standup"},
           {"start", {{"dateTime", "2025-06-10T07:30:00Z"}}},
           {"end", {{"dateTime", "2025-06-10T09:45:00+02:00"}}},
           {"attendees", {{{"email", "ann@example.com"}}}}},
          {{"summary", "Holiday"},
           {"start", {{"date", "2025-06-10"}}},
           {"end", {{"date", "2025-06-11"}}}},
          {{"summary", "Gone"}, {"status", "cancelled"}, {"start", {{"date", "2025-06-10"}}}}};
      response.set_content(json{{"items", items}}.dump(), "application/json");
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    while (!server_.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    dir_.write("token.json", json{{"token", "stale"},
                                  {"refresh_token", "refresh-me"},
                                  {"token_uri", base() + "/token"},
                                  {"client_id", "id"},
                                  {"client_secret", "shh"},
                                  {"expiry", "2025-06-10T07:00:00.123456Z"}}
                                 .dump());
  }
  void TearDown() override {
    server_.stop();
    thread_.join();
  }
  std::string base() const { return "http://127.0.0.1:" + std::to_string(port_); }

  CalendarService make_service() {
    return CalendarService(
        test::calendar_config(
            {{"VOICEDESK_TIMEZONE", "Europe/Berlin"},
             {"VOICEDESK_CALENDAR_FILE", (dir_.path() / "local.ics").string()},
             {"GOOGLE_CALENDAR_TOKEN_FILE", (dir_.path() / "token.json").string()},
             {"VOICEDESK_GOOGLE_CALENDAR_API_URL", base() + "/api"}}),
        test::fixed_now);
  }

  test_support::TempDir dir_;
  httplib::Server server_;
  std::thread thread_;
  int port_ = 0;
  int refreshes_ = 0;
  json inserted_;
  httplib::Params query_;
};

TEST_F(GoogleCalendar, RefreshesTheTokenCreatesAndListsEvents) {
  CalendarService service = make_service();
  const auto tools = service.tools();
  const ToolResult created = test::call_tool(test::find_tool(tools, "create_calendar_event"),
                                             {{"title", "Review"},
                                              {"date", "2025-06-10"},
                                              {"time", "16:00"},
                                              {"duration_minutes", 30},
                                              {"attendees", {"Ann <ann@example.com>"}}});
  EXPECT_EQ(created.structured["provider"], "google");
  EXPECT_EQ(created.structured["google_event"]["id"], "evt1");
  EXPECT_TRUE(created.structured["fallback_reason"].is_null());
  EXPECT_THAT(created.structured["ics"].get<std::string>(), HasSubstr("BEGIN:VEVENT"));
  EXPECT_EQ(inserted_["start"]["dateTime"], "2025-06-10T16:00:00+02:00");
  EXPECT_EQ(inserted_["start"]["timeZone"], "Europe/Berlin");
  EXPECT_EQ(inserted_["end"]["dateTime"], "2025-06-10T16:30:00+02:00");
  EXPECT_EQ(inserted_["attendees"][0],
            json({{"email", "ann@example.com"}, {"displayName", "Ann"}}));
  EXPECT_FALSE(std::filesystem::exists(dir_.path() / "local.ics"));

  // The refreshed token was written back, 0600, and is reused.
  std::ifstream in(dir_.path() / "token.json");
  const json token = json::parse(in);
  EXPECT_EQ(token["token"], "fresh");
  EXPECT_EQ(token["refresh_token"], "refresh-me");
  EXPECT_EQ(token["expiry"], "2025-06-10T08:59:59Z");
  struct stat info {};
  ASSERT_EQ(::stat((dir_.path() / "token.json").c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0600u);

  const ToolResult listed =
      test::call_tool(test::find_tool(tools, "load_calendar_events"), {{"scope", "today"}});
  EXPECT_EQ(refreshes_, 1);
  EXPECT_EQ(query_.find("singleEvents")->second, "true");
  EXPECT_EQ(query_.find("timeMin")->second, "2025-06-09T22:00:00+00:00");
  const json& events = listed.structured["events"];
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0]["title"], "Holiday");
  EXPECT_EQ(events[0]["start"], "2025-06-10");
  EXPECT_EQ(events[1]["title"], "Standup");
  EXPECT_EQ(events[1]["start"], "2025-06-10T09:30:00+02:00");
  EXPECT_EQ(events[1]["end"], "2025-06-10T09:45:00+02:00");
  EXPECT_EQ(events[1]["source"], "google");
  EXPECT_EQ(events[1]["attendees"], json({"ann@example.com"}));
}

TEST_F(GoogleCalendar, AFailedRefreshFallsBackToTheLocalFile) {
  dir_.write("token.json", json{{"token", "stale"}, {"expiry", "2025-06-10T07:00:00Z"}}.dump());
  CalendarService service = make_service();
  const auto tools = service.tools();
  const ToolResult created =
      test::call_tool(test::find_tool(tools, "create_calendar_event"),
                      {{"title", "Review"}, {"date", "2025-06-10"}, {"time", "16:00"}});
  EXPECT_EQ(created.structured["provider"], "ics_fallback");
  EXPECT_THAT(created.structured["fallback_reason"].get<std::string>(),
              HasSubstr("Google Calendar failed"));
  EXPECT_TRUE(std::filesystem::exists(dir_.path() / "local.ics"));
}

}  // namespace
}  // namespace voicedesk::tools::calendar
