#include "app/settings.hpp"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>
#include <stdexcept>
#include <string_view>

#include "agent/command_grammar.hpp"
#include "auth/token.hpp"
#include "mcp/mcp_transcriber.hpp"
#include "stt/pocketsphinx_transcriber.hpp"
#include "stt/whisper_transcriber.hpp"
#include "util/text.hpp"

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

bool is_ip_address(const std::string& text) {
  unsigned char buffer[sizeof(in6_addr)];
  return inet_pton(AF_INET, text.c_str(), buffer) == 1 ||
         inet_pton(AF_INET6, text.c_str(), buffer) == 1;
}

std::vector<std::string> ice_addresses(const util::Config& config) {
  const std::string& configured = config.get("VOICEDESK_ICE_ADDRESSES");
  if (configured.empty()) {
    return default_ice_addresses(parse_listen_address(config.get("VOICEDESK_LISTEN")).host);
  }
  std::vector<std::string> addresses = split_list(configured);
  if (addresses.size() == 1 && addresses.front() == "all") return {};
  for (const std::string& address : addresses) {
    if (!is_ip_address(address)) {
      throw util::ConfigError(fmt::format(
          "VOICEDESK_ICE_ADDRESSES: \"{}\" is not an IP address (expected a comma-separated "
          "list of local addresses, or all)",
          address));
    }
  }
  return addresses;
}

void set_ice_port_range(const util::Config& config, rtc::GatewayOptions& options) {
  const std::string& range = config.get("VOICEDESK_ICE_PORT_RANGE");
  if (range.empty()) return;
  const auto port = [&](std::string_view text) {
    unsigned value = 0;
    const char* end = text.data() + text.size();
    const auto [parsed_end, error] = std::from_chars(text.data(), end, value);
    if (text.empty() || error != std::errc() || parsed_end != end || value < 1 || value > 65535) {
      throw util::ConfigError(fmt::format(
          "VOICEDESK_ICE_PORT_RANGE: expected MIN-MAX with ports 1-65535, got \"{}\"", range));
    }
    return value;
  };
  const std::size_t dash = range.find('-');
  if (dash == std::string::npos) port("");  // throws with the expected form
  options.min_ice_port = port(std::string_view(range).substr(0, dash));
  options.max_ice_port = port(std::string_view(range).substr(dash + 1));
  if (options.min_ice_port > options.max_ice_port) {
    throw util::ConfigError(
        fmt::format("VOICEDESK_ICE_PORT_RANGE: {} is above {}; expected MIN-MAX",
                    options.min_ice_port, options.max_ice_port));
  }
}

