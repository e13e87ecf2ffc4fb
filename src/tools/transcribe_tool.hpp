#pragma once

#include <cstddef>
#include <filesystem>
#include <memory>
#include <vector>

#include "stt/transcription_service.hpp"
#include "tools/tool.hpp"
#include "util/token_bucket.hpp"

namespace voicedesk::tools {

struct TranscribeToolOptions {
  // `path` arguments must resolve (symlinks followed) under one of these;
  // empty means `path` is refused and only inline `audio` works.
  std::vector<std::filesystem::path> allowed_dirs;
  // Largest WAV accepted, inline or from a file.
  std::size_t max_audio_bytes = 64u << 20;
  // Shared by every caller of the tool; null means no limit.
  std::shared_ptr<util::TokenBucket> limiter;
};

// The `transcribe` tool: arguments `audio` (base64 WAV) or `path`, optional
// `language`; result {text, segments:[{start,end,text}], language,
// duration_s, model, timings_ms}. Runs through the shared transcription
// service (bounded queue), reports progress, and stops when cancelled. The
// service must outlive the tool.
Tool make_transcribe_tool(stt::TranscriptionService& service, TranscribeToolOptions options);

}  // namespace voicedesk::tools
