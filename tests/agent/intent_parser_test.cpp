#include "agent/intent_parser.hpp"

#include <gtest/gtest.h>

namespace voicedesk::agent {
namespace {

using nlohmann::json;
using namespace std::chrono;

// Wednesday: "friday" is the 27th, "monday" the 30th.
constexpr year_month_day kToday{year{2026}, November, day{25}};

Contacts team() {
  return Contacts::parse(
      "Alice Smith <alice@example.com>\n"
      "Bob Lee <bob@example.org>\n"
      "Carol Diaz <carol@example.net>\n");
}

// One phrasing and what must come out: the tool (empty: no call), the
// arguments that must be present with these values, the inbox position for
// read/reply by position.
struct Case {
  const char* utterance;
  const char* tool;
  json arguments;
  int inbox_position = 0;
};

void PrintTo(const Case& c, std::ostream* out) {
  *out << '"' << c.utterance << '"';
}

class IntentTable : public ::testing::TestWithParam<Case> {};

TEST_P(IntentTable, ParsesToTheExpectedToolCall) {
  const Case& expected = GetParam();
  const IntentParser parser(team());
  const Command command = parser.parse(expected.utterance, kToday);
  if (std::string(expected.tool).empty()) {
    EXPECT_FALSE(command.call) << command.call->name << " " << command.call->arguments.dump();
    EXPECT_FALSE(command.say.empty());
    return;
  }
  ASSERT_TRUE(command.call) << "no call; said: " << command.say;
  EXPECT_EQ(command.call->name, expected.tool) << command.call->arguments.dump();
  for (const auto& [key, value] : expected.arguments.items()) {
    ASSERT_TRUE(command.call->arguments.contains(key))
        << "missing " << key << " in " << command.call->arguments.dump();
    EXPECT_EQ(command.call->arguments[key], value)
        << key << " in " << command.call->arguments.dump();
  }
  EXPECT_EQ(command.inbox_position.value_or(0), expected.inbox_position);
  const bool changes_something = command.call->name == "send_email" ||
                                 command.call->name == "reply_to_email" ||
                                 command.call->name == "create_calendar_event";
  EXPECT_EQ(command.needs_confirmation, changes_something);
  EXPECT_FALSE(command.say.empty());
}

const Case kCases[] = {
    // Sending mail: addresses spoken or written, contacts, subjects, slips.
    {"send an email to alice@example.com saying the report is ready",
     "send_email",
     {{"to_email", "alice@example.com"},
      {"body", "the report is ready"},
      {"subject", "The report is ready"}}},
    {"Send an email to alice at example dot com saying the report is ready.",
     "send_email",
     {{"to_email", "alice@example.com"}, {"body", "the report is ready"}}},
    {"send email to Alice saying lunch is at noon",
     "send_email",
     {{"to_email", "alice@example.com"}, {"body", "lunch is at noon"}}},
    {"please send a mail to bob that I'll be late",
     "send_email",
     {{"to_email", "bob@example.org"}, {"body", "I'll be late"}}},
    {"email carol saying thanks for the notes",
     "send_email",
     {{"to_email", "carol@example.net"}, {"body", "thanks for the notes"}}},
    {"send an e-mail to bob underscore lee at mail dot example dot org saying hello there",
     "send_email",
     {{"to_email", "bob_lee@mail.example.org"}, {"body", "hello there"}}},
    {"can you send a message to Alice Smith saying the build passed",
     "send_email",
     {{"to_email", "alice@example.com"}, {"body", "the build passed"}}},
    {"write an email to bob about the budget saying please review it by friday",
     "send_email",
     {{"to_email", "bob@example.org"},
      {"subject", "the budget"},
      {"body", "please review it by friday"}}},
    {"send an email to alice with subject quarterly numbers saying they look good",
     "send_email",
     {{"to_email", "alice@example.com"},
      {"subject", "quarterly numbers"},
      {"body", "they look good"}}},
    {"send alice an email saying the meeting moved",
     "send_email",
     {{"to_email", "alice@example.com"}, {"body", "the meeting moved"}}},
    {"write to carol that the draft is attached",
     "send_email",
     {{"to_email", "carol@example.net"}, {"body", "the draft is attached"}}},
    {"send an email to alice and bob saying standup is cancelled",
     "send_email",
     {{"to_email", "alice@example.com"},
      {"cc", {"bob@example.org"}},
      {"body", "standup is cancelled"}}},
    {"okay send an email to alice at example.com saying ok",
     "send_email",
     {{"to_email", "alice@example.com"}, {"body", "ok"}}},
    {"send an email to dave saying hi", "", json::object()},
    {"send an email to alice", "", json::object()},
    // Replies.
    {"reply to the last email saying thanks I'll take a look",
     "reply_to_email",
     {{"body", "thanks I'll take a look"}},
     1},
    {"reply to the latest email saying sounds good",
     "reply_to_email",
     {{"body", "sounds good"}},
     1},
    {"respond to email 2 saying see you then", "reply_to_email", {{"body", "see you then"}}, 2},
    {"reply to email number three saying confirmed", "reply_to_email", {{"body", "confirmed"}}, 3},
    {"reply saying I agree", "reply_to_email", {{"body", "I agree"}}, 1},
    {"reply to the second email saying no thanks", "reply_to_email", {{"body", "no thanks"}}, 2},
    {"reply to the last email", "", json::object()},
    // The inbox.
    {"what's in my inbox", "list_inbox", {{"limit", 10}}},
    {"whats in my inbox", "list_inbox", {{"limit", 10}}},
    {"check my email", "list_inbox", {{"limit", 10}}},
    {"do I have any new emails", "list_inbox", {{"limit", 10}}},
    {"read my emails", "list_inbox", {{"limit", 10}}},
    {"show me my last five emails", "list_inbox", {{"limit", 5}}},
    {"show me the latest 3 messages", "list_inbox", {{"limit", 3}}},
    {"list my last twenty five emails", "list_inbox", {{"limit", 25}}},
    {"any new mail", "list_inbox", {{"limit", 10}}},
    // Reading one mail.
    {"read email 2", "read_email", json::object(), 2},
    {"read email number three", "read_email", json::object(), 3},
    {"read the first email", "read_email", json::object(), 1},
    {"open the latest mail", "read_email", json::object(), 1},
    {"read me the second message", "read_email", json::object(), 2},
    {"read email number twelve", "read_email", json::object(), 12},
    // Scheduling.
    {"schedule a meeting with bob tomorrow at 3 pm for 30 minutes",
     "create_calendar_event",
     {{"date", "2026-11-26"},
      {"time", "15:00"},
      {"duration_minutes", 30},
      {"attendees", {"bob@example.org"}}}},
    {"Schedule a meeting called project review on Friday at 2:30 p.m. for one hour.",
     "create_calendar_event",
     {{"title", "project review"},
      {"date", "2026-11-27"},
      {"time", "14:30"},
      {"duration_minutes", 60}}},
    {"create an event called launch party on december 5th at 6 pm",
     "create_calendar_event",
     {{"title", "launch party"},
      {"date", "2026-12-05"},
      {"time", "18:00"},
      {"duration_minutes", 30}}},
    {"book a meeting with alice at example dot com on monday at ten am for forty five minutes",
     "create_calendar_event",
     {{"date", "2026-11-30"},
      {"time", "10:00"},
      {"duration_minutes", 45},
      {"attendees", {"alice@example.com"}}}},
    {"set up a call with carol and bob tomorrow at three thirty pm for half an hour",
     "create_calendar_event",
     {{"date", "2026-11-26"},
      {"time", "15:30"},
      {"duration_minutes", 30},
      {"attendees", {"carol@example.net", "bob@example.org"}}}},
    {"schedule a meeting about the budget on the fifth of december at 9 in the morning for an hour "
     "and a half",
     "create_calendar_event",
     {{"title", "the budget"},
      {"date", "2026-12-05"},
      {"time", "09:00"},
      {"duration_minutes", 90}}},
    {"schedule lunch with bob tomorrow at noon for an hour",
     "create_calendar_event",
     {{"title", "lunch"}, {"date", "2026-11-26"}, {"time", "12:00"}, {"duration_minutes", 60}}},
    {"create a meeting on 2026-12-01 at 15:00 for 2 hours",
     "create_calendar_event",
     {{"date", "2026-12-01"}, {"time", "15:00"}, {"duration_minutes", 120}}},
    {"schedule a meeting today at half past four",
     "create_calendar_event",
     {{"date", "2026-11-25"}, {"time", "16:30"}}},
    {"schedule a meeting at 3 o'clock with alice",
     "create_calendar_event",
     {{"date", "2026-11-25"},
      {"time", "15:00"},
      {"attendees", {"alice@example.com"}},
      {"title", "Meeting with Alice Smith"}}},
    {"add an appointment titled dentist on next tuesday at 8:15 am for 20 minutes",
     "create_calendar_event",
     {{"title", "dentist"}, {"date", "2026-12-01"}, {"time", "08:15"}, {"duration_minutes", 20}}},
    {"schedule a meeting on friday at 11 for 1.5 hours",
     "create_calendar_event",
     {{"date", "2026-11-27"}, {"time", "11:00"}, {"duration_minutes", 90}}},
    {"schedule a meeting with dave tomorrow at 3", "", json::object()},
    {"schedule a meeting tomorrow", "", json::object()},
    // The calendar.
    {"what's on my calendar today", "load_calendar_events", {{"scope", "today"}}},
    {"what is on my calender tomorrow", "load_calendar_events", {{"scope", "tomorrow"}}},
    {"what's on my calendar this week", "load_calendar_events", {{"scope", "week"}}},
    {"what's on my calendar on friday", "load_calendar_events", {{"scope", "2026-11-27"}}},
    {"do I have any meetings on monday", "load_calendar_events", {{"scope", "2026-11-30"}}},
    {"show my schedule for next week",
     "load_calendar_events",
     {{"scope", "2026-11-30..2026-12-06"}}},
    {"am I free tomorrow", "load_calendar_events", {{"scope", "tomorrow"}}},
    {"what meetings do I have", "load_calendar_events", {{"scope", "today"}}},
    {"what's on my agenda for december 5", "load_calendar_events", {{"scope", "2026-12-05"}}},
    // Search.
    {"search the web for best pizza in naples",
     "duckduckgo_search",
     {{"query", "best pizza in naples"}, {"max_results", 5}}},
    {"search for C++ coroutines", "duckduckgo_search", {{"query", "C++ coroutines"}}},
    {"look up the weather in Paris", "duckduckgo_search", {{"query", "the weather in Paris"}}},
    {"google opus codec bitrate", "duckduckgo_search", {{"query", "opus codec bitrate"}}},
    {"hey voicedesk search the internet for whisper models",
     "duckduckgo_search",
     {{"query", "whisper models"}}},
    // Anything else.
    {"what's the meaning of life", "", json::object()},
    {"answer the phone", "", json::object()},
    {"", "", json::object()},
};

INSTANTIATE_TEST_SUITE_P(Phrasings, IntentTable, ::testing::ValuesIn(kCases));

TEST(IntentParser, HasAtLeastSixtyPhrasings) {
  EXPECT_GE(std::size(kCases), 60u);
}

TEST(IntentParser, ReadsBackWhatItWillDo) {
  const IntentParser parser(team());
  const Command send = parser.parse("send an email to bob saying the report is ready", kToday);
  EXPECT_NE(send.say.find("bob@example.org"), std::string::npos) << send.say;
  EXPECT_NE(send.say.find("the report is ready"), std::string::npos) << send.say;
  const Command meeting = parser.parse("schedule a meeting tomorrow at 3 pm", kToday);
  EXPECT_NE(meeting.say.find("2026-11-26 at 15:00"), std::string::npos) << meeting.say;
}

TEST(IntentParser, NamesUnknownPeopleInItsAnswer) {
  const IntentParser parser(team());
  const Command command = parser.parse("send an email to dave saying hi", kToday);
  EXPECT_NE(command.say.find("dave"), std::string::npos) << command.say;
}

TEST(IntentParser, UsesTheConfiguredDefaults) {
  const IntentParser parser(team(), {.default_meeting_minutes = 60, .default_inbox_limit = 3});
  EXPECT_EQ(parser.parse("schedule a meeting at 4 pm", kToday).call->arguments["duration_minutes"],
            60);
  EXPECT_EQ(parser.parse("check my email", kToday).call->arguments["limit"], 3);
}

TEST(IntentParser, KeepsTheSpokenCaseOfFreeText) {
  const IntentParser parser(team());
  const Command command = parser.parse("Email Alice saying Meet Bob at the Louvre", kToday);
  ASSERT_TRUE(command.call);
  EXPECT_EQ(command.call->arguments["body"], "Meet Bob at the Louvre");
}

TEST(Confirmation, UnderstandsYesNoAndNeither) {
  EXPECT_EQ(IntentParser::parse_confirmation("yes"), Confirmation::yes);
  EXPECT_EQ(IntentParser::parse_confirmation("Yeah, send it."), Confirmation::yes);
  EXPECT_EQ(IntentParser::parse_confirmation("okay go ahead"), Confirmation::yes);
  EXPECT_EQ(IntentParser::parse_confirmation("no"), Confirmation::no);
  EXPECT_EQ(IntentParser::parse_confirmation("No, cancel that"), Confirmation::no);
  EXPECT_EQ(IntentParser::parse_confirmation("don't send it"), Confirmation::no);
  EXPECT_EQ(IntentParser::parse_confirmation("what's the weather"), Confirmation::unclear);
}

}  // namespace
}  // namespace voicedesk::agent
