// Integration tests: the real `voicedesk` binary, as a user runs it.
#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>
#include <string>
#include <thread>

#include "audio/test_signals.hpp"
#include "audio/wav.hpp"
#include "auth/token.hpp"
#include "store/conversation_store.hpp"
#include "util/child_process.hpp"

namespace voicedesk {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;

struct Result {
  int exit_code = -1;
  std::string out;
  std::string err;
};

std::string slurp(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

class Cli : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("vd-cli-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  // Runs voicedesk in the test's directory (so no stray ./.env is read),
  // with `env` prepended, and captures both streams.
  Result run(const std::string& args, const std::string& env = "") const {
    const std::string command = "cd '" + dir_.string() + "' && env -u VOICEDESK_LOG_LEVEL " + env +
                                " '" VOICEDESK_BINARY "' " + args + " >'" +
                                (dir_ / "out").string() + "' 2>'" + (dir_ / "err").string() +
                                "' </dev/null";
    const int status = std::system(command.c_str());
    Result result;
    result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    result.out = slurp(dir_ / "out");
    result.err = slurp(dir_ / "err");
    return result;
  }

  fs::path write(const std::string& name, const std::string& bytes) const {
    std::ofstream(dir_ / name, std::ios::binary) << bytes;
    return dir_ / name;
  }

  fs::path dir_;
};

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

struct SegmentLine {
  double start = 0;
  double end = 0;
  double duration = 0;
};

SegmentLine parse_segment_line(const std::string& line) {
  SegmentLine parsed;
  EXPECT_EQ(std::sscanf(line.c_str(), "%lf %lf %lf", &parsed.start, &parsed.end, &parsed.duration),
            3)
      << line;
  return parsed;
}

// Two speech-like bursts with a 1 s pause, 16 kHz PCM16 mono.
fs::path two_bursts(const fs::path& dir, int rate = 16000, int channels = 1) {
  std::vector<float> mono(static_cast<std::size_t>(rate / 2), 0.0f);
  for (int i = 0; i < 2; ++i) {
    const auto burst = test::speech_like(1.5, rate, static_cast<unsigned>(i + 1));
    mono.insert(mono.end(), burst.begin(), burst.end());
    mono.insert(mono.end(), static_cast<std::size_t>(rate), 0.0f);
  }
  std::vector<float> interleaved;
  for (float x : mono) interleaved.insert(interleaved.end(), static_cast<std::size_t>(channels), x);
  const fs::path path = dir / "bursts.wav";
  audio::write_wav_pcm16(path, interleaved, rate, channels);
  return path;
}

TEST_F(Cli, SegmentPrintsOneLinePerUtteranceWithThreeDecimals) {
  const Result r = run("segment " + two_bursts(dir_).string());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto out = lines(r.out);
  ASSERT_EQ(out.size(), 2u) << r.out;
  const std::regex format(R"(\d+\.\d{3} \d+\.\d{3} \d+\.\d{3})");
  for (const auto& line : out) EXPECT_TRUE(std::regex_match(line, format)) << line;
  const SegmentLine first = parse_segment_line(out[0]);
  EXPECT_NEAR(first.start, 0.5, 0.035);
  EXPECT_NEAR(first.end, 2.0, 0.15);
  EXPECT_NEAR(first.duration, first.end - first.start, 0.0011);
}

TEST_F(Cli, SegmentJsonAndWriteDir) {
  const Result r = run("segment --json --write-dir utts " + two_bursts(dir_, 44100, 2).string());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto out = lines(r.out);
  ASSERT_EQ(out.size(), 2u) << r.out;
  for (const auto& line : out) {
    const auto json = nlohmann::json::parse(line);
    ASSERT_TRUE(json.is_object());
    EXPECT_EQ(json.size(), 3u);
    EXPECT_NEAR(json.at("end").get<double>() - json.at("start").get<double>(),
                json.at("duration").get<double>(), 0.0011);
  }
  for (const char* name : {"utterance-001.wav", "utterance-002.wav"}) {
    const audio::WavAudio wav = audio::read_wav(dir_ / "utts" / name);
    EXPECT_EQ(wav.sample_rate, 16000);
    EXPECT_EQ(wav.channels, 1);
    EXPECT_GT(wav.frames(), 16000u);  // 1.5 s of speech plus pre-roll
  }
}

TEST_F(Cli, SegmentClassicModeMergesPausesShorterThanTwoSeconds) {
  const Result fast = run("segment " + two_bursts(dir_).string());
  const Result classic = run("segment --mode classic " + two_bursts(dir_).string());
  ASSERT_EQ(classic.exit_code, 0) << classic.err;
  EXPECT_EQ(lines(fast.out).size(), 2u);
  EXPECT_EQ(lines(classic.out).size(), 1u);
}

TEST_F(Cli, SegmentSharedSpeechClip) {
  const char* env = std::getenv("VOICEDESK_SHARED_DIR");
  const fs::path clip = fs::path(env ? env : VOICEDESK_TEST_SHARED_DIR) / "audio/send-email.wav";
  if (!fs::exists(clip)) GTEST_SKIP() << clip << " is missing (the shared speech clips)";
  const Result r = run("segment " + clip.string());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto out = lines(r.out);
  ASSERT_EQ(out.size(), 1u) << r.out;
  const SegmentLine only = parse_segment_line(out[0]);
  // espeak speech from 0.30 s to 3.63 s (where the clip's energy says).
  EXPECT_NEAR(only.start, 0.30, 0.15);
  EXPECT_NEAR(only.end, 3.63, 0.15);
}

std::string le16(unsigned v) {
  return {static_cast<char>(v & 0xff), static_cast<char>(v >> 8)};
}
std::string le32(unsigned v) {
  return le16(v & 0xffff) + le16(v >> 16);
}

// A canonical header with the given fields, then `data` bytes of audio.
std::string wav_bytes(unsigned tag, unsigned channels, unsigned rate, unsigned bits,
                      unsigned data_size, std::size_t actual_data) {
  const unsigned align = channels * bits / 8;
  return "RIFF" + le32(36 + data_size) + "WAVEfmt " + le32(16) + le16(tag) + le16(channels) +
         le32(rate) + le32(rate * align) + le16(align) + le16(bits) + "data" + le32(data_size) +
         std::string(actual_data, '\0');
}

TEST_F(Cli, BadWavFilesGiveAOneLineErrorAndExitCodeTwo) {
  const struct {
    const char* name;
    std::string bytes;
    const char* message;
  } cases[] = {
      {"text.wav", "hello, this is not audio\n", "not a WAV file"},
      {"empty.wav", "", "WAV"},
      {"truncated.wav", wav_bytes(1, 1, 16000, 16, 32000, 1000), "truncated"},
      {"absurd.wav", wav_bytes(1, 1, 16000, 16, 0xFFFFFFF0u, 64), "truncated"},
      {"alaw.wav", wav_bytes(6, 1, 8000, 8, 800, 800), "unsupported"},
      {"eightbit.wav", wav_bytes(1, 1, 8000, 8, 800, 800), "8"},
      {"surround.wav", wav_bytes(1, 6, 48000, 16, 1200, 1200), "6 channels"},
      {"rate.wav", wav_bytes(1, 1, 96000, 16, 1920, 1920), "96000"},
      {"noaudio.wav", wav_bytes(1, 1, 16000, 16, 0, 0), "no audio"},
  };
  for (const auto& c : cases) {
    const fs::path path = write(c.name, c.bytes);
    const Result r = run("segment " + path.string());
    EXPECT_EQ(r.exit_code, 2) << c.name << ": " << r.err;
    EXPECT_THAT(r.err, HasSubstr(c.message)) << c.name;
    EXPECT_THAT(r.err, HasSubstr(c.name)) << "the error names the file";
    EXPECT_EQ(lines(r.err).size(), 1u) << c.name << ": " << r.err;
    EXPECT_EQ(r.out, "") << c.name;
  }
  const Result missing = run("segment does-not-exist.wav");
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_THAT(missing.err, HasSubstr("does-not-exist.wav"));
}

TEST_F(Cli, UsageErrorsExitWithTwo) {
  EXPECT_EQ(run("").exit_code, 2);
  EXPECT_EQ(run("no-such-command").exit_code, 2);
  EXPECT_EQ(run("segment").exit_code, 2);
  EXPECT_EQ(run("segment --mode turbo x.wav").exit_code, 2);
  EXPECT_EQ(run("--set NOEQUALS config").exit_code, 2);
  EXPECT_EQ(run("--help").exit_code, 0);
}

TEST_F(Cli, TokenCreatesTheSecretFileAndPrintsAFreshToken) {
  const std::string env = "XDG_CONFIG_HOME='" + (dir_ / "config").string() + "'";
  const Result first = run("token", env);
  ASSERT_EQ(first.exit_code, 0) << first.err;
  EXPECT_THAT(first.out, ::testing::MatchesRegex("vd1\\.[0-9]+\\.[0-9a-f]{16}\\.[0-9a-f]{64}\n"));
  const fs::path key = dir_ / "config" / "voicedesk" / "service.key";
  EXPECT_EQ(fs::status(key).permissions(), fs::perms::owner_read | fs::perms::owner_write);
  const Result second = run("token --audience tts", env);
  EXPECT_EQ(second.exit_code, 0) << second.err;
  EXPECT_NE(second.out, first.out);
  EXPECT_THAT(run("token --legacy", env).out, ::testing::MatchesRegex("[A-Z]_[0-9]+_[A-Z]\n"));

  const Result bad_audience = run("token --audience 'No Spaces'", env);
  EXPECT_EQ(bad_audience.exit_code, 2);
  EXPECT_THAT(bad_audience.err, HasSubstr("--audience"));

  fs::permissions(key, fs::perms::group_read | fs::perms::others_read, fs::perm_options::add);
  const Result unsafe = run("token", env);
  EXPECT_EQ(unsafe.exit_code, 2);
  EXPECT_THAT(unsafe.err, HasSubstr("chmod 600"));
  EXPECT_EQ(unsafe.out, "");
}

TEST_F(Cli, TokenUsesTheSecretFromTheEnvironmentOrTheConfiguredFile) {
  const std::string hex = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
  const Result from_env = run("token", "VOICEDESK_AUTH_SECRET=" + hex);
  ASSERT_EQ(from_env.exit_code, 0) << from_env.err;
  const std::string token = from_env.out.substr(0, from_env.out.size() - 1);
  EXPECT_EQ(auth::check_token(auth::ServiceSecret::from_hex(hex), token, "mcp",
                              std::chrono::system_clock::now())
                .status,
            auth::TokenStatus::valid);
  const Result config = run("config", "VOICEDESK_AUTH_SECRET=" + hex);
  EXPECT_THAT(config.out, Not(HasSubstr(hex)));

  EXPECT_EQ(run("--set VOICEDESK_AUTH_SECRET_FILE=my.key token").exit_code, 0);
  EXPECT_TRUE(fs::is_regular_file(dir_ / "my.key"));
  EXPECT_EQ(run("token", "VOICEDESK_AUTH_SECRET=abc").exit_code, 2);
}

TEST_F(Cli, ChatTalksToTheAgentWithTheContactsAndTheLocalCalendar) {
  write("contacts.txt", "Alice Smith <alice@example.com>\n");
  const std::string settings =
      "--set VOICEDESK_CONTACTS_FILE=contacts.txt --set "
      "VOICEDESK_CALENDAR_FILE=calendar.ics --set VOICEDESK_TIMEZONE=UTC";
  const Result result = run("chat " + settings +
                            " --say 'schedule a meeting with alice tomorrow at 10 am' --say yes"
                            " --say \"what's on my calendar tomorrow\" --say 'send an email to "
                            "alice saying hi' --say no");
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_THAT(result.out, HasSubstr("assistant: Create \"Meeting with Alice Smith\""));
  EXPECT_THAT(result.out, HasSubstr("-> done]\nassistant: Added"));
  EXPECT_THAT(result.out,
              HasSubstr("assistant: You have 1 event: Meeting with Alice Smith at 10:00."));
  EXPECT_THAT(result.out, HasSubstr("assistant: Okay, I won't."));
  EXPECT_TRUE(fs::exists(dir_ / "calendar.ics"));

  write("broken.txt", "no address here\n");
  const Result broken = run("chat --set VOICEDESK_CONTACTS_FILE=broken.txt --say hi");
  EXPECT_EQ(broken.exit_code, 2);
  EXPECT_THAT(broken.err, HasSubstr("VOICEDESK_CONTACTS_FILE"));
}

TEST_F(Cli, ChatActsThroughTheToolsOfAnotherMcpServer) {
  // `voicedesk mcp` owns the calendar; the chat's agent reaches it over HTTP
  // with service tokens (VOICEDESK_AGENT_TOOLS=mcp).
  const std::string secret = "f0e1d2c3b4a5968778695a4b3c2d1e0f00112233445566778899aabbccddeeff";
  const int port = test_support::free_tcp_port();
  const fs::path calendar = dir_ / "remote.ics";
  test_support::ChildProcess server(
      {VOICEDESK_BINARY, "mcp", "--listen", "127.0.0.1:" + std::to_string(port)}, dir_ / "mcp.log",
      {{"VOICEDESK_AUTH_SECRET", secret},
       {"VOICEDESK_CALENDAR_FILE", calendar.string()},
       {"VOICEDESK_TIMEZONE", "UTC"},
       {"XDG_DATA_HOME", dir_.string()}});
  server.wait_for_port(port);
  const std::string remote =
      "VOICEDESK_AUTH_SECRET=" + secret +
      " VOICEDESK_AGENT_TOOLS=mcp VOICEDESK_MCP_URL=http://127.0.0.1:" + std::to_string(port) +
      "/mcp";
  const Result result = run(
      "chat --say 'schedule a meeting tomorrow at 10 am' --say yes --say \"what's on my calendar "
      "tomorrow\"",
      remote);
  ASSERT_EQ(result.exit_code, 0) << result.err << server.log_text();
  EXPECT_THAT(result.out, HasSubstr("-> done]\nassistant: Added"));
  EXPECT_THAT(result.out, HasSubstr("assistant: You have 1 event: Meeting at 10:00."));
  EXPECT_TRUE(fs::exists(calendar)) << "the event was not written by the MCP server";
  EXPECT_FALSE(fs::exists(dir_ / "calendar.ics"));

  // A server that is not there: a clear error, not a hang.
  server.stop();
  const Result unreachable = run("chat --say hi", remote);
  EXPECT_NE(unreachable.exit_code, 0);
  EXPECT_THAT(unreachable.err, HasSubstr("cannot list the tools of the MCP server"));
}

TEST_F(Cli, ConfigPrecedenceFileEnvironmentFlags) {
  write("voicedesk.env",
        "VOICEDESK_PREROLL_MS=100\nVOICEDESK_TRAILING_SILENCE_MS=900\n"
        "VOICEDESK_MIN_SPEECH_MS=120\nMAIL_PASSWORD=s3cr3t-from-file\n");
  const Result r = run("config --set VOICEDESK_MIN_SPEECH_MS=90",
                       "VOICEDESK_TRAILING_SILENCE_MS=700 VOICEDESK_MIN_SPEECH_MS=110");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out,
              ::testing::ContainsRegex("VOICEDESK_PREROLL_MS=100 +# file ./voicedesk.env:1"));
  EXPECT_THAT(r.out, ::testing::ContainsRegex("VOICEDESK_TRAILING_SILENCE_MS=700 +# environment"));
  EXPECT_THAT(r.out, ::testing::ContainsRegex("VOICEDESK_MIN_SPEECH_MS=90 +# command line"));
  EXPECT_THAT(r.out, ::testing::ContainsRegex("VOICEDESK_ENDPOINT_MODE=fast +# default"));
  EXPECT_THAT(r.out, HasSubstr("MAIL_PASSWORD=********"));
  EXPECT_THAT(r.out + r.err, Not(HasSubstr("s3cr3t-from-file")));

  const Result json = run("config --json");
  ASSERT_EQ(json.exit_code, 0) << json.err;
  const auto parsed = nlohmann::json::parse(json.out);
  EXPECT_EQ(parsed.at("VOICEDESK_PREROLL_MS").at("value"), "100");
  EXPECT_EQ(parsed.at("MAIL_PASSWORD").at("value"), "********");
}

TEST_F(Cli, DotEnvIsReadWhenThereIsNoVoicedeskEnvAndExplicitConfigWins) {
  write(".env", "MAIL_HOST=smtp.example.org\nMAIL_PORT=465\nSOME_OTHER_TOOL_KEY=1\n");
  const Result r = run("config");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, ::testing::ContainsRegex("MAIL_PORT=465 +# file ./.env:2"));
  EXPECT_THAT(r.err, HasSubstr("SOME_OTHER_TOOL_KEY"));  // unknown key: a warning, not an error
  write("other.env", "MAIL_PORT=587\n");
  EXPECT_THAT(run("--config other.env config").out, HasSubstr("MAIL_PORT=587"));
  const Result missing = run("--config nowhere.env config");
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_THAT(missing.err, HasSubstr("nowhere.env"));
}

