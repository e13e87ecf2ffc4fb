#include "tools/draft/draft_reply.hpp"

#include <algorithm>
#include <array>
#include <cctype>

#include "util/text.hpp"

namespace voicedesk::tools::draft {
namespace {

using nlohmann::json;

constexpr std::size_t kMaxSubjectBytes = 2000;
constexpr std::size_t kMaxBodyBytes = 256u << 10;
// The part of a long original the model sees: enough for any ordinary mail.
constexpr std::size_t kMaxPromptBodyBytes = 12000;
constexpr std::size_t kBriefKeyLineBytes = 80;
// A sentence end closer than this to the start is more likely an abbreviation ("Mr.").
constexpr std::size_t kMinSentenceBytes = 15;

constexpr std::array<Tone, 4> kTones = {Tone::professional, Tone::friendly, Tone::formal,
                                        Tone::brief};

bool is_space(char c) {
  return std::isspace(static_cast<unsigned char>(c)) != 0;
}

// Runs of white space (line breaks included) become one space.
std::string collapse_spaces(std::string_view text) {
  std::string out;
  bool pending = false;
  for (const char c : util::trim(text, util::kAsciiSpace)) {
    if (is_space(c)) {
      pending = true;
      continue;
    }
    if (pending) out += ' ';
    pending = false;
    out += c;
  }
  return out;
}

// Cuts text to at most max_bytes at a word boundary (never inside a UTF-8
// sequence), marking the cut with "...".
std::string cut_at_word(std::string text, std::size_t max_bytes) {
  if (text.size() <= max_bytes) return text;
  std::size_t cut = max_bytes - 3;
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
  if (const std::size_t space = text.rfind(' ', cut);
      space != std::string::npos && space > cut / 2) {
    cut = space;
  }
  text.resize(cut);
  while (!text.empty() && (is_space(text.back()) || text.back() == ',' || text.back() == ';' ||
                           text.back() == ':')) {
    text.pop_back();
  }
  return text + "...";
}

// Whether the word at the start of text is followed by a non-letter or the end.
bool starts_with_word(std::string_view text, std::string_view word) {
  return text.starts_with(word) && (text.size() == word.size() ||
                                    !std::isalpha(static_cast<unsigned char>(text[word.size()])));
}

// "Hi Anna," "Dear Sir or Madam," "Good morning!" on a line of their own.
bool is_greeting_line(std::string_view line) {
  static constexpr std::array<std::string_view, 10> kGreetings = {
      "hi",           "hello",          "hey",          "dear",  "greetings",
      "good morning", "good afternoon", "good evening", "hallo", "to whom it may concern"};
  const std::string text = util::ascii_lower(line);
  const bool greeting =
      std::any_of(kGreetings.begin(), kGreetings.end(),
                  [&](std::string_view word) { return starts_with_word(text, word); });
  // "Hello Anna" with nothing after it is a greeting; "Hi team, a question about x" is not.
  const bool bare_salutation = std::isalpha(static_cast<unsigned char>(text.back())) &&
                               text.find(',') == std::string::npos &&
                               std::count(text.begin(), text.end(), ' ') < 4;
  const bool ends_like_one =
      text.ends_with(',') || text.ends_with('!') || text.ends_with(':') || bare_salutation;
  return greeting && ends_like_one && text.size() <= 60;
}

// The quoted original's header in a reply chain: "On Mon, 1 Jan 2026, Ann <a@b> wrote:".
bool is_quote_header(std::string_view line) {
  return line.starts_with("On ") && line.ends_with("wrote:");
}

// The first paragraph the sender wrote, greetings skipped.
std::string first_paragraph(std::string_view body) {
  std::string paragraph;
  std::size_t pos = 0;
  while (pos <= body.size()) {
    const std::size_t end = std::min(body.find('\n', pos), body.size());
    const std::string_view raw = body.substr(pos, end - pos);
    pos = end + 1;
    if (raw == "-- " || raw == "-- \r") break;  // the signature delimiter
    const std::string_view line = util::trim(raw, util::kAsciiSpace);
    if (line.empty() || line.starts_with('>') || is_quote_header(line)) {
      if (!paragraph.empty()) break;
      continue;
    }
    if (paragraph.empty() && is_greeting_line(line)) continue;
    if (!paragraph.empty()) paragraph += ' ';
    paragraph += line;
  }
  return collapse_spaces(paragraph);
}

std::string first_sentence(const std::string& text) {
  for (std::size_t i = kMinSentenceBytes; i < text.size(); ++i) {
    if (text[i] != '.' && text[i] != '!' && text[i] != '?') continue;
    std::size_t end = i + 1;
    while (end < text.size() && (text[end] == '.' || text[end] == '!' || text[end] == '?')) ++end;
    if (end == text.size() || text[end] == ' ') return text.substr(0, end);
  }
  return text;
}

// How each tone opens, acknowledges and closes.
struct ToneStyle {
  std::string_view greeting;
  std::string_view thanks_about;         // followed by " \"<topic>\""
  std::string_view thanks_plain;         // when there is no subject
  std::string_view quote_intro;          // followed by " \"<key line>\""
  std::string_view follow_up;            // what happens next
  std::string_view follow_up_questions;  // the same when the sender asked something
  std::string_view closing;
  std::string_view llm_style;  // the instruction to the model
};

const ToneStyle& style(Tone tone) {
  static const ToneStyle kProfessional = {
      "Hello,",
      "Thank you for your message about",
      "Thank you for your message.",
      "You wrote:",
      "I will look into this and get back to you shortly.",
      "I will look into your questions and get back to you shortly.",
      "Best regards,",
      "professional: courteous, clear and to the point"};
  static const ToneStyle kFriendly = {
      "Hi there,",
      "Thanks so much for your message about",
      "Thanks so much for your message!",
      "You mentioned:",
      "I'll take a look and get back to you soon.",
      "I'll look into your questions and get back to you soon.",
      "Cheers,",
      "friendly: warm and informal, like writing to a colleague you get on well with"};
  static const ToneStyle kFormal = {
      "Dear Sir or Madam,",
      "Thank you for your correspondence regarding",
      "Thank you for your correspondence.",
      "I acknowledge receipt of your message, in which you write:",
      "I shall give the matter my full attention and respond in due course.",
      "I shall consider your questions carefully and respond in due course.",
      "Yours faithfully,",
      "formal: polite, reserved and complete, as in official correspondence"};
  static const ToneStyle kBrief = {"Hi,",
                                   "Thanks for your message about",
                                   "Thanks for your message.",
                                   "Got it:",
                                   "I'll get back to you shortly.",
                                   "I'll get back to you on your questions shortly.",
                                   "Best,",
                                   "brief: two or three short sentences at most"};
  switch (tone) {
    case Tone::friendly:
      return kFriendly;
    case Tone::formal:
      return kFormal;
    case Tone::brief:
      return kBrief;
    case Tone::professional:
      break;
  }
  return kProfessional;
}

// The subject without reply prefixes, as the template names the topic.
std::string topic_of(std::string_view original_subject) {
  const std::string subject = reply_subject(original_subject);
  return subject == "Re: (no subject)" ? std::string() : subject.substr(4);
}

// Drops what a model adds around a reply body: a "Subject:" line and blank lines.
std::string clean_model_draft(std::string_view text) {
  text = util::trim(text, util::kAsciiSpace);
  if (util::istarts_with(text, "subject:")) {
    const std::size_t line_end = text.find('\n');
    text = line_end == std::string_view::npos
               ? std::string_view()
               : util::trim(text.substr(line_end), util::kAsciiSpace);
  }
  return std::string(text);
}

std::string allowed_tones() {
  std::string names;
  for (const Tone tone : kTones) {
    if (!names.empty()) names += ", ";
    names += to_string(tone);
  }
  return names + " (or concise, casual)";
}

const json& input_schema() {
  static const json schema = {{"type", "object"},
                              {"properties",
                               {{"original_subject",
                                 {{"type", "string"},
                                  {"description", "Subject of the message being answered"},
                                  {"maxLength", kMaxSubjectBytes}}},
                                {"original_body",
                                 {{"type", "string"},
                                  {"description", "Text of the message being answered"},
                                  {"maxLength", kMaxBodyBytes}}},
                                {"tone",
                                 {{"type", "string"},
                                  {"description", "Style of the reply: " + allowed_tones()},
                                  {"default", "professional"}}}}},
                              {"required", {"original_subject", "original_body"}},
                              {"additionalProperties", false}};
  return schema;
}

const json& output_schema() {
  static const json schema = {
      {"type", "object"},
      {"properties",
       {{"subject", {{"type", "string"}}},
        {"body", {{"type", "string"}}},
        {"tone", {{"type", "string"}, {"enum", {"professional", "friendly", "formal", "brief"}}}},
        {"generator", {{"type", "string"}, {"enum", {"template", "llm"}}}},
        {"note", {{"type", "string"}}}}},
      {"required", {"subject", "body", "tone", "generator"}}};
  return schema;
}

std::string string_argument(const json& arguments, const char* name, std::size_t max_bytes) {
  const auto it = arguments.find(name);
  if (it == arguments.end() || !it->is_string()) {
    throw ToolError(std::string(name) + ": a string is required");
  }
  std::string value = it->get<std::string>();
  if (value.size() > max_bytes) {
    throw ToolError(std::string(name) + ": longer than " + std::to_string(max_bytes) + " bytes");
  }
  return value;
}

}  // namespace

const char* to_string(Tone tone) {
  switch (tone) {
    case Tone::professional:
      return "professional";
    case Tone::friendly:
      return "friendly";
    case Tone::formal:
      return "formal";
    case Tone::brief:
      return "brief";
  }
  return "?";
}

std::optional<Tone> parse_tone(std::string_view name) {
  const std::string wanted = util::ascii_lower(util::trim(name, util::kAsciiSpace));
  if (wanted.empty()) return Tone::professional;
  if (wanted == "concise") return Tone::brief;
  if (wanted == "casual") return Tone::friendly;
  for (const Tone tone : kTones) {
    if (wanted == to_string(tone)) return tone;
  }
  return std::nullopt;
}

std::string reply_subject(std::string_view original_subject) {
  std::string subject = collapse_spaces(original_subject);  // no line breaks in a header
  // Strip "Re:", "RE :", "Re[2]:", "Aw:" (German clients) as often as they repeat.
  for (;;) {
    std::size_t pos =
        util::istarts_with(subject, "re") || util::istarts_with(subject, "aw") ? 2 : 0;
    if (pos == 0) break;
    if (pos < subject.size() && subject[pos] == '[') {
      const std::size_t close = subject.find(']', pos);
      if (close == std::string::npos) break;
      pos = close + 1;
    }
    while (pos < subject.size() && subject[pos] == ' ') ++pos;
    if (pos >= subject.size() || subject[pos] != ':') break;
    subject = std::string(util::trim(std::string_view(subject).substr(pos + 1), util::kAsciiSpace));
  }
  return subject.empty() ? "Re: (no subject)" : "Re: " + subject;
}

std::string key_line(std::string_view body, std::size_t max_bytes) {
  return cut_at_word(first_sentence(first_paragraph(body)), max_bytes);
}

Draft template_draft(std::string_view original_subject, std::string_view original_body, Tone tone) {
  const ToneStyle& words = style(tone);
  const std::string topic = topic_of(original_subject);
  const std::string key =
      key_line(original_body, tone == Tone::brief ? kBriefKeyLineBytes : std::size_t{160});
  const bool asked = original_body.find('?') != std::string_view::npos;

  std::string body = std::string(words.greeting) + "\n\n";
  body += topic.empty() ? std::string(words.thanks_plain)
                        : std::string(words.thanks_about) + " \"" + topic + "\".";
  if (!key.empty()) body += " " + std::string(words.quote_intro) + " \"" + key + "\"";
  body += "\n\n";
  body += asked ? words.follow_up_questions : words.follow_up;
  body += "\n\n" + std::string(words.closing) + "\n[Your name]";
  return Draft{reply_subject(original_subject), std::move(body), tone, "template", {}};
}

std::string drafter_prompt(std::string_view original_subject, std::string_view original_body,
                           Tone tone) {
  std::string body(original_body);
  if (body.size() > kMaxPromptBodyBytes) body = cut_at_word(std::move(body), kMaxPromptBodyBytes);
  return "Write a reply to the email below. Tone: " + std::string(style(tone).llm_style) +
         ".\nWrite only the body of the reply: a greeting, the reply itself and a closing, "
         "signed \"[Your name]\". No subject line, no explanations. Do not invent facts, dates "
         "or commitments that the email does not support.\n\nSubject: " +
         collapse_spaces(original_subject) + "\n\n" + body + "\n";
}

Draft draft_reply(std::string_view original_subject, std::string_view original_body, Tone tone,
                  const Drafter& drafter) {
  if (!drafter) return template_draft(original_subject, original_body, tone);
  std::string note;
  try {
    const std::optional<std::string> text =
        drafter(drafter_prompt(original_subject, original_body, tone));
    if (text) {
      std::string body = clean_model_draft(*text);
      if (!body.empty()) {
        return Draft{reply_subject(original_subject), std::move(body), tone, "llm", {}};
      }
      note = "the language model returned an empty draft";
    } else {
      note = "the language model is unavailable";
    }
  } catch (const std::exception& e) {
    note = std::string("the language model failed: ") + e.what();
  }
  Draft draft = template_draft(original_subject, original_body, tone);
  draft.note = note + "; this is a template draft";
  return draft;
}

Tool make_draft_reply_tool(Drafter drafter) {
  ToolSpec spec;
  spec.name = "draft_reply";
  spec.title = "Draft an email reply";
  spec.description = "Draft a reply to an email in a given tone (" + allowed_tones() +
                     "). Returns the subject and body for review; nothing is sent.";
  spec.input_schema = input_schema();
  spec.output_schema = output_schema();
  spec.annotations = {{"readOnlyHint", true}, {"openWorldHint", false}};
  spec.quick = !drafter;  // a model may take a while
  auto call = [drafter = std::move(drafter)](const json& arguments, ToolContext&) {
    const std::string subject = string_argument(arguments, "original_subject", kMaxSubjectBytes);
    const std::string body = string_argument(arguments, "original_body", kMaxBodyBytes);
    std::string tone_name = "professional";
    if (const auto tone = arguments.find("tone"); tone != arguments.end()) {
      if (!tone->is_string()) throw ToolError("tone: must be a string");
      tone_name = tone->get<std::string>();
    }
    const std::optional<Tone> tone = parse_tone(tone_name);
    if (!tone) {
      throw ToolError("tone: unknown tone \"" + tone_name + "\"; use one of " + allowed_tones());
    }
    const Draft draft = draft_reply(subject, body, *tone, drafter);
    ToolResult result = ToolResult::text("Subject: " + draft.subject + "\n\n" + draft.body +
                                         (draft.note.empty() ? "" : "\n\n(" + draft.note + ")"));
    result.structured = {{"subject", draft.subject},
                         {"body", draft.body},
                         {"tone", to_string(draft.tone)},
                         {"generator", draft.generator}};
    if (!draft.note.empty()) result.structured["note"] = draft.note;
    return result;
  };
  return Tool{std::move(spec), std::move(call)};
}

}  // namespace voicedesk::tools::draft
