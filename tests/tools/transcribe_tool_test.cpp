#include "tools/transcribe_tool.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <mutex>
#include <thread>
#include <vector>

#include "audio/wav.hpp"
#include "stt/pocketsphinx_transcriber.hpp"
#include "stt/whisper_ref.hpp"
#include "tools/json_schema.hpp"
#include "util/base64.hpp"
#include "util/temp_dir.hpp"

namespace voicedesk::tools {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;
using ::testing::Not;
namespace fs = std::filesystem;
using namespace std::chrono_literals;

// A caller of the tool: records progress and logs, and cancels on demand.
class FakeContext final : public ToolContext {
 public:
  struct Progress {
    double done;
    std::optional<double> total;
    std::string message;
  };

  void progress(double done, std::optional<double> total, const std::string& message) override {
    std::lock_guard lock(mutex_);
    progress_.push_back({done, total, message});
  }
  void log(LogLevel, const json&) override {}
  json ask_client(const std::string& method, const json&) override {
    throw ClientRequestError("no client for " + method);
  }
  const std::atomic<bool>& cancelled() const override { return cancelled_; }

  void cancel() { cancelled_ = true; }
  std::vector<Progress> progress_reports() const {
    std::lock_guard lock(mutex_);
    return progress_;
  }
  bool saw_progress_message(const std::string& message) const {
    std::lock_guard lock(mutex_);
    return std::any_of(progress_.begin(), progress_.end(),
                       [&](const Progress& p) { return p.message == message; });
  }

 private:
  mutable std::mutex mutex_;
  std::vector<Progress> progress_;
  std::atomic<bool> cancelled_{false};
};

// Answers at once, so argument handling is tested without a speech model.
class FakeTranscriber final : public stt::Transcriber {
 public:
  stt::Transcript transcribe(std::span<const float> audio_16k,
                             const stt::TranscribeOptions&) const override {
    stt::Transcript transcript;
    transcript.text = "fake transcript";
    transcript.language = "en";
    const double seconds = static_cast<double>(audio_16k.size()) / stt::kSampleRate;
    transcript.segments.push_back({0.0, seconds, "fake transcript"});
    return transcript;
  }
  std::string model_name() const override { return "fake"; }
};

fs::path jfk_path() {
  return test::shared_dir() / "audio" / "jfk.wav";
}

std::string read_bytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::vector<std::byte> silence_wav(double seconds) {
  const std::vector<float> samples(static_cast<std::size_t>(seconds * stt::kSampleRate), 0.0f);
  return audio::encode_wav_pcm16(samples, stt::kSampleRate, 1);
}

std::string silence_wav_base64(double seconds) {
  return util::base64_encode(silence_wav(seconds));
}

TranscribeToolOptions options_with(std::vector<fs::path> allowed_dirs,
                                   std::size_t max_audio_bytes = 64u << 20,
                                   std::shared_ptr<util::TokenBucket> limiter = nullptr) {
  TranscribeToolOptions options;
  options.allowed_dirs = std::move(allowed_dirs);
  options.max_audio_bytes = max_audio_bytes;
  options.limiter = std::move(limiter);
  return options;
}

std::string text_of(const ToolResult& result) {
  return result.content.at(0).at("text").get<std::string>();
}

// Each decoder takes about 0.6 s and 95 MB to load: one for every test.
std::shared_ptr<const stt::PocketsphinxTranscriber> pocketsphinx() {
  static const auto instance = std::make_shared<const stt::PocketsphinxTranscriber>(
      stt::PocketsphinxTranscriber::default_model_dir(), 1);
  return instance;
}

// --- Arguments and files (fake transcriber) ----------------------------------

class TranscribeToolArguments : public ::testing::Test {
 protected:
  stt::TranscriptionService service{std::make_shared<FakeTranscriber>(), stt::ServiceOptions{}};
  test_support::TempDir temp;
  fs::path allowed = temp.path() / "allowed";
  fs::path outside = temp.path() / "outside";
  FakeContext context;

  void SetUp() override {
    fs::create_directories(allowed);
    fs::create_directories(outside);
    write_silence(allowed / "clip.wav");
    write_silence(outside / "secret.wav");
  }

  static void write_silence(const fs::path& path) {
    const std::vector<std::byte> bytes = silence_wav(0.5);
    std::ofstream(path, std::ios::binary)
        .write(reinterpret_cast<const char*>(bytes.data()),
               static_cast<std::streamsize>(bytes.size()));
  }

  Tool tool(TranscribeToolOptions options = {}) {
    if (options.allowed_dirs.empty()) options.allowed_dirs = {allowed};
    return make_transcribe_tool(service, std::move(options));
  }