TEST_F(Cli, MalformedValuesNameTheKeyAndTheLine) {
  write("voicedesk.env", "# comment\nVOICEDESK_ENDPOINT_MODE=fast\nMAIL_PORT=seventy\n");
  const Result r = run("config");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("MAIL_PORT"));
  EXPECT_THAT(r.err, HasSubstr("voicedesk.env:3"));
  EXPECT_EQ(lines(r.err).size(), 1u) << r.err;

  write("voicedesk.env", "VOICEDESK_LISTEN 127.0.0.1:80\n");
  const Result syntax = run("config");
  EXPECT_EQ(syntax.exit_code, 2);
  EXPECT_THAT(syntax.err, HasSubstr("voicedesk.env:1"));

  fs::remove(dir_ / "voicedesk.env");
  const Result env = run("config", "VOICEDESK_VAD_AGGRESSIVENESS=9");
  EXPECT_EQ(env.exit_code, 2);
  EXPECT_THAT(env.err, HasSubstr("VOICEDESK_VAD_AGGRESSIVENESS"));
  EXPECT_THAT(env.err, HasSubstr("environment"));
}

TEST_F(Cli, JsonLogFormatWritesOneObjectPerLine) {
  const Result r = run("--log-format json segment " + two_bursts(dir_).string());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto err = lines(r.err);
  ASSERT_FALSE(err.empty());
  for (const auto& line : err) {
    const auto record = nlohmann::json::parse(line);
    EXPECT_TRUE(record.contains("time") && record.contains("level") && record.contains("msg"));
  }
  EXPECT_EQ(run("--log-level error segment " + two_bursts(dir_).string()).err, "");
}

