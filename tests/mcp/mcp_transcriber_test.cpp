// The --stt mcp path end to end in one process: McpTranscriber (HTTP client
// with per-request service tokens) -> HttpTransport with token checks ->
// transcribe tool -> pocketsphinx, on jfk.wav.
#include "mcp/mcp_transcriber.hpp"

#include <gtest/gtest.h>

#include "audio/resampler.hpp"
#include "audio/wav.hpp"
#include "auth/token.hpp"
#include "mcp/token_checked_server.hpp"
#include "stt/pocketsphinx_transcriber.hpp"
#include "stt/transcription_service.hpp"
#include "stt/whisper_ref.hpp"
#include "tools/transcribe_tool.hpp"

namespace voicedesk::mcp {
namespace {

using nlohmann::json;

// A transcribe server on a free loopback port, checking vd1 tokens.
class RemoteTranscribeServer {
 public:
  explicit RemoteTranscribeServer(const auth::ServiceSecret& secret)
      : service_(std::make_shared<stt::PocketsphinxTranscriber>(), stt::ServiceOptions{}),
        server_(secret, {tools::make_transcribe_tool(service_, {})}) {}
  std::string url() const { return server_.url(); }
  int rejected() const { return server_.rejected(); }

 private:
  stt::TranscriptionService service_;  // outlives the server and its tool
  test::TokenCheckedServer server_;
};

std::vector<float> jfk_16k() {
  const auto path = voicedesk::test::shared_dir() / "audio" / "jfk.wav";
  if (!std::filesystem::exists(path)) return {};
  return audio::mono_at_rate(audio::read_wav(path), stt::kSampleRate);
}

TEST(McpTranscriber, TranscribesThroughTheRemoteToolWithFreshTokens) {
  const std::vector<float> audio = jfk_16k();
  if (audio.empty()) GTEST_SKIP() << "needs ../shared/audio/jfk.wav";
  const auth::ServiceSecret secret = auth::ServiceSecret::generate();
  RemoteTranscribeServer remote(secret);
  McpTranscriber transcriber({.url = remote.url(), .token = [&secret] {
                                return auth::mint_token(secret, "mcp",
                                                        std::chrono::system_clock::now());
                              }});
  // Two utterances on one session: each request needs its own token.
  for (int i = 0; i < 2; ++i) {
    const stt::Transcript transcript = transcriber.transcribe(audio, {});
    EXPECT_NE(transcript.text.find("country"), std::string::npos) << transcript.text;
    EXPECT_FALSE(transcript.segments.empty());
    EXPECT_GT(transcript.timings.total_ms, 0);
  }
  EXPECT_EQ(remote.rejected(), 0);
  EXPECT_EQ(transcriber.model_name(), "mcp " + remote.url());
}

TEST(McpTranscriber, ReportsRejectedCredentialsAsATranscribeError) {
  const auth::ServiceSecret secret = auth::ServiceSecret::generate();
  RemoteTranscribeServer remote(secret);
  const auth::ServiceSecret other = auth::ServiceSecret::generate();
  McpTranscriber transcriber({.url = remote.url(), .token = [&other] {
                                return auth::mint_token(other, "mcp",
                                                        std::chrono::system_clock::now());
                              }});
  try {
    transcriber.transcribe(std::vector<float>(16000, 0.0f), {});
    FAIL() << "expected TranscribeError";
  } catch (const stt::TranscribeError& e) {
    EXPECT_NE(std::string(e.what()).find("401"), std::string::npos) << e.what();
  }
  EXPECT_GE(remote.rejected(), 1);
}

TEST(McpTranscriber, ReportsAnUnreachableServer) {
  McpTranscriber transcriber({.url = "http://127.0.0.1:1/mcp", .token = {}});
  EXPECT_THROW(transcriber.transcribe(std::vector<float>(16000, 0.0f), {}), stt::TranscribeError);
}

}  // namespace
}  // namespace voicedesk::mcp
