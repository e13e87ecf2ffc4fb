#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <exception>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "audio/wav.hpp"
#include "stt/pocketsphinx_transcriber.hpp"
#include "stt/whisper_ref.hpp"
#include "stt/word_error_rate.hpp"

namespace voicedesk::stt {
namespace {

using ::testing::HasSubstr;

constexpr std::string_view kJfkReference =
    "And so my fellow Americans, ask not what your country can do for you, ask what you can do "
    "for your country.";

// ---------------------------------------------------------------------------
// The word error rate helper

TEST(WordErrorRate, IdenticalTextScoresZero) {
  EXPECT_DOUBLE_EQ(word_error_rate("ask not what your", "ask not what your"), 0.0);
}

TEST(WordErrorRate, OneSubstitutionInFourWordsScoresAQuarter) {
  EXPECT_DOUBLE_EQ(word_error_rate("ask not what your", "ask not when your"), 0.25);
}

TEST(WordErrorRate, CountsDeletionsAndInsertions) {
  EXPECT_DOUBLE_EQ(word_error_rate("ask not what your", "ask what your"), 0.25);
  EXPECT_DOUBLE_EQ(word_error_rate("ask not", "so ask not now"), 1.0);
}

TEST(WordErrorRate, IgnoresPunctuationAndCase) {
  EXPECT_DOUBLE_EQ(word_error_rate(kJfkReference,
                                   "and so my fellow americans ask not what your country can do "
                                   "for you ask what you can do for your country"),
                   0.0);
  EXPECT_EQ(normalized_words("'Don't' -- say \"A.M.\"!"),
            (std::vector<std::string>{"don't", "say", "a", "m"}));
}

TEST(WordErrorRate, EmptyHypothesisScoresOne) {
  EXPECT_DOUBLE_EQ(word_error_rate("ask not what your", ""), 1.0);
  EXPECT_DOUBLE_EQ(word_error_rate("", ""), 0.0);
}

// ---------------------------------------------------------------------------
// The transcriber

std::filesystem::path jfk_path() {
  return test::shared_dir() / "audio" / "jfk.wav";
}

// Shared by the tests: each decoder takes about 0.6 s and 95 MB to load.
const PocketsphinxTranscriber& transcriber() {
  static const PocketsphinxTranscriber instance;
  return instance;
}

const std::vector<float>& jfk_audio() {
  static const std::vector<float> samples = [] {
    audio::WavAudio wav = audio::read_wav(jfk_path());
    if (wav.sample_rate != kSampleRate || wav.channels != 1) {
      throw std::runtime_error(jfk_path().string() + " is not 16 kHz mono");
    }
    return std::move(wav.samples);
  }();
  return samples;
}

// One call shared by the tests that only inspect its result: a call takes seconds.
const Transcript& jfk_transcript() {
  static const Transcript transcript = transcriber().transcribe(jfk_audio(), {});
  return transcript;
}

class Pocketsphinx : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::filesystem::path dir = PocketsphinxTranscriber::default_model_dir();
    if (!std::filesystem::exists(dir)) {
      GTEST_SKIP() << dir << " is missing (the Debian package pocketsphinx-en-us)";
    }
  }
};

TEST_F(Pocketsphinx, TranscribesJfkWithinTheWordErrorRateBound) {
  VOICEDESK_REQUIRE_FILE(jfk_path());
  const Transcript& transcript = jfk_transcript();
  const double wer = word_error_rate(kJfkReference, transcript.text);
  std::cout << "pocketsphinx on jfk.wav: WER " << wer << ", \"" << transcript.text << "\"\n"
            << "  total " << transcript.timings.total_ms << " ms (load "
            << transcript.timings.load_ms << ", mfcc " << transcript.timings.mel_ms << ", decode "
            << transcript.timings.decode_ms << ")\n";
  RecordProperty("word_error_rate", std::to_string(wer));
  // Debian's pocketsphinx_continuous scores about 0.55 on this clip.
  EXPECT_LE(wer, 0.65);
  EXPECT_EQ(transcript.language, "en");
  EXPECT_EQ(transcriber().model_name(), "pocketsphinx en-us");
  EXPECT_GT(transcript.timings.decode_ms, 0);
  EXPECT_EQ(transcript.timings.encode_ms, 0);
  EXPECT_GE(transcript.timings.total_ms, transcript.timings.mel_ms + transcript.timings.decode_ms);
}