fs::path shared_file(const std::string& relative) {
  const char* env = std::getenv("VOICEDESK_SHARED_DIR");
  return fs::path(env != nullptr && *env != '\0' ? env : VOICEDESK_TEST_SHARED_DIR) / relative;
}

std::vector<float> read_floats(const fs::path& path) {
  const std::string bytes = slurp(path);
  std::vector<float> values(bytes.size() / sizeof(float));
  std::memcpy(values.data(), bytes.data(), values.size() * sizeof(float));
  return values;
}

TEST_F(Cli, TranscribeDumpsMelAndTeacherForcedLogitsInTheReferenceLayouts) {
  const fs::path model = shared_file("whisper-ref/ggml-micro-random.en-f32.bin");
  const fs::path jfk = shared_file("audio/jfk.wav");
  if (!fs::exists(model) || !fs::exists(jfk))
    GTEST_SKIP() << model << " or " << jfk << " is missing";
  const Result mel =
      run("transcribe --model " + model.string() + " --dump-mel mel.f32 " + jfk.string());
  ASSERT_EQ(mel.exit_code, 0) << mel.err;
  const std::vector<float> ours = read_floats(dir_ / "mel.f32");
  const std::vector<float> reference =
      read_floats(shared_file("whisper-ref/reference-f32/mel_jfk_80x3000.f32"));
  ASSERT_EQ(ours.size(), 80u * 3000u);
  ASSERT_EQ(ours.size(), reference.size());
  float worst = 0;
  for (std::size_t i = 0; i < ours.size(); ++i)
    worst = std::max(worst, std::abs(ours[i] - reference[i]));
  EXPECT_LE(worst, 2e-3f);

  const std::string tokens =
      "50257 50362 843 523 616 5891 3399 11 1265 407 644 534 1499 460 466 329 345 "
      "11 1265 644 345 460 466 329 534 1499 13 50256";
  const Result logits = run("transcribe --model " + model.string() + " --teacher-force '" + tokens +
                            "' --dump-logits logits.f32 " + jfk.string());
  ASSERT_EQ(logits.exit_code, 0) << logits.err;
  const std::vector<float> rows = read_floats(dir_ / "logits.f32");
  ASSERT_EQ(rows.size(), 28u * 51864u);
  // Row 27 (after <|endoftext|>) is a genuine teacher-forced row of the
  // reference (see whisper_engine_test.cpp for the file's other rows).
  const std::vector<float> expected =
      read_floats(shared_file("whisper-ref/reference-f32/logits_teacher_forced_28x51864.f32"));
  worst = 0;
  for (std::size_t i = 27u * 51864u; i < rows.size(); ++i)
    worst = std::max(worst, std::abs(rows[i] - expected[i]));
  EXPECT_LE(worst, 0.02f);
}

