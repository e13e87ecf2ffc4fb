#include "stt/whisper_transcriber.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <limits>
#include <thread>
#include <vector>

#include "audio/wav.hpp"
#include "stt/whisper_ref.hpp"

namespace voicedesk::stt {
namespace {

using test::read_json;
using test::shared_dir;
using test::whisper_ref;

constexpr float kNever = -std::numeric_limits<float>::infinity();

const std::shared_ptr<const WhisperModel>& micro_model() {
  static const auto model = WhisperModel::load(whisper_ref("ggml-micro-random.en-f32.bin"));
  return model;
}

const std::vector<float>& jfk() {
  static const std::vector<float> samples = [] {
    const audio::WavAudio wav = audio::read_wav(shared_dir() / "audio" / "jfk.wav");
    EXPECT_EQ(wav.sample_rate, kSampleRate);
    EXPECT_EQ(wav.channels, 1);
    return wav.samples;
  }();
  return samples;
}

#define REQUIRE_MICRO_MODEL_AND_JFK()                                  \
  VOICEDESK_REQUIRE_FILE(whisper_ref("ggml-micro-random.en-f32.bin")); \
  VOICEDESK_REQUIRE_FILE(shared_dir() / "audio" / "jfk.wav")

// ---- the logit filter, on hand-made logits over the real vocabulary -----------------------------

class LogitFilterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    VOICEDESK_REQUIRE_FILE(whisper_ref("ggml-micro-random.en-f32.bin"));
    model_ = micro_model().get();
    encoder_ = std::make_unique<TextEncoder>(*model_);
  }

  // Text tokens at 0 and timestamps at -10: all 1501 timestamps together (-2.7) stay below any
  // text token, so no timestamp is forced unless a test raises some.
  std::vector<float> flat() const {
    std::vector<float> logits(static_cast<std::size_t>(model_->hparams.n_vocab), -10.0f);
    std::fill(logits.begin(), logits.begin() + model_->tokens.timestamp_begin, 0.0f);
    return logits;
  }
  std::vector<float> filtered(std::vector<int> sampled, std::vector<float> logits,
                              const DecodeOptions& options = {}) const {
    LogitFilter(*model_, *encoder_, options).apply(sampled, logits);
    return logits;
  }
  int id(const std::string& bytes) const { return encoder_->find(bytes).value(); }
  int ts(double seconds) const { return model_->timestamp_token(seconds); }
  const SpecialTokens& specials() const { return model_->tokens; }

  const WhisperModel* model_ = nullptr;
  std::unique_ptr<TextEncoder> encoder_;
};

TEST_F(LogitFilterTest, SuppressesBlankAndEndOnlyAtTheFirstStep) {
  const int space = id(" ");
  const int word = id(" And");
  std::vector<float> first = filtered({}, flat());
  EXPECT_EQ(first[space], kNever);
  EXPECT_EQ(first[specials().eot], kNever);
  EXPECT_NE(first[word], kNever);
  const std::vector<float> later = filtered({word}, flat());
  EXPECT_NE(later[space], kNever);
  EXPECT_NE(later[specials().eot], kNever);
  DecodeOptions keep_blank;
  keep_blank.suppress_blank = false;
  EXPECT_NE(filtered({}, flat(), keep_blank)[space], kNever);
}

TEST_F(LogitFilterTest, SuppressesNonSpeechAndSpecialTokens) {
  const std::vector<float> out = filtered({id(" And")}, flat());
  for (const char* symbol : {"(", " (", "\"", " -", "[", " '"}) {
    EXPECT_EQ(out[id(symbol)], kNever) << symbol;
  }
  EXPECT_NE(out[id("-")], kNever);
  EXPECT_NE(out[id(",")], kNever);
  const SpecialTokens& s = specials();
  for (const int special :
       {s.sot, s.sot + 1, s.translate, s.transcribe, s.solm, s.prev, s.nosp, s.no_timestamps}) {
    EXPECT_EQ(out[special], kNever) << special;
  }
  EXPECT_NE(out[s.eot], kNever);
  EXPECT_NE(out[ts(1.0)], kNever);
  DecodeOptions keep_symbols;
  keep_symbols.suppress_non_speech = false;
  EXPECT_NE(filtered({id(" And")}, flat(), keep_symbols)[id("(")], kNever);
}

