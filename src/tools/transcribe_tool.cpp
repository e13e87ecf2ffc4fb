#include "tools/transcribe_tool.hpp"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <fstream>

#include "audio/resampler.hpp"
#include "audio/wav.hpp"
#include "util/base64.hpp"

namespace voicedesk::tools {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

const json& input_schema() {
  static const json schema = {
      {"type", "object"},
      {"properties",
       {{"audio",
         {{"type", "string"},
          {"description",
           "The recording as a base64-encoded WAV file (PCM 16/24-bit or float, mono or stereo, "
           "8-48 kHz)"}}},
        {"path",
         {{"type", "string"},
          {"description", "A WAV file on the server, under one of its allowed directories"}}},
        {"language",
         {{"type", "string"},
          {"description", "Language code such as \"en\"; default: the model's or detected"},
          {"pattern", "^[a-z]{2,3}$"}}}}},
      {"additionalProperties", false}};
  return schema;
}

const json& output_schema() {
  static const json schema = {
      {"type", "object"},
      {"properties",
       {{"text", {{"type", "string"}}},
        {"segments",
         {{"type", "array"},
          {"items",
           {{"type", "object"},
            {"properties",
             {{"start", {{"type", "number"}}},
              {"end", {{"type", "number"}}},
              {"text", {{"type", "string"}}}}},
            {"required", {"start", "end", "text"}}}}}},
        {"language", {{"type", "string"}}},
        {"duration_s", {{"type", "number"}}},
        {"model", {{"type", "string"}}},
        {"timings_ms", {{"type", "object"}}}}},
      {"required", {"text", "segments", "language", "duration_s", "model", "timings_ms"}}};
  return schema;
}

std::vector<std::byte> decode_inline_audio(const std::string& base64, std::size_t limit) {
  // Base64 carries 3 bytes per 4 characters: refuse before decoding anything.
  if (base64.size() / 4 * 3 > limit) {
    throw ToolError("audio: larger than the " + std::to_string(limit >> 20) + " MiB limit");
  }
  auto bytes = util::base64_decode(base64);
  if (!bytes) throw ToolError("audio: not valid base64");
  return std::move(*bytes);
}

bool is_under(const fs::path& file, const fs::path& dir) {
  const auto [dir_end, file_it] = std::mismatch(dir.begin(), dir.end(), file.begin(), file.end());
  return dir_end == dir.end();
}

std::vector<std::byte> read_allowed_file(const std::string& requested,
                                         const TranscribeToolOptions& options) {
  if (options.allowed_dirs.empty()) {
    throw ToolError("path: reading files is disabled on this server; send `audio` instead");
  }
  std::error_code error;
  // canonical() follows symlinks, so a link cannot lead out of the allowed tree.
  const fs::path file = fs::canonical(requested, error);
  if (error) throw ToolError("path: " + requested + ": no such file");
  const bool allowed = std::any_of(options.allowed_dirs.begin(), options.allowed_dirs.end(),
                                   [&](const fs::path& dir) {
                                     std::error_code dir_error;
                                     const fs::path root = fs::canonical(dir, dir_error);
                                     return !dir_error && is_under(file, root);
                                   });
  if (!allowed) throw ToolError("path: " + requested + " is not under an allowed directory");
  if (!fs::is_regular_file(file)) throw ToolError("path: " + requested + " is not a regular file");
  if (fs::file_size(file, error) > options.max_audio_bytes) {
    throw ToolError("path: larger than the " + std::to_string(options.max_audio_bytes >> 20) +
                    " MiB limit");
  }
  std::ifstream in(file, std::ios::binary);
  std::vector<char> chars((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (!in.eof() && in.fail()) throw ToolError("path: " + requested + ": cannot be read");
  std::vector<std::byte> bytes(chars.size());
  std::memcpy(bytes.data(), chars.data(), chars.size());
  return bytes;
}

// Waits for the service, passing the caller's cancellation on to it.
stt::Transcript wait_for(stt::TranscriptionService::Request& request, const ToolContext& context) {
  using namespace std::chrono_literals;
  while (request.result().wait_for(50ms) != std::future_status::ready) {
    if (context.cancelled()) request.cancel();
  }
  return request.get();
}

json transcript_json(const stt::Transcript& transcript, double duration_s, double queue_ms,
                     const std::string& model) {
  json segments = json::array();
  for (const stt::Segment& segment : transcript.segments) {
    segments.push_back({{"start", segment.start}, {"end", segment.end}, {"text", segment.text}});
  }
  return {{"text", transcript.text},
          {"segments", std::move(segments)},
          {"language", transcript.language},
          {"duration_s", duration_s},
          {"model", model},
          {"timings_ms",
           {{"queue", queue_ms},
            {"mel", transcript.timings.mel_ms},
            {"encode", transcript.timings.encode_ms},
            {"decode", transcript.timings.decode_ms},
            {"total", queue_ms + transcript.timings.total_ms}}}};
}

}  // namespace

Tool make_transcribe_tool(stt::TranscriptionService& service, TranscribeToolOptions options) {
  ToolSpec spec;
  spec.name = "transcribe";
  spec.title = "Transcribe speech";
  spec.description =
      "Transcribe a WAV recording to text with timestamps. Pass the file as base64 in `audio`, or "
      "a server-side `path` under an allowed directory.";
  spec.input_schema = input_schema();
  spec.output_schema = output_schema();
  spec.annotations = {{"readOnlyHint", true}, {"openWorldHint", false}};

  auto call = [&service, options = std::move(options)](const json& arguments,
                                                       ToolContext& context) {
    if (arguments.contains("audio") == arguments.contains("path")) {
      throw ToolError("give exactly one of `audio` (base64 WAV) or `path`");
    }
    const std::vector<std::byte> wav_bytes =
        arguments.contains("audio")
            ? decode_inline_audio(arguments["audio"].get<std::string>(), options.max_audio_bytes)
            : read_allowed_file(arguments["path"].get<std::string>(), options);
    audio::WavAudio wav;
    try {
      wav = audio::parse_wav(wav_bytes);
    } catch (const audio::WavError& e) {
      throw ToolError(std::string(arguments.contains("audio") ? "audio" : "path") + ": " +
                      e.what());
    }
    const double duration_s =
        static_cast<double>(wav.frames()) / static_cast<double>(wav.sample_rate);
    std::vector<float> audio_16k = audio::mono_at_rate(wav, stt::kSampleRate);

    if (options.limiter) {
      try {
        options.limiter->acquire();
      } catch (const util::RateLimited& e) {
        throw ToolError(e.what());
      }
    }
    stt::TranscribeOptions transcribe;
    transcribe.language = arguments.value("language", "");
    transcribe.on_progress = [&context](double fraction) {
      context.progress(fraction, 1.0, "transcribing");
    };
    transcribe.cancel = &context.cancelled();
    context.progress(0, 1.0, "queued");
    stt::TranscriptionService::Request request = [&] {
      try {
        return service.submit(std::move(audio_16k), std::move(transcribe));
      } catch (const stt::BusyError& e) {
        throw ToolError(std::string("speech-to-text is busy: ") + e.what());
      }
    }();
    stt::Transcript transcript;
    try {
      transcript = wait_for(request, context);
    } catch (const stt::Cancelled&) {
      throw;
    } catch (const stt::TranscribeError& e) {
      throw ToolError(std::string("transcription failed: ") + e.what());
    }
    const double queue_ms =
        std::chrono::duration<double, std::milli>(request.time_queued()).count();
    context.progress(1.0, 1.0, "done");

    ToolResult result = ToolResult::text(transcript.text);
    result.structured =
        transcript_json(transcript, duration_s, queue_ms, service.transcriber().model_name());
    return result;
  };
  return Tool{std::move(spec), std::move(call)};
}

}  // namespace voicedesk::tools