TEST_F(Cli, TranscribeJsonHasTextSegmentsLanguageAndTimings) {
  const fs::path model = shared_file("whisper-ref/ggml-micro-random.en-f16.bin");
  const fs::path jfk = shared_file("audio/jfk.wav");
  if (!fs::exists(model) || !fs::exists(jfk))
    GTEST_SKIP() << model << " or " << jfk << " is missing";
  const Result r =
      run("transcribe --json --threads 2 --model " + model.string() + " " + jfk.string());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto json = nlohmann::json::parse(r.out);
  EXPECT_TRUE(json.at("text").is_string());
  EXPECT_EQ(json.at("language"), "en");
  ASSERT_TRUE(json.at("segments").is_array());
  for (const auto& segment : json.at("segments")) {
    EXPECT_LE(segment.at("start").get<double>(), segment.at("end").get<double>());
    EXPECT_TRUE(segment.at("text").is_string());
  }
  for (const char* key : {"load", "mel", "encode", "decode", "total"}) {
    EXPECT_GE(json.at("timings_ms").at(key).get<double>(), 0.0) << key;
  }
  EXPECT_GT(json.at("timings_ms").at("encode").get<double>(), 0.0);
}

TEST_F(Cli, SttMaxTokensAndFallbackKeysReachTheDecoder) {
  const fs::path model = shared_file("whisper-ref/ggml-micro-random.en-f16.bin");
  const fs::path jfk = shared_file("audio/jfk.wav");
  if (!fs::exists(model) || !fs::exists(jfk))
    GTEST_SKIP() << model << " or " << jfk << " is missing";
  // Greedy decoding of the random model repeats one token to Whisper's limit: 220 of them
  // without the cap, 3 with it.
  const std::string command = "transcribe --json --model " + model.string() + " " + jfk.string();
  const Result full = run(command, "VOICEDESK_STT_TEMPERATURE_FALLBACK=false");
  const Result capped =
      run(command, "VOICEDESK_STT_TEMPERATURE_FALLBACK=false VOICEDESK_STT_MAX_TOKENS=3");
  ASSERT_EQ(full.exit_code, 0) << full.err;
  ASSERT_EQ(capped.exit_code, 0) << capped.err;
  const std::string full_text = nlohmann::json::parse(full.out).at("text");
  const std::string capped_text = nlohmann::json::parse(capped.out).at("text");
  EXPECT_FALSE(capped_text.empty());
  EXPECT_LT(capped_text.size() * 20, full_text.size()) << capped_text << " vs " << full_text;
  EXPECT_EQ(full_text.substr(0, capped_text.size()), capped_text);
}

