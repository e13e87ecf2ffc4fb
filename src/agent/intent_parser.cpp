#include "agent/intent_parser.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>
#include <regex>
#include <sstream>
#include <vector>

#include "util/text.hpp"

namespace voicedesk::agent {
namespace {

using std::chrono::days;
using std::chrono::sys_days;
using std::chrono::year_month_day;

constexpr int kMaxInboxLimit = 50;
constexpr std::size_t kSubjectWords = 8;

// The utterance twice, position for position: lower-cased for matching and as
// spoken for the free-text slots (a mail's body, a title, a query).
struct Utterance {
  std::string spoken;
  std::string lower;

  explicit Utterance(std::string text)
      : spoken(std::move(text)), lower(util::ascii_lower(spoken)) {}
  std::string spoken_at(const std::smatch& match, int group) const {
    return spoken.substr(static_cast<std::size_t>(match.position(group)),
                         static_cast<std::size_t>(match.length(group)));
  }
  // Cuts a slot out of both, leaving a "|" so text on either side never joins.
  void cut(const std::smatch& match) {
    const auto position = static_cast<std::size_t>(match.position(0));
    const auto length = static_cast<std::size_t>(match.length(0));
    spoken.replace(position, length, " | ");
    lower.replace(position, length, " | ");
  }
};

// A free-text slot without the spaces, punctuation and cut marks ("|") around it.
std::string trim_slot(std::string_view text) {
  return std::string(util::trim(text, " \t\r\n,.;:!?|"));
}

std::string collapse_spaces(std::string_view text) {
  std::string out;
  bool space = false;
  for (const char c : text) {
    if (std::isspace(static_cast<unsigned char>(c))) {
      space = true;
      continue;
    }
    if (space && !out.empty()) out += ' ';
    space = false;
    out += c;
  }
  return out;
}

// Recognizers write "p.m.", "P M", "e-mail": one spelling each, and the
// polite openings that carry no meaning go.
std::string normalize(std::string_view utterance) {
  static const std::vector<std::pair<std::regex, std::string>> kRewrites = {
      {std::regex(R"(\b([ap])\.\s?m\.?(?=\s|$|[,!?]))", std::regex::icase), "$1m"},
      {std::regex(R"(\b([ap])\s(m)\b)", std::regex::icase), "$1$2"},
      {std::regex(R"(\be-mail)", std::regex::icase), "email"},
      {std::regex(R"(\bcalender\b)", std::regex::icase), "calendar"},
      {std::regex(R"(^(?:(?:ok(?:ay)?|hey|hi|so|um+|uh+|well|voicedesk|assistant|please|)"
                  R"(can you|could you|would you|will you|i want to|i'd like to|i would like to|)"
                  R"(i need to|let's|go ahead and)[ ,]+)+)",
                  std::regex::icase),
       ""},
      {std::regex(R"(,?\s*please$)", std::regex::icase), ""},
  };
  std::string text = collapse_spaces(util::trim(utterance));
  for (const auto& [pattern, replacement] : kRewrites) {
    text = std::regex_replace(text, pattern, replacement);
  }
  return std::string(util::trim(text, " \t\r\n.!?,"));
}

// --- Numbers, as digits or words -------------------------------------------

const std::array<std::string_view, 20> kUnits = {
    "zero",     "one",     "two",     "three",     "four",     "five",    "six",
    "seven",    "eight",   "nine",    "ten",       "eleven",   "twelve",  "thirteen",
    "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen"};
const std::array<std::string_view, 10> kTens = {"",      "",      "twenty",  "thirty", "forty",
                                                "fifty", "sixty", "seventy", "eighty", "ninety"};
const std::array<std::string_view, 13> kOrdinalUnits = {
    "",        "first",  "second", "third", "fourth",   "fifth",  "sixth",
    "seventh", "eighth", "ninth",  "tenth", "eleventh", "twelfth"};

std::vector<std::string> words_of(std::string_view text) {
  std::vector<std::string> words;
  std::istringstream in{std::string(text)};
  for (std::string word; in >> word;) {
    std::replace(word.begin(), word.end(), '-', ' ');
    std::istringstream parts(word);
    for (std::string part; parts >> part;) words.push_back(part);
  }
  return words;
}

// "7", "seven", "twenty five", "twenty-five", "a", "an" -> the number; also
// ordinals ("third", "3rd", "twenty first") when ordinal is set.
std::optional<int> parse_number(std::string_view text, bool ordinal = false) {
  const std::string token = trim_slot(text);
  if (token.empty()) return std::nullopt;
  static const std::regex kDigits(R"((\d{1,4})(?:st|nd|rd|th)?)");
  std::smatch match;
  if (std::regex_match(token, match, kDigits)) {
    if (!ordinal && match[0].length() != match[1].length()) return std::nullopt;
    return std::stoi(match[1].str());
  }
  if (!ordinal && (token == "a" || token == "an")) return 1;
  const auto index_in = [](const auto& table, std::string_view word,
                           std::size_t from) -> std::optional<int> {
    for (std::size_t i = from; i < table.size(); ++i) {
      if (table[i] == word) return static_cast<int>(i);
    }
    return std::nullopt;
  };
  int total = 0;
  bool any = false;
  for (const auto& word : words_of(token)) {
    std::optional<int> value;
    if (ordinal) {
      value = index_in(kOrdinalUnits, word, 1);
      if (!value && word == "twentieth") value = 20;
      if (!value && word == "thirtieth") value = 30;
      // "thirteenth".."nineteenth"
      if (!value && word.ends_with("th"))
        value = index_in(kUnits, word.substr(0, word.size() - 2), 13);
    }
    if (!value) value = index_in(kUnits, word, 0);
    if (!value) {
      if (const auto tens = index_in(kTens, word, 2)) value = *tens * 10;
    }
    if (!value) return std::nullopt;
    // "twenty" then "five": add; anything else after a number is not one number.
    if (any && !(total % 10 == 0 && total >= 20 && *value < 10)) return std::nullopt;
    total += *value;
    any = true;
  }
  if (!any) return std::nullopt;
  return total;
}

// --- Dates ------------------------------------------------------------------

const std::array<std::string_view, 7> kWeekdays = {"sunday",   "monday", "tuesday", "wednesday",
                                                   "thursday", "friday", "saturday"};
const std::array<std::string_view, 12> kMonths = {"january",   "february", "march",    "april",
                                                  "may",       "june",     "july",     "august",
                                                  "september", "october",  "november", "december"};

std::string iso_date(year_month_day date) {
  char text[16];
  std::snprintf(text, sizeof text, "%04d-%02u-%02u", static_cast<int>(date.year()),
                static_cast<unsigned>(date.month()), static_cast<unsigned>(date.day()));
  return text;
}

year_month_day add_days(year_month_day date, int count) {
  return year_month_day{sys_days{date} + days{count}};
}

// The next day (today counts unless strictly_after) that is weekday.
year_month_day next_weekday(year_month_day today, std::size_t weekday, bool strictly_after) {
  const unsigned current = std::chrono::weekday{sys_days{today}}.c_encoding();
  int ahead = (static_cast<int>(weekday) - static_cast<int>(current) + 7) % 7;
  if (ahead == 0 && strictly_after) ahead = 7;
  return add_days(today, ahead);
}

// A date in "<month> <day>" or "<day> of <month>" form; the year is this
// one, or the next when the day has passed.
std::optional<year_month_day> month_day(year_month_day today, std::string_view month_name,
                                        std::string_view day_text) {
  const auto month = std::find(kMonths.begin(), kMonths.end(), month_name);
  const auto day = parse_number(day_text, true);
  if (month == kMonths.end() || !day || *day < 1 || *day > 31) return std::nullopt;
  const std::chrono::month m{static_cast<unsigned>(month - kMonths.begin() + 1)};
  year_month_day date{today.year(), m, std::chrono::day{static_cast<unsigned>(*day)}};
  if (!date.ok()) return std::nullopt;
  if (sys_days{date} < sys_days{today})
    date = year_month_day{today.year() + std::chrono::years{1}, m, date.day()};
  return date;
}

const std::string& date_pattern() {
  static const std::string pattern = [] {
    std::string weekdays, months;
    for (const auto w : kWeekdays) weekdays += (weekdays.empty() ? "" : "|") + std::string(w);
    for (const auto m : kMonths) months += (months.empty() ? "" : "|") + std::string(m);
    const std::string day =
        R"((?:\d{1,2}(?:st|nd|rd|th)?|(?:(?:twenty|thirty)[ -])?(?:first|second|third|fourth|)"
        R"(fifth|sixth|seventh|eighth|ninth)|tenth|eleventh|twelfth|thirteenth|fourteenth|)"
        R"(fifteenth|sixteenth|seventeenth|eighteenth|nineteenth|twentieth|thirtieth))";
    return R"(\b(?:on |for )?(?:the )?(day after tomorrow|today|tonight|tomorrow|)"
           R"((next|this|coming) week|(?:(next|this|coming) )?()" +
           weekdays + R"()|(\d{4}-\d{2}-\d{2})|()" + months + R"() (?:the )?()" + day + R"()|()" +
           day + R"() of ()" + months + R"())\b)";
  }();
  return pattern;
}

struct DateSlot {
  year_month_day first;
  std::optional<year_month_day> last;  // a range (a week)
};

// Finds the first date in text (and cuts it when utterance is given).
std::optional<DateSlot> find_date(Utterance& text, year_month_day today) {
  static const std::regex kDate(date_pattern());
  std::smatch match;
  std::string::const_iterator from = text.lower.cbegin();
  while (std::regex_search(from, text.lower.cend(), match, kDate)) {
    std::optional<DateSlot> slot;
    const std::string word = match[1].str();
    if (word == "today" || word == "tonight") {
      slot = DateSlot{today, {}};
    } else if (word == "tomorrow") {
      slot = DateSlot{add_days(today, 1), {}};
    } else if (word == "day after tomorrow") {
      slot = DateSlot{add_days(today, 2), {}};
    } else if (match[2].matched) {
      // This week: today through Sunday; next week: next Monday through Sunday.
      if (match[2].str() == "next") {
        const auto monday = next_weekday(today, 1, true);
        slot = DateSlot{monday, add_days(monday, 6)};
      } else {
        slot = DateSlot{today, add_days(today, 6)};
      }
    } else if (match[4].matched) {
      const auto weekday = std::find(kWeekdays.begin(), kWeekdays.end(), match[4].str());
      slot = DateSlot{next_weekday(today, static_cast<std::size_t>(weekday - kWeekdays.begin()),
                                   match[3].str() == "next"),
                      {}};
    } else if (match[5].matched) {
      const std::string iso = match[5].str();
      const year_month_day date{
          std::chrono::year{std::stoi(iso.substr(0, 4))},
          std::chrono::month{static_cast<unsigned>(std::stoi(iso.substr(5, 2)))},
          std::chrono::day{static_cast<unsigned>(std::stoi(iso.substr(8, 2)))}};
      if (date.ok()) slot = DateSlot{date, {}};
    } else if (match[6].matched) {
      if (const auto date = month_day(today, match[6].str(), match[7].str()))
        slot = DateSlot{*date, {}};
    } else if (match[9].matched) {
      if (const auto date = month_day(today, match[9].str(), match[8].str()))
        slot = DateSlot{*date, {}};
    }
    if (slot) {
      const auto position =
          static_cast<std::size_t>(match.position(0) + (from - text.lower.cbegin()));
      const auto length = static_cast<std::size_t>(match.length(0));
      text.spoken.replace(position, length, " | ");
      text.lower.replace(position, length, " | ");
      return slot;
    }
    from = match[0].second;
  }
  return std::nullopt;
}

// --- Times and durations ---------------------------------------------------

const std::string& number_words_pattern() {
  static const std::string pattern = [] {
    std::string words;
    for (const auto unit : kUnits) words += (words.empty() ? "" : "|") + std::string(unit);
    for (std::size_t i = 2; i < kTens.size(); ++i) words += "|" + std::string(kTens[i]);
    return "(?:" + words + ")";
  }();
  return pattern;
}

struct TimeOfDay {
  int hour;
  int minute;
};

// "3 pm", "3:30pm", "15:00", "three thirty", "ten fifteen am", "noon",
// "half past two", "quarter to four", "nine in the morning". Hours 1-7
// without am/pm are afternoon: nobody books 3 a.m. by voice.
std::optional<TimeOfDay> find_time(Utterance& text) {
  const std::string n = number_words_pattern();
  static const std::regex kTime(
      R"(\b(?:at |by |from )(noon|midday|midnight|(half past|quarter past|quarter to) ()" + n +
      R"(|\d{1,2})|(\d{1,2})(?:[:.](\d{2}))?|()" + n + R"()(?: (oh )?()" + n + R"((?: )" + n +
      R"()?))?)(?: o'?clock)?(?: ?(am|pm|in the morning|in the afternoon|in the evening|tonight))?\b)");
  std::smatch match;
  if (!std::regex_search(text.lower, match, kTime)) return std::nullopt;
  int hour = 0;
  int minute = 0;
  const std::string word = match[1].str();
  if (word == "noon" || word == "midday") {
    hour = 12;
  } else if (word == "midnight") {
    hour = 0;
  } else if (match[2].matched) {
    const auto base = parse_number(match[3].str());
    if (!base) return std::nullopt;
    hour = *base;
    const std::string phrase = match[2].str();
    minute = phrase == "half past" ? 30 : phrase == "quarter past" ? 15 : 45;
    if (phrase == "quarter to") hour = (hour + 11) % 12 == 0 ? 12 : hour - 1;
  } else if (match[4].matched) {
    hour = std::stoi(match[4].str());
    if (match[5].matched) minute = std::stoi(match[5].str());
  } else {
    const auto h = parse_number(match[6].str());
    if (!h) return std::nullopt;
    hour = *h;
    if (match[8].matched) {
      const auto m = parse_number(match[8].str());
      if (!m || *m > 59) return std::nullopt;
      minute = *m;
    }
  }
  const std::string meridiem = match[9].str();
  const bool pm = meridiem == "pm" || meridiem == "in the afternoon" ||
                  meridiem == "in the evening" || meridiem == "tonight";
  const bool am = meridiem == "am" || meridiem == "in the morning";
  if (hour > 23 || minute > 59 || ((am || pm) && (hour < 1 || hour > 12))) return std::nullopt;
  if (pm && hour < 12) hour += 12;
  if (am && hour == 12) hour = 0;
  if (!am && !pm && hour >= 1 && hour <= 7) hour += 12;
  text.cut(match);
  return TimeOfDay{hour, minute};
}

// "for 30 minutes", "for an hour", "for half an hour", "for an hour and a
// half", "for 1.5 hours", "for two hours and fifteen minutes".
std::optional<int> find_duration_minutes(Utterance& text) {
  const std::string n = number_words_pattern();
  const std::string amount = R"((\d+(?:\.\d+)?|an?|one and a half|)" + n + "(?: " + n + ")?)";
  static const std::regex kDuration(R"(\b(?:for |lasting )(?:(half an hour)|)" + amount +
                                    R"( (hours?|hrs?|minutes?|mins?)(?: and (a half|)" + n +
                                    R"((?: )" + n + R"()?|\d+) ?(minutes?|mins?)?)?)\b)");
  std::smatch match;
  if (!std::regex_search(text.lower, match, kDuration)) return std::nullopt;
  double minutes = 0;
  if (match[1].matched) {
    minutes = 30;
  } else {
    const std::string count = match[2].str();
    double value = 0;
    if (count == "one and a half") {
      value = 1.5;
    } else if (std::isdigit(static_cast<unsigned char>(count[0]))) {
      value = std::stod(count);
    } else if (const auto number = parse_number(count)) {
      value = *number;
    } else {
      return std::nullopt;
    }
    const bool hours = match[3].str().starts_with('h');
    minutes = hours ? value * 60 : value;
    if (match[4].matched) {
      if (match[4].str() == "a half") {
        minutes += hours ? 30 : 0;
      } else if (const auto extra = parse_number(match[4].str())) {
        minutes += *extra;
      }
    }
  }
  text.cut(match);
  return static_cast<int>(std::lround(minutes));
}

std::string two_digits(int value) {
  return (value < 10 ? "0" : "") + std::to_string(value);
}

// --- Recipients ------------------------------------------------------------

struct Resolved {
  std::vector<std::string> addresses;
  std::vector<std::string> unknown;
};

// "alice", "alice at example dot com", "bob and carol", "alice, bob and
// carol at example dot com" -> addresses, and the names nobody knows.
Resolved resolve_people(const Contacts& contacts, std::string_view text) {
  static const std::regex kSeparator(R"(\s*(?:,\s*(?:and\s+)?|\s+and\s+)\s*)");
  Resolved resolved;
  const std::string list(text);
  for (std::sregex_token_iterator it(list.begin(), list.end(), kSeparator, -1), end; it != end;
       ++it) {
    std::string person = trim_slot(it->str());
    static const std::regex kFiller(R"(^(?:to |with |my |mister |mr |mrs |ms |dr |doctor )+)",
                                    std::regex::icase);
    person = std::regex_replace(person, kFiller, "");
    if (person.empty()) continue;
    if (const auto address = spoken_email(person)) {
      resolved.addresses.push_back(*address);
    } else if (const auto known = contacts.resolve(person)) {
      resolved.addresses.push_back(*known);
    } else {
      resolved.unknown.push_back(person);
    }
  }
  return resolved;
}

std::string unknown_people_reply(const std::vector<std::string>& unknown) {
  std::string names;
  for (std::size_t i = 0; i < unknown.size(); ++i) {
    names += (i == 0 ? "" : i + 1 == unknown.size() ? " and " : ", ") + unknown[i];
  }
  return "I don't have an email address for " + names +
         ". Say the address, like alice at example dot com, or add them to your contacts file.";
}

// A subject for a mail the user dictated without one: its first words.
std::string subject_from_body(std::string_view body) {
  std::string first_sentence(body.substr(0, body.find_first_of(".!?\n")));
  std::vector<std::string> words = words_of(first_sentence);
  if (words.size() > kSubjectWords) words.resize(kSubjectWords);
  std::string subject;
  for (const auto& word : words) subject += (subject.empty() ? "" : " ") + word;
  if (!subject.empty())
    subject[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(subject[0])));
  return subject.empty() ? "Message" : subject;
}

std::string in_quotes(std::string_view text) {
  return "\"" + std::string(text) + "\"";
}

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (std::size_t i = 0; i < items.size(); ++i) {
    out += (i == 0 ? "" : i + 1 == items.size() ? " and " : ", ") + items[i];
  }
  return out;
}

