#include "app/cli.hpp"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <iostream>

#include "app/commands.hpp"
#include "app/config_schema.hpp"
#include "app/settings.hpp"
#include "audio/wav.hpp"
#include "auth/secret.hpp"
#include "stt/whisper_model.hpp"
#include "util/config_error.hpp"
#include "util/logging.hpp"

extern char** environ;

namespace voicedesk::app {
namespace {

// Names of every variable in the environment, so the config layer can warn
// about misspelt VOICEDESK_* keys.
std::vector<std::string> environment_names() {
  std::vector<std::string> names;
  for (char** entry = environ; entry != nullptr && *entry != nullptr; ++entry) {
    const std::string_view text(*entry);
    names.emplace_back(text.substr(0, text.find('=')));
  }
  return names;
}

int fail(int code, const std::string& message) {
  std::cerr << "voicedesk: error: " << message << '\n';
  return code;
}

}  // namespace

int run_cli(int argc, char** argv) {
  CLI::App app{"voicedesk: real-time voice AI workspace", "voicedesk"};
  app.set_version_flag("--version", VOICEDESK_VERSION);
  app.require_subcommand(1);
  app.fallthrough();  // global flags may also follow the subcommand

  util::LoadOptions load;
  std::string config_file;
  std::vector<std::string> settings;
  std::string log_level;
  std::string log_format_name;
  app.add_option("--config", config_file,
                 "Env-style configuration file (default: ./voicedesk.env, then ./.env)");
  app.add_option("--set", settings, "Set a configuration key: --set KEY=VALUE (repeatable)");
  app.add_option("--log-level", log_level, "trace, debug, info, warn, error, critical or off");
  app.add_option("--log-format", log_format_name, "text or json");
  std::string auth_mode;
  app.add_option("--auth", auth_mode, "Service authentication: hmac (default), legacy or off");

  auto* config_cmd = app.add_subcommand(
      "config",
      "Print the effective configuration and where each value came from (secrets masked)");
  bool config_json = false;
  config_cmd->add_flag("--json", config_json, "Print JSON instead of KEY=VALUE lines");

  auto* segment_cmd = app.add_subcommand(
      "segment", "Split a WAV file into utterances with the streaming audio front-end");
  SegmentRequest segment;
  std::string segment_file;
  std::string mode;
  std::string write_dir;
  segment_cmd
      ->add_option("file", segment_file, "WAV file (PCM16/24 or float32, mono/stereo, 8-48 kHz)")
      ->required();
  segment_cmd->add_option("--mode", mode, "Endpointing: fast (default) or classic");
  segment_cmd->add_flag("--json", segment.json, "One JSON object per utterance");
  segment_cmd->add_option("--write-dir", write_dir,
                          "Write each utterance as a 16 kHz mono WAV here");

  auto* transcribe_cmd = app.add_subcommand(
      "transcribe", "Transcribe a WAV file (Whisper with --model, else pocketsphinx)");
  TranscribeRequest transcribe;
  std::string transcribe_file;
  std::string model;
  std::string threads;
  std::string language;
  std::string dump_mel;
  std::string teacher_force;
  std::string dump_logits;
  transcribe_cmd->add_option("file", transcribe_file, "WAV file")->required();
  transcribe_cmd->add_option("--model", model, "whisper.cpp model file (ggml-*.bin)");
  transcribe_cmd->add_option("--threads", threads, "Threads for the engine");
  transcribe_cmd->add_option("--language", language,
                             "Language code, e.g. en (default: the model's / detect)");
  transcribe_cmd->add_flag("--json", transcribe.json,
                           "Print text, segments, language and timings as JSON");
  transcribe_cmd->add_option("--dump-mel", dump_mel,
                             "Write the first window's log-mel [mel][frame] as f32");
  transcribe_cmd->add_option("--teacher-force", teacher_force,
                             "Decoder token ids to feed, e.g. \"50257 50362 843\"");
  transcribe_cmd->add_option("--dump-logits", dump_logits,
                             "Write one f32 logits row per forced token");

  auto* bench_cmd = app.add_subcommand("bench", "Benchmarks");
  auto* bench_stt_cmd =
      bench_cmd->add_subcommand("stt", "Whisper engine vs OpenBLAS SGEMM, one run");
  bench_cmd->require_subcommand(1);
  bool bench_json = false;
  bench_stt_cmd->add_option("--model", model, "whisper.cpp model file")->required();
  bench_stt_cmd->add_option("--threads", threads, "Threads for the engine and OpenBLAS");
  bench_stt_cmd->add_flag("--json", bench_json, "Print JSON");

  auto* up_cmd = app.add_subcommand("up", "Serve voicedesk on VOICEDESK_LISTEN (127.0.0.1:8080)");
  std::string listen;
  up_cmd->add_option("--listen", listen, "HOST:PORT to listen on");
  std::string stt_mode;
  std::string mcp_url;
  up_cmd->add_option("--stt", stt_mode,
                     "local (in-process, default) or mcp (the transcribe tool at --mcp-url)");
  up_cmd->add_option("--mcp-url", mcp_url, "MCP endpoint for --stt mcp");

  auto* mcp_cmd = app.add_subcommand(
      "mcp", "Serve the MCP tools over Streamable HTTP on VOICEDESK_MCP_LISTEN (127.0.0.1:8005)");
  McpRequest mcp;
  std::string mcp_listen;
  mcp_cmd->add_option("--listen", mcp_listen, "HOST:PORT to listen on");
  mcp_cmd->add_flag("--stdio", mcp.stdio, "Serve one session on stdin/stdout instead of HTTP");
  mcp_cmd->add_flag("--conformance-fixtures", mcp.conformance_fixtures,
                    "Also serve the fixtures the MCP conformance suite calls");
  mcp_cmd->add_flag("--bench-tools", mcp.bench_tools, "Also serve the trivial `echo` tool");
  auto* history_cmd = app.add_subcommand(
      "history", "Print stored conversations: the recent sessions, or one with --session");
  HistoryRequest history;
  std::string history_session;
  auto* history_session_opt =
      history_cmd->add_option("--session", history_session, "Print this session's conversation");
  history_cmd->add_flag("--json", history.json, "Print JSON");
  history_cmd->add_option("--limit", history.limit, "How many recent sessions to list (default 20)")
      ->check(CLI::Range(1, 10000));
  auto* token_cmd = app.add_subcommand(
      "token", "Print a fresh service token (creates the service secret file if missing)");
  TokenRequest token;
  auto* audience_opt =
      token_cmd->add_option("--audience", token.audience, "Service the token is for (default mcp)");
  token_cmd
      ->add_flag("--legacy", token.legacy,
                 "AI-RTC-Agent's clock-derived key instead, for interop tests")
      ->excludes(audience_opt);

  auto* chat_cmd = app.add_subcommand(
      "chat", "Talk to the agent in text, with the mail, calendar and search tools");
  ChatRequest chat;
  chat_cmd->add_option("--say", chat.lines,
                       "A line to say (repeatable, in order); none: read lines from stdin");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? kExitOk : kExitBadInput;
  }

