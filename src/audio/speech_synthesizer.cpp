#include "audio/speech_synthesizer.hpp"

#include <espeak-ng/speak_lib.h>
#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <exception>
#include <mutex>
#include <stdexcept>

namespace voicedesk::audio {
namespace {

// espeak-ng's chunk length: shorter chunks reach the caller sooner.
constexpr int kChunkMilliseconds = 50;

// The process-wide espeak-ng engine. Its state is global in the library
// itself, so this mirror of it is too: one lock for every synthesizer, and
// the voice and rate last set, so that they change only when they differ.
class Engine {
 public:
  static Engine& instance() {
    static Engine engine;
    return engine;
  }

  int sample_rate() const { return sample_rate_; }
  std::mutex& mutex() { return mutex_; }

  // With mutex() held.
  void configure(const SpeechOptions& options) {
    if (options.voice != voice_) {
      if (espeak_SetVoiceByName(options.voice.c_str()) != EE_OK) {
        voice_.clear();
        throw std::invalid_argument(fmt::format(
            "unknown espeak-ng voice '{}' (espeak-ng --voices lists them)", options.voice));
      }
      voice_ = options.voice;
    }
    if (options.words_per_minute != rate_) {
      if (espeak_SetParameter(espeakRATE, options.words_per_minute, 0) != EE_OK) {
        throw std::runtime_error("espeak-ng refused the speaking rate");
      }
      rate_ = options.words_per_minute;
    }
  }

 private:
  Engine() {
    // DONT_EXIT: without it espeak-ng calls exit() when its data is missing.
    sample_rate_ = espeak_Initialize(AUDIO_OUTPUT_SYNCHRONOUS, kChunkMilliseconds, nullptr,
                                     espeakINITIALIZE_DONT_EXIT);
    if (sample_rate_ <= 0) {
      throw std::runtime_error("espeak-ng failed to start (is espeak-ng-data installed?)");
    }
    espeak_SetSynthCallback(&on_audio);
  }

  // What one synthesize() call hands to the callback through user_data.
  struct Synthesis {
    const SpeechSynthesizer::ChunkHandler* on_chunk;
    bool stopped = false;
    std::exception_ptr error;
  };
  friend bool run_synthesis(const std::string& text, const SpeechSynthesizer::ChunkHandler&);

  // Returning 1 makes espeak-ng abandon the text.
  static int on_audio(short* samples, int count, espeak_EVENT* events) {
    auto* synthesis = static_cast<Synthesis*>(events->user_data);
    if (synthesis == nullptr || synthesis->stopped) return 1;
    if (samples == nullptr || count <= 0) return 0;
    try {
      synthesis->stopped = !(*synthesis->on_chunk)(
          std::span<const std::int16_t>(samples, static_cast<std::size_t>(count)));
    } catch (...) {
      // Exceptions must not unwind through espeak-ng's C frames.
      synthesis->error = std::current_exception();
      synthesis->stopped = true;
    }
    return synthesis->stopped ? 1 : 0;
  }

  std::mutex mutex_;
  int sample_rate_ = 0;
  std::string voice_;
  int rate_ = 0;
};

// With the engine's mutex held; true when the text was spoken to the end.
bool run_synthesis(const std::string& text, const SpeechSynthesizer::ChunkHandler& on_chunk) {
  Engine::Synthesis synthesis{.on_chunk = &on_chunk, .stopped = false, .error = nullptr};
  const espeak_ERROR result = espeak_Synth(text.c_str(), text.size() + 1, 0, POS_CHARACTER, 0,
                                           espeakCHARS_UTF8, nullptr, &synthesis);
  if (synthesis.error) std::rethrow_exception(synthesis.error);
  if (result != EE_OK && !synthesis.stopped) {
    throw std::runtime_error(
        fmt::format("espeak-ng synthesis failed ({})", static_cast<int>(result)));
  }
  return !synthesis.stopped;
}

bool blank(std::string_view text) {
  return std::all_of(text.begin(), text.end(),
                     [](char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; });
}

}  // namespace

SpeechSynthesizer::SpeechSynthesizer(SpeechOptions options) : options_(std::move(options)) {
  if (options_.words_per_minute < espeakRATE_MINIMUM ||
      options_.words_per_minute > espeakRATE_MAXIMUM) {
    throw std::invalid_argument(fmt::format("speaking rate {} is outside {}-{} words per minute",
                                            options_.words_per_minute, espeakRATE_MINIMUM,
                                            espeakRATE_MAXIMUM));
  }
  Engine& engine = Engine::instance();
  // Checks the voice now rather than at the first text.
  std::lock_guard lock(engine.mutex());
  engine.configure(options_);
}

int SpeechSynthesizer::sample_rate() const {
  return Engine::instance().sample_rate();
}

bool SpeechSynthesizer::synthesize(std::string_view text, const ChunkHandler& on_chunk) const {
  if (blank(text)) return true;
  // espeak-ng reads up to the terminating NUL.
  const std::string terminated(text);
  Engine& engine = Engine::instance();
  std::lock_guard lock(engine.mutex());
  engine.configure(options_);
  return run_synthesis(terminated, on_chunk);
}

std::vector<std::int16_t> SpeechSynthesizer::synthesize(std::string_view text) const {
  std::vector<std::int16_t> audio;
  synthesize(text, [&](std::span<const std::int16_t> chunk) {
    audio.insert(audio.end(), chunk.begin(), chunk.end());
    return true;
  });
  return audio;
}

}  // namespace voicedesk::audio