// --- The commands -----------------------------------------------------------

const std::string kMailNoun = R"((?:an? |the |one )?(?:new )?(?:email|mail|message|note))";
const std::string kSaying =
    R"((?:,? (?:saying|that says|which says|to say|and say|and tell (?:him|her|them)|)"
    R"(telling (?:him|her|them)|with the (?:message|text|body)|with message|that)[ :,]+))";

std::optional<Command> parse_send(const Contacts& contacts, const Utterance& text) {
  static const std::regex kSendTo(R"(^(?:send|write|compose|shoot|draft and send)(?: off| out)? )" +
                                  kMailNoun + R"( to (.+?))" + kSaying + R"((.+)$)");
  static const std::regex kVerbFirst(R"(^(?:email|mail|message|write to|write) (.+?))" + kSaying +
                                     R"((.+)$)");
  static const std::regex kPersonFirst(R"(^(?:send|write|shoot) (.+?) )" + kMailNoun + kSaying +
                                       R"((.+)$)");
  static const std::regex kNoBody(R"(^(?:send|write|compose)(?: off| out)? )" + kMailNoun +
                                  R"( to (.+)$)");
  static const std::regex kSubject(
      R"(^(.+?) (?:about|regarding|with (?:the )?subject(?: line)?|subject(?: line)?) (.+)$)");
  std::smatch match;
  if (!std::regex_match(text.lower, match, kSendTo) &&
      !std::regex_match(text.lower, match, kVerbFirst) &&
      !std::regex_match(text.lower, match, kPersonFirst)) {
    if (!std::regex_match(text.lower, match, kNoBody)) return std::nullopt;
    Command command;
    command.say = "What should the email to " + trim_slot(text.spoken_at(match, 1)) +
                  " say? For example: send an email to Alice saying the report is ready.";
    return command;
  }
  std::string recipient = text.spoken_at(match, 1);
  const std::string body = trim_slot(text.spoken_at(match, 2));
  std::string subject;
  const std::string recipient_lower = text.lower.substr(static_cast<std::size_t>(match.position(1)),
                                                        static_cast<std::size_t>(match.length(1)));
  std::smatch subject_match;
  if (std::regex_match(recipient_lower, subject_match, kSubject)) {
    subject = trim_slot(recipient.substr(static_cast<std::size_t>(subject_match.position(2))));
    recipient = recipient.substr(0, static_cast<std::size_t>(subject_match.length(1)));
  }
  Command command;
  const Resolved people = resolve_people(contacts, recipient);
  if (!people.unknown.empty() || people.addresses.empty()) {
    command.say = unknown_people_reply(people.unknown.empty() ? std::vector{trim_slot(recipient)}
                                                              : people.unknown);
    return command;
  }
  if (subject.empty()) subject = subject_from_body(body);
  command.call = ToolCall{
      "send_email", {{"to_email", join(people.addresses)}, {"subject", subject}, {"body", body}}};
  // to_email is one address in AI-RTC-Agent's tool; more go to cc.
  if (people.addresses.size() > 1) {
    command.call->arguments["to_email"] = people.addresses.front();
    command.call->arguments["cc"] =
        std::vector<std::string>(people.addresses.begin() + 1, people.addresses.end());
  }
  command.needs_confirmation = true;
  command.say = "Send an email to " + join(people.addresses) + " with the subject " +
                in_quotes(subject) + ", saying " + in_quotes(body) + "?";
  return command;
}