TEST_F(LogitFilterTest, WithoutTimestampsNoTimestampIsSampled) {
  DecodeOptions options;
  options.timestamps = false;
  const std::vector<float> out = filtered({id(" And")}, flat(), options);
  EXPECT_EQ(out[ts(0.0)], kNever);
  EXPECT_EQ(out[ts(30.0)], kNever);
  EXPECT_NE(out[id(" so")], kNever);
}

TEST_F(LogitFilterTest, AfterASegmentEndOnlyATimestampOrTheEndFollows) {
  const std::vector<float> out = filtered({ts(0.0), id(" And"), ts(1.0)}, flat());
  EXPECT_EQ(out[id(" so")], kNever);
  EXPECT_EQ(out[0], kNever);
  EXPECT_NE(out[specials().eot], kNever);
  // The next segment may start where this one ended, not before.
  EXPECT_EQ(out[ts(0.98)], kNever);
  EXPECT_NE(out[ts(1.0)], kNever);
  EXPECT_NE(out[ts(2.0)], kNever);
}

TEST_F(LogitFilterTest, AfterATimestampPairTextFollows) {
  const std::vector<float> pair = filtered({ts(0.0), id(" And"), ts(1.0), ts(1.0)}, flat());
  EXPECT_EQ(pair[ts(1.0)], kNever);
  EXPECT_EQ(pair[ts(5.0)], kNever);
  EXPECT_NE(pair[id(" so")], kNever);
  EXPECT_NE(pair[specials().eot], kNever);
  // A window's opening timestamp counts as a pair's second half.
  const std::vector<float> opening = filtered({ts(0.0)}, flat());
  EXPECT_EQ(opening[ts(0.5)], kNever);
  EXPECT_NE(opening[id(" And")], kNever);
}

TEST_F(LogitFilterTest, TimestampsIncreaseWithinASegment) {
  const std::vector<float> out = filtered({ts(0.5), id(" And")}, flat());
  EXPECT_EQ(out[ts(0.0)], kNever);
  EXPECT_EQ(out[ts(0.5)], kNever);  // a segment cannot end where it starts
  EXPECT_NE(out[ts(0.52)], kNever);
  EXPECT_NE(out[id(" so")], kNever);
}

TEST_F(LogitFilterTest, FirstTimestampIsAtMostMaxInitialTimestamp) {
  const std::vector<float> first = filtered({}, flat());
  EXPECT_NE(first[ts(0.0)], kNever);
  EXPECT_NE(first[ts(1.0)], kNever);
  EXPECT_EQ(first[ts(1.02)], kNever);
  EXPECT_EQ(first[ts(30.0)], kNever);
  DecodeOptions later_start;
  later_start.max_initial_timestamp = 2.0;
  EXPECT_NE(filtered({}, flat(), later_start)[ts(2.0)], kNever);
  EXPECT_EQ(filtered({}, flat(), later_start)[ts(2.02)], kNever);
  EXPECT_NE(filtered({id(" And")}, flat())[ts(20.0)], kNever);  // no limit after the start
}

