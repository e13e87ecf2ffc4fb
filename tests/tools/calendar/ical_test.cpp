#include "tools/calendar/ical.hpp"

#include <gtest/gtest.h>

#include "tools/calendar/caldav.hpp"
#include "tools/calendar/scope.hpp"
#include "tools/tool.hpp"

namespace voicedesk::tools::calendar {
namespace {

using namespace std::chrono;

TimeZone berlin() {
  return *TimeZone::find("Europe/Berlin");
}

Window days_window(const TimeZone& zone, year_month_day first, int count) {
  return {zone.start_of_day(first),
          zone.start_of_day(year_month_day{sys_days{first} + days{count}})};
}

std::vector<Occurrence> parse_window(const std::string& ics, const TimeZone& zone,
                                     year_month_day first, int count) {
  const IcalComponent calendar = parse_ical(ics, "test");
  return occurrences_in(calendar.get(), days_window(zone, first, count), zone, 1000);
}

NewEvent meeting(year_month_day date, minutes time_of_day, minutes duration) {
  NewEvent event;
  event.uid = generate_uid();
  event.title = "Planning; budget, Q3";
  event.description = "Line one\nLine two";
  event.attendees = {{"ann@example.com", "Ann Smith"}, {"bob@example.org", ""}};
  event.organizer_email = "me@example.net";
  event.date = date;
  event.time_of_day = time_of_day;
  event.duration = duration;
  return event;
}

TEST(TimeZone, KnowsIanaNamesAndRefusesOthers) {
  EXPECT_TRUE(TimeZone::find("Europe/Berlin"));
  EXPECT_TRUE(TimeZone::find("America/Argentina/Buenos_Aires"));
  EXPECT_TRUE(TimeZone::find("UTC")->is_utc());
  EXPECT_FALSE(TimeZone::find("Mars/Olympus"));
  EXPECT_FALSE(TimeZone::find("../../etc/passwd"));
  EXPECT_FALSE(TimeZone::find(""));
}

TEST(TimeZone, ConvertsAcrossDaylightSavingTime) {
  const TimeZone zone = berlin();
  // Winter: UTC+1; summer: UTC+2.
  const Seconds winter = zone.to_utc(year{2025} / 1 / 15, hours{9});
  const Seconds summer = zone.to_utc(year{2025} / 7 / 15, hours{9});
  EXPECT_EQ(winter, sys_days{year{2025} / 1 / 15} + hours{8});
  EXPECT_EQ(summer, sys_days{year{2025} / 7 / 15} + hours{7});
  EXPECT_EQ(zone.format(winter), "2025-01-15T09:00:00+01:00");
  EXPECT_EQ(zone.format(summer), "2025-07-15T09:00:00+02:00");
  EXPECT_EQ(TimeZone::find("America/New_York")->format(summer), "2025-07-15T03:00:00-04:00");
  // 2025-03-30 has 23 hours in Berlin.
  EXPECT_EQ(zone.start_of_day(year{2025} / 3 / 31) - zone.start_of_day(year{2025} / 3 / 30),
            hours{23});
}

TEST(Ical, BuildsAnEventThatParsesBackWithItsTimeZone) {
  const TimeZone zone = berlin();
  const NewEvent event = meeting(year{2025} / 6 / 10, hours{14}, minutes{90});
  const IcalComponent calendar = build_event_calendar(event, zone, sys_days{year{2025} / 6 / 1});
  const std::string ics = to_ical_string(calendar.get());

  EXPECT_NE(ics.find("BEGIN:VTIMEZONE\r\nTZID:Europe/Berlin"), std::string::npos) << ics;
  EXPECT_NE(ics.find("DTSTART;TZID=Europe/Berlin:20250610T140000"), std::string::npos) << ics;
  EXPECT_NE(ics.find("DTEND;TZID=Europe/Berlin:20250610T153000"), std::string::npos) << ics;
  EXPECT_NE(ics.find("DTSTAMP:20250601T000000Z"), std::string::npos);
  EXPECT_NE(ics.find("SUMMARY:Planning\\; budget\\, Q3"), std::string::npos) << ics;
  EXPECT_NE(ics.find("ORGANIZER:mailto:me@example.net"), std::string::npos);
  EXPECT_NE(ics.find("CN=Ann Smith"), std::string::npos);
  EXPECT_NE(ics.find("mailto:bob@example.org"), std::string::npos);
  EXPECT_NE(ics.find("UID:" + event.uid), std::string::npos);
  EXPECT_LT(ics.size(), 4000u);  // the VTIMEZONE is cut to the observances since 1970

  const auto found = parse_window(ics, zone, year{2025} / 6 / 10, 1);
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].title, "Planning; budget, Q3");
  EXPECT_EQ(found[0].description, "Line one\nLine two");
  EXPECT_EQ(found[0].start_text, "2025-06-10T14:00:00+02:00");
  EXPECT_EQ(found[0].end_text, "2025-06-10T15:30:00+02:00");
  EXPECT_EQ(found[0].attendees, (std::vector<std::string>{"ann@example.com", "bob@example.org"}));
  EXPECT_EQ(found[0].uid, event.uid);
}