// "last", "latest", "first", "second", "3", "three" -> a newest-first position.
std::optional<int> inbox_position(std::string_view word) {
  const std::string w = trim_slot(word);
  if (w == "last" || w == "latest" || w == "newest" || w == "most recent" || w == "previous" ||
      w == "top" || w == "new") {
    return 1;
  }
  if (const auto ordinal = parse_number(w, true); ordinal && *ordinal >= 1) return ordinal;
  return std::nullopt;
}

std::optional<Command> parse_reply(const Utterance& text) {
  static const std::regex kReply(
      R"(^(?:reply|respond|answer|write back)(?: to)?(?: (?:him|her|them|it))?)"
      R"((?: (?:the |my |that )?(?:(last|latest|newest|most recent|previous|[a-z0-9]+) )"
      R"((?:email|mail|message)|(?:email|mail|message)(?: number)? ([0-9]+|)" +
      number_words_pattern() + "(?: " + number_words_pattern() + R"()?)))?(?:)" + kSaying +
      R"((.+))?$)");
  std::smatch match;
  if (!std::regex_match(text.lower, match, kReply)) return std::nullopt;
  std::optional<int> position = 1;
  if (match[1].matched) position = inbox_position(match[1].str());
  if (match[2].matched) position = parse_number(match[2].str());
  if (!position || *position < 1) return std::nullopt;
  Command command;
  const std::string body = trim_slot(text.spoken_at(match, 3));
  if (body.empty()) {
    command.say = "What should the reply say? For example: reply to the last email saying thanks.";
    return command;
  }
  command.call = ToolCall{"reply_to_email", {{"body", body}}};
  command.inbox_position = position;
  command.needs_confirmation = true;
  command.say = "Reply to email " + std::to_string(*position) + " saying " + in_quotes(body) + "?";
  return command;
}

