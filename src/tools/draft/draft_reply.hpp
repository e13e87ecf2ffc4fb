#pragma once

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "tools/tool.hpp"

namespace voicedesk::tools::draft {

// Writes a reply from a prompt with a language model; nullopt (or an
// exception) when the model is unavailable, and the template is used instead.
using Drafter = std::function<std::optional<std::string>(const std::string& prompt)>;

enum class Tone { professional, friendly, formal, brief };
const char* to_string(Tone tone);
// Case-insensitive; "concise" is brief and "casual" friendly; "" is professional.
std::optional<Tone> parse_tone(std::string_view name);

struct Draft {
  std::string subject;
  std::string body;
  Tone tone = Tone::professional;
  std::string generator;  // "template" or "llm"
  std::string note;       // why the template was used although a drafter exists; else empty
};

// "Re: <subject>" without stacking prefixes ("RE: Re: x" -> "Re: x").
std::string reply_subject(std::string_view original_subject);

// The first sentence of what the sender wrote: greetings, quoted text and
// signatures skipped, white space collapsed, cut at a word to max_bytes.
// Empty when the body says nothing.
std::string key_line(std::string_view body, std::size_t max_bytes = 160);

// The reply the template writes for this tone.
Draft template_draft(std::string_view original_subject, std::string_view original_body, Tone tone);

// What the drafter is asked: the tone's style, the original message (cut to
// a bounded length) and the instruction to write only the reply body.
std::string drafter_prompt(std::string_view original_subject, std::string_view original_body,
                           Tone tone);

// The model's draft when drafter gives one, the template's otherwise.
Draft draft_reply(std::string_view original_subject, std::string_view original_body, Tone tone,
                  const Drafter& drafter);

// AI-RTC-Agent's `draft_reply(original_subject, original_body,
// tone="professional")`. Result {subject, body, tone, generator[, note]} and
// the draft as text; nothing is sent. An unknown tone is a ToolError listing
// the allowed ones. The drafter, when given, must be thread-safe.
Tool make_draft_reply_tool(Drafter drafter = {});

}  // namespace voicedesk::tools::draft