  // The ToolError the call throws, or "" when it does not.
  std::string error_of(const Tool& transcribe, const json& arguments) {
    try {
      transcribe.call(arguments, context);
    } catch (const ToolError& e) {
      return e.what();
    }
    return "";
  }
};

TEST_F(TranscribeToolArguments, SpecDescribesInputAndOutput) {
  const Tool transcribe = tool();
  EXPECT_EQ(transcribe.spec.name, "transcribe");
  EXPECT_FALSE(transcribe.spec.quick);
  EXPECT_EQ(transcribe.spec.annotations["readOnlyHint"], true);
  EXPECT_EQ(validate(transcribe.spec.input_schema, {{"audio", "AAAA"}, {"language", "en"}}),
            std::nullopt);
  EXPECT_THAT(validate(transcribe.spec.input_schema, {{"language", "English"}}),
              Optional(HasSubstr("language")));
  EXPECT_THAT(validate(transcribe.spec.input_schema, {{"file", "x.wav"}}),
              Optional(HasSubstr("unknown field \"file\"")));
}

TEST_F(TranscribeToolArguments, InlineAudioReturnsTextAndStructuredFields) {
  const Tool transcribe = tool();
  const ToolResult result = transcribe.call({{"audio", silence_wav_base64(0.5)}}, context);
  EXPECT_FALSE(result.is_error);
  EXPECT_EQ(text_of(result), "fake transcript");
  EXPECT_EQ(validate(transcribe.spec.output_schema, result.structured), std::nullopt);
  EXPECT_EQ(result.structured["model"], "fake");
  EXPECT_NEAR(result.structured["duration_s"].get<double>(), 0.5, 1e-3);
  EXPECT_TRUE(context.saw_progress_message("queued"));
  EXPECT_TRUE(context.saw_progress_message("done"));
}

TEST_F(TranscribeToolArguments, InvalidBase64NamesAudio) {
  EXPECT_THAT(error_of(tool(), {{"audio", "not base64!"}}), HasSubstr("audio"));
  EXPECT_THAT(error_of(tool(), {{"audio", "QUJD="}}), HasSubstr("audio: not valid base64"));
}

TEST_F(TranscribeToolArguments, NotAWavIsRefused) {
  const std::string error =
      error_of(tool(), {{"audio", util::base64_encode("hello, world! this is text")}});
  EXPECT_THAT(error, HasSubstr("audio: "));
  const fs::path text_file = allowed / "notes.wav";
  std::ofstream(text_file) << "not audio at all";
  EXPECT_THAT(error_of(tool(), {{"path", text_file.string()}}), HasSubstr("path: "));
}

TEST_F(TranscribeToolArguments, NeedsExactlyOneOfAudioAndPath) {
  EXPECT_THAT(error_of(tool(), json::object()), HasSubstr("exactly one of `audio`"));
  EXPECT_THAT(error_of(tool(), {{"audio", silence_wav_base64(0.1)},
                                {"path", (allowed / "clip.wav").string()}}),
              HasSubstr("exactly one of `audio`"));
}

TEST_F(TranscribeToolArguments, InlineAudioOverTheLimitIsRefusedBeforeDecoding) {
  const Tool transcribe = tool(options_with({}, 1000));
  EXPECT_THAT(error_of(transcribe, {{"audio", silence_wav_base64(1.0)}}),
              HasSubstr("audio: larger"));
}

TEST_F(TranscribeToolArguments, PathInsideAnAllowedDirectoryWorks) {
  const ToolResult result = tool().call({{"path", (allowed / "clip.wav").string()}}, context);
  EXPECT_FALSE(result.is_error);
  EXPECT_EQ(text_of(result), "fake transcript");
  // Also through a path that wanders but stays inside.
  const fs::path wandering = allowed / "." / ".." / "allowed" / "clip.wav";
  EXPECT_EQ(text_of(tool().call({{"path", wandering.string()}}, context)), "fake transcript");
}

TEST_F(TranscribeToolArguments, AllowedDirectoryGivenThroughASymlinkWorks) {
  const fs::path link = temp.path() / "allowed-link";
  fs::create_directory_symlink(allowed, link);
  const Tool transcribe = tool(options_with({link}));
  EXPECT_EQ(text_of(transcribe.call({{"path", (allowed / "clip.wav").string()}}, context)),
            "fake transcript");
  EXPECT_EQ(text_of(transcribe.call({{"path", (link / "clip.wav").string()}}, context)),
            "fake transcript");
}

TEST_F(TranscribeToolArguments, PathOutsideTheAllowedDirectoriesIsRefused) {
  EXPECT_THAT(error_of(tool(), {{"path", (outside / "secret.wav").string()}}),
              HasSubstr("is not under an allowed directory"));
}

TEST_F(TranscribeToolArguments, DotDotOutOfTheAllowedDirectoryIsRefused) {
  const fs::path escape = allowed / ".." / "outside" / "secret.wav";
  EXPECT_THAT(error_of(tool(), {{"path", escape.string()}}),
              HasSubstr("is not under an allowed directory"));
}

TEST_F(TranscribeToolArguments, SymlinkPointingOutsideIsRefused) {
  const fs::path link = allowed / "innocent.wav";
  fs::create_symlink(outside / "secret.wav", link);
  EXPECT_THAT(error_of(tool(), {{"path", link.string()}}),
              HasSubstr("is not under an allowed directory"));
  const fs::path dir_link = allowed / "elsewhere";
  fs::create_directory_symlink(outside, dir_link);
  EXPECT_THAT(error_of(tool(), {{"path", (dir_link / "secret.wav").string()}}),
              HasSubstr("is not under an allowed directory"));
}

TEST_F(TranscribeToolArguments, SiblingDirectorySharingThePrefixIsRefused) {
  const fs::path sibling = temp.path() / "allowed-not";
  fs::create_directories(sibling);
  write_silence(sibling / "clip.wav");
  EXPECT_THAT(error_of(tool(), {{"path", (sibling / "clip.wav").string()}}),
              HasSubstr("is not under an allowed directory"));
}

TEST_F(TranscribeToolArguments, PathErrorsAreSpecific) {
  EXPECT_THAT(error_of(tool(), {{"path", (allowed / "missing.wav").string()}}),
              HasSubstr("no such file"));
  fs::create_directories(allowed / "folder");
  EXPECT_THAT(error_of(tool(), {{"path", (allowed / "folder").string()}}),
              HasSubstr("is not a regular file"));
  const Tool small = tool(options_with({allowed}, 1000));
  EXPECT_THAT(error_of(small, {{"path", (allowed / "clip.wav").string()}}),
              HasSubstr("path: larger"));
}

TEST_F(TranscribeToolArguments, PathIsRefusedWhenNoDirectoryIsAllowed) {
  const Tool transcribe = make_transcribe_tool(service, {});
  EXPECT_THAT(error_of(transcribe, {{"path", (allowed / "clip.wav").string()}}),
              HasSubstr("reading files is disabled"));
}

TEST_F(TranscribeToolArguments, HardRateLimitRefusesTheSecondCall) {
  util::TokenBucketOptions hard;
  hard.rate_per_second = 0.001;
  hard.burst = 1;
  hard.mode = util::TokenBucketOptions::Mode::hard_fail;
  auto limiter = std::make_shared<util::TokenBucket>("transcribe", hard);
  const Tool transcribe = tool(options_with({allowed}, 64u << 20, limiter));
  const json arguments = {{"audio", silence_wav_base64(0.2)}};
  EXPECT_FALSE(transcribe.call(arguments, context).is_error);
  EXPECT_THAT(error_of(transcribe, arguments), HasSubstr("rate limit for transcribe exceeded"));
}

// --- Real speech (pocketsphinx) ------------------------------------------------

class TranscribeToolSpeech : public ::testing::Test {
 protected:
  void SetUp() override {
    VOICEDESK_REQUIRE_FILE(jfk_path());
    const fs::path models = stt::PocketsphinxTranscriber::default_model_dir();
    if (!fs::exists(models)) {
      GTEST_SKIP() << models << " is missing (the Debian package pocketsphinx-en-us)";
    }
    service = std::make_unique<stt::TranscriptionService>(pocketsphinx(), stt::ServiceOptions{});
  }