std::vector<rtc::IceServer> ice_servers(const util::Config& config) {
  std::vector<rtc::IceServer> servers;
  try {
    if (const std::string& stun = config.get("VOICEDESK_STUN_URL"); !stun.empty()) {
      servers.push_back(rtc::parse_stun_url(stun));
    }
  } catch (const rtc::IceServerError& error) {
    throw util::ConfigError(fmt::format("VOICEDESK_STUN_URL: {}", error.what()));
  }
  try {
    for (rtc::IceServer& turn : rtc::parse_turn_urls(config.get("VOICEDESK_TURN_URLS"))) {
      servers.push_back(std::move(turn));
    }
  } catch (const rtc::IceServerError& error) {
    throw util::ConfigError(fmt::format("VOICEDESK_TURN_URLS: {}", error.what()));
  }
  return servers;
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
  options.endpoint.speculative_after_ms = get_ms(config, "VOICEDESK_SPECULATIVE_STT_MS");
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

std::vector<std::string> split_list(const std::string& text) {
  std::vector<std::string> items;
  std::size_t start = 0;
  while (start < text.size()) {
    const std::size_t comma = std::min(text.find(',', start), text.size());
    const std::string_view item =
        util::trim(std::string_view(text).substr(start, comma - start), util::kBlank);
    if (!item.empty()) items.emplace_back(item);
    start = comma + 1;
  }
  return items;
}

std::vector<std::string> allowed_origins(const util::Config& config, const std::string& listen) {
  std::vector<std::string> origins = split_list(config.get("VOICEDESK_ALLOWED_ORIGINS"));
  if (origins.empty()) {
    const ListenAddress address = parse_listen_address(listen);
    origins.push_back("http://" + listen);
    if (address.host == "127.0.0.1")
      origins.push_back("http://localhost:" + std::to_string(address.port));
  }
  return origins;
}

auth::Mode auth_mode(const util::Config& config) {
  // The config layer only lets the enum's choices through.
  return auth::parse_mode(config.get("VOICEDESK_AUTH")).value();
}

auth::ServiceSecret service_secret(const util::Config& config) {
  if (const std::string& hex = config.get("VOICEDESK_AUTH_SECRET"); !hex.empty()) {
    try {
      return auth::ServiceSecret::from_hex(hex);
    } catch (const auth::SecretError& e) {
      throw auth::SecretError(std::string("VOICEDESK_AUTH_SECRET: ") + e.what());
    }
  }
  const std::string& file = config.get("VOICEDESK_AUTH_SECRET_FILE");
  return auth::load_or_create_secret(file.empty() ? auth::default_secret_path()
                                                  : std::filesystem::path(file));
}

std::chrono::seconds legacy_window(const util::Config& config) {
  return std::chrono::seconds(config.get_int("VOICEDESK_AUTH_LEGACY_WINDOW_SECONDS"));
}

auth::AuthenticatorOptions authenticator_options(const util::Config& config) {
  auth::AuthenticatorOptions options;
  options.mode = auth_mode(config);
  if (options.mode != auth::Mode::off) options.secret = service_secret(config);
  options.legacy_window = legacy_window(config);
  return options;
}

rtc::GatewayOptions gateway_options(const util::Config& config) {
  rtc::GatewayOptions options;
  options.front_end = front_end_options(config);
  options.ice_addresses = ice_addresses(config);
  options.ice_servers = ice_servers(config);
  set_ice_port_range(config, options);
  options.speech.voice = config.get("VOICEDESK_TTS_VOICE");
  options.speech.words_per_minute = static_cast<int>(config.get_int("VOICEDESK_TTS_RATE"));
  options.barge_in = config.get_bool("VOICEDESK_BARGE_IN");
  options.barge_in_ms = static_cast<int>(config.get_int("VOICEDESK_BARGE_IN_MS"));
  return options;
}

std::vector<std::string> default_ice_addresses(const std::string& listen_host) {
  if (auth::is_loopback_host(listen_host)) return {"127.0.0.1"};
  if (listen_host == "0.0.0.0" || listen_host == "::" || !is_ip_address(listen_host)) return {};
  return {listen_host};
}

std::optional<std::string> remote_browser_warning(const rtc::GatewayOptions& options,
                                                  const std::vector<std::string>& origins) {
  const bool loopback_only =
      !options.ice_addresses.empty() &&
      std::all_of(options.ice_addresses.begin(), options.ice_addresses.end(),
                  [](const std::string& address) { return auth::is_loopback_host(address); });
  const bool relayed = std::any_of(
      options.ice_servers.begin(), options.ice_servers.end(),
      [](const rtc::IceServer& server) { return server.kind != rtc::IceServer::Kind::stun; });
  if (!loopback_only || relayed) return std::nullopt;
  for (const std::string& origin : origins) {
    // scheme://host[:port]
    const std::size_t start = origin.find("://");
    std::string_view host =
        std::string_view(origin).substr(start == std::string::npos ? 0 : start + 3);
    host =
        host.starts_with('[') ? host.substr(0, host.find(']') + 1) : host.substr(0, host.find(':'));
    if (!auth::is_loopback_host(host)) {
      return fmt::format(
          "browsers may load the page from {}, but WebRTC media is offered on loopback only: "
          "set VOICEDESK_ICE_ADDRESSES to this host's reachable address (or all), or configure "
          "a TURN server (see docs/deployment.md)",
          origin);
    }
  }
  return std::nullopt;
}

mcp::ClientOptions mcp_client_options(const util::Config& config) {
  mcp::ClientOptions options;
  options.url = config.get("VOICEDESK_MCP_URL");
  if (auth_mode(config) != auth::Mode::off) {
    // A fresh token per request, as the remote server's replay cache demands.
    options.token = [secret = service_secret(config)] {
      return auth::mint_token(secret, "mcp", std::chrono::system_clock::now());
    };
  }
  return options;
}

std::shared_ptr<const stt::Transcriber> make_transcriber(const util::Config& config,
                                                         const agent::Contacts* voice_commands) {
  if (config.get("VOICEDESK_STT") == "mcp") {
    mcp::ClientOptions options = mcp_client_options(config);
    spdlog::info("speech-to-text through the MCP transcribe tool at {}", options.url);
    return std::make_shared<mcp::McpTranscriber>(std::move(options));
  }
  const std::string& model = config.get("VOICEDESK_WHISPER_MODEL");
  if (model.empty()) {
    spdlog::info(
        "no Whisper model configured (VOICEDESK_WHISPER_MODEL): using the pocketsphinx fallback");
    auto fallback = std::make_shared<stt::PocketsphinxTranscriber>();
    if (voice_commands != nullptr && config.get_bool("VOICEDESK_COMMAND_GRAMMAR")) {
      fallback->set_command_grammar(stt::PocketsphinxTranscriber::CommandGrammar{
          agent::command_grammar(*voice_commands, [&](std::string_view word) {
            return fallback->in_vocabulary(word);
          })});
      spdlog::info("voice commands: decoding against the command grammar as well ({} contacts)",
                   voice_commands->all().size());
    }
    return fallback;
  }
  stt::DecodeOptions decode;
  decode.max_tokens = static_cast<int>(config.get_int("VOICEDESK_STT_MAX_TOKENS"));
  if (!config.get_bool("VOICEDESK_STT_TEMPERATURE_FALLBACK")) decode.temperatures = {0.0f};
  return std::make_shared<stt::WhisperTranscriber>(
      stt::WhisperModel::load(model), static_cast<int>(config.get_int("VOICEDESK_STT_THREADS")),
      std::move(decode));
}

}  // namespace voicedesk::app