TEST_F(LogitFilterTest, ForcesATimestampWhenTheirTotalProbabilityWins) {
  const int word = id(" And");
  std::vector<float> logits = flat();
  logits[word] = 5.0f;
  // Three timestamps at 4: together e^4 * 3 > e^5, though each is less likely than the word.
  for (double t : {2.0, 2.02, 2.04}) logits[ts(t)] = 4.0f;
  const std::vector<float> forced = filtered({word}, logits);
  EXPECT_EQ(forced[word], kNever);
  EXPECT_EQ(forced[specials().eot], kNever);
  EXPECT_EQ(forced[ts(2.0)], 4.0f);
  // Two are not enough: e^4 * 2 < e^5.
  logits[ts(2.04)] = -10.0f;
  const std::vector<float> free = filtered({word}, logits);
  EXPECT_EQ(free[word], 5.0f);
  EXPECT_EQ(free[ts(2.0)], 4.0f);
}

// ---- sampling, compression ratio, fallback ----------------------------------------------------

TEST(SampleToken, GreedyTakesTheFirstMaximumWithItsLogProbability) {
  const std::vector<float> logits = {1.0f, 3.0f, kNever, 3.0f, 0.0f};
  std::mt19937 rng(0);
  const SampledToken token = sample_token(logits, 0.0f, rng);
  EXPECT_EQ(token.id, 1);
  const double sum = std::exp(1.0) + 2 * std::exp(3.0) + 1.0;
  EXPECT_NEAR(token.logprob, 3.0 - std::log(sum), 1e-6);
}

TEST(SampleToken, SamplingFollowsTheTemperedDistributionAndIsSeeded) {
  // At temperature 1: p = 1/4, 3/4; at 0.5 the odds square: 1/10, 9/10. Never the -inf token.
  const std::vector<float> logits = {0.0f, static_cast<float>(std::log(3.0)), kNever};
  for (const auto& [temperature, expected] : {std::pair{1.0f, 0.75}, std::pair{0.5f, 0.9}}) {
    std::mt19937 rng(42);
    int ones = 0;
    constexpr int kDraws = 20000;
    for (int i = 0; i < kDraws; ++i) {
      const int id = sample_token(logits, temperature, rng).id;
      ASSERT_NE(id, 2);
      ones += id;
    }
    EXPECT_NEAR(static_cast<double>(ones) / kDraws, expected, 0.015) << temperature;
  }
  std::mt19937 a(7), b(7);
  for (int i = 0; i < 100; ++i) {
    EXPECT_EQ(sample_token(logits, 1.0f, a).id, sample_token(logits, 1.0f, b).id);
  }
}

TEST(CompressionRatio, MatchesPythonZlib) {
  // len(s) / len(zlib.compress(s)) computed in Python 3.
  EXPECT_EQ(compression_ratio(""), 0.0);
  EXPECT_DOUBLE_EQ(compression_ratio("hello"), 5.0 / 13.0);
  EXPECT_DOUBLE_EQ(compression_ratio(std::string(100, 'a')), 100.0 / 12.0);
  EXPECT_DOUBLE_EQ(compression_ratio(" And so my fellow Americans, ask not what your country can "
                                     "do for you, ask what you can do for your country."),
                   108.0 / 79.0);
}

WindowDecoding decoding(double compression, double avg_logprob, double no_speech) {
  WindowDecoding d;
  d.compression_ratio = compression;
  d.avg_logprob = avg_logprob;
  d.no_speech_prob = no_speech;
  return d;
}

TEST(Fallback, RepetitiveOrUnlikelyDecodingsFallBackUnlessSilent) {
  const DecodeOptions options;
  EXPECT_FALSE(needs_fallback(decoding(1.5, -0.3, 0.1), options));
  EXPECT_TRUE(needs_fallback(decoding(2.41, -0.3, 0.1), options));  // too repetitive
  EXPECT_FALSE(needs_fallback(decoding(2.4, -0.3, 0.1), options));  // at the threshold: fine
  EXPECT_TRUE(needs_fallback(decoding(1.5, -1.01, 0.1), options));  // too unlikely
  EXPECT_FALSE(needs_fallback(decoding(1.5, -1.0, 0.1), options));
  EXPECT_FALSE(needs_fallback(decoding(1.5, -1.01, 0.61), options));  // unlikely but silent
  EXPECT_TRUE(needs_fallback(decoding(2.5, -0.3, 0.9), options));     // repetitive, not unlikely
}