TEST_F(Cli, TranscribeBadInputsExitWithTwo) {
  const fs::path jfk = shared_file("audio/jfk.wav");
  if (!fs::exists(jfk)) GTEST_SKIP() << jfk << " is missing";
  write("bad-model.bin", "lmgg this is not a model");
  const Result bad_model = run("transcribe --model bad-model.bin " + jfk.string());
  EXPECT_EQ(bad_model.exit_code, 2);
  EXPECT_THAT(bad_model.err, HasSubstr("bad-model.bin"));
  const Result missing_model = run("transcribe --model nowhere.bin " + jfk.string());
  EXPECT_EQ(missing_model.exit_code, 2);
  EXPECT_THAT(missing_model.err, HasSubstr("nowhere.bin"));
  const fs::path model = shared_file("whisper-ref/ggml-micro-random.en-f16.bin");
  if (!fs::exists(model)) return;
  const Result bad_tokens = run("transcribe --model " + model.string() +
                                " --teacher-force '50257 x' --dump-logits l.f32 " + jfk.string());
  EXPECT_EQ(bad_tokens.exit_code, 2);
  EXPECT_THAT(bad_tokens.err, HasSubstr("\"x\""));
  EXPECT_EQ(run("transcribe --model " + model.string() + " --teacher-force 50257 " + jfk.string())
                .exit_code,
            2);
  EXPECT_EQ(run("transcribe --dump-mel m.f32 " + jfk.string()).exit_code,
            2);  // needs a Whisper model
}

