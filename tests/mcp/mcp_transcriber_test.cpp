// The --stt mcp path end to end in one process: McpTranscriber (HTTP client
// with per-request service tokens) -> HttpTransport with token checks ->
// transcribe tool -> pocketsphinx, on jfk.wav.
#include "mcp/mcp_transcriber.hpp"

#include <gtest/gtest.h>
#include <httplib.h>

#include <thread>

#include "audio/resampler.hpp"
#include "audio/wav.hpp"
#include "auth/authenticator.hpp"
#include "auth/token.hpp"
#include "mcp/http_transport.hpp"
#include "mcp/server.hpp"
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
        authenticator_({.mode = auth::Mode::hmac, .secret = secret}),
        server_(ServerInfo{}) {
    server_.add_tool(tools::make_transcribe_tool(service_, {}));
    HttpOptions options;
    options.authenticate = [this](const httplib::Request& req) -> std::optional<json> {
      const std::string key = req.get_header_value("X-API-Key");
      const auth::AuthResult result = authenticator_.check(
          "mcp", req.has_header("X-API-Key") ? std::optional<std::string_view>(key) : std::nullopt,
          std::nullopt);
      if (result.ok) return std::nullopt;
      ++rejected_;
      return result.error_body();
    };
    transport_ = std::make_unique<HttpTransport>(server_, std::move(options));
    transport_->install(http_);
    port_ = http_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { http_.listen_after_bind(); });
  }
  ~RemoteTranscribeServer() {
    transport_->stop();
    http_.stop();
    thread_.join();
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/mcp"; }
  int rejected() const { return rejected_; }

 private:
  stt::TranscriptionService service_;
  auth::Authenticator authenticator_;
  Server server_;
  std::unique_ptr<HttpTransport> transport_;
  httplib::Server http_;
  int port_ = 0;
  std::atomic<int> rejected_{0};
  std::thread thread_;
};

std::vector<float> jfk_16k() {
  const auto path = test::shared_dir() / "audio" / "jfk.wav";
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
