#include "agent/conversation_runner.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <condition_variable>
#include <thread>

#include "agent/fake_workspace.hpp"

namespace voicedesk::agent {
namespace {

using nlohmann::json;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

// Records what the runner sends and speaks, and lets a test wait for it.
class RecordingSink final : public ReplySink {
 public:
  void send_event(const std::string& session_id, const json& event) override {
    std::lock_guard lock(mutex_);
    events_.emplace_back(session_id, event);
    changed_.notify_all();
  }
  void speak(const std::string& session_id, const std::string& text) override {
    std::lock_guard lock(mutex_);
    spoken_.push_back(session_id + ": " + text);
    changed_.notify_all();
  }
  // Waits until count texts were spoken; returns them.
  std::vector<std::string> wait_spoken(std::size_t count) {
    std::unique_lock lock(mutex_);
    changed_.wait_for(lock, std::chrono::seconds(10), [&] { return spoken_.size() >= count; });
    return spoken_;
  }
  std::vector<std::pair<std::string, json>> events() {
    std::lock_guard lock(mutex_);
    return events_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<std::pair<std::string, json>> events_;
  std::vector<std::string> spoken_;
};

AgentOptions options() {
  AgentOptions options;
  options.contacts = Contacts::parse("Alice Smith <alice@example.com>\n");
  options.today = [] {
    return std::chrono::year_month_day{std::chrono::year{2026}, std::chrono::November,
                                       std::chrono::day{25}};
  };
  return options;
}

TEST(ConversationRunner, AnswersEachTurnInOrderAndSpeaksTheFinalReply) {
  test_support::FakeWorkspace workspace;
  Agent agent(workspace.tools(), options());
  RecordingSink sink;
  std::vector<std::string> recorded;
  {
    ConversationRunner runner(
        agent, sink, [&](const std::string&, const UserTurn& turn, const AgentEvent& reply) {
          recorded.push_back(turn.text + " -> " + reply.text);  // one worker: no race
        });
    runner.submit("a", {"send an email to alice saying hi", UserTurn::Kind::typed});
    runner.submit("a", {"yes", UserTurn::Kind::confirmation});
  }  // the runner finishes queued turns before it is gone
  const auto spoken = sink.wait_spoken(2);
  ASSERT_EQ(spoken.size(), 2u);
  EXPECT_THAT(spoken[0], HasSubstr("a: Send an email to alice@example.com"));
  EXPECT_EQ(spoken[1], "a: Sent.");
  const auto events = sink.events();
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].second["type"], "agent");
  EXPECT_EQ(events[0].second["awaiting_confirmation"], true);
  EXPECT_EQ(events[1].second["tool_calls"][0]["status"], "done");
  EXPECT_GE(events[1].second["timings_ms"]["agent"].get<double>(), 0.0);
  EXPECT_THAT(recorded, ElementsAre("send an email to alice saying hi -> Send an email to "
                                    "alice@example.com with the subject \"Hi\", saying \"hi\"? "
                                    "Say yes or no.",
                                    "yes -> Sent."));
}

TEST(ConversationRunner, KeepsSessionsApart) {
  test_support::FakeWorkspace workspace;
  Agent agent(workspace.tools(), options());
  RecordingSink sink;
  ConversationRunner runner(agent, sink);
  runner.submit("a", {"send an email to alice saying hi", UserTurn::Kind::speech});
  sink.wait_spoken(1);
  runner.submit("b", {"yes", UserTurn::Kind::speech});  // b has nothing to confirm
  const auto spoken = sink.wait_spoken(2);
  EXPECT_THAT(spoken[1], HasSubstr("b: Sorry, I can't do that yet"));
  EXPECT_TRUE(workspace.calls().empty());
}

TEST(ConversationRunner, EndingASessionStillAnswersWhatWasSaidAndForgetsIt) {
  test_support::FakeWorkspace workspace;
  Agent agent(workspace.tools(), options());
  RecordingSink sink;
  {
    ConversationRunner runner(agent, sink);
    runner.submit("a", {"send an email to alice saying hi", UserTurn::Kind::speech});
    runner.end_session("a");
  }
  EXPECT_EQ(sink.wait_spoken(1).size(), 1u) << "the turn queued before the end still ran";
  ConversationRunner runner(agent, sink);
  runner.submit("a", {"yes", UserTurn::Kind::speech});  // the question was forgotten
  EXPECT_THAT(sink.wait_spoken(2).back(), HasSubstr("can't do that yet"));
  EXPECT_TRUE(workspace.calls().empty());
}

}  // namespace
}  // namespace voicedesk::agent