// With a real model (users with internet: scripts/download-model tiny.en),
// the JFK clip must come out as every real Whisper model transcribes it.
TEST_F(Cli, RealModelTranscribesJfk) {
  const char* model = std::getenv("VOICEDESK_TEST_MODEL");
  if (model == nullptr || *model == '\0') {
    GTEST_SKIP() << "set VOICEDESK_TEST_MODEL to a real ggml Whisper model to run this test";
  }
  const fs::path jfk = shared_file("audio/jfk.wav");
  if (!fs::exists(jfk)) GTEST_SKIP() << jfk << " is missing";
  const Result r = run("transcribe --model '" + std::string(model) + "' " + jfk.string());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(
      r.out,
      "And so my fellow Americans, ask not what your country can do for you, ask what you can do "
      "for your country.\n");
}

int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

TEST_F(Cli, UpRefusesBadNatTraversalSettingsBeforeLoadingAnything) {
  const Result range = run("up --set VOICEDESK_ICE_PORT_RANGE=50100-50000");
  EXPECT_EQ(range.exit_code, 2);
  EXPECT_THAT(range.err, HasSubstr("VOICEDESK_ICE_PORT_RANGE"));

  const Result turn = run("up", "VOICEDESK_TURN_URLS=turn:hunter2@turn.example.org");
  EXPECT_EQ(turn.exit_code, 2);
  EXPECT_THAT(turn.err, HasSubstr("VOICEDESK_TURN_URLS: entry 1"));
  EXPECT_THAT(turn.err, Not(HasSubstr("hunter2")));
}