std::optional<Command> parse_read_email(const Utterance& text) {
  static const std::regex kRead(
      R"(^(?:read|open|show|show me|read me|what does|what's in)(?: me)? (?:the |my )?)"
      R"((?:(last|latest|newest|most recent|[a-z0-9]+) (?:email|mail|message)|)"
      R"((?:email|mail|message)(?: number)? ([a-z0-9]+(?: [a-z]+)?))(?: say| says)?$)");
  std::smatch match;
  if (!std::regex_match(text.lower, match, kRead)) return std::nullopt;
  const std::optional<int> position =
      match[1].matched ? inbox_position(match[1].str()) : parse_number(match[2].str());
  if (!position || *position < 1 || *position > kMaxInboxLimit) return std::nullopt;
  Command command;
  command.call = ToolCall{"read_email", nlohmann::json::object()};
  command.inbox_position = position;
  command.say = "Reading email " + std::to_string(*position) + ".";
  return command;
}

std::optional<Command> parse_inbox(const Utterance& text, int default_limit) {
  static const std::regex kInbox(
      R"(\b(?:inbox|emails|mails|messages|new email|new mail|any email|any mail|my email|my mail|)"
      R"(check (?:my )?email|check (?:my )?mail)\b)");
  static const std::regex kCount(
      R"(\b(?:last|latest|newest|recent|top|first) ([a-z0-9]+(?: [a-z]+)?) (?:new )?(?:emails|mails|messages)\b)");
  if (!std::regex_search(text.lower, kInbox)) return std::nullopt;
  int limit = default_limit;
  std::smatch match;
  if (std::regex_search(text.lower, match, kCount)) {
    if (const auto count = parse_number(match[1].str()))
      limit = std::clamp(*count, 1, kMaxInboxLimit);
  }
  Command command;
  command.call = ToolCall{"list_inbox", {{"limit", limit}}};
  command.say = "Checking your inbox.";
  return command;
}

