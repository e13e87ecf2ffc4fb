#include "app/config_schema.hpp"

namespace voicedesk::app {
namespace {

using util::ConfigKey;
using util::ValueType;

std::vector<ConfigKey> build_schema() {
  return {
      {.name = "VOICEDESK_LISTEN",
       .type = ValueType::HostPort,
       .default_value = "127.0.0.1:8080",
       .description = "Address and port `voicedesk up` serves on"},
      {.name = "VOICEDESK_LOG_LEVEL",
       .type = ValueType::Enum,
       .default_value = "info",
       .description = "Lowest log level written",
       .choices = {"trace", "debug", "info", "warn", "error", "critical", "off"}},
      {.name = "VOICEDESK_LOG_FORMAT",
       .type = ValueType::Enum,
       .default_value = "text",
       .description = "Log line format: human-readable text or one JSON object per line",
       .choices = {"text", "json"}},
      {.name = "VOICEDESK_SHARED_DIR",
       .type = ValueType::Path,
       .default_value = "../shared",
       .description = "Directory with the speech clips and models used by tests and benchmarks"},
      {.name = "VOICEDESK_VAD_AGGRESSIVENESS",
       .type = ValueType::Int,
       .default_value = "3",
       .description = "Voice activity detector aggressiveness, 0-3; 3 rejects the most non-speech "
                      "(webrtcvad mode 3)",
       .min = 0,
       .max = 3},
      {.name = "VOICEDESK_VAD_HIGHPASS",
       .type = ValueType::Bool,
       .default_value = "false",
       .description = "Apply a high-pass filter to the audio before the voice activity detector"},
      {.name = "VOICEDESK_VAD_NOISE_SUPPRESSION",
       .type = ValueType::Enum,
       .default_value = "off",
       .description = "Noise suppression level applied before the voice activity detector",
       .choices = {"off", "low", "moderate", "high", "very_high"}},
      {.name = "VOICEDESK_ENDPOINT_MODE",
       .type = ValueType::Enum,
       .default_value = "fast",
       .description = "Utterance endpointing: fast (VAD with pre-roll) or classic (silence "
                      "threshold)",
       .choices = {"fast", "classic"}},
      {.name = "VOICEDESK_TRAILING_SILENCE_MS",
       .type = ValueType::Int,
       .default_value = "600",
       .description = "Fast mode: silence in ms that ends an utterance",
       .min = 90,
       .max = 10000},
      {.name = "VOICEDESK_PREROLL_MS",
       .type = ValueType::Int,
       .default_value = "300",
       .description = "Fast mode: audio in ms kept from before speech was detected",
       .min = 0,
       .max = 2000},
      {.name = "VOICEDESK_MAX_UTTERANCE_MS",
       .type = ValueType::Int,
       .default_value = "30000",
       .description = "Longest utterance in ms; longer speech is cut at this length",
       .min = 1000,
       .max = 120000},
      {.name = "VOICEDESK_MIN_SPEECH_MS",
       .type = ValueType::Int,
       .default_value = "250",
       .description = "Fast mode: shortest speech in ms kept as an utterance; shorter bursts are "
                      "dropped",
       .min = 0,
       .max = 10000},
      {.name = "VOICEDESK_CLASSIC_SILENCE_MS",
       .type = ValueType::Int,
       .default_value = "2000",
       .description = "Classic mode: silence in ms that ends an utterance",
       .min = 300,
       .max = 10000},
      {.name = "VOICEDESK_WEB_DIR",
       .type = ValueType::Path,
       .default_value = VOICEDESK_DEFAULT_WEB_DIR,
       .description = "Built browser client (web/dist) that `voicedesk up` serves"},
      {.name = "VOICEDESK_ALLOWED_ORIGINS",
       .description = "Comma-separated origins allowed to call the HTTP API from a browser; empty: "
                      "the listen address itself (http://HOST:PORT, and localhost for 127.0.0.1)"},
      {.name = "VOICEDESK_ICE_ADDRESSES",
       .description = "Comma-separated local IP addresses WebRTC (ICE) offers browsers for media, "
                      "or `all` for every interface; empty: 127.0.0.1 when VOICEDESK_LISTEN is "
                      "loopback, the listen address when it is one, every interface for "
                      "0.0.0.0 or ::"},
      {.name = "VOICEDESK_ICE_PORT_RANGE",
       .description = "MIN-MAX local ports WebRTC media may use (UDP, and TCP for ICE-TCP), one "
                      "per session and address, e.g. 50000-50100 to open in a firewall; empty: "
                      "any ephemeral port"},
      {.name = "VOICEDESK_STUN_URL",
       .description = "STUN server for NAT traversal, stun:HOST[:PORT] (default port 3478), used "
                      "by the server and given to browsers; empty: none"},
      {.name = "VOICEDESK_TURN_URLS",
       .description = "Comma-separated TURN servers, turn:USER:PASS@HOST[:PORT][?transport=udp|"
                      "tcp] or turns:... (TLS, port 5349), used by the server and given to "
                      "browsers with their credentials; empty: none",
       .secret = true},
      {.name = "VOICEDESK_WHISPER_MODEL",
       .type = ValueType::Path,
       .description = "whisper.cpp model file (ggml-*.bin); unset: the pocketsphinx fallback"},
      {.name = "VOICEDESK_STT_THREADS",
       .type = ValueType::Int,
       .default_value = "2",
       .description = "Threads for the speech-to-text engine",
       .min = 1,
       .max = 256},
      {.name = "VOICEDESK_STT_MAX_TOKENS",
       .type = ValueType::Int,
       .default_value = "0",
       .description = "Whisper: most tokens decoded per 30 s window, timestamps included; bounds "
                      "the time a runaway (repeating) decoding takes; 0: Whisper's limit (220)",
       .min = 0,
       .max = 448},
      {.name = "VOICEDESK_STT_TEMPERATURE_FALLBACK",
       .type = ValueType::Bool,
       .default_value = "true",
       .description = "Whisper: decode a window again at higher temperatures when the result looks "
                      "repetitive or unlikely (OpenAI's fallback); false: one greedy pass"},
      {.name = "VOICEDESK_STT_LANGUAGE",
       .description = "Language code for speech-to-text (e.g. en); empty: the model's default, "
                      "detected by multilingual models"},
      {.name = "VOICEDESK_STT",
       .type = ValueType::Enum,
       .default_value = "local",
       .description = "Where `voicedesk up` transcribes utterances: local (in-process) or mcp (the "
                      "transcribe tool of the MCP server at VOICEDESK_MCP_URL)",
       .choices = {"local", "mcp"}},
      {.name = "VOICEDESK_MCP_URL",
       .type = ValueType::Url,
       .default_value = "http://127.0.0.1:8005/mcp",
       .description = "MCP endpoint used when VOICEDESK_STT=mcp"},
      {.name = "VOICEDESK_MCP_LISTEN",
       .type = ValueType::HostPort,
       .default_value = "127.0.0.1:8005",
       .description = "Address and port `voicedesk mcp` serves the MCP endpoint (/mcp) on"},
      {.name = "VOICEDESK_MCP_ALLOWED_HOSTS",
       .description = "Comma-separated host names the MCP endpoint accepts in the Host header "
                      "(DNS-rebinding protection); empty: localhost, 127.0.0.1 and [::1] when "
                      "listening on loopback, any host otherwise"},
      {.name = "VOICEDESK_MCP_ALLOWED_DIRS",
       .description = "Comma-separated directories the transcribe tool may read `path` "
                      "arguments from; empty: only inline audio is accepted"},
      {.name = "VOICEDESK_STT_RATE",
       .type = ValueType::Number,
       .default_value = "2",
       .description = "Transcribe tool calls allowed per second (token bucket); 0: unlimited",
       .min = 0,
       .max = 10000},
      {.name = "VOICEDESK_STT_BURST",
       .type = ValueType::Int,
       .default_value = "2",
       .description = "Transcribe tool calls allowed at once after a quiet period",
       .min = 1,
       .max = 10000},
      {.name = "VOICEDESK_RATE_LIMIT_MODE",
       .type = ValueType::Enum,
       .default_value = "soft",
       .description = "What a rate-limited tool call does: soft (wait up to "
                      "VOICEDESK_RATE_LIMIT_MAX_WAIT_MS) or hard (fail at once)",
       .choices = {"soft", "hard"}},
      {.name = "VOICEDESK_RATE_LIMIT_MAX_WAIT_MS",
       .type = ValueType::Int,
       .default_value = "10000",
       .description = "Longest wait of a rate-limited tool call in soft mode",
       .min = 0,
       .max = 600000},
      // Web search tool (duckduckgo_search / web_search).
      {.name = "VOICEDESK_SEARCH_URL",
       .type = ValueType::Url,
       .default_value = "https://html.duckduckgo.com/html/",
       .description = "Search endpoint of the web search tool: DuckDuckGo's HTML page, "
                      "https://api.duckduckgo.com/ (Instant Answers) or a SearXNG instance"},
      {.name = "VOICEDESK_SEARCH_PROVIDER",
       .type = ValueType::Enum,
       .default_value = "auto",
       .description = "Answer format of VOICEDESK_SEARCH_URL; auto: api.duckduckgo.com is "
                      "duckduckgo_json, other duckduckgo.com hosts duckduckgo_html, else searxng",
       .choices = {"auto", "duckduckgo_html", "duckduckgo_json", "searxng"}},
      {.name = "VOICEDESK_SEARCH_TIMEOUT_MS",
       .type = ValueType::Int,
       .default_value = "10000",
       .description = "Longest time one web search request may take, connecting included",
       .min = 100,
       .max = 120000},
      {.name = "VOICEDESK_SEARCH_RATE",
       .type = ValueType::Number,
       .default_value = "1",
       .description = "Web searches allowed per second (token bucket); 0: unlimited",
       .min = 0,
       .max = 1000},
      {.name = "VOICEDESK_SEARCH_BURST",
       .type = ValueType::Int,
       .default_value = "2",
       .description = "Web searches allowed at once after a quiet period",
       .min = 1,
       .max = 1000},
      {.name = "VOICEDESK_AUTH",
       .type = ValueType::Enum,
       .default_value = "hmac",
       .description = "Authentication between voicedesk services: hmac (signed per-request "
                      "tokens), legacy (also AI-RTC-Agent's forgeable clock-derived keys, for "
                      "interop) or off (refused unless listening on loopback)",
       .choices = {"hmac", "legacy", "off"}},
      {.name = "VOICEDESK_AUTH_SECRET_FILE",
       .type = ValueType::Path,
       .description = "Service secret file the local services share, created (mode 0600) on "
                      "first use; empty: $XDG_CONFIG_HOME/voicedesk/service.key, else "
                      "~/.config/voicedesk/service.key"},
      {.name = "VOICEDESK_AUTH_SECRET",
       .description = "Service secret as 64 hex digits; when set, used instead of the secret file",
       .secret = true},
      {.name = "VOICEDESK_AUTH_LEGACY_WINDOW_SECONDS",
       .type = ValueType::Int,
       .default_value = "60",
       .description = "Legacy mode: AI-RTC-Agent's key window in seconds (its code's default is "
                      "60; its README says 5)",
       .min = 1,
       .max = 3600},
      // Calendar tools (create_calendar_event, load_calendar_events).
      {.name = "VOICEDESK_TIMEZONE",
       .description = "IANA time zone of calendar dates and times, e.g. Europe/Berlin; empty: "
                      "TZ, else the zone /etc/localtime names, else UTC"},
      {.name = "VOICEDESK_CALENDAR_FILE",
       .type = ValueType::Path,
       .description = "Local .ics calendar used when no calendar service is configured or it "
                      "fails; empty: $XDG_DATA_HOME/voicedesk/calendar.ics, else "
                      "~/.local/share/voicedesk/calendar.ics"},
      {.name = "VOICEDESK_CALENDAR_ORGANIZER",
       .description = "E-mail address written as ORGANIZER of created events; empty: none"},
      {.name = "VOICEDESK_CALDAV_URL",
       .type = ValueType::Url,
       .description = "CalDAV calendar collection URL for calendar events, e.g. "
                      "https://dav.example.com/user/calendar/; empty: the local calendar file"},
      {.name = "VOICEDESK_CALDAV_USERNAME", .description = "CalDAV user name (HTTP Basic auth)"},
      {.name = "VOICEDESK_CALDAV_PASSWORD", .description = "CalDAV password", .secret = true},
      {.name = "GOOGLE_CALENDAR_TOKEN_FILE",
       .type = ValueType::Path,
       .description = "Google Calendar OAuth token file (authorized-user JSON with refresh_token; "
                      "refreshed tokens are written back, mode 0600); when set, events go to "
                      "Google Calendar before CalDAV"},
      {.name = "VOICEDESK_GOOGLE_CALENDAR_API_URL",
       .type = ValueType::Url,
       .description =
           "Google Calendar API base URL; empty: https://www.googleapis.com/calendar/v3"},
      // The keys below keep the names AI-RTC-Agent used, so its existing .env files work as is.
      {.name = "MAIL_HOST", .description = "SMTP server host name"},
      {.name = "MAIL_PORT",
       .type = ValueType::Int,
       .description = "SMTP server port",
       .min = 1,
       .max = 65535},
      {.name = "MAIL_USERNAME", .description = "SMTP login user name"},
      {.name = "MAIL_PASSWORD", .description = "SMTP login password", .secret = true},
      {.name = "MAIL_ENCRYPTION",
       .type = ValueType::Enum,
       .description = "SMTP connection security: ssl (implicit TLS), tls or starttls (STARTTLS, "
                      "required), none (plain: to a loopback host, or without MAIL_PASSWORD); "
                      "empty: ssl on port 465, else starttls",
       .choices = {"ssl", "tls", "starttls", "none"}},
      {.name = "MAIL_FROM_ADDRESS",
       .description = "Sender address of mail sent over SMTP; empty: MAIL_USERNAME when it is an "
                      "address"},
      {.name = "MAIL_FROM_NAME", .description = "Sender display name of mail sent over SMTP"},
      {.name = "VOICEDESK_MAIL_CA_FILE",
       .type = ValueType::Path,
       .description = "CA certificates (PEM) to verify the SMTP server with instead of the "
                      "system's, e.g. for a self-signed server"},
      {.name = "VOICEDESK_HISTORY_PATH",
       .type = ValueType::Path,
       .description = "SQLite file of the conversation history (sessions, what was said, "
                      "answers, tool calls); empty: $XDG_DATA_HOME/voicedesk/history.sqlite3, else "
                      "~/.local/share/voicedesk/history.sqlite3"},
      {.name = "VOICEDESK_OUTBOX_PATH",
       .type = ValueType::Path,
       .description = "SQLite file of the mail outbox (queued and sent mail); empty: "
                      "$XDG_DATA_HOME/voicedesk/outbox.sqlite3, else "
                      "~/.local/share/voicedesk/outbox.sqlite3"},
      {.name = "GMAIL_TOKEN_FILE",
       .type = ValueType::Path,
       .description = "Gmail API OAuth token file"},
      {.name = "GMAIL_SENDER", .description = "Sender address for mail sent through the Gmail API"},
      // Mail reading (list_inbox, read_email, reply_to_email): IMAP when VOICEDESK_IMAP_URL is
      // set, else the Gmail API when GMAIL_TOKEN_FILE is.
      {.name = "VOICEDESK_IMAP_URL",
       .description = "IMAP mailbox the mail tools read, imaps://HOST[:993]/INBOX (TLS) or "
                      "imap://HOST[:143]/INBOX (STARTTLS required unless the host is loopback or "
                      "VOICEDESK_IMAP_ALLOW_PLAIN is true); empty: use the Gmail API if "
                      "GMAIL_TOKEN_FILE is set"},
      {.name = "VOICEDESK_IMAP_USERNAME",
       .description = "IMAP login user name; empty: MAIL_USERNAME"},
      {.name = "VOICEDESK_IMAP_PASSWORD",
       .description = "IMAP login password; empty: MAIL_PASSWORD",
       .secret = true},
      {.name = "VOICEDESK_IMAP_CA_FILE",
       .type = ValueType::Path,
       .description = "CA certificates (PEM) to trust for the IMAP server besides the system's"},
      {.name = "VOICEDESK_IMAP_ALLOW_PLAIN",
       .type = ValueType::Bool,
       .default_value = "false",
       .description = "Allow imap:// without TLS to a host that is not loopback (the password "
                      "then travels in clear)"},
      {.name = "VOICEDESK_GMAIL_API_URL",
       .type = ValueType::Url,
       .default_value = "https://gmail.googleapis.com",
       .description = "Base URL of the Gmail API"},
      {.name = "VOICEDESK_GMAIL_RATE",
       .type = ValueType::Number,
       .default_value = "0.5",
       .description = "Mail tool calls through the Gmail API allowed per second (token bucket); "
                      "0: unlimited",
       .min = 0,
       .max = 10000},
      {.name = "VOICEDESK_GMAIL_BURST",
       .type = ValueType::Int,
       .default_value = "3",
       .description = "Mail tool calls through the Gmail API allowed at once after a quiet period",
       .min = 1,
       .max = 10000},
      {.name = "VOICEDESK_LLM_BASE_URL",
       .type = ValueType::Url,
       .description = "OpenAI-compatible Chat Completions base URL (OpenAI, Ollama's /v1, "
                      "llama.cpp server, vLLM, Gemini's OpenAI endpoint); empty: "
                      "OLLAMA_BASE_URL/v1 when set, else OpenAI when OPENAI_API_KEY is set, "
                      "else no language model"},
      {.name = "VOICEDESK_LLM_MODEL",
       .description = "Model name; empty: gpt-4o-mini on OpenAI, llama3.2 on Ollama"},
      {.name = "VOICEDESK_LLM_API_KEY",
       .description = "API key sent as a Bearer token; empty: OPENAI_API_KEY",
       .secret = true},
      {.name = "VOICEDESK_LLM_TIMEOUT_MS",
       .type = ValueType::Int,
       .default_value = "60000",
       .description = "Longest wait for one model answer",
       .min = 1000,
       .max = 600000},
      {.name = "OPENAI_API_KEY", .description = "OpenAI API key", .secret = true},
      {.name = "OLLAMA_BASE_URL",
       .type = ValueType::Url,
       .description = "Base URL of an Ollama server, e.g. http://localhost:11434"},
      {.name = "GOOGLE_API_KEY", .description = "Google API key", .secret = true},
  };
}

}  // namespace

const std::vector<util::ConfigKey>& config_schema() {
  static const std::vector<util::ConfigKey> schema = build_schema();
  return schema;
}

}  // namespace voicedesk::app
