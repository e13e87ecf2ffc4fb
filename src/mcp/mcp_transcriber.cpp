#include "mcp/mcp_transcriber.hpp"

#include <chrono>

#include "audio/wav.hpp"
#include "util/base64.hpp"

namespace voicedesk::mcp {

using nlohmann::json;

McpTranscriber::McpTranscriber(ClientOptions options)
    : client_(std::make_unique<HttpClient>(std::move(options))) {}

stt::Transcript McpTranscriber::transcribe(std::span<const float> audio_16k,
                                           const stt::TranscribeOptions& options) const {
  const auto start = std::chrono::steady_clock::now();
  json arguments = {
      {"audio", util::base64_encode(audio::encode_wav_pcm16(audio_16k, stt::kSampleRate, 1))}};
  if (!options.language.empty()) arguments["language"] = options.language;
  json result;
  try {
    result = client_->call_tool("transcribe", arguments);
  } catch (const ClientError& e) {
    throw stt::TranscribeError(std::string("remote transcription failed: ") + e.what());
  }
  const json content = result.value("content", json::array());
  if (result.value("isError", false)) {
    const std::string message = !content.empty() && content[0].is_object()
                                    ? content[0].value("text", std::string("error"))
                                    : "error";
    throw stt::TranscribeError("remote transcription failed: " + message);
  }
  const json structured = result.value("structuredContent", json::object());
  stt::Transcript transcript;
  try {
    transcript.text = structured.at("text").get<std::string>();
    transcript.language = structured.value("language", std::string());
    for (const json& segment : structured.value("segments", json::array())) {
      transcript.segments.push_back({segment.at("start").get<double>(),
                                     segment.at("end").get<double>(),
                                     segment.at("text").get<std::string>()});
    }
    const json timings = structured.value("timings_ms", json::object());
    transcript.timings.mel_ms = timings.value("mel", 0.0);
    transcript.timings.encode_ms = timings.value("encode", 0.0);
    transcript.timings.decode_ms = timings.value("decode", 0.0);
  } catch (const json::exception& e) {
    throw stt::TranscribeError(std::string("remote transcription: malformed result: ") + e.what());
  }
  // Total as this side saw it: the network and the remote queue included.
  transcript.timings.total_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  return transcript;
}

std::string McpTranscriber::model_name() const {
  return "mcp " + client_->url();
}

}  // namespace voicedesk::mcp