TEST_F(Pocketsphinx, SegmentsAreOrderedWithinTheAudioAndMakeUpTheText) {
  VOICEDESK_REQUIRE_FILE(jfk_path());
  const Transcript& transcript = jfk_transcript();
  const double duration = static_cast<double>(jfk_audio().size()) / kSampleRate;
  // The clip pauses for over a second twice.
  ASSERT_GE(transcript.segments.size(), 2u);
  std::string joined;
  double previous_end = 0;
  for (const Segment& segment : transcript.segments) {
    EXPECT_GE(segment.start, previous_end) << segment.text;
    EXPECT_LT(segment.start, segment.end) << segment.text;
    EXPECT_LE(segment.end, duration) << segment.text;
    EXPECT_FALSE(segment.text.empty());
    previous_end = segment.end;
    joined += (joined.empty() ? "" : " ") + segment.text;
  }
  EXPECT_EQ(transcript.text, joined);
  // No <s>, <sil>, [NOISE] or word(2) alternate-pronunciation markers.
  EXPECT_EQ(transcript.text.find_first_of("<>[]()+"), std::string::npos) << transcript.text;
  // Kennedy speaks from 0.32 s to 10.51 s (whisper.cpp's VAD test), so word
  // times are in seconds of the clip, silences included.
  EXPECT_NEAR(transcript.segments.front().start, 0.32, 0.25);
  EXPECT_NEAR(transcript.segments.back().end, 10.51, 0.25);
}

TEST_F(Pocketsphinx, SilenceGivesEmptyText) {
  const Transcript silence = transcriber().transcribe(std::vector<float>(2 * kSampleRate), {});
  EXPECT_EQ(silence.text, "");
  EXPECT_TRUE(silence.segments.empty());
  const Transcript nothing = transcriber().transcribe({}, {});
  EXPECT_EQ(nothing.text, "");
  EXPECT_TRUE(nothing.segments.empty());
}

// ---------------------------------------------------------------------------
// The command grammar pass

std::vector<float> clip(std::string_view name) {
  audio::WavAudio wav = audio::read_wav(test::shared_dir() / "audio" / name);
  if (wav.sample_rate != kSampleRate || wav.channels != 1) {
    throw std::runtime_error(std::string(name) + " is not 16 kHz mono");
  }
  return std::move(wav.samples);
}

constexpr std::string_view kTestGrammar = R"(#JSGF V1.0;
grammar test;
public <command> = <calendar> | <mail> | <meeting>;
<day> = today | tomorrow | friday | monday;
<calendar> = (what's | what is) on my calendar [for] <day>;
<mail> = send an email to (alice | bob) saying <dictation>;
<meeting> = schedule a meeting with (alice | bob) <day>;
)";

TEST_F(Pocketsphinx, KnowsItsVocabulary) {
  EXPECT_TRUE(transcriber().in_vocabulary("friday"));
  EXPECT_TRUE(transcriber().in_vocabulary("what's"));
  EXPECT_FALSE(transcriber().in_vocabulary("zzqxv"));
  EXPECT_FALSE(transcriber().in_vocabulary(""));
}