TEST(Fallback, SilenceNeedsNoSpeechAndLowProbability) {
  const DecodeOptions options;
  EXPECT_TRUE(is_silence(decoding(1.0, -1.5, 0.61), options));
  EXPECT_TRUE(is_silence(decoding(1.0, -1.0, 0.61), options));  // OpenAI: not above the threshold
  EXPECT_FALSE(is_silence(decoding(1.0, -0.99, 0.61), options));
  EXPECT_FALSE(is_silence(decoding(1.0, -1.5, 0.6), options));
}

// ---- segments and seeking ---------------------------------------------------------------------

class SplitSegmentsTest : public LogitFilterTest {
 protected:
  WindowSegments split(const std::vector<int>& tokens, int seek = 0, int frames = 3000) const {
    return split_segments(*model_, tokens, seek, frames);
  }
};

TEST_F(SplitSegmentsTest, PairsSplitAndASingleTimestampEndingSkipsTheWindow) {
  const WindowSegments out =
      split({ts(0.0), id(" And"), ts(1.0), ts(1.5), id(" so"), ts(2.5)}, 3000, 3000);
  ASSERT_EQ(out.segments.size(), 2u);
  EXPECT_DOUBLE_EQ(out.segments[0].start, 30.0);
  EXPECT_DOUBLE_EQ(out.segments[0].end, 31.0);
  EXPECT_EQ(out.segments[0].text, " And");
  EXPECT_DOUBLE_EQ(out.segments[1].start, 31.5);
  EXPECT_DOUBLE_EQ(out.segments[1].end, 32.5);
  EXPECT_EQ(out.segments[1].text, " so");
  EXPECT_EQ(out.advance_frames, 3000);
}

TEST_F(SplitSegmentsTest, UnfinishedLastSegmentIsDecodedAgainFromTheLastPair) {
  const WindowSegments out = split({ts(0.0), id(" And"), ts(1.0), ts(1.0), id(" so")});
  ASSERT_EQ(out.segments.size(), 1u);
  EXPECT_DOUBLE_EQ(out.segments[0].end, 1.0);
  EXPECT_EQ(out.advance_frames, 100);  // 1.0 s
}

TEST_F(SplitSegmentsTest, WithoutPairsOneSegmentSpansTheWindow) {
  const WindowSegments plain = split({id(" And"), id(" so")}, 500, 1099);
  ASSERT_EQ(plain.segments.size(), 1u);
  EXPECT_DOUBLE_EQ(plain.segments[0].start, 5.0);
  EXPECT_DOUBLE_EQ(plain.segments[0].end, 15.99);
  EXPECT_EQ(plain.segments[0].text, " And so");
  EXPECT_EQ(plain.advance_frames, 1099);
  const WindowSegments ended = split({ts(0.0), id(" And"), ts(1.5)});
  ASSERT_EQ(ended.segments.size(), 1u);
  EXPECT_DOUBLE_EQ(ended.segments[0].end, 1.5);
  EXPECT_EQ(ended.advance_frames, 3000);
}

TEST_F(SplitSegmentsTest, LeadingTextStartsAtTheWindowAndEmptySegmentsAreDropped) {
  const WindowSegments out = split({id(" And"), ts(1.0), ts(1.0), ts(2.0), ts(2.0)}, 100);
  ASSERT_EQ(out.segments.size(), 1u);
  EXPECT_DOUBLE_EQ(out.segments[0].start, 1.0);
  EXPECT_DOUBLE_EQ(out.segments[0].end, 2.0);
  EXPECT_EQ(out.advance_frames, 200);
}