TEST(Ical, TheEmbeddedVtimezoneAloneGivesTheRightInstants) {
  // Renamed to a zone libical does not know, the times can only be read
  // through the VTIMEZONE we wrote: winter and summer events both.
  const TimeZone zone = berlin();
  for (const year_month_day date : {year{2025} / 1 / 20, year{2025} / 8 / 20}) {
    const NewEvent event = meeting(date, hours{9}, minutes{30});
    std::string ics =
        to_ical_string(build_event_calendar(event, zone, sys_days{year{2025} / 1 / 1}).get());
    for (std::size_t at; (at = ics.find("Europe/Berlin")) != std::string::npos;) {
      ics.replace(at, 13, "Test/Private");
    }
    const auto found = parse_window(ics, TimeZone::utc(), date, 1);
    ASSERT_EQ(found.size(), 1u) << ics;
    EXPECT_EQ(found[0].start, zone.to_utc(date, hours{9}));
  }
}

TEST(Ical, UtcZoneWritesUtcTimes) {
  const NewEvent event = meeting(year{2025} / 6 / 10, hours{23}, minutes{120});
  const std::string ics = to_ical_string(
      build_event_calendar(event, TimeZone::utc(), sys_days{year{2025} / 6 / 1}).get());
  EXPECT_EQ(ics.find("VTIMEZONE"), std::string::npos);
  EXPECT_NE(ics.find("DTSTART:20250610T230000Z"), std::string::npos) << ics;
  EXPECT_NE(ics.find("DTEND:20250611T010000Z"), std::string::npos) << ics;
}

TEST(Ical, DurationAcrossTheDstChangeIsRealTime) {
  // 01:30 + 2 h on 2025-03-30 in Berlin: 02:00 does not exist, so 04:30 local.
  const NewEvent event = meeting(year{2025} / 3 / 30, hours{1} + minutes{30}, minutes{120});
  const std::string ics =
      to_ical_string(build_event_calendar(event, berlin(), sys_days{year{2025} / 3 / 1}).get());
  EXPECT_NE(ics.find("DTEND;TZID=Europe/Berlin:20250330T043000"), std::string::npos) << ics;
}

constexpr const char* kClientCalendar =
    "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\n"
    "BEGIN:VEVENT\r\nUID:utc\r\nDTSTART:20250610T120000Z\r\nDTEND:20250610T130000Z\r\n"
    "SUMMARY:In UTC\r\nEND:VEVENT\r\n"
    "BEGIN:VEVENT\r\nUID:ny\r\nDTSTART;TZID=America/New_York:20250610T080000\r\n"
    "DURATION:PT45M\r\nSUMMARY:In New York\r\nEND:VEVENT\r\n"
    "BEGIN:VEVENT\r\nUID:floating\r\nDTSTART:20250610T090000\r\nDTEND:20250610T093000\r\n"
    "SUMMARY:Floating\r\nATTENDEE;CN=Zed:MAILTO:zed@example.com\r\nEND:VEVENT\r\n"
    "BEGIN:VEVENT\r\nUID:allday\r\nDTSTART;VALUE=DATE:20250610\r\nDTEND;VALUE=DATE:20250612\r\n"
    "SUMMARY:Conference\r\nEND:VEVENT\r\n"
    "BEGIN:VEVENT\r\nUID:other-day\r\nDTSTART:20250612T090000Z\r\nSUMMARY:Later\r\nEND:VEVENT\r\n"
    "END:VCALENDAR\r\n";