TEST_F(Pocketsphinx, ACommandSaidAsTheGrammarHasItComesOutWordExact) {
  VOICEDESK_REQUIRE_FILE(test::shared_dir() / "audio" / "calendar-friday.wav");
  const std::vector<float> audio = clip("calendar-friday.wav");
  PocketsphinxTranscriber recognizer(PocketsphinxTranscriber::default_model_dir(), 1);
  const Transcript plain = recognizer.transcribe(audio, {});
  recognizer.set_command_grammar(
      PocketsphinxTranscriber::CommandGrammar{std::string(kTestGrammar)});
  const Transcript command = recognizer.transcribe(audio, {});
  std::cout << "calendar-friday.wav: language model \"" << plain.text << "\" ("
            << plain.timings.decode_ms << " ms), with the grammar \"" << command.text << "\" ("
            << command.timings.decode_ms << " ms)\n";
  EXPECT_FALSE(plain.command_grammar);
  EXPECT_TRUE(command.command_grammar);
  EXPECT_EQ(command.text, "what is on my calendar for friday");
  ASSERT_FALSE(command.segments.empty());
  EXPECT_NEAR(command.segments.front().start, 0.3, 0.15);

  // Dictation: the words after "saying" are what the language model heard.
  VOICEDESK_REQUIRE_FILE(test::shared_dir() / "audio" / "send-email.wav");
  const std::vector<float> mail = clip("send-email.wav");
  const Transcript dictated = recognizer.transcribe(mail, {});
  std::cout << "send-email.wav with the grammar: \"" << dictated.text << "\"\n";
  ASSERT_TRUE(dictated.command_grammar);
  ASSERT_THAT(dictated.text, ::testing::StartsWith("send an email to alice saying "));
  recognizer.set_command_grammar(std::nullopt);
  const std::string heard = recognizer.transcribe(mail, {}).text;
  const std::string body =
      dictated.text.substr(std::string("send an email to alice saying ").size());
  EXPECT_THAT(heard, ::testing::EndsWith(body));

  // Speech that is no command keeps the language model's text.
  VOICEDESK_REQUIRE_FILE(jfk_path());
  recognizer.set_command_grammar(
      PocketsphinxTranscriber::CommandGrammar{std::string(kTestGrammar)});
  const Transcript speech = recognizer.transcribe(jfk_audio(), {});
  EXPECT_FALSE(speech.command_grammar);
  EXPECT_EQ(speech.text, jfk_transcript().text);
  // Silence stays empty.
  EXPECT_EQ(recognizer.transcribe(std::vector<float>(kSampleRate), {}).text, "");
}

// pocketsphinx leaks on every grammar search: decoders are replaced after a
// number of them, here after every utterance, without changing the results.
TEST_F(Pocketsphinx, WornOutDecodersAreReplacedWithoutChangingResults) {
  VOICEDESK_REQUIRE_FILE(test::shared_dir() / "audio" / "calendar-friday.wav");
  const std::vector<float> audio = clip("calendar-friday.wav");
  PocketsphinxTranscriber recognizer(PocketsphinxTranscriber::default_model_dir(), 1, 2);
  recognizer.set_command_grammar(
      PocketsphinxTranscriber::CommandGrammar{std::string(kTestGrammar)});
  for (int i = 0; i < 3; ++i) {
    const Transcript command = recognizer.transcribe(audio, {});
    EXPECT_EQ(command.text, "what is on my calendar for friday") << "call " << i;
  }
}

TEST_F(Pocketsphinx, AGrammarThatDoesNotCompileIsRefusedWithTheReason) {
  PocketsphinxTranscriber recognizer(PocketsphinxTranscriber::default_model_dir(), 1);
  try {
    recognizer.set_command_grammar(PocketsphinxTranscriber::CommandGrammar{
        "#JSGF V1.0;\ngrammar bad;\npublic <command> = zzqxv words;\n"});
    FAIL() << "accepted a grammar with an unknown word";
  } catch (const TranscribeError& error) {
    EXPECT_THAT(error.what(), HasSubstr("command grammar"));
  }
  // And the recognizer goes on without one.
  EXPECT_EQ(recognizer.transcribe(std::vector<float>(kSampleRate / 2), {}).text, "");
}

TEST_F(Pocketsphinx, AcceptsOnlyEnglish) {
  const std::vector<float> silence(kSampleRate / 2);
  TranscribeOptions options;
  options.language = "en";
  EXPECT_NO_THROW(transcriber().transcribe(silence, options));
  options.language = "fr";
  try {
    transcriber().transcribe(silence, options);
    FAIL() << "French was accepted";
  } catch (const TranscribeError& error) {
    EXPECT_THAT(error.what(), HasSubstr("only supports English"));
  }
}

TEST_F(Pocketsphinx, MissingModelErrorNamesThePathAndPackage) {
  const std::filesystem::path dir = std::filesystem::path(::testing::TempDir()) / "no-such-model";
  try {
    PocketsphinxTranscriber missing(dir);
    FAIL() << "loaded a model from " << dir;
  } catch (const TranscribeError& error) {
    EXPECT_THAT(error.what(), HasSubstr(dir.string()));
    EXPECT_THAT(error.what(), HasSubstr("pocketsphinx-en-us"));
  }
}