  // Command-line flags are the highest configuration layer.
  for (const std::string& setting : settings) {
    const std::size_t eq = setting.find('=');
    if (eq == std::string::npos || eq == 0) {
      return fail(kExitBadInput, "--set expects KEY=VALUE, got \"" + setting + "\"");
    }
    load.overrides.emplace_back(setting.substr(0, eq), setting.substr(eq + 1));
  }
  auto flag = [&](const char* key, const std::string& value) {
    if (!value.empty()) load.overrides.emplace_back(key, value);
  };
  flag("VOICEDESK_LOG_LEVEL", log_level);
  flag("VOICEDESK_LOG_FORMAT", log_format_name);
  flag("VOICEDESK_AUTH", auth_mode);
  flag("VOICEDESK_ENDPOINT_MODE", mode);
  flag("VOICEDESK_LISTEN", listen);
  flag("VOICEDESK_MCP_LISTEN", mcp_listen);
  flag("VOICEDESK_STT", stt_mode);
  flag("VOICEDESK_MCP_URL", mcp_url);
  flag("VOICEDESK_WHISPER_MODEL", model);
  flag("VOICEDESK_STT_THREADS", threads);
  flag("VOICEDESK_STT_LANGUAGE", language);
  if (!config_file.empty()) load.config_file = config_file;
  load.env_names = environment_names();

  std::optional<util::Config> config;
  try {
    config.emplace(util::load_config(config_schema(), load));
    util::setup_logging(config->get("VOICEDESK_LOG_LEVEL"), log_format(*config));
  } catch (const util::ConfigError& e) {
    return fail(kExitBadInput, e.what());
  }
  for (const std::string& warning : config->warnings()) spdlog::warn("{}", warning);

  try {
    if (*config_cmd) {
      std::cout << (config_json ? config->to_json().dump(2) + "\n" : config->render_text());
      return kExitOk;
    }
    if (*segment_cmd) {
      segment.wav = segment_file;
      if (!write_dir.empty()) segment.write_dir = write_dir;
      return run_segment(*config, segment, std::cout);
    }
    if (*transcribe_cmd) {
      transcribe.wav = transcribe_file;
      if (!dump_mel.empty()) transcribe.dump_mel = dump_mel;
      if (!teacher_force.empty()) transcribe.teacher_force = teacher_force;
      if (!dump_logits.empty()) transcribe.dump_logits = dump_logits;
      return run_transcribe(*config, transcribe, std::cout);
    }
    if (*bench_stt_cmd) return run_bench_stt(*config, bench_json, std::cout);
    if (*up_cmd) return run_up(*config);
    if (*mcp_cmd) {
      // stdout carries the protocol; logs already go to stderr.
      return run_mcp(*config, mcp);
    }
    if (*token_cmd) return run_token(*config, token, std::cout);
    if (*chat_cmd) return run_chat(*config, chat, std::cin, std::cout);
    if (*history_cmd) {
      if (history_session_opt->count() > 0) history.session_id = history_session;
      return run_history(*config, history, std::cout);
    }
  } catch (const BadInput& e) {
    return fail(kExitBadInput, e.what());
  } catch (const stt::ModelError& e) {
    return fail(kExitBadInput, e.what());
  } catch (const audio::WavError& e) {
    return fail(kExitBadInput, e.what());
  } catch (const util::ConfigError& e) {
    return fail(kExitBadInput, e.what());
  } catch (const auth::SecretError& e) {
    return fail(kExitBadInput, e.what());
  } catch (const std::exception& e) {
    return fail(kExitFailure, e.what());
  }
  return kExitBadInput;
}

}  // namespace voicedesk::app
