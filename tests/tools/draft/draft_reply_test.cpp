#include "tools/draft/draft_reply.hpp"

#include <gtest/gtest.h>

#include <stdexcept>

#include "tools/json_schema.hpp"
#include "tools/null_tool_context.hpp"

namespace voicedesk::tools::draft {
namespace {

using nlohmann::json;

constexpr const char* kBody =
    "Hi Sam,\n"
    "\n"
    "Could we move Thursday's design review to Friday at 10:00? Two of us are travelling on\n"
    "Thursday. I have attached the agenda.\n"
    "\n"
    "Thanks,\n"
    "Ann\n"
    "-- \n"
    "Ann Example, Product\n";

TEST(ReplySubject, PrefixesReOnce) {
  EXPECT_EQ(reply_subject("Design review"), "Re: Design review");
  EXPECT_EQ(reply_subject("Re: Design review"), "Re: Design review");
  EXPECT_EQ(reply_subject("RE: re:Re[2]: AW: Design review"), "Re: Design review");
  EXPECT_EQ(reply_subject("Re : Fwd: Design review"), "Re: Fwd: Design review");
  EXPECT_EQ(reply_subject("Reminder: budget"), "Re: Reminder: budget");
  EXPECT_EQ(reply_subject("  Line\r\nbreak  "), "Re: Line break");
  EXPECT_EQ(reply_subject(""), "Re: (no subject)");
  EXPECT_EQ(reply_subject("Re:"), "Re: (no subject)");
}

TEST(KeyLine, TakesTheFirstSentenceAfterTheGreeting) {
  EXPECT_EQ(key_line(kBody), "Could we move Thursday's design review to Friday at 10:00?");
  EXPECT_EQ(key_line("Dear Mr. Smith,\n\nMr. Jones asked me to forward the signed contract. "
                     "Please confirm."),
            "Mr. Jones asked me to forward the signed contract.");
  EXPECT_EQ(key_line("Hi team, quick question about the budget"),
            "Hi team, quick question about the budget");
}

TEST(KeyLine, SkipsQuotesAndSignaturesAndCutsLongSentences) {
  EXPECT_EQ(key_line("> old text\n\nOn Mon, Ann wrote:\n> more\n"), "");
  EXPECT_EQ(key_line("Hello,\n-- \nsignature only"), "");
  EXPECT_EQ(key_line(""), "");
  const std::string long_sentence =
      "This sentence goes on and on about the quarterly planning process and never seems to reach "
      "a full stop because it keeps adding clauses, caveats, and asides about everything";
  const std::string line = key_line(long_sentence, 60);
  EXPECT_LE(line.size(), 60u);
  EXPECT_EQ(line, "This sentence goes on and on about the quarterly planning...");
  // Never cut inside a UTF-8 sequence.
  EXPECT_EQ(key_line("\u00E9\u00E9\u00E9\u00E9\u00E9\u00E9\u00E9\u00E9", 10),
            "\u00E9\u00E9\u00E9...");
}

TEST(TemplateDraft, WritesEachToneWithGreetingAcknowledgementAndClosing) {
  const Draft professional = template_draft("Design review", kBody, Tone::professional);
  EXPECT_EQ(professional.subject, "Re: Design review");
  EXPECT_EQ(professional.generator, "template");
  EXPECT_EQ(professional.body,
            "Hello,\n\n"
            "Thank you for your message about \"Design review\". You wrote: \"Could we move "
            "Thursday's design review to Friday at 10:00?\"\n\n"
            "I will look into your questions and get back to you shortly.\n\n"
            "Best regards,\n[Your name]");
  const Draft friendly = template_draft("Design review", kBody, Tone::friendly);
  EXPECT_TRUE(friendly.body.starts_with("Hi there,\n\nThanks so much")) << friendly.body;
  EXPECT_TRUE(friendly.body.ends_with("Cheers,\n[Your name]"));
  const Draft formal = template_draft("Design review", kBody, Tone::formal);
  EXPECT_TRUE(formal.body.starts_with("Dear Sir or Madam,")) << formal.body;
  EXPECT_TRUE(formal.body.ends_with("Yours faithfully,\n[Your name]"));
  const Draft brief = template_draft("Design review", kBody, Tone::brief);
  EXPECT_LT(brief.body.size(), professional.body.size());
  EXPECT_NE(brief.body.find("Got it: \"Could we move Thursday's design review to Friday at"),
            std::string::npos)
      << brief.body;
}

TEST(TemplateDraft, CopesWithoutSubjectOrBody) {
  const Draft draft = template_draft("", "", Tone::professional);
  EXPECT_EQ(draft.subject, "Re: (no subject)");
  EXPECT_EQ(draft.body,
            "Hello,\n\nThank you for your message.\n\n"
            "I will look into this and get back to you shortly.\n\nBest regards,\n[Your name]");
}

TEST(Tone, ParsesNamesAndAliases) {
  EXPECT_EQ(parse_tone("Professional"), Tone::professional);
  EXPECT_EQ(parse_tone(""), Tone::professional);
  EXPECT_EQ(parse_tone(" concise "), Tone::brief);
  EXPECT_EQ(parse_tone("casual"), Tone::friendly);
  EXPECT_EQ(parse_tone("formal"), Tone::formal);
  EXPECT_FALSE(parse_tone("sarcastic"));
}

TEST(DraftReply, UsesTheModelsDraftWhenThereIsOne) {
  std::string prompt;
  const Drafter drafter = [&](const std::string& text) -> std::optional<std::string> {
    prompt = text;
    return "Subject: Re: Design review\n\nHi Ann,\n\nFriday at 10 works for me.\n\nSam\n";
  };
  const Draft draft = draft_reply("Design review", kBody, Tone::friendly, drafter);
  EXPECT_EQ(draft.generator, "llm");
  EXPECT_EQ(draft.subject, "Re: Design review");
  EXPECT_EQ(draft.body, "Hi Ann,\n\nFriday at 10 works for me.\n\nSam");
  EXPECT_TRUE(draft.note.empty());
  EXPECT_NE(prompt.find("Tone: friendly"), std::string::npos) << prompt;
  EXPECT_NE(prompt.find("Subject: Design review"), std::string::npos) << prompt;
  EXPECT_NE(prompt.find("Could we move Thursday's design review"), std::string::npos);
}

TEST(DraftReply, FallsBackToTheTemplateWithANote) {
  const Drafter unavailable = [](const std::string&) { return std::optional<std::string>(); };
  const Drafter empty = [](const std::string&) { return std::optional<std::string>(" \n"); };
  const Drafter failing = [](const std::string&) -> std::optional<std::string> {
    throw std::runtime_error("connection refused");
  };
  const Draft a = draft_reply("x", kBody, Tone::brief, unavailable);
  EXPECT_EQ(a.generator, "template");
  EXPECT_EQ(a.note, "the language model is unavailable; this is a template draft");
  EXPECT_EQ(draft_reply("x", kBody, Tone::brief, empty).note,
            "the language model returned an empty draft; this is a template draft");
  EXPECT_EQ(draft_reply("x", kBody, Tone::brief, failing).note,
            "the language model failed: connection refused; this is a template draft");
  EXPECT_EQ(draft_reply("x", kBody, Tone::brief, {}).note, "");
}

TEST(DraftReply, BoundsTheOriginalInThePrompt) {
  const std::string huge(100000, 'a');
  EXPECT_LT(drafter_prompt("x", huge, Tone::professional).size(), 13000u);
}

class DraftReplyToolTest : public ::testing::Test {
 protected:
  tools::test::NullToolContext context_;
};

TEST_F(DraftReplyToolTest, ReturnsTheDraftAsStructuredContentAndText) {
  const Tool tool = make_draft_reply_tool();
  EXPECT_EQ(tool.spec.name, "draft_reply");
  EXPECT_TRUE(tool.spec.quick);
  EXPECT_EQ(tool.spec.input_schema["required"], json({"original_subject", "original_body"}));
  const json arguments = {{"original_subject", "Re: Design review"}, {"original_body", kBody}};
  EXPECT_EQ(validate(tool.spec.input_schema, arguments), std::nullopt);
  const ToolResult result = tool.call(arguments, context_);
  EXPECT_FALSE(result.is_error);
  EXPECT_EQ(validate(tool.spec.output_schema, result.structured), std::nullopt);
  EXPECT_EQ(result.structured["subject"], "Re: Design review");
  EXPECT_EQ(result.structured["tone"], "professional");
  EXPECT_EQ(result.structured["generator"], "template");
  EXPECT_FALSE(result.structured.contains("note"));
  const std::string text = result.content[0]["text"];
  EXPECT_TRUE(text.starts_with("Subject: Re: Design review\n\nHello,\n\n")) << text;
}

TEST_F(DraftReplyToolTest, NamesTheCanonicalToneAndTheNote) {
  const Tool tool = make_draft_reply_tool([](const std::string&) { return std::nullopt; });
  EXPECT_FALSE(tool.spec.quick);
  const ToolResult result = tool.call(
      {{"original_subject", "Budget"}, {"original_body", "Numbers attached."}, {"tone", "Concise"}},
      context_);
  EXPECT_EQ(result.structured["tone"], "brief");
  EXPECT_EQ(result.structured["note"],
            "the language model is unavailable; this is a template draft");
  EXPECT_EQ(validate(tool.spec.output_schema, result.structured), std::nullopt);
}

TEST_F(DraftReplyToolTest, RefusesUnknownTonesListingTheAllowedOnes) {
  const Tool tool = make_draft_reply_tool();
  try {
    tool.call({{"original_subject", "x"}, {"original_body", "y"}, {"tone", "sarcastic"}}, context_);
    FAIL() << "expected ToolError";
  } catch (const ToolError& e) {
    EXPECT_STREQ(e.what(),
                 "tone: unknown tone \"sarcastic\"; use one of professional, friendly, formal, "
                 "brief (or concise, casual)");
  }
  EXPECT_THROW(tool.call({{"original_subject", "x"}}, context_), ToolError);
  EXPECT_THROW(
      tool.call({{"original_subject", "x"}, {"original_body", std::string(300000, 'b')}}, context_),
      ToolError);
}

}  // namespace
}  // namespace voicedesk::tools::draft
