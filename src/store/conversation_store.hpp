#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "util/config.hpp"

namespace voicedesk::util::sqlite {
class Database;
}

// The conversation history: sessions, what the user said, what the agent
// answered and the tools it called, in one SQLite file.
namespace voicedesk::store {

// Times are Unix milliseconds (UTC). A row's id and created_at_ms are filled
// in by the store (created_at_ms only when left 0).

struct Session {
  std::string id{};
  std::int64_t started_at_ms = 0;
  std::optional<std::int64_t> ended_at_ms{};
  nlohmann::json client = nlohmann::json::object();  // peer address, user agent, ...
};

struct SessionSummary {
  Session session{};
  int utterances = 0;
  int agent_turns = 0;
};

// Something the user said (or typed: then there is no audio span).
struct Utterance {
  std::int64_t id = 0;
  std::string session_id{};
  std::string text{};
  std::optional<std::int64_t> audio_start_ms{};  // within the session's audio
  std::optional<std::int64_t> audio_end_ms{};
  nlohmann::json timings = nlohmann::json::object();  // e.g. {"endpoint_ms": 120, "stt_ms": 310}
  std::int64_t created_at_ms = 0;
};

enum class TurnSource { intent_parser, llm };

struct AgentTurn {
  std::int64_t id = 0;
  std::string session_id{};
  std::optional<std::int64_t> utterance_id{};  // the utterance it answers, if any
  std::string text{};
  TurnSource source = TurnSource::llm;
  bool final = true;  // false: a partial answer, superseded by a later turn
  nlohmann::json timings = nlohmann::json::object();
  std::int64_t created_at_ms = 0;
};

enum class ToolCallStatus { proposed, confirmed, declined, done, failed };

struct ToolCall {
  std::int64_t id = 0;
  std::int64_t turn_id = 0;
  std::string name{};
  nlohmann::json arguments = nlohmann::json::object();
  nlohmann::json result{};  // null until there is one
  bool is_error = false;
  ToolCallStatus status = ToolCallStatus::proposed;
  std::optional<std::int64_t> duration_ms{};
  std::int64_t created_at_ms = 0;
};

// What update_tool_call() changes.
struct ToolCallOutcome {
  ToolCallStatus status = ToolCallStatus::done;
  nlohmann::json result{};  // null: keep the stored one
  bool is_error = false;
  std::optional<std::int64_t> duration_ms{};
};

struct AssistantTurn {
  AgentTurn turn{};
  std::vector<ToolCall> tool_calls{};  // in the order they were made
};

using ConversationEvent = std::variant<Utterance, AssistantTurn>;

// A session's events in order: each utterance before the turns that answer it.
struct Conversation {
  Session session{};
  std::vector<ConversationEvent> events{};
};

const char* to_string(TurnSource source);
const char* to_string(ToolCallStatus status);
nlohmann::json to_json(const Session& session);
nlohmann::json to_json(const SessionSummary& summary);
nlohmann::json to_json(const Conversation& conversation);

// A storage failure, a database this voicedesk cannot read (newer schema), or
// a row that refers to a missing session or turn.
class StoreError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// VOICEDESK_HISTORY_PATH, or util::default_data_file("history.sqlite3").
std::filesystem::path history_path(const util::Config& config);

// The schema version this build writes; PRAGMA user_version of the file.
int latest_schema_version();

class ConversationStore {
 public:
  enum class Open {
    create,    // create a missing file (0600, parent directory 0700)
    existing,  // the file must exist
  };

  // Opens the database and brings its schema up to date, one transaction per
  // migration step. A database with a newer schema than this build knows is
  // refused with StoreError and left untouched.
  explicit ConversationStore(const std::filesystem::path& path, Open mode = Open::create);
  ~ConversationStore();
  ConversationStore(const ConversationStore&) = delete;
  ConversationStore& operator=(const ConversationStore&) = delete;

  // Every method is safe to call from several threads; all throw StoreError.
  Session start_session(Session session);
  // False when there is no such session.
  bool end_session(std::string_view session_id, std::optional<std::int64_t> at_ms = {});
  Utterance add_utterance(Utterance utterance);
  AgentTurn add_agent_turn(AgentTurn turn);
  ToolCall add_tool_call(ToolCall call);
  // False when there is no such tool call.
  bool update_tool_call(std::int64_t call_id, const ToolCallOutcome& outcome);

  // The most recently started sessions first.
  std::vector<SessionSummary> list_sessions(int limit = 20) const;
  std::optional<Conversation> conversation(std::string_view session_id) const;

 private:
  template <typename Function>
  auto locked(Function&& function) const;

  std::filesystem::path path_;
  mutable std::mutex mutex_;
  std::unique_ptr<util::sqlite::Database> db_;  // guarded by mutex_
};

}  // namespace voicedesk::store