TEST(DetectLanguage, TakesTheLikeliestLanguageToken) {
  WhisperModel model;  // the special-token layout of a multilingual model
  model.hparams.n_vocab = 51865;
  model.tokens.eot = 50257;
  model.tokens.sot = 50258;
  model.tokens.translate = 50358;
  std::vector<float> logits(51865, 0.0f);
  logits[1000] = 9.0f;   // text does not count
  logits[50357] = 7.0f;  // "su", the last language
  EXPECT_EQ(detect_language(model, logits), "su");
  logits[50258 + 1 + 2] = 8.0f;
  EXPECT_EQ(detect_language(model, logits), "de");
}

// ---- the whole loop on the random-weight micro model --------------------------------------------

DecodeOptions without_fallback(bool timestamps) {
  DecodeOptions options;
  options.timestamps = timestamps;
  options.temperatures = {0.0f};
  return options;
}

// whisper.cpp's segment tokens, which with random weights are one token repeated until the 220
// token limit (n_text_ctx / 2 - 4).
std::vector<int> reference_tokens(const char* key) {
  const auto reference = read_json(whisper_ref("reference-f32/reference.json"));
  const auto& segments = reference.at(key);
  EXPECT_EQ(segments.size(), 1u);
  return segments.at(0).at("tokens").get<std::vector<int>>();
}

TEST(WhisperTranscriber, GreedyWithoutTimestampsReproducesWhisperCpp) {
  REQUIRE_MICRO_MODEL_AND_JFK();
  const WhisperTranscriber transcriber(micro_model(), 1, without_fallback(false));
  const DetailedTranscript result = transcriber.transcribe_detailed(jfk(), {});
  ASSERT_EQ(result.windows.size(), 1u);
  const WindowDecoding& decoding = result.windows[0].decoding;
  EXPECT_EQ(decoding.tokens, reference_tokens("full_no_timestamps"));
  EXPECT_FALSE(result.windows[0].silence);
  // One segment over the audio: 1099 mel frames. (whisper.cpp reports 0..30 s: it ends a
  // segment without timestamps at the window's end and, lacking a first timestamp, derives the
  // start from an unset one, hence its t0 of -100726.)
  ASSERT_EQ(result.transcript.segments.size(), 1u);
  EXPECT_DOUBLE_EQ(result.transcript.segments[0].start, 0.0);
  EXPECT_DOUBLE_EQ(result.transcript.segments[0].end, 10.99);
  EXPECT_EQ(" " + result.transcript.text, decoding.text);
  EXPECT_EQ(result.transcript.language, "en");
}

TEST(WhisperTranscriber, GreedyWithTimestampsReproducesWhisperCpp) {
  REQUIRE_MICRO_MODEL_AND_JFK();
  const WhisperTranscriber transcriber(micro_model(), 1, without_fallback(true));
  const DetailedTranscript result = transcriber.transcribe_detailed(jfk(), {});
  ASSERT_EQ(result.windows.size(), 1u);
  // No timestamp ever wins, so the tokens are text only, the first one included (whisper.cpp,
  // unlike OpenAI, does not force a window to open with a timestamp).
  EXPECT_EQ(result.windows[0].decoding.tokens, reference_tokens("full_timestamps"));
  // whisper.cpp's segment is 0.08..30 s: its start is the likeliest timestamp at the first
  // (text) token, its end the window's end. Without timestamp tokens, OpenAI's rule (ours) spans
  // the audio in the window.
  ASSERT_EQ(result.transcript.segments.size(), 1u);
  EXPECT_DOUBLE_EQ(result.transcript.segments[0].start, 0.0);
  EXPECT_DOUBLE_EQ(result.transcript.segments[0].end, 10.99);
}

