#pragma once

#include <functional>
#include <string>
#include <string_view>

#include "agent/contacts.hpp"

namespace voicedesk::agent {

// The intent parser's commands as a JSGF grammar, for a speech recognizer
// that decodes against one as well as its language model (the pocketsphinx
// fallback, whose language model alone gets few commands right): each
// command in its common phrasings, with the contacts' names and spoken
// addresses ("alice at example dot com"). The free text of a command (a
// mail's body, a search query) is the rule <dictation>, which the recognizer
// defines. Every phrase the grammar allows parses to its command.
//
// in_vocabulary says whether the recognizer knows a word; a contact's name or
// address with a word it does not know is left out, since the grammar would
// not compile.
std::string command_grammar(const Contacts& contacts,
                            const std::function<bool(std::string_view)>& in_vocabulary);

}  // namespace voicedesk::agent