  std::unique_ptr<stt::TranscriptionService> service;
  FakeContext context;
};

TEST_F(TranscribeToolSpeech, Base64JfkGivesTextAndStructuredFields) {
  const Tool transcribe = make_transcribe_tool(*service, {});
  const ToolResult result =
      transcribe.call({{"audio", util::base64_encode(read_bytes(jfk_path()))}}, context);
  ASSERT_FALSE(result.is_error) << result.to_json().dump();
  EXPECT_THAT(text_of(result), HasSubstr("country"));

  const json& out = result.structured;
  EXPECT_EQ(validate(transcribe.spec.output_schema, out), std::nullopt) << out.dump();
  EXPECT_EQ(out["text"], text_of(result));
  EXPECT_EQ(out["language"], "en");
  EXPECT_EQ(out["model"], "pocketsphinx en-us");
  EXPECT_NEAR(out["duration_s"].get<double>(), 11.0, 0.1);
  ASSERT_FALSE(out["segments"].empty());
  double previous_end = 0;
  for (const json& segment : out["segments"]) {
    EXPECT_LE(segment["start"].get<double>(), segment["end"].get<double>());
    EXPECT_GE(segment["start"].get<double>(), previous_end - 1e-6);
    EXPECT_LE(segment["end"].get<double>(), 11.1);
    previous_end = segment["end"].get<double>();
  }
  for (const char* key : {"queue", "mel", "encode", "decode", "total"}) {
    EXPECT_TRUE(out["timings_ms"][key].is_number()) << key;
  }
  EXPECT_GT(out["timings_ms"]["total"].get<double>(), 0.0);

  const auto progress = context.progress_reports();
  ASSERT_FALSE(progress.empty());
  EXPECT_EQ(progress.front().message, "queued");
  EXPECT_EQ(progress.back().done, 1.0);
  EXPECT_EQ(progress.back().total, 1.0);
  EXPECT_TRUE(context.saw_progress_message("transcribing"));
}

TEST_F(TranscribeToolSpeech, FileUnderAnAllowedDirectoryIsTranscribed) {
  // A short clip (3.6 s) keeps this quick; its duration shows which file was read.
  const fs::path clip = test::shared_dir() / "audio" / "calendar-friday.wav";
  VOICEDESK_REQUIRE_FILE(clip);
  const Tool transcribe = make_transcribe_tool(*service, options_with({clip.parent_path()}));
  const ToolResult result = transcribe.call({{"path", clip.string()}}, context);
  ASSERT_FALSE(result.is_error) << result.to_json().dump();
  EXPECT_FALSE(text_of(result).empty());
  EXPECT_NEAR(result.structured["duration_s"].get<double>(), 3.62, 0.01);
}

TEST_F(TranscribeToolSpeech, UnsupportedLanguageIsAToolError) {
  const Tool transcribe = make_transcribe_tool(*service, {});
  try {
    transcribe.call({{"audio", silence_wav_base64(0.5)}, {"language", "de"}}, context);
    FAIL() << "expected a ToolError";
  } catch (const ToolError& e) {
    EXPECT_THAT(std::string(e.what()), HasSubstr("transcription failed"));
    EXPECT_THAT(std::string(e.what()), HasSubstr("\"de\""));
  }
}

TEST_F(TranscribeToolSpeech, CancellingThroughTheContextStopsIt) {
  // Four times JFK: about 44 s of speech, many seconds of decoding if not stopped.
  const audio::WavAudio jfk = audio::read_wav(jfk_path());
  std::vector<float> long_speech;
  for (int i = 0; i < 4; ++i)
    long_speech.insert(long_speech.end(), jfk.samples.begin(), jfk.samples.end());
  const std::string audio =
      util::base64_encode(audio::encode_wav_pcm16(long_speech, jfk.sample_rate, 1));
  const Tool transcribe = make_transcribe_tool(*service, {});

  // Cancels once decoding is under way, and notes when.
  std::chrono::steady_clock::time_point cancelled_at;
  std::thread canceller([&] {
    const auto give_up = std::chrono::steady_clock::now() + 20s;
    while (!context.saw_progress_message("transcribing") &&
           std::chrono::steady_clock::now() < give_up) {
      std::this_thread::sleep_for(5ms);
    }
    cancelled_at = std::chrono::steady_clock::now();
    context.cancel();
  });
  bool cancelled = false;
  try {
    transcribe.call({{"audio", audio}}, context);
  } catch (const stt::Cancelled&) {
    cancelled = true;
  }
  const auto returned_at = std::chrono::steady_clock::now();
  canceller.join();
  EXPECT_TRUE(cancelled);
  EXPECT_FALSE(context.saw_progress_message("done"));
  // Decoding stops within a chunk of audio, not at the end of it.
  EXPECT_LT(returned_at - cancelled_at, 2s);
  // The service is free for the next caller.
  FakeContext next;
  EXPECT_FALSE(transcribe.call({{"audio", silence_wav_base64(0.5)}}, next).is_error);
}

TEST_F(TranscribeToolSpeech, AlreadyCancelledCallDoesNotTranscribe) {
  const Tool transcribe = make_transcribe_tool(*service, {});
  context.cancel();
  EXPECT_THROW(transcribe.call({{"audio", util::base64_encode(read_bytes(jfk_path()))}}, context),
               stt::Cancelled);
  EXPECT_THAT(context.saw_progress_message("done"), Not(true));
}

}  // namespace
}  // namespace voicedesk::tools
