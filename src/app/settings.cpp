#include "app/settings.hpp"

#include <stdexcept>

namespace voicedesk::app {
namespace {

audio::NoiseSuppression noise_suppression(const std::string& level) {
  if (level == "low") return audio::NoiseSuppression::Low;
  if (level == "moderate") return audio::NoiseSuppression::Moderate;
  if (level == "high") return audio::NoiseSuppression::High;
  if (level == "very_high") return audio::NoiseSuppression::VeryHigh;
  return audio::NoiseSuppression::Off;
}

int get_ms(const util::Config& config, const char* key) {
  return static_cast<int>(config.get_int(key));
}

}  // namespace

audio::FrontEndOptions front_end_options(const util::Config& config) {
  audio::FrontEndOptions options;
  options.vad.aggressiveness = static_cast<int>(config.get_int("VOICEDESK_VAD_AGGRESSIVENESS"));
  options.vad.high_pass = config.get_bool("VOICEDESK_VAD_HIGHPASS");
  options.vad.noise_suppression = noise_suppression(config.get("VOICEDESK_VAD_NOISE_SUPPRESSION"));
  options.endpoint.mode = config.get("VOICEDESK_ENDPOINT_MODE") == "classic"
                              ? audio::EndpointMode::Classic
                              : audio::EndpointMode::Fast;
  options.endpoint.trailing_silence_ms = get_ms(config, "VOICEDESK_TRAILING_SILENCE_MS");
  options.endpoint.preroll_ms = get_ms(config, "VOICEDESK_PREROLL_MS");
  options.endpoint.max_utterance_ms = get_ms(config, "VOICEDESK_MAX_UTTERANCE_MS");
  options.endpoint.min_speech_ms = get_ms(config, "VOICEDESK_MIN_SPEECH_MS");
  options.endpoint.classic_silence_ms = get_ms(config, "VOICEDESK_CLASSIC_SILENCE_MS");
  return options;
}

util::LogFormat log_format(const util::Config& config) {
  return config.get("VOICEDESK_LOG_FORMAT") == "json" ? util::LogFormat::Json
                                                      : util::LogFormat::Text;
}

ListenAddress parse_listen_address(const std::string& host_port) {
  // The config layer has validated HOST:PORT already; this only splits it.
  const std::size_t colon = host_port.rfind(':');
  if (colon == std::string::npos) throw std::invalid_argument("expected HOST:PORT");
  std::string host = host_port.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  return ListenAddress{host, std::stoi(host_port.substr(colon + 1))};
}

}  // namespace voicedesk::app
