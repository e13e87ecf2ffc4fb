#pragma once

// Access to ../shared/whisper-ref: the random-weight model and whisper.cpp's
// outputs for it on jfk.wav.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace voicedesk::test {

inline std::filesystem::path shared_dir() {
  const char* env = std::getenv("VOICEDESK_SHARED_DIR");
  return env != nullptr && *env != '\0' ? std::filesystem::path(env)
                                        : std::filesystem::path(VOICEDESK_TEST_SHARED_DIR);
}

inline std::filesystem::path whisper_ref(const std::string& relative) {
  return shared_dir() / "whisper-ref" / relative;
}

inline std::vector<float> read_f32(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::vector<float> values(std::filesystem::file_size(path) / sizeof(float));
  in.read(reinterpret_cast<char*>(values.data()),
          static_cast<std::streamsize>(values.size() * sizeof(float)));
  return values;
}

inline nlohmann::json read_json(const std::filesystem::path& path) {
  std::ifstream in(path);
  return nlohmann::json::parse(in);
}

}  // namespace voicedesk::test

// Skips the current test, naming the file, when a shared file is absent.
#define VOICEDESK_REQUIRE_FILE(path)                                                       \
  do {                                                                                     \
    if (!std::filesystem::exists(path)) GTEST_SKIP() << (path) << " is missing (shared/)"; \
  } while (false)