std::optional<Command> parse_schedule(const Contacts& contacts, const Utterance& utterance,
                                      year_month_day today, int default_minutes) {
  static const std::regex kSchedule(
      R"(^(?:schedule|create|book|set up|setup|arrange|add|plan|put in|put|make)(?: me)?)"
      R"((?: (?:an?|the|new|one))*(?: (meeting|event|appointment|call|calendar event|catch up|catchup))?\b(.*)$)");
  std::smatch match;
  if (!std::regex_match(utterance.lower, match, kSchedule)) return std::nullopt;
  const bool named_event = match[1].matched;
  Utterance rest(utterance.spoken_at(match, 2));
  const auto time = find_time(rest);
  const auto date = find_date(rest, today);
  const auto duration = find_duration_minutes(rest);
  // Without "meeting"/"event" it is only a command when a time or date was said
  // ("schedule lunch with bob tomorrow at noon").
  if (!named_event && !time && !date) return std::nullopt;

  static const std::regex kAttendees(
      R"(\bwith (.+?)(?= about | called | titled | named | for |\s*\||\s*$))");
  static const std::regex kTitle(
      R"(\b(?:called|titled|named|about|for|on the subject of) (.+?)(?= with |\s*\||\s*$))");
  std::smatch found;
  std::vector<std::string> attendees;
  Command command;
  if (std::regex_search(rest.lower, found, kAttendees)) {
    const Resolved people = resolve_people(contacts, rest.spoken_at(found, 1));
    if (!people.unknown.empty()) {
      command.say = unknown_people_reply(people.unknown);
      return command;
    }
    attendees = people.addresses;
    rest.cut(found);
  }
  std::string title;
  if (std::regex_search(rest.lower, found, kTitle)) {
    title = trim_slot(rest.spoken_at(found, 1));
    rest.cut(found);
  }
  if (title.empty()) {
    // What is left before the first slot: "schedule project review at 3".
    std::string leftover = trim_slot(rest.spoken.substr(0, rest.spoken.find('|')));
    title = trim_slot(std::regex_replace(leftover, std::regex(R"(^(?:to |on |in )+)"), ""));
  }
  if (title.empty()) {
    const std::string noun = named_event ? match[1].str() : "meeting";
    title = std::string(1, static_cast<char>(std::toupper(static_cast<unsigned char>(noun[0])))) +
            noun.substr(1);
    if (!attendees.empty()) {
      const auto& first = attendees.front();
      const auto known = std::find_if(contacts.all().begin(), contacts.all().end(),
                                      [&](const Contact& c) { return c.email == first; });
      title += " with " + (known != contacts.all().end() ? known->name : first);
    }
  }
  if (!time) {
    command.say = "At what time? For example: schedule a meeting tomorrow at 3 pm.";
    return command;
  }
  const year_month_day day = date ? date->first : today;
  const int minutes = duration.value_or(default_minutes);
  if (minutes < 1 || minutes > 24 * 60) {
    command.say = "A meeting can last from 1 minute to 24 hours.";
    return command;
  }
  const std::string clock = two_digits(time->hour) + ":" + two_digits(time->minute);
  command.call = ToolCall{"create_calendar_event",
                          {{"title", title},
                           {"date", iso_date(day)},
                           {"time", clock},
                           {"duration_minutes", minutes},
                           {"description", ""},
                           {"attendees", attendees}}};
  command.needs_confirmation = true;
  command.say = "Create " + in_quotes(title) + " on " + iso_date(day) + " at " + clock + " for " +
                std::to_string(minutes) + " minutes" +
                (attendees.empty() ? std::string() : " with " + join(attendees)) + "?";
  return command;
}

