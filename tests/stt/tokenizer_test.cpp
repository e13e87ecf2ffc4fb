#include "stt/tokenizer.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "stt/whisper_ref.hpp"

namespace voicedesk::stt {
namespace {

using test::read_json;
using test::whisper_ref;

const std::string kReplacement = "\xEF\xBF\xBD";  // U+FFFD

const std::shared_ptr<const WhisperModel>& micro_model() {
  static const auto model = WhisperModel::load(whisper_ref("ggml-micro-random.en-f32.bin"));
  return model;
}

// Feeds `pieces` one by one and returns what each append produced, then what finish() flushed.
std::vector<std::string> assemble(const std::vector<std::string>& pieces) {
  Utf8Assembler assembler;
  std::vector<std::string> out;
  for (const std::string& piece : pieces) out.push_back(assembler.append(piece));
  out.push_back(assembler.finish());
  return out;
}

TEST(Utf8Assembler, TwoByteCharacterSplitOverTwoTokens) {
  EXPECT_EQ(assemble({"caf\xC3", "\xA9!"}), (std::vector<std::string>{"caf", "\xC3\xA9!", ""}));
}

TEST(Utf8Assembler, FourByteEmojiSplitOverThreeTokens) {
  // U+1F600 = F0 9F 98 80: nothing comes out until its last byte.
  EXPECT_EQ(assemble({"\xF0", "\x9F\x98", "\x80"}),
            (std::vector<std::string>{"", "", "\xF0\x9F\x98\x80", ""}));
}

TEST(Utf8Assembler, InvalidBytesBecomeOneReplacementPerMaximalSubpart) {
  // Expected values are Python's bytes.decode("utf-8", "replace").
  const auto decode = [](const std::string& bytes) {
    Utf8Assembler assembler;
    return assembler.append(bytes) + assembler.finish();
  };
  EXPECT_EQ(decode("a\x80"
                   "b"),
            "a" + kReplacement + "b");                         // stray continuation byte
  EXPECT_EQ(decode("\xFF"), kReplacement);                     // never valid
  EXPECT_EQ(decode("\xE2\x82x"), kReplacement + "x");          // truncated, then ASCII
  EXPECT_EQ(decode("\xC0\xAF"), kReplacement + kReplacement);  // overlong '/'
  EXPECT_EQ(decode("\xED\xA0\x80"), kReplacement + kReplacement + kReplacement);  // surrogate
  EXPECT_EQ(decode("\xF4\x90\x80\x80"),
            kReplacement + kReplacement + kReplacement + kReplacement);  // past U+10FFFF
}

TEST(Utf8Assembler, FinishFlushesAnIncompleteSequenceAndResets) {
  Utf8Assembler assembler;
  EXPECT_EQ(assembler.append("ok\xF0\x9F"), "ok");
  EXPECT_EQ(assembler.finish(), kReplacement);
  EXPECT_EQ(assembler.append("\x98\x80"), kReplacement + kReplacement);  // nothing left to join
}

// A hand-made vocabulary: 0..4 ordinary, 5 = <|endoftext|>, 6 = a timestamp.
WhisperModel synthetic_model() {
  WhisperModel model;
  model.vocab = {"\xC3", "\xA9", " caf", "\xF0\x9F", "\x98\x80", "<|endoftext|>", "<|0.00|>"};
  model.hparams.n_vocab = static_cast<int>(model.vocab.size());
  model.tokens.eot = 5;
  model.tokens.timestamp_begin = 6;
  return model;
}

TEST(Detokenize, JoinsSplitCharactersAndSkipsSpecialTokens) {
  const WhisperModel model = synthetic_model();
  const std::vector<int> tokens = {6, 2, 0, 5, 1, 3, 4, 5};
  EXPECT_EQ(detokenize(model, tokens), " caf\xC3\xA9\xF0\x9F\x98\x80");
}

TEST(Detokenize, IncompleteEndBecomesReplacement) {
  const WhisperModel model = synthetic_model();
  EXPECT_EQ(detokenize(model, std::vector<int>{2, 3}), " caf" + kReplacement);
}

TEST(Detokenize, JfkTeacherForcedTokensGiveTheSentence) {
  VOICEDESK_REQUIRE_FILE(whisper_ref("ggml-micro-random.en-f32.bin"));
  const auto reference = read_json(whisper_ref("reference-f32/reference.json"));
  const auto tokens = reference.at("teacher_forced_tokens").get<std::vector<int>>();
  EXPECT_EQ(detokenize(*micro_model(), tokens),
            " And so my fellow Americans, ask not what your country can do for you, ask what "
            "you can do for your country.");
}

TEST(TextEncoder, GreedyEncodingReproducesTheRealTokenizationOfJfk) {
  VOICEDESK_REQUIRE_FILE(whisper_ref("ggml-micro-random.en-f32.bin"));
  const auto reference = read_json(whisper_ref("reference-f32/reference.json"));
  const auto tokens = reference.at("teacher_forced_tokens").get<std::vector<int>>();
  // Drop <|startoftranscript|> <|notimestamps|> and <|endoftext|>.
  const std::vector<int> text_tokens(tokens.begin() + 2, tokens.end() - 1);
  const TextEncoder encoder(*micro_model());
  EXPECT_EQ(encoder.encode(detokenize(*micro_model(), text_tokens)), text_tokens);
}

TEST(TextEncoder, SplitsLikeGpt2BeforeMatching) {
  VOICEDESK_REQUIRE_FILE(whisper_ref("ggml-micro-random.en-f32.bin"));
  const TextEncoder encoder(*micro_model());
  const auto id = [&](const std::string& bytes) { return encoder.find(bytes).value(); };
  // The contraction is its own pre-token; of several spaces the last one leads the next word
  // (this vocabulary has no two-space token, so the other two are single spaces).
  EXPECT_EQ(encoder.encode("don't"), (std::vector<int>{id("don"), id("'t")}));
  EXPECT_EQ(encoder.encode("a   b"), (std::vector<int>{id("a"), id(" "), id(" "), id(" b")}));
  EXPECT_EQ(encoder.encode("x\n"), (std::vector<int>{id("x"), id("\n")}));
  EXPECT_EQ(encoder.encode("7 cats!?"), (std::vector<int>{id("7"), id(" cats"), id("!?")}));
  EXPECT_TRUE(encoder.encode("").empty());
}

TEST(TextEncoder, FindsExactTokensOnly) {
  VOICEDESK_REQUIRE_FILE(whisper_ref("ggml-micro-random.en-f32.bin"));
  const TextEncoder encoder(*micro_model());
  EXPECT_EQ(encoder.find(" And"), 843);
  EXPECT_EQ(encoder.find(" "), 220);
  EXPECT_FALSE(encoder.find("<|endoftext|>"));  // special tokens are not text
  EXPECT_FALSE(encoder.find(" And so my fellow"));
}

TEST(NonSpeechTokens, MatchesWhisperSymbolsWithAndWithoutSpace) {
  VOICEDESK_REQUIRE_FILE(whisper_ref("ggml-micro-random.en-f32.bin"));
  const TextEncoder encoder(*micro_model());
  const std::vector<int> tokens = non_speech_tokens(encoder);
  // 82 tokens of this vocabulary match, counted independently in Python from the same rules.
  EXPECT_EQ(tokens.size(), 82u);
  EXPECT_TRUE(std::is_sorted(tokens.begin(), tokens.end()));
  const auto contains = [&](const std::string& bytes) {
    return std::binary_search(tokens.begin(), tokens.end(), encoder.find(bytes).value());
  };
  EXPECT_TRUE(contains("\""));
  EXPECT_TRUE(contains(" ("));
  EXPECT_TRUE(contains(" -"));
  EXPECT_TRUE(contains(" '"));
  EXPECT_FALSE(contains("-"));  // hyphens inside words are speech
  EXPECT_FALSE(contains("'"));
  EXPECT_FALSE(contains(","));
  EXPECT_FALSE(contains(" And"));
}

TEST(Languages, TableHoldsWhisperCodesInTokenOrder) {
  EXPECT_EQ(kWhisperLanguages.front(), "en");
  EXPECT_EQ(kWhisperLanguages[2], "de");
  EXPECT_EQ(kWhisperLanguages[93], "haw");
  EXPECT_EQ(kWhisperLanguages[99], "yue");
  std::vector<std::string_view> sorted(kWhisperLanguages.begin(), kWhisperLanguages.end());
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(std::adjacent_find(sorted.begin(), sorted.end()), sorted.end());
}

// The special-token layout of a multilingual model with `n_vocab` tokens (as the loader sets it).
WhisperModel multilingual_model(int n_vocab) {
  WhisperModel model;
  model.hparams.n_vocab = n_vocab;
  const int shift = n_vocab - 51865;
  model.tokens.eot = 50257;
  model.tokens.sot = 50258;
  model.tokens.translate = 50358 + shift;
  model.file_name = "multilingual.bin";
  return model;
}

TEST(Languages, TokensOfMultilingualModels) {
  const WhisperModel model = multilingual_model(51865);
  EXPECT_EQ(language_count(model), 99);
  EXPECT_EQ(language_token(model, "en"), 50259);
  EXPECT_EQ(language_token(model, "de"), 50261);
  EXPECT_EQ(language_token(model, "su"), 50357);
  EXPECT_THROW(language_token(model, "yue"), TranscribeError);  // large-v3 only
  const WhisperModel v3 = multilingual_model(51866);
  EXPECT_EQ(language_count(v3), 100);
  EXPECT_EQ(language_token(v3, "yue"), 50358);
}

TEST(Languages, EnglishOnlyModelAcceptsOnlyEnglish) {
  VOICEDESK_REQUIRE_FILE(whisper_ref("ggml-micro-random.en-f32.bin"));
  const WhisperModel& model = *micro_model();
  EXPECT_EQ(language_token(model, "en"), 50258);
  EXPECT_THROW(language_token(model, "de"), TranscribeError);
  EXPECT_THROW(language_token(model, "xx"), TranscribeError);
  EXPECT_THROW(language_token(model, ""), TranscribeError);
}

}  // namespace
}  // namespace voicedesk::stt