TEST_F(Cli, UpServesHealthAndStopsOnSigterm) {
  const int port = free_port();
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    ::chdir(dir_.c_str());
    const std::string listen = "127.0.0.1:" + std::to_string(port);
    ::execl(VOICEDESK_BINARY, "voicedesk", "up", "--listen", listen.c_str(), "--log-level", "warn",
            static_cast<char*>(nullptr));
    ::_exit(127);
  }
  httplib::Client client("127.0.0.1", port);
  auto health = client.Get("/healthz");
  for (int attempt = 0; attempt < 100 && !health; ++attempt) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    health = client.Get("/healthz");
  }
  ASSERT_TRUE(health) << "voicedesk up did not answer on port " << port;
  EXPECT_EQ(health->status, 200);
  EXPECT_EQ(nlohmann::json::parse(health->body).at("status"), "ok");
  const auto page = client.Get("/");
  ASSERT_TRUE(page);
  EXPECT_THAT(page->body, HasSubstr("voicedesk"));
  EXPECT_EQ(client.Get("/nope")->status, 404);

  ::kill(pid, SIGTERM);
  int status = 0;
  for (int attempt = 0; attempt < 100; ++attempt) {
    if (::waitpid(pid, &status, WNOHANG) == pid) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_TRUE(WIFEXITED(status)) << "voicedesk up did not stop on SIGTERM";
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

TEST_F(Cli, HistoryListsSessionsAndPrintsAConversation) {
  const fs::path path = dir_ / "history.sqlite3";
  {
    store::ConversationStore history(path);
    history.start_session({.id = "older", .started_at_ms = 1'700'000'000'000});
    history.start_session({.id = "call-1", .started_at_ms = 1'700'000'100'000});
    const store::Utterance said =
        history.add_utterance({.session_id = "call-1", .text = "mail Bob that I am late"});
    const store::AgentTurn answer =
        history.add_agent_turn({.session_id = "call-1",
                                .utterance_id = said.id,
                                .text = "Sent.",
                                .source = store::TurnSource::intent_parser});
    const store::ToolCall call = history.add_tool_call(
        {.turn_id = answer.id, .name = "send_email", .arguments = {{"to", "bob@example.com"}}});
    history.update_tool_call(call.id, {.status = store::ToolCallStatus::done, .result = "sent"});
  }
  const std::string set = "--set VOICEDESK_HISTORY_PATH=" + path.string() + " ";

  const Result list = run(set + "history");
  EXPECT_EQ(list.exit_code, 0) << list.err;
  EXPECT_THAT(list.out, HasSubstr("call-1"));
  EXPECT_THAT(list.out, HasSubstr("older"));
  EXPECT_LT(list.out.find("call-1"), list.out.find("older"));  // newest first
  const Result limited = run(set + "history --limit 1 --json");
  EXPECT_EQ(limited.exit_code, 0) << limited.err;
  const auto sessions = nlohmann::json::parse(limited.out).at("sessions");
  ASSERT_EQ(sessions.size(), 1U);
  EXPECT_EQ(sessions[0]["id"], "call-1");
  EXPECT_EQ(sessions[0]["utterances"], 1);

  const Result text = run(set + "history --session call-1");
  EXPECT_EQ(text.exit_code, 0) << text.err;
  EXPECT_THAT(text.out, HasSubstr("you: mail Bob that I am late\n"
                                  "assistant: Sent.\n"
                                  "  tool send_email {\"to\":\"bob@example.com\"} -> sent\n"));
  const Result json = run(set + "history --session call-1 --json");
  EXPECT_EQ(json.exit_code, 0) << json.err;
  const auto conversation = nlohmann::json::parse(json.out);
  EXPECT_EQ(conversation["session"]["id"], "call-1");
  EXPECT_EQ(conversation["events"][1]["tool_calls"][0]["result"], "sent");

  const Result unknown = run(set + "history --session nope");
  EXPECT_EQ(unknown.exit_code, 2);
  EXPECT_THAT(unknown.err, HasSubstr("no session \"nope\""));
}

TEST_F(Cli, HistoryWithoutAStoreSaysSoAndCreatesNothing) {
  const fs::path path = dir_ / "data" / "history.sqlite3";
  const Result r = run("history --set VOICEDESK_HISTORY_PATH=" + path.string());
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("no conversations yet"));
  EXPECT_FALSE(fs::exists(path.parent_path()));
  EXPECT_EQ(run("history --session x --set VOICEDESK_HISTORY_PATH=" + path.string()).exit_code, 2);
  // The default place follows XDG_DATA_HOME.
  const Result xdg = run("history", "XDG_DATA_HOME=" + (dir_ / "xdg").string());
  EXPECT_EQ(xdg.exit_code, 0) << xdg.err;
  EXPECT_THAT(xdg.out, HasSubstr((dir_ / "xdg" / "voicedesk" / "history.sqlite3").string()));
}

}  // namespace
}  // namespace voicedesk