TEST(WhisperTranscriber, MaxTokensCapsEachWindow) {
  REQUIRE_MICRO_MODEL_AND_JFK();
  DecodeOptions options = without_fallback(false);
  options.max_tokens = 10;
  const WhisperTranscriber transcriber(micro_model(), 1, options);
  const DetailedTranscript result = transcriber.transcribe_detailed(jfk(), {});
  ASSERT_EQ(result.windows.size(), 1u);
  const std::vector<int> reference = reference_tokens("full_no_timestamps");
  ASSERT_GT(reference.size(), 10u);
  EXPECT_EQ(result.windows[0].decoding.tokens,
            std::vector<int>(reference.begin(), reference.begin() + 10));
}

TEST(WhisperTranscriber, FallsBackToAHigherTemperatureWhenTooRepetitive) {
  REQUIRE_MICRO_MODEL_AND_JFK();
  DecodeOptions options = without_fallback(false);
  options.temperatures = {0.0f, 0.5f};
  const WhisperTranscriber transcriber(micro_model(), 1, options);
  const DetailedTranscript result = transcriber.transcribe_detailed(jfk(), {});
  ASSERT_EQ(result.windows.size(), 1u);
  // Greedy decoding repeats one token (compression ratio 60); the last temperature is kept.
  const WindowDecoding& decoding = result.windows[0].decoding;
  EXPECT_EQ(decoding.temperature, 0.5f);
  EXPECT_NE(decoding.tokens, reference_tokens("full_no_timestamps"));
}

// jfk.wav repeated to 40 s: two windows.
std::vector<float> forty_seconds() {
  std::vector<float> audio;
  while (audio.size() < 40u * kSampleRate) audio.insert(audio.end(), jfk().begin(), jfk().end());
  audio.resize(40u * kSampleRate);
  return audio;
}

TEST(WhisperTranscriber, LongAudioSeeksWindowByWindowWithProgress) {
  REQUIRE_MICRO_MODEL_AND_JFK();
  const WhisperTranscriber transcriber(micro_model(), 2, without_fallback(true));
  std::vector<double> progress;
  TranscribeOptions options;
  options.on_progress = [&](double fraction) { progress.push_back(fraction); };
  const DetailedTranscript result = transcriber.transcribe_detailed(forty_seconds(), options);
  // The first window holds no timestamp, so the second starts right after it.
  ASSERT_EQ(result.windows.size(), 2u);
  EXPECT_EQ(result.windows[0].seek, 0);
  EXPECT_EQ(result.windows[1].seek, 3000);
  const std::vector<Segment>& segments = result.transcript.segments;
  ASSERT_EQ(segments.size(), 2u);
  EXPECT_DOUBLE_EQ(segments[0].start, 0.0);
  EXPECT_DOUBLE_EQ(segments[0].end, 30.0);
  EXPECT_DOUBLE_EQ(segments[1].start, 30.0);
  EXPECT_DOUBLE_EQ(segments[1].end, 39.99);                                // 3999 frames of audio
  EXPECT_EQ(result.transcript.text, segments[0].text + segments[1].text);  // no spaces to trim
  // Seeked fraction at each window, then done: 3000 of 3999 frames.
  ASSERT_EQ(progress.size(), 3u);
  EXPECT_EQ(progress[0], 0.0);
  EXPECT_NEAR(progress[1], 3000.0 / 3999.0, 1e-12);
  EXPECT_EQ(progress[2], 1.0);
}

TEST(WhisperTranscriber, LongAudioWithFallbackKeepsSegmentsInOrder) {
  REQUIRE_MICRO_MODEL_AND_JFK();
  DecodeOptions options;
  options.temperatures = {0.0f, 1.0f};  // sampling: random timestamps from the random model
  const WhisperTranscriber transcriber(micro_model(), 2, options);
  const DetailedTranscript result = transcriber.transcribe_detailed(forty_seconds(), {});
  ASSERT_GE(result.windows.size(), 2u);
  for (std::size_t i = 1; i < result.windows.size(); ++i) {
    EXPECT_GT(result.windows[i].seek, result.windows[i - 1].seek);
    EXPECT_LT(result.windows[i].seek, 3999);
  }
  const std::vector<Segment>& segments = result.transcript.segments;
  ASSERT_FALSE(segments.empty());
  for (std::size_t i = 0; i < segments.size(); ++i) {
    EXPECT_LT(segments[i].start, segments[i].end) << i;
    if (i > 0) {
      EXPECT_GE(segments[i].start, segments[i - 1].end) << i;
    }
  }
}