std::optional<Command> parse_calendar(const Utterance& utterance, year_month_day today) {
  static const std::regex kCalendar(
      R"(\b(?:calendar|schedule|agenda|meetings?|events?|appointments?|plans|busy|free)\b)");
  static const std::regex kQuestion(
      R"(^(?:what|what's|whats|what is|what do|do|does|am|is|are|any|show|list|check|read|tell|give|how)\b)");
  if (!std::regex_search(utterance.lower, kCalendar) ||
      !std::regex_search(utterance.lower, kQuestion)) {
    return std::nullopt;
  }
  Utterance rest = utterance;
  std::string scope = "today";
  if (const auto date = find_date(rest, today)) {
    if (date->last) {
      // "this week" is the tool's own scope (today and the next six days).
      scope = date->first == today ? "week" : iso_date(date->first) + ".." + iso_date(*date->last);
    } else if (date->first == today) {
      scope = "today";
    } else if (date->first == add_days(today, 1)) {
      scope = "tomorrow";
    } else {
      scope = iso_date(date->first);
    }
  } else if (std::regex_search(utterance.lower, std::regex(R"(\bweek\b)"))) {
    scope = "week";
  }
  Command command;
  command.call = ToolCall{"load_calendar_events", {{"scope", scope}}};
  command.say = "Checking your calendar.";
  return command;
}