TEST(Ical, ReadsUtcTzidFloatingAndDateTimes) {
  const auto found = parse_window(kClientCalendar, berlin(), year{2025} / 6 / 10, 1);
  ASSERT_EQ(found.size(), 4u);
  EXPECT_EQ(found[0].title, "Conference");  // all day: from local midnight
  EXPECT_TRUE(found[0].all_day);
  EXPECT_EQ(found[0].start_text, "2025-06-10");
  EXPECT_EQ(found[0].end_text, "2025-06-12");
  EXPECT_EQ(found[1].title, "Floating");  // read as Berlin time
  EXPECT_EQ(found[1].start_text, "2025-06-10T09:00:00+02:00");
  EXPECT_EQ(found[1].attendees, std::vector<std::string>{"zed@example.com"});
  EXPECT_EQ(found[2].title, "In UTC");
  EXPECT_EQ(found[2].start_text, "2025-06-10T14:00:00+02:00");
  EXPECT_EQ(found[3].title, "In New York");
  EXPECT_EQ(found[3].start_text, "2025-06-10T14:00:00+02:00");
  EXPECT_EQ(found[3].end_text, "2025-06-10T14:45:00+02:00");
  // The all-day event also covers the 11th; the 12th has only "Later".
  EXPECT_EQ(parse_window(kClientCalendar, berlin(), year{2025} / 6 / 11, 1).size(), 1u);
  EXPECT_EQ(parse_window(kClientCalendar, berlin(), year{2025} / 6 / 12, 1).at(0).title, "Later");
}

TEST(Ical, ExpandsRecurrencesWithExceptionsAndOverrides) {
  const std::string ics =
      "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\n"
      "BEGIN:VEVENT\r\nUID:standup\r\nDTSTART;TZID=Europe/Berlin:20250101T093000\r\n"
      "DTEND;TZID=Europe/Berlin:20250101T094500\r\nRRULE:FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR\r\n"
      "EXDATE;TZID=Europe/Berlin:20250611T093000\r\nSUMMARY:Standup\r\nEND:VEVENT\r\n"
      "BEGIN:VEVENT\r\nUID:standup\r\nRECURRENCE-ID;TZID=Europe/Berlin:20250612T093000\r\n"
      "DTSTART;TZID=Europe/Berlin:20250612T110000\r\nDTEND;TZID=Europe/Berlin:20250612T111500\r\n"
      "SUMMARY:Standup (moved)\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";
  // Mon 9 .. Sun 15 June: Mon, Tue, (Wed excluded), Thu moved, Fri.
  const auto found = parse_window(ics, berlin(), year{2025} / 6 / 9, 7);
  ASSERT_EQ(found.size(), 4u);
  EXPECT_EQ(found[0].start_text,
            "2025-06-09T09:30:00+02:00");  // summer time, though DTSTART is in winter
  EXPECT_EQ(found[1].start_text, "2025-06-10T09:30:00+02:00");
  EXPECT_EQ(found[2].title, "Standup (moved)");
  EXPECT_EQ(found[2].start_text, "2025-06-12T11:00:00+02:00");
  EXPECT_EQ(found[3].start_text, "2025-06-13T09:30:00+02:00");
  EXPECT_EQ(found[3].end_text, "2025-06-13T09:45:00+02:00");
}

