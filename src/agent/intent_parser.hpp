#pragma once

#include <chrono>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "agent/contacts.hpp"

namespace voicedesk::agent {

// A tool call the agent will make: the tool's name and its arguments, as the
// MCP tool takes them.
struct ToolCall {
  std::string name;
  nlohmann::json arguments = nlohmann::json::object();
};

// What the intent parser made of one utterance.
struct Command {
  // The tool to call; empty when the utterance is no command we know, or
  // lacks something the call needs (say then asks for it).
  std::optional<ToolCall> call;
  // read_email and reply_to_email by position ("read email 2", "reply to the
  // last email"): the 1-based position in the newest-first inbox, which the
  // agent turns into the email_id argument by listing the inbox.
  std::optional<int> inbox_position;
  // The call sends or changes something, so the agent confirms it first.
  bool needs_confirmation = false;
  // What to say: the read-back to confirm, or the answer when there is no call.
  std::string say;
};

enum class Confirmation { yes, no, unclear };

struct IntentParserOptions {
  int default_meeting_minutes = 30;
  int default_inbox_limit = 10;
};

// The agent's way to act without an LLM: a deterministic parser for the core
// commands in plain English, as speech recognition writes them (no
// punctuation, numbers as words, addresses spelled "alice at example dot
// com"). Names resolve through the contacts.
class IntentParser {
 public:
  explicit IntentParser(Contacts contacts = {}, IntentParserOptions options = {});

  // today anchors relative dates ("tomorrow", "on friday").
  Command parse(std::string_view utterance, std::chrono::year_month_day today) const;

  // The answer to a read-back: "yes", "yeah, send it", "no", "cancel"...
  static Confirmation parse_confirmation(std::string_view utterance);

 private:
  Contacts contacts_;
  IntentParserOptions options_;
};

}  // namespace voicedesk::agent