std::optional<Command> parse_search(const Utterance& text) {
  static const std::regex kSearch(
      R"(^(?:search|look up|lookup|google|find|browse)(?: (?:the )?(?:web|internet|online|net))?)"
      R"((?: for| about| on)?(?: (?:the )?(?:web|internet|online) for)? (.+)$)");
  std::smatch match;
  if (!std::regex_match(text.lower, match, kSearch)) return std::nullopt;
  const std::string query = trim_slot(text.spoken_at(match, 1));
  if (query.empty()) return std::nullopt;
  Command command;
  command.call = ToolCall{"duckduckgo_search", {{"query", query}, {"max_results", 5}}};
  command.say = "Searching the web for " + in_quotes(query) + ".";
  return command;
}

}  // namespace

IntentParser::IntentParser(Contacts contacts, IntentParserOptions options)
    : contacts_(std::move(contacts)), options_(options) {}

Command IntentParser::parse(std::string_view utterance, year_month_day today) const {
  const Utterance text(normalize(utterance));
  // Most specific first: "read email 2" before "read my email", "schedule a
  // meeting" before "what's on my schedule".
  if (auto command = parse_send(contacts_, text)) return *command;
  if (auto command = parse_reply(text)) return *command;
  if (auto command = parse_schedule(contacts_, text, today, options_.default_meeting_minutes))
    return *command;
  if (auto command = parse_read_email(text)) return *command;
  if (auto command = parse_calendar(text, today)) return *command;
  if (auto command = parse_inbox(text, options_.default_inbox_limit)) return *command;
  if (auto command = parse_search(text)) return *command;
  Command command;
  command.say =
      "Sorry, I can't do that yet. I can send and read email, reply, check and add to your "
      "calendar, and search the web.";
  return command;
}

Confirmation IntentParser::parse_confirmation(std::string_view utterance) {
  static const std::regex kYes(
      R"(^(?:yes|yeah|yep|yup|sure|ok|okay|correct|confirm|confirmed|do it|go ahead|send it|)"
      R"(please do|that's right|right|absolutely|affirmative)\b.*)");
  static const std::regex kNo(
      R"(^(?:no|nope|nah|cancel|stop|don't|do not|never mind|nevermind|abort|negative|wait)\b.*)");
  const Utterance text(normalize(utterance));
  if (std::regex_match(text.lower, kNo)) return Confirmation::no;
  if (std::regex_match(text.lower, kYes)) return Confirmation::yes;
  return Confirmation::unclear;
}

}  // namespace voicedesk::agent