TEST(WhisperTranscriber, CancelledBeforeStarting) {
  REQUIRE_MICRO_MODEL_AND_JFK();
  const WhisperTranscriber transcriber(micro_model(), 1, without_fallback(true));
  const std::atomic<bool> cancel{true};
  int progress_calls = 0;
  TranscribeOptions options;
  options.cancel = &cancel;
  options.on_progress = [&](double) { ++progress_calls; };
  EXPECT_THROW(transcriber.transcribe(jfk(), options), Cancelled);
  EXPECT_EQ(progress_calls, 0);
}

TEST(WhisperTranscriber, CancelledBetweenDecoderSteps) {
  REQUIRE_MICRO_MODEL_AND_JFK();
  // Progress is reported once the window is encoded; jfk.wav is a single window, so only the
  // checks between decoder steps can see this cancellation.
  const WhisperTranscriber transcriber(micro_model(), 1, without_fallback(true));
  std::atomic<bool> cancel{false};
  TranscribeOptions options;
  options.cancel = &cancel;
  options.on_progress = [&](double) { cancel = true; };
  EXPECT_THROW(transcriber.transcribe(jfk(), options), Cancelled);
}

TEST(WhisperTranscriber, FillsTimingsAndLanguage) {
  REQUIRE_MICRO_MODEL_AND_JFK();
  const WhisperTranscriber transcriber(micro_model(), 1, without_fallback(true));
  const Transcript transcript = transcriber.transcribe(jfk(), {});
  const Timings& t = transcript.timings;
  EXPECT_EQ(t.load_ms, 0.0);
  EXPECT_GT(t.mel_ms, 0.0);
  EXPECT_GT(t.encode_ms, 0.0);
  EXPECT_GT(t.decode_ms, 0.0);
  EXPECT_GE(t.total_ms, t.mel_ms + t.encode_ms + t.decode_ms);
  EXPECT_EQ(transcript.language, "en");
  EXPECT_EQ(transcriber.model_name(), "whisper ggml-micro-random.en-f32.bin");
}

TEST(WhisperTranscriber, EnglishOnlyModelRefusesOtherLanguages) {
  REQUIRE_MICRO_MODEL_AND_JFK();
  const WhisperTranscriber transcriber(micro_model(), 1, without_fallback(true));
  TranscribeOptions options;
  options.language = "de";
  EXPECT_THROW(transcriber.transcribe(jfk(), options), TranscribeError);
  options.language = "klingon";
  EXPECT_THROW(transcriber.transcribe(jfk(), options), TranscribeError);
  options.language = "en";
  EXPECT_EQ(transcriber.transcribe(jfk(), options).language, "en");
}

TEST(WhisperTranscriber, LongInitialPromptKeepsOnlyWhatFitsTheContext) {
  REQUIRE_MICRO_MODEL_AND_JFK();
  const WhisperTranscriber transcriber(micro_model(), 1, without_fallback(true));
  TranscribeOptions options;
  for (int i = 0; i < 600; ++i) options.initial_prompt += "ask not what your country can do ";
  // 4200 prompt tokens would overflow the 448-token context; the last 223 are kept.
  const DetailedTranscript result = transcriber.transcribe_detailed(jfk(), options);
  ASSERT_EQ(result.windows.size(), 1u);
  EXPECT_FALSE(result.windows[0].decoding.tokens.empty());
}

