#include <spdlog/spdlog.h>

#include <cstdio>
#include <nlohmann/json.hpp>
#include <ostream>

#include "app/commands.hpp"
#include "app/settings.hpp"
#include "audio/front_end.hpp"
#include "audio/resampler.hpp"
#include "audio/wav.hpp"

namespace voicedesk::app {
namespace {

// Reads the WAV and brings it to the front-end's 48 kHz, channels kept.
audio::WavAudio read_at_input_rate(const std::filesystem::path& path) {
  audio::WavAudio wav = audio::read_wav(path);
  if (wav.sample_rate != audio::kInputRate) {
    wav.samples =
        audio::resample_interleaved(wav.samples, wav.channels, wav.sample_rate, audio::kInputRate);
    wav.sample_rate = audio::kInputRate;
  }
  return wav;
}

void print(const audio::Utterance& u, bool json, std::ostream& out) {
  if (json) {
    // Rounded to the millisecond like the text form, so both agree.
    auto ms = [](double s) { return std::round(s * 1000.0) / 1000.0; };
    out << nlohmann::ordered_json{{"start", ms(u.start_seconds())},
                                  {"end", ms(u.end_seconds())},
                                  {"duration", ms(u.duration_seconds())}}
               .dump()
        << '\n';
  } else {
    char line[96];
    std::snprintf(line, sizeof line, "%.3f %.3f %.3f\n", u.start_seconds(), u.end_seconds(),
                  u.duration_seconds());
    out << line;
  }
  out.flush();
}

}  // namespace

int run_segment(const util::Config& config, const SegmentRequest& request, std::ostream& out) {
  const audio::WavAudio wav = read_at_input_rate(request.wav);
  if (request.write_dir) std::filesystem::create_directories(*request.write_dir);

  int count = 0;
  audio::FrontEndHandlers handlers;
  handlers.on_utterance = [&](audio::Utterance&& u) {
    ++count;
    print(u, request.json, out);
    if (request.write_dir) {
      char name[32];
      std::snprintf(name, sizeof name, "utterance-%03d.wav", count);
      audio::write_wav_pcm16(*request.write_dir / name, u.audio_16k, audio::kVadRate, 1);
    }
  };
  audio::AudioFrontEnd front_end(front_end_options(config), std::move(handlers));

  // Exactly the live path: 20 ms chunks, as WebRTC delivers them.
  const std::size_t chunk =
      static_cast<std::size_t>(audio::kInputRate / 50) * static_cast<std::size_t>(wav.channels);
  const std::span<const float> samples(wav.samples);
  for (std::size_t i = 0; i < samples.size(); i += chunk) {
    front_end.push(samples.subspan(i, std::min(chunk, samples.size() - i)), wav.channels);
  }
  front_end.finish();
  spdlog::info("{}: {} utterance(s) in {:.3f} s of audio", request.wav.string(), count,
               static_cast<double>(wav.frames()) / audio::kInputRate);
  return kExitOk;
}

}  // namespace voicedesk::app
