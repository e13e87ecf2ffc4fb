#include "store/conversation_store.hpp"

#include <algorithm>
#include <array>
#include <chrono>
#include <map>

#include "util/data_path.hpp"
#include "util/sqlite.hpp"

namespace voicedesk::store {
namespace {

using nlohmann::json;
using util::sqlite::Database;
using util::sqlite::SqliteError;
using util::sqlite::Statement;
using util::sqlite::Transaction;

// One schema change. Steps are applied in order, each in its own transaction
// with the new PRAGMA user_version; a released step never changes, a new
// schema is a new step at the end.
struct Migration {
  int version;
  const char* sql;
};

constexpr std::array kMigrations{
    Migration{1, R"sql(
CREATE TABLE sessions (
  id TEXT PRIMARY KEY,
  started_at INTEGER NOT NULL,
  ended_at INTEGER,
  client TEXT NOT NULL DEFAULT '{}'
);
CREATE TABLE utterances (
  id INTEGER PRIMARY KEY,
  session_id TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
  text TEXT NOT NULL,
  audio_start_ms INTEGER,
  audio_end_ms INTEGER,
  timings TEXT NOT NULL DEFAULT '{}',
  created_at INTEGER NOT NULL
);
CREATE TABLE agent_turns (
  id INTEGER PRIMARY KEY,
  session_id TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
  utterance_id INTEGER REFERENCES utterances (id) ON DELETE SET NULL,
  text TEXT NOT NULL,
  source TEXT NOT NULL CHECK (source IN ('intent_parser', 'llm')),
  is_final INTEGER NOT NULL DEFAULT 1,
  timings TEXT NOT NULL DEFAULT '{}',
  created_at INTEGER NOT NULL
);
CREATE TABLE tool_calls (
  id INTEGER PRIMARY KEY,
  turn_id INTEGER NOT NULL REFERENCES agent_turns (id) ON DELETE CASCADE,
  name TEXT NOT NULL,
  arguments TEXT NOT NULL DEFAULT '{}',
  result TEXT,
  is_error INTEGER NOT NULL DEFAULT 0,
  status TEXT NOT NULL
    CHECK (status IN ('proposed', 'confirmed', 'declined', 'done', 'failed')),
  duration_ms INTEGER,
  created_at INTEGER NOT NULL
);
)sql"},
    // A conversation is read by session (and its tool calls by turn); the
    // session list by start time.
    Migration{2, R"sql(
CREATE INDEX utterances_by_session ON utterances (session_id, id);
CREATE INDEX agent_turns_by_session ON agent_turns (session_id, id);
CREATE INDEX tool_calls_by_turn ON tool_calls (turn_id, id);
CREATE INDEX sessions_by_start ON sessions (started_at);
)sql"},
};

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

int schema_version(Database& db) {
  Statement version(db, "PRAGMA user_version");
  version.step();
  return static_cast<int>(version.int64(0));
}

void check_known(int version, const std::filesystem::path& path) {
  if (version > latest_schema_version()) {
    throw StoreError(path.string() + " has conversation store schema version " +
                     std::to_string(version) + ", newer than this voicedesk knows (" +
                     std::to_string(latest_schema_version()) +
                     "): use a newer voicedesk, or another VOICEDESK_HISTORY_PATH");
  }
}

void migrate(Database& db) {
  const int found = schema_version(db);
  check_known(found, db.path());  // before anything writes to the file
  if (found == latest_schema_version()) return;
  for (const Migration& step : kMigrations) {
    Transaction transaction(db);
    // Read again under the write lock: another process may have migrated.
    const int current = schema_version(db);
    check_known(current, db.path());
    if (current >= step.version) continue;
    db.exec(step.sql);
    db.exec("PRAGMA user_version = " + std::to_string(step.version));
    transaction.commit();
  }
}

// Stored JSON is written by this class; text that does not parse (a hand
// edit) is returned as a JSON string rather than lost.
json parse_json(const std::string& text) {
  json value = json::parse(text, nullptr, false);
  return value.is_discarded() ? json(text) : value;
}

TurnSource parse_source(std::string_view text) {
  return text == "intent_parser" ? TurnSource::intent_parser : TurnSource::llm;
}

ToolCallStatus parse_status(std::string_view text) {
  for (const ToolCallStatus status :
       {ToolCallStatus::proposed, ToolCallStatus::confirmed, ToolCallStatus::declined,
        ToolCallStatus::done, ToolCallStatus::failed}) {
    if (text == to_string(status)) return status;
  }
  return ToolCallStatus::failed;
}

constexpr const char* kSessionColumns = "id, started_at, ended_at, client";

Session read_session(const Statement& row) {
  return Session{.id = row.text(0),
                 .started_at_ms = row.int64(1),
                 .ended_at_ms = row.optional_int64(2),
                 .client = parse_json(row.text(3))};
}

Utterance read_utterance(const Statement& row) {
  return Utterance{.id = row.int64(0),
                   .session_id = row.text(1),
                   .text = row.text(2),
                   .audio_start_ms = row.optional_int64(3),
                   .audio_end_ms = row.optional_int64(4),
                   .timings = parse_json(row.text(5)),
                   .created_at_ms = row.int64(6)};
}

AgentTurn read_turn(const Statement& row) {
  return AgentTurn{.id = row.int64(0),
                   .session_id = row.text(1),
                   .utterance_id = row.optional_int64(2),
                   .text = row.text(3),
                   .source = parse_source(row.text(4)),
                   .final = row.int64(5) != 0,
                   .timings = parse_json(row.text(6)),
                   .created_at_ms = row.int64(7)};
}

ToolCall read_tool_call(const Statement& row) {
  return ToolCall{.id = row.int64(0),
                  .turn_id = row.int64(1),
                  .name = row.text(2),
                  .arguments = parse_json(row.text(3)),
                  .result = row.is_null(4) ? json() : parse_json(row.text(4)),
                  .is_error = row.int64(5) != 0,
                  .status = parse_status(row.text(6)),
                  .duration_ms = row.optional_int64(7),
                  .created_at_ms = row.int64(8)};
}

// Utterances and turns in the order they happened: never a turn before the
// utterance it answers, otherwise by time (ms; on a tie the turn first, as it
// answers an earlier utterance).
std::vector<ConversationEvent> interleave(std::vector<Utterance> utterances,
                                          std::vector<AssistantTurn> turns) {
  std::vector<ConversationEvent> events;
  events.reserve(utterances.size() + turns.size());
  auto utterance = utterances.begin();
  auto turn = turns.begin();
  while (utterance != utterances.end() || turn != turns.end()) {
    const bool take_utterance =
        turn == turns.end() ||
        (utterance != utterances.end() && (utterance->created_at_ms < turn->turn.created_at_ms ||
                                           turn->turn.utterance_id.value_or(0) >= utterance->id));
    if (take_utterance) {
      events.emplace_back(std::move(*utterance++));
    } else {
      events.emplace_back(std::move(*turn++));
    }
  }
  return events;
}

json optional_json(const std::optional<std::int64_t>& value) {
  return value ? json(*value) : json();
}

json to_json(const Utterance& utterance) {
  return {{"type", "user"},
          {"id", utterance.id},
          {"text", utterance.text},
          {"audio_start_ms", optional_json(utterance.audio_start_ms)},
          {"audio_end_ms", optional_json(utterance.audio_end_ms)},
          {"timings", utterance.timings},
          {"created_at_ms", utterance.created_at_ms}};
}

json to_json(const ToolCall& call) {
  return {{"id", call.id},
          {"name", call.name},
          {"arguments", call.arguments},
          {"result", call.result},
          {"is_error", call.is_error},
          {"status", to_string(call.status)},
          {"duration_ms", optional_json(call.duration_ms)},
          {"created_at_ms", call.created_at_ms}};
}

json to_json(const AssistantTurn& assistant) {
  const AgentTurn& turn = assistant.turn;
  json calls = json::array();
  for (const ToolCall& call : assistant.tool_calls) calls.push_back(to_json(call));
  return {{"type", "assistant"},
          {"id", turn.id},
          {"utterance_id", optional_json(turn.utterance_id)},
          {"text", turn.text},
          {"source", to_string(turn.source)},
          {"final", turn.final},
          {"timings", turn.timings},
          {"created_at_ms", turn.created_at_ms},
          {"tool_calls", std::move(calls)}};
}

}  // namespace

const char* to_string(TurnSource source) {
  return source == TurnSource::intent_parser ? "intent_parser" : "llm";
}

const char* to_string(ToolCallStatus status) {
  switch (status) {
    case ToolCallStatus::proposed:
      return "proposed";
    case ToolCallStatus::confirmed:
      return "confirmed";
    case ToolCallStatus::declined:
      return "declined";
    case ToolCallStatus::done:
      return "done";
    case ToolCallStatus::failed:
      return "failed";
  }
  return "failed";
}

json to_json(const Session& session) {
  return {{"id", session.id},
          {"started_at_ms", session.started_at_ms},
          {"ended_at_ms", optional_json(session.ended_at_ms)},
          {"client", session.client}};
}

json to_json(const SessionSummary& summary) {
  json out = to_json(summary.session);
  out["utterances"] = summary.utterances;
  out["agent_turns"] = summary.agent_turns;
  return out;
}

json to_json(const Conversation& conversation) {
  json events = json::array();
  for (const ConversationEvent& event : conversation.events) {
    events.push_back(std::visit([](const auto& item) { return to_json(item); }, event));
  }
  return {{"session", to_json(conversation.session)}, {"events", std::move(events)}};
}

std::filesystem::path history_path(const util::Config& config) {
  const std::string& path = config.get("VOICEDESK_HISTORY_PATH");
  return path.empty() ? util::default_data_file("history.sqlite3", "VOICEDESK_HISTORY_PATH")
                      : std::filesystem::path(path);
}

int latest_schema_version() {
  return kMigrations.back().version;
}

// Runs function under the lock, with SQLite's failures as StoreError.
template <typename Function>
auto ConversationStore::locked(Function&& function) const {
  std::lock_guard lock(mutex_);
  try {
    return function();
  } catch (const SqliteError& e) {
    throw StoreError("conversation store: " + std::string(e.what()));
  }
}

ConversationStore::ConversationStore(const std::filesystem::path& path, Open mode) : path_(path) {
  locked([&] {
    db_ = std::make_unique<Database>(
        path, util::sqlite::OpenOptions{.mode = mode == Open::create
                                                    ? util::sqlite::OpenMode::create_private
                                                    : util::sqlite::OpenMode::read_write});
    migrate(*db_);
    db_->enable_wal();
    // With WAL a crash of the process loses nothing; power loss may lose the
    // last turns, a fair price for history that is written on every turn.
    db_->exec("PRAGMA synchronous = NORMAL");
    db_->exec("PRAGMA foreign_keys = ON");
  });
}

ConversationStore::~ConversationStore() = default;

Session ConversationStore::start_session(Session session) {
  if (session.id.empty()) throw StoreError("conversation store: a session needs an id");
  if (session.started_at_ms == 0) session.started_at_ms = now_ms();
  return locked([&] {
    Statement insert(*db_,
                     "INSERT INTO sessions (id, started_at, ended_at, client) VALUES (?, ?, ?, ?)");
    insert.bind(1, session.id)
        .bind(2, session.started_at_ms)
        .bind(3, session.ended_at_ms)
        .bind(4, session.client.dump());
    insert.step();
    return session;
  });
}

bool ConversationStore::end_session(std::string_view session_id,
                                    std::optional<std::int64_t> at_ms) {
  return locked([&] {
    Statement update(*db_, "UPDATE sessions SET ended_at = ? WHERE id = ?");
    update.bind(1, at_ms.value_or(now_ms())).bind(2, session_id);
    update.step();
    return db_->changes() > 0;
  });
}

Utterance ConversationStore::add_utterance(Utterance utterance) {
  if (utterance.created_at_ms == 0) utterance.created_at_ms = now_ms();
  return locked([&] {
    Statement insert(*db_,
                     "INSERT INTO utterances (session_id, text, audio_start_ms, audio_end_ms, "
                     "timings, created_at) VALUES (?, ?, ?, ?, ?, ?)");
    insert.bind(1, utterance.session_id)
        .bind(2, utterance.text)
        .bind(3, utterance.audio_start_ms)
        .bind(4, utterance.audio_end_ms)
        .bind(5, utterance.timings.dump())
        .bind(6, utterance.created_at_ms);
    insert.step();
    utterance.id = db_->last_insert_rowid();
    return utterance;
  });
}

AgentTurn ConversationStore::add_agent_turn(AgentTurn turn) {
  if (turn.created_at_ms == 0) turn.created_at_ms = now_ms();
  return locked([&] {
    Statement insert(*db_,
                     "INSERT INTO agent_turns (session_id, utterance_id, text, source, is_final, "
                     "timings, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)");
    insert.bind(1, turn.session_id)
        .bind(2, turn.utterance_id)
        .bind(3, turn.text)
        .bind(4, std::string_view(to_string(turn.source)))
        .bind(5, turn.final)
        .bind(6, turn.timings.dump())
        .bind(7, turn.created_at_ms);
    insert.step();
    turn.id = db_->last_insert_rowid();
    return turn;
  });
}

ToolCall ConversationStore::add_tool_call(ToolCall call) {
  if (call.created_at_ms == 0) call.created_at_ms = now_ms();
  return locked([&] {
    Statement insert(*db_,
                     "INSERT INTO tool_calls (turn_id, name, arguments, result, is_error, status, "
                     "duration_ms, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)");
    insert.bind(1, call.turn_id).bind(2, call.name).bind(3, call.arguments.dump());
    if (call.result.is_null()) {
      insert.bind(4, nullptr);
    } else {
      insert.bind(4, call.result.dump());
    }
    insert.bind(5, call.is_error)
        .bind(6, std::string_view(to_string(call.status)))
        .bind(7, call.duration_ms)
        .bind(8, call.created_at_ms);
    insert.step();
    call.id = db_->last_insert_rowid();
    return call;
  });
}

bool ConversationStore::update_tool_call(std::int64_t call_id, const ToolCallOutcome& outcome) {
  return locked([&] {
    Statement update(*db_,
                     "UPDATE tool_calls SET status = ?, result = COALESCE(?, result), "
                     "is_error = ?, duration_ms = COALESCE(?, duration_ms) WHERE id = ?");
    update.bind(1, std::string_view(to_string(outcome.status)));
    if (outcome.result.is_null()) {
      update.bind(2, nullptr);
    } else {
      update.bind(2, outcome.result.dump());
    }
    update.bind(3, outcome.is_error).bind(4, outcome.duration_ms).bind(5, call_id);
    update.step();
    return db_->changes() > 0;
  });
}

std::vector<SessionSummary> ConversationStore::list_sessions(int limit) const {
  return locked([&] {
    Statement select(*db_, std::string("SELECT ") + kSessionColumns +
                               ", (SELECT COUNT(*) FROM utterances u WHERE u.session_id = s.id), "
                               "(SELECT COUNT(*) FROM agent_turns t WHERE t.session_id = s.id) "
                               "FROM sessions s ORDER BY started_at DESC, rowid DESC LIMIT ?");
    select.bind(1, std::max(limit, 0));
    std::vector<SessionSummary> sessions;
    while (select.step()) {
      sessions.push_back(SessionSummary{.session = read_session(select),
                                        .utterances = static_cast<int>(select.int64(4)),
                                        .agent_turns = static_cast<int>(select.int64(5))});
    }
    return sessions;
  });
}

std::optional<Conversation> ConversationStore::conversation(std::string_view session_id) const {
  return locked([&]() -> std::optional<Conversation> {
    Statement session(*db_,
                      std::string("SELECT ") + kSessionColumns + " FROM sessions WHERE id = ?");
    session.bind(1, session_id);
    if (!session.step()) return std::nullopt;
    Conversation conversation{.session = read_session(session)};

    std::vector<Utterance> utterances;
    Statement said(*db_,
                   "SELECT id, session_id, text, audio_start_ms, audio_end_ms, timings, "
                   "created_at FROM utterances WHERE session_id = ? ORDER BY id");
    said.bind(1, session_id);
    while (said.step()) utterances.push_back(read_utterance(said));

    std::vector<AssistantTurn> turns;
    std::map<std::int64_t, std::size_t> turn_index;  // turn id -> position in turns
    Statement answered(*db_,
                       "SELECT id, session_id, utterance_id, text, source, is_final, timings, "
                       "created_at FROM agent_turns WHERE session_id = ? ORDER BY id");
    answered.bind(1, session_id);
    while (answered.step()) {
      turns.push_back(AssistantTurn{.turn = read_turn(answered)});
      turn_index.emplace(turns.back().turn.id, turns.size() - 1);
    }

    Statement calls(*db_,
                    "SELECT c.id, c.turn_id, c.name, c.arguments, c.result, c.is_error, c.status, "
                    "c.duration_ms, c.created_at FROM tool_calls c JOIN agent_turns t ON "
                    "c.turn_id = t.id WHERE t.session_id = ? ORDER BY c.id");
    calls.bind(1, session_id);
    while (calls.step()) {
      ToolCall call = read_tool_call(calls);
      turns[turn_index.at(call.turn_id)].tool_calls.push_back(std::move(call));
    }
    conversation.events = interleave(std::move(utterances), std::move(turns));
    return conversation;
  });
}

}  // namespace voicedesk::store
