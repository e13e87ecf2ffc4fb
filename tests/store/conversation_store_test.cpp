#include "store/conversation_store.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <thread>

#include "util/sqlite.hpp"
#include "util/temp_dir.hpp"

namespace voicedesk::store {
namespace {

namespace sqlite = util::sqlite;
using test_support::TempDir;
using ::testing::HasSubstr;

int user_version(const std::filesystem::path& path) {
  sqlite::Database db(path, {.mode = sqlite::OpenMode::read_only});
  sqlite::Statement version(db, "PRAGMA user_version");
  version.step();
  return static_cast<int>(version.int64(0));
}

std::string slurp(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream bytes;
  bytes << in.rdbuf();
  return bytes.str();
}

// Schema version 1 as released: frozen here, so the migration from it stays tested
// whatever the latest schema becomes.
constexpr const char* kVersion1 = R"sql(
CREATE TABLE sessions (
  id TEXT PRIMARY KEY, started_at INTEGER NOT NULL, ended_at INTEGER,
  client TEXT NOT NULL DEFAULT '{}');
CREATE TABLE utterances (
  id INTEGER PRIMARY KEY,
  session_id TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
  text TEXT NOT NULL, audio_start_ms INTEGER, audio_end_ms INTEGER,
  timings TEXT NOT NULL DEFAULT '{}', created_at INTEGER NOT NULL);
CREATE TABLE agent_turns (
  id INTEGER PRIMARY KEY,
  session_id TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
  utterance_id INTEGER REFERENCES utterances (id) ON DELETE SET NULL,
  text TEXT NOT NULL, source TEXT NOT NULL CHECK (source IN ('intent_parser', 'llm')),
  is_final INTEGER NOT NULL DEFAULT 1, timings TEXT NOT NULL DEFAULT '{}',
  created_at INTEGER NOT NULL);
CREATE TABLE tool_calls (
  id INTEGER PRIMARY KEY,
  turn_id INTEGER NOT NULL REFERENCES agent_turns (id) ON DELETE CASCADE,
  name TEXT NOT NULL, arguments TEXT NOT NULL DEFAULT '{}', result TEXT,
  is_error INTEGER NOT NULL DEFAULT 0,
  status TEXT NOT NULL CHECK (status IN ('proposed', 'confirmed', 'declined', 'done', 'failed')),
  duration_ms INTEGER, created_at INTEGER NOT NULL);
INSERT INTO sessions VALUES ('old', 1000, 2000, '{"peer":"127.0.0.1"}');
INSERT INTO utterances VALUES (1, 'old', 'hello there', 0, 900, '{"stt_ms":40}', 1100);
INSERT INTO agent_turns VALUES (1, 'old', 1, 'hi', 'llm', 1, '{}', 1200);
PRAGMA user_version = 1;
)sql";

TEST(ConversationStore, CreatesTheLatestSchemaInAPrivateFile) {
  TempDir dir;
  const auto path = dir.path() / "data" / "history.sqlite3";
  { ConversationStore store(path); }
  EXPECT_EQ(user_version(path), latest_schema_version());
  EXPECT_GE(latest_schema_version(), 2);
  using std::filesystem::perms;
  const perms others = perms::group_all | perms::others_all;
  EXPECT_EQ(std::filesystem::status(path).permissions() & others, perms::none);
  EXPECT_EQ(std::filesystem::status(path.parent_path()).permissions() & others, perms::none);
  // Opening again changes nothing.
  { ConversationStore store(path); }
  EXPECT_EQ(user_version(path), latest_schema_version());
}

TEST(ConversationStore, MigratesAVersion1DatabaseKeepingItsData) {
  TempDir dir;
  const auto path = dir.path() / "history.sqlite3";
  {
    sqlite::Database db(path);
    db.exec(kVersion1);
  }
  ConversationStore store(path);
  EXPECT_EQ(user_version(path), latest_schema_version());
  const std::optional<Conversation> old = store.conversation("old");
  ASSERT_TRUE(old);
  EXPECT_EQ(old->session.client["peer"], "127.0.0.1");
  ASSERT_EQ(old->events.size(), 2U);
  EXPECT_EQ(std::get<Utterance>(old->events[0]).text, "hello there");
  EXPECT_EQ(std::get<Utterance>(old->events[0]).timings["stt_ms"], 40);
  EXPECT_EQ(std::get<AssistantTurn>(old->events[1]).turn.text, "hi");
  {
    sqlite::Database db(path, {.mode = sqlite::OpenMode::read_only});
    sqlite::Statement index(
        db, "SELECT COUNT(*) FROM sqlite_master WHERE name = 'utterances_by_session'");
    index.step();
    EXPECT_EQ(index.int64(0), 1);
  }
}

TEST(ConversationStore, RefusesANewerSchemaAndLeavesTheFileAlone) {
  TempDir dir;
  const auto path = dir.path() / "history.sqlite3";
  {
    sqlite::Database db(path);
    db.exec("CREATE TABLE future (x); INSERT INTO future VALUES (1); PRAGMA user_version = 999;");
  }
  const std::string before = slurp(path);
  try {
    ConversationStore store(path);
    FAIL() << "opened a database from the future";
  } catch (const StoreError& e) {
    EXPECT_THAT(e.what(), HasSubstr("999"));
    EXPECT_THAT(e.what(), HasSubstr("newer"));
  }
  EXPECT_EQ(slurp(path), before);
}

TEST(ConversationStore, RefusesAFileThatIsNotADatabase) {
  TempDir dir;
  const auto path = dir.write("history.sqlite3", std::string(4096, 'x'));
  EXPECT_THROW(ConversationStore store(path), StoreError);
}

TEST(ConversationStore, OpenExistingDoesNotCreate) {
  TempDir dir;
  const auto path = dir.path() / "missing.sqlite3";
  EXPECT_THROW(ConversationStore(path, ConversationStore::Open::existing), StoreError);
  EXPECT_FALSE(std::filesystem::exists(path));
}

TEST(ConversationStore, RoundTripsAConversation) {
  TempDir dir;
  ConversationStore store(dir.path() / "history.sqlite3");
  store.start_session({.id = "s1", .started_at_ms = 5000, .client = {{"peer", "127.0.0.1:5000"}}});
  const Utterance said = store.add_utterance({.session_id = "s1",
                                              .text = "mail Bob that I am late",
                                              .audio_start_ms = 100,
                                              .audio_end_ms = 1900,
                                              .timings = {{"endpoint_ms", 600}, {"stt_ms", 210}},
                                              .created_at_ms = 6000});
  const AgentTurn answer = store.add_agent_turn({.session_id = "s1",
                                                 .utterance_id = said.id,
                                                 .text = "Sending it now.",
                                                 .source = TurnSource::intent_parser,
                                                 .timings = {{"agent_ms", 12}},
                                                 .created_at_ms = 6000});
  const ToolCall call = store.add_tool_call(
      {.turn_id = answer.id, .name = "send_email", .arguments = {{"to", "bob@example.com"}}});
  EXPECT_EQ(call.status, ToolCallStatus::proposed);
  EXPECT_TRUE(store.update_tool_call(
      call.id, {.status = ToolCallStatus::done, .result = "sent", .duration_ms = 340}));
  EXPECT_FALSE(store.update_tool_call(call.id + 100, {}));
  // Typed input: no utterance, no audio.
  store.add_agent_turn({.session_id = "s1", .text = "Anything else?", .created_at_ms = 7000});
  EXPECT_TRUE(store.end_session("s1", 8000));
  EXPECT_FALSE(store.end_session("nope"));

  const std::optional<Conversation> conversation = store.conversation("s1");
  ASSERT_TRUE(conversation);
  EXPECT_EQ(conversation->session.ended_at_ms, 8000);
  ASSERT_EQ(conversation->events.size(), 3U);
  const auto& utterance = std::get<Utterance>(conversation->events[0]);
  EXPECT_EQ(utterance.text, "mail Bob that I am late");
  EXPECT_EQ(utterance.audio_end_ms, 1900);
  EXPECT_EQ(utterance.timings["stt_ms"], 210);
  const auto& turn = std::get<AssistantTurn>(conversation->events[1]);
  EXPECT_EQ(turn.turn.utterance_id, said.id);
  EXPECT_EQ(turn.turn.source, TurnSource::intent_parser);
  ASSERT_EQ(turn.tool_calls.size(), 1U);
  EXPECT_EQ(turn.tool_calls[0].name, "send_email");
  EXPECT_EQ(turn.tool_calls[0].arguments["to"], "bob@example.com");
  EXPECT_EQ(turn.tool_calls[0].result, "sent");
  EXPECT_EQ(turn.tool_calls[0].status, ToolCallStatus::done);
  EXPECT_EQ(turn.tool_calls[0].duration_ms, 340);
  EXPECT_EQ(std::get<AssistantTurn>(conversation->events[2]).turn.text, "Anything else?");

  const nlohmann::json json = to_json(*conversation);
  EXPECT_EQ(json["session"]["id"], "s1");
  EXPECT_EQ(json["events"][0]["type"], "user");
  EXPECT_EQ(json["events"][1]["type"], "assistant");
  EXPECT_EQ(json["events"][1]["tool_calls"][0]["status"], "done");
  EXPECT_EQ(json["events"][2]["utterance_id"], nullptr);

  const std::vector<SessionSummary> sessions = store.list_sessions(10);
  ASSERT_EQ(sessions.size(), 1U);
  EXPECT_EQ(sessions[0].utterances, 1);
  EXPECT_EQ(sessions[0].agent_turns, 2);
  EXPECT_FALSE(store.conversation("unknown"));
}

TEST(ConversationStore, RejectsRowsOfAnUnknownSession) {
  TempDir dir;
  ConversationStore store(dir.path() / "history.sqlite3");
  EXPECT_THROW(store.add_utterance({.session_id = "nope", .text = "hi"}), StoreError);
  EXPECT_THROW(store.start_session({}), StoreError);
  store.start_session({.id = "s"});
  EXPECT_THROW(store.start_session({.id = "s"}), StoreError);
}

TEST(ConversationStore, ListsTheNewestSessionsFirstUpToTheLimit) {
  TempDir dir;
  ConversationStore store(dir.path() / "history.sqlite3");
  for (int i = 1; i <= 5; ++i) {
    store.start_session({.id = "s" + std::to_string(i), .started_at_ms = i * 1000});
  }
  const std::vector<SessionSummary> sessions = store.list_sessions(2);
  ASSERT_EQ(sessions.size(), 2U);
  EXPECT_EQ(sessions[0].session.id, "s5");
  EXPECT_EQ(sessions[1].session.id, "s4");
}

TEST(ConversationStore, TakesWritesFromManyThreadsAndConnections) {
  TempDir dir;
  const auto path = dir.path() / "history.sqlite3";
  ConversationStore shared(path);
  ConversationStore other(path);  // a second connection, as a second process would have
  constexpr int kThreads = 8;
  constexpr int kTurnsEach = 50;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      ConversationStore& store = t % 2 == 0 ? shared : other;
      const std::string id = "session-" + std::to_string(t);
      store.start_session({.id = id});
      for (int i = 0; i < kTurnsEach; ++i) {
        const Utterance said = store.add_utterance({.session_id = id, .text = std::to_string(i)});
        const AgentTurn turn =
            store.add_agent_turn({.session_id = id, .utterance_id = said.id, .text = "ok"});
        store.add_tool_call({.turn_id = turn.id, .name = "echo"});
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  const std::vector<SessionSummary> sessions = shared.list_sessions(100);
  ASSERT_EQ(sessions.size(), static_cast<std::size_t>(kThreads));
  for (const SessionSummary& summary : sessions) {
    EXPECT_EQ(summary.utterances, kTurnsEach);
    EXPECT_EQ(summary.agent_turns, kTurnsEach);
    const std::optional<Conversation> conversation = other.conversation(summary.session.id);
    ASSERT_TRUE(conversation);
    ASSERT_EQ(conversation->events.size(), 2U * kTurnsEach);
    for (std::size_t i = 0; i < conversation->events.size(); i += 2) {
      EXPECT_EQ(std::get<Utterance>(conversation->events[i]).text, std::to_string(i / 2));
      EXPECT_EQ(std::get<AssistantTurn>(conversation->events[i + 1]).tool_calls.size(), 1U);
    }
  }
}

}  // namespace
}  // namespace voicedesk::store
