#include "agent/command_grammar.hpp"

#include <algorithm>
#include <cctype>
#include <set>
#include <sstream>
#include <vector>

#include "util/text.hpp"

namespace voicedesk::agent {
namespace {

// Each rule mirrors a pattern of intent_parser.cpp in its most common forms;
// the grammar is kept small because a looser one also matches speech that is
// no command.
constexpr std::string_view kCommands = R"(#JSGF V1.0;
grammar voicedesk;

public <command> = [<opening>] (<send_email> | <reply> | <inbox> | <read_email> | <schedule> | <calendar> | <search>) [please];

<opening> = please | can you | could you | okay;

<mail> = [an | a | the] (email | mail | message);
<send_email> = (send | write) <mail> to <contact> (saying | that says) <dictation>;

<reply> = (reply | respond) to the (last | latest) (email | message) [saying <dictation>];

<inbox> = (what's | what is) in my inbox | check my (inbox | email | mail) | read my (inbox | email | mail) | do i have (new | any) (email | mail);

<position> = one | two | three | four | five | six | seven | eight | nine | ten;
<ordinal> = first | second | third | fourth | fifth | last | latest;
<read_email> = read [the] (email | message) [number] <position> | read the <ordinal> (email | message);

<weekday> = monday | tuesday | wednesday | thursday | friday | saturday | sunday;
<day> = today | tomorrow | the day after tomorrow | this week | next week | [on | for] [next] <weekday>;
<hour> = one | two | three | four | five | six | seven | eight | nine | ten | eleven | twelve;
<clock> = <hour> [o'clock | fifteen | thirty | forty five] [am | pm | in the morning | in the afternoon | in the evening] | noon;
<count> = one | two | three | four | five | ten | fifteen | twenty | thirty | forty five | sixty | ninety;
<length> = for (<count> minutes | an hour | one hour | half an hour | two hours | an hour and a half);
<event> = meeting | event | call | appointment;
<schedule> = (schedule | create | book | set up) (a | an) <event> [with <contact>] [<day>] [at <clock>] [<length>] [with <contact>];

<calendar> = (what's | what is) on my (calendar | schedule) [<day>] | (show | read | check) my (calendar | schedule) [<day>] | am i (busy | free) <day>;

<search> = search [the web | the internet] for <dictation>;
)";

std::vector<std::string> words(std::string_view text) {
  std::vector<std::string> out;
  std::istringstream in{util::ascii_lower(text)};
  for (std::string word; in >> word;) out.push_back(word);
  return out;
}

// "alice.smith@example.co.uk" -> "alice dot smith at example dot co dot uk",
// as a user says it and the intent parser reads it back.
std::string spoken_address(std::string_view address) {
  std::string spoken;
  for (const char c : address) {
    switch (c) {
      case '@':
        spoken += " at ";
        break;
      case '.':
        spoken += " dot ";
        break;
      case '_':
        spoken += " underscore ";
        break;
      case '-':
        spoken += " dash ";
        break;
      default:
        spoken += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
  }
  return spoken;
}

}  // namespace

std::string command_grammar(const Contacts& contacts,
                            const std::function<bool(std::string_view)>& in_vocabulary) {
  // The ways to name each contact: the full name, the first name when it is
  // nobody else's (as Contacts::resolve has it), the spoken address.
  std::set<std::string> names;
  const auto add = [&](std::string_view phrase) {
    const std::vector<std::string> spoken = words(phrase);
    // JSGF tokens: letters, digits and apostrophes only (a name such as
    // "Smith-Jones" is left out rather than quoted).
    const auto plain = [](const std::string& word) {
      return std::all_of(word.begin(), word.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '\'';
      });
    };
    if (spoken.empty() || !std::all_of(spoken.begin(), spoken.end(), [&](const std::string& w) {
          return plain(w) && in_vocabulary(w);
        })) {
      return;
    }
    std::string joined;
    for (const auto& word : spoken) joined += (joined.empty() ? "" : " ") + word;
    names.insert(joined);
  };
  for (const Contact& contact : contacts.all()) {
    add(contact.name);
    const std::vector<std::string> name = words(contact.name);
    if (!name.empty() && contacts.resolve(name.front()) == contact.email) add(name.front());
    add(spoken_address(contact.email));
  }
  std::string contact_rule = "<contact> = ";
  if (names.empty()) contact_rule += "<VOID>";
  for (auto name = names.begin(); name != names.end(); ++name) {
    contact_rule += (name == names.begin() ? "" : " | ") + *name;
  }
  return std::string(kCommands) + contact_rule + ";\n";
}

}  // namespace voicedesk::agent