TEST(Ical, RefusesTextThatIsNotIcalendar) {
  EXPECT_THROW(parse_ical("hello", "ics_content"), CalendarError);
  EXPECT_THROW(parse_ical("", "ics_content"), CalendarError);
}

TEST(Scope, ReadsNamedDaysDatesAndRanges) {
  const year_month_day tuesday = year{2025} / 6 / 10;
  auto range = [&](std::string_view scope) {
    const DayRange days = parse_scope(scope, tuesday);
    return format_date(days.first) + ".." + format_date(days.last);
  };
  EXPECT_EQ(range("today"), "2025-06-10..2025-06-10");
  EXPECT_EQ(range(""), "2025-06-10..2025-06-10");
  EXPECT_EQ(range(" Tomorrow "), "2025-06-11..2025-06-11");
  EXPECT_EQ(range("week"), "2025-06-10..2025-06-16");
  EXPECT_EQ(range("2025-12-31"), "2025-12-31..2025-12-31");
  EXPECT_EQ(range("2025-06-01..2025-06-30"), "2025-06-01..2025-06-30");
  EXPECT_EQ(range("2025-06-01/2025-06-02"), "2025-06-01..2025-06-02");
  EXPECT_EQ(range("friday"), "2025-06-13..2025-06-13");
  EXPECT_EQ(range("Tuesday"), "2025-06-10..2025-06-10");
  EXPECT_EQ(range("monday"), "2025-06-16..2025-06-16");
  EXPECT_THROW(range("2025-02-30"), ToolError);
  EXPECT_THROW(range("2025-06-30..2025-06-01"), ToolError);
  EXPECT_THROW(range("2020-01-01..2025-01-01"), ToolError);
  EXPECT_THROW(range("next month"), ToolError);
}

TEST(Scope, DatesAndTimesMustBeReal) {
  EXPECT_TRUE(parse_date("2024-02-29"));
  EXPECT_FALSE(parse_date("2025-02-29"));
  EXPECT_FALSE(parse_date("2025-13-01"));
  EXPECT_FALSE(parse_date("2025-6-1"));
  EXPECT_FALSE(parse_date("2025-06-10x"));
  EXPECT_EQ(parse_time("00:00"), minutes{0});
  EXPECT_EQ(parse_time("23:59"), hours{23} + minutes{59});
  EXPECT_FALSE(parse_time("24:00"));
  EXPECT_FALSE(parse_time("12:60"));
  EXPECT_FALSE(parse_time("9:30"));
}

TEST(Multistatus, ExtractsCalendarDataWhateverThePrefix) {
  const std::string xml =
      "<?xml version=\"1.0\"?>\n<!-- <C:calendar-data>not this</C:calendar-data> -->"
      "<d:multistatus xmlns:d=\"DAV:\" xmlns:cal=\"urn:ietf:params:xml:ns:caldav\">"
      "<d:response><d:propstat><d:prop>"
      "<cal:calendar-data content-type=\"text/calendar\">BEGIN:VCALENDAR&#13;\nA &amp; B &lt;x&gt;"
      " &#x20AC;</cal:calendar-data>"
      "</d:prop></d:propstat></d:response>"
      "<response xmlns=\"DAV:\"><propstat><prop>"
      "<calendar-data xmlns=\"urn:ietf:params:xml:ns:caldav\"><![CDATA[raw <&> text]]>"
      "</calendar-data><calendar-data-extra>no</calendar-data-extra><C:calendar-data/>"
      "</prop></propstat></response></d:multistatus>";
  const auto texts = xml_element_texts(xml, "calendar-data");
  ASSERT_EQ(texts.size(), 3u);
  EXPECT_EQ(texts[0], "BEGIN:VCALENDAR\r\nA & B <x> \xE2\x82\xAC");
  EXPECT_EQ(texts[1], "raw <&> text");
  EXPECT_EQ(texts[2], "");
  EXPECT_TRUE(xml_element_texts("<a><b>unterminated", "b").empty());
}

}  // namespace
}  // namespace voicedesk::tools::calendar