TEST_F(Pocketsphinx, CorruptModelErrorNamesTheDirectoryAndReason) {
  const std::filesystem::path real = PocketsphinxTranscriber::default_model_dir();
  const std::filesystem::path dir = std::filesystem::path(::testing::TempDir()) / "corrupt-model";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  std::filesystem::create_directory_symlink(real / "en-us", dir / "en-us");
  std::filesystem::copy_file(real / "cmudict-en-us.dict", dir / "cmudict-en-us.dict");
  std::ofstream(dir / "en-us.lm.bin") << "not a language model";
  try {
    PocketsphinxTranscriber corrupt(dir);
    FAIL() << "loaded a corrupt model from " << dir;
  } catch (const TranscribeError& error) {
    EXPECT_THAT(error.what(), HasSubstr(dir.string()));
    // The reason pocketsphinx logged, not only that it failed.
    EXPECT_THAT(error.what(), HasSubstr("en-us.lm.bin"));
  }
  std::filesystem::remove_all(dir);
}

TEST_F(Pocketsphinx, CancelledBeforeTheCallThrowsCancelled) {
  const std::atomic<bool> cancel{true};
  TranscribeOptions options;
  options.cancel = &cancel;
  EXPECT_THROW(transcriber().transcribe(std::vector<float>(kSampleRate), options), Cancelled);
}

TEST_F(Pocketsphinx, ReportsProgressRisingToOne) {
  std::vector<double> progress;
  TranscribeOptions options;
  options.on_progress = [&](double done) { progress.push_back(done); };
  transcriber().transcribe(std::vector<float>(3 * kSampleRate), options);
  // 0.5 s chunks of 3 s.
  ASSERT_GE(progress.size(), 5u);
  EXPECT_GT(progress.front(), 0.0);
  for (std::size_t i = 1; i < progress.size(); ++i) EXPECT_GT(progress[i], progress[i - 1]);
  EXPECT_DOUBLE_EQ(progress.back(), 1.0);
}

TEST_F(Pocketsphinx, DecoderCancelledMidwayGivesTheSameResultNextTime) {
  VOICEDESK_REQUIRE_FILE(jfk_path());
  const std::string expected = jfk_transcript().text;
  // One decoder, so the second call reuses the one the first left mid-utterance.
  const PocketsphinxTranscriber single(PocketsphinxTranscriber::default_model_dir(), 1);
  std::atomic<bool> cancel{false};
  double last_progress = 0;
  TranscribeOptions options;
  options.cancel = &cancel;
  options.on_progress = [&](double done) {
    last_progress = done;
    if (done > 0.2) cancel = true;
  };
  EXPECT_THROW(single.transcribe(jfk_audio(), options), Cancelled);
  EXPECT_LT(last_progress, 0.5);
  EXPECT_EQ(single.transcribe(jfk_audio(), {}).text, expected);
}

TEST_F(Pocketsphinx, ConcurrentCallsMatchASingleCall) {
  VOICEDESK_REQUIRE_FILE(jfk_path());
  const std::string expected = jfk_transcript().text;
  constexpr std::size_t kThreads = 4;
  const PocketsphinxTranscriber pooled(PocketsphinxTranscriber::default_model_dir(), kThreads);
  std::vector<std::string> texts(kThreads);
  std::vector<std::exception_ptr> errors(kThreads);
  {
    std::vector<std::jthread> threads;
    for (std::size_t i = 0; i < kThreads; ++i) {
      threads.emplace_back([&, i] {
        try {
          texts[i] = pooled.transcribe(jfk_audio(), {}).text;
        } catch (...) {
          errors[i] = std::current_exception();
        }
      });
    }
  }
  for (std::size_t i = 0; i < kThreads; ++i) {
    if (errors[i]) std::rethrow_exception(errors[i]);
    EXPECT_EQ(texts[i], expected) << "thread " << i;
  }
}

}  // namespace
}  // namespace voicedesk::stt