TEST(WhisperTranscriber, InitialPromptConditionsTheDecoding) {
  REQUIRE_MICRO_MODEL_AND_JFK();
  const WhisperTranscriber transcriber(micro_model(), 1, without_fallback(false));
  const auto avg_logprob = [&](const TranscribeOptions& options) {
    return transcriber.transcribe_detailed(jfk(), options).windows.at(0).decoding.avg_logprob;
  };
  TranscribeOptions prompted;
  prompted.initial_prompt = "  hello  ";
  EXPECT_NE(avg_logprob(prompted), avg_logprob({}));
}

TEST(WhisperTranscriber, AudioUnder100MsGivesAnEmptyTranscript) {
  REQUIRE_MICRO_MODEL_AND_JFK();
  const WhisperTranscriber transcriber(micro_model(), 1, without_fallback(true));
  std::vector<double> progress;
  TranscribeOptions options;
  options.on_progress = [&](double fraction) { progress.push_back(fraction); };
  const DetailedTranscript result =
      transcriber.transcribe_detailed(std::span(jfk()).first(1600), options);
  EXPECT_TRUE(result.windows.empty());
  EXPECT_TRUE(result.transcript.segments.empty());
  EXPECT_EQ(result.transcript.text, "");
  EXPECT_EQ(progress, std::vector<double>{1.0});
}

TEST(WhisperTranscriber, ReusedSessionsGiveTheSameResultsAsNewOnes) {
  REQUIRE_MICRO_MODEL_AND_JFK();
  // Sessions are kept between calls: a later call, after one on other audio (longer, two
  // windows; shorter; cancelled half way), must not see anything of it.
  const WhisperTranscriber transcriber(micro_model(), 2, without_fallback(true));
  const DetailedTranscript first = transcriber.transcribe_detailed(jfk(), {});
  transcriber.transcribe_detailed(forty_seconds(), {});
  const std::vector<float> short_clip(jfk().begin(), jfk().begin() + 2 * kSampleRate);
  transcriber.transcribe_detailed(short_clip, {});
  std::atomic<bool> cancel{false};
  TranscribeOptions cancelling;
  cancelling.cancel = &cancel;
  cancelling.on_progress = [&](double) { cancel = true; };
  EXPECT_THROW(transcriber.transcribe_detailed(jfk(), cancelling), Cancelled);
  const DetailedTranscript again = transcriber.transcribe_detailed(jfk(), {});
  ASSERT_EQ(again.windows.size(), first.windows.size());
  EXPECT_EQ(again.windows[0].decoding.tokens, first.windows[0].decoding.tokens);
  EXPECT_EQ(again.transcript.text, first.transcript.text);
}

TEST(WhisperTranscriber, WarmUpChangesNoResult) {
  REQUIRE_MICRO_MODEL_AND_JFK();
  const WhisperTranscriber cold(micro_model(), 2, without_fallback(true));
  const WhisperTranscriber warm(micro_model(), 2, without_fallback(true));
  warm.warm_up();
  EXPECT_EQ(warm.transcribe_detailed(jfk(), {}).windows.at(0).decoding.tokens,
            cold.transcribe_detailed(jfk(), {}).windows.at(0).decoding.tokens);
}

TEST(WhisperTranscriber, ConcurrentCallsGiveTheSameResult) {
  REQUIRE_MICRO_MODEL_AND_JFK();
  const WhisperTranscriber transcriber(micro_model(), 2, without_fallback(false));
  std::vector<int> tokens[2];
  std::thread other([&] {
    tokens[1] = transcriber.transcribe_detailed(jfk(), {}).windows.at(0).decoding.tokens;
  });
  tokens[0] = transcriber.transcribe_detailed(jfk(), {}).windows.at(0).decoding.tokens;
  other.join();
  EXPECT_EQ(tokens[0], reference_tokens("full_no_timestamps"));
  EXPECT_EQ(tokens[1], tokens[0]);
}

}  // namespace
}  // namespace voicedesk::stt
