#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <mutex>
#include <thread>

#include "agent/agent.hpp"
#include "agent/fake_workspace.hpp"
#include "agent/openai_test_server.hpp"

namespace voicedesk::agent {
namespace {

using nlohmann::json;
using test_support::FakeWorkspace;
using test_support::OpenAiTestServer;
using ::testing::HasSubstr;

constexpr std::chrono::year_month_day kToday{std::chrono::year{2026}, std::chrono::November,
                                             std::chrono::day{25}};

AgentOptions parser_options() {
  AgentOptions options;
  options.contacts = Contacts::parse("Alice Smith <alice@example.com>\n");
  options.today = [] { return kToday; };
  return options;
}

// Runs one utterance and returns every event, the final one last.
std::vector<AgentEvent> say(Agent& agent, const std::string& text,
                            const std::string& session = "s1") {
  std::vector<AgentEvent> events;
  agent.handle(session, text, [&](const AgentEvent& event) { events.push_back(event); });
  return events;
}

TEST(AgentWithoutModel, ConfirmsBeforeSendingAndSendsOnYes) {
  FakeWorkspace workspace;
  Agent agent(workspace.tools(), parser_options());
  const auto asked = say(agent, "send an email to alice saying the report is ready");
  ASSERT_EQ(asked.size(), 1u);
  EXPECT_TRUE(asked[0].final);
  EXPECT_TRUE(asked[0].awaiting_confirmation);
  EXPECT_THAT(asked[0].text, HasSubstr("alice@example.com"));
  ASSERT_EQ(asked[0].tool_calls.size(), 1u);
  EXPECT_EQ(asked[0].tool_calls[0].status, "proposed");
  EXPECT_TRUE(workspace.calls().empty()) << "nothing is sent before the yes";

  const auto done = say(agent, "yes please");
  EXPECT_EQ(done.back().text, "Sent.");
  EXPECT_FALSE(done.back().awaiting_confirmation);
  ASSERT_EQ(workspace.calls().size(), 1u);
  EXPECT_EQ(workspace.calls()[0].second["to_email"], "alice@example.com");
  EXPECT_EQ(workspace.calls()[0].second["body"], "the report is ready");
  EXPECT_EQ(done.back().tool_calls[0].status, "done");
}

TEST(AgentWithoutModel, NoCancelsAndANewCommandReplacesTheQuestion) {
  FakeWorkspace workspace;
  Agent agent(workspace.tools(), parser_options());
  say(agent, "send an email to alice saying hi");
  EXPECT_EQ(say(agent, "no").back().text, "Okay, I won't.");
  say(agent, "schedule a meeting tomorrow at 3 pm");
  const auto replaced = say(agent, "what's on my calendar today");
  EXPECT_THAT(replaced.back().text, HasSubstr("Standup at 09:00"));
  EXPECT_EQ(workspace.names(), std::vector<std::string>{"load_calendar_events"});
  say(agent, "send an email to alice saying hi");
  EXPECT_TRUE(say(agent, "hmm maybe").back().awaiting_confirmation);
}

TEST(AgentWithoutModel, AnExpiredQuestionIsForgotten) {
  FakeWorkspace workspace;
  AgentOptions options = parser_options();
  options.confirmation_timeout = std::chrono::milliseconds(1);
  Agent agent(workspace.tools(), options);
  say(agent, "send an email to alice saying hi");
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  const auto late = say(agent, "yes");
  EXPECT_TRUE(workspace.calls().empty());
  EXPECT_FALSE(late.back().awaiting_confirmation);
}

TEST(AgentWithoutModel, ReadsTheNthEmailByListingTheInbox) {
  FakeWorkspace workspace;
  Agent agent(workspace.tools(), parser_options());
  const auto events = say(agent, "read email number two");
  EXPECT_EQ(workspace.names(), (std::vector<std::string>{"list_inbox", "read_email"}));
  EXPECT_EQ(workspace.calls()[1].second["email_id"], "29");
  EXPECT_THAT(events.back().text, HasSubstr("Body of 29"));
  EXPECT_THAT(say(agent, "read email 9").back().text, HasSubstr("no email number 9"));
}

TEST(AgentWithoutModel, RepliesToTheLastEmailAfterConfirming) {
  FakeWorkspace workspace;
  Agent agent(workspace.tools(), parser_options());
  const auto asked = say(agent, "reply to the last email saying thanks");
  EXPECT_THAT(asked.back().text, HasSubstr("sender1@example.com"));
  say(agent, "yes");
  ASSERT_EQ(workspace.names(), (std::vector<std::string>{"list_inbox", "reply_to_email"}));
  EXPECT_EQ(workspace.calls()[1].second, (json{{"email_id", "30"}, {"body", "thanks"}}));
}

TEST(AgentWithoutModel, SpeaksToolErrorsAndUnknownRequests) {
  FakeWorkspace workspace;
  Agent agent(workspace.tools(), parser_options());
  EXPECT_THAT(say(agent, "search the web for fail").back().text,
              HasSubstr("web search is unavailable"));
  EXPECT_THAT(say(agent, "sing me a song").back().text, HasSubstr("can't do that yet"));
  EXPECT_THAT(say(agent, "search the web for opus").back().text, HasSubstr("1, Opus."));
}

class AgentWithModel : public ::testing::Test {
 protected:
  AgentOptions options() const {
    AgentOptions options = parser_options();
    options.llm =
        LlmOptions{.base_url = model_.base_url(), .model = "m", .api_key = model_.api_key()};
    return options;
  }
  static json tool_call(const std::string& id, const std::string& name, const json& arguments) {
    return OpenAiTestServer::delta(
        {{"tool_calls",
          {{{"index", 0},
            {"id", id},
            {"type", "function"},
            {"function", {{"name", name}, {"arguments", arguments.dump()}}}}}}});
  }
  void TearDown() override {
    EXPECT_TRUE(model_.violations().empty()) << model_.violations().front();
  }
  OpenAiTestServer model_;
};

TEST_F(AgentWithModel, RunsReadOnlyToolsAndStreamsTheAnswer) {
  FakeWorkspace workspace;
  Agent agent(workspace.tools(), options());
  model_.script({.chunks = {tool_call("c1", "list_inbox", {{"limit", 2}}),
                            OpenAiTestServer::finish("tool_calls")}});
  model_.script({.chunks = OpenAiTestServer::text_chunks({"You have ", "two emails."})});
  const auto events = say(agent, "what's new in my inbox");
  EXPECT_EQ(workspace.names(), std::vector<std::string>{"list_inbox"});
  ASSERT_GE(events.size(), 3u);
  EXPECT_FALSE(events[0].final);
  EXPECT_EQ(events.back().text, "You have two emails.");
  EXPECT_EQ(events.back().source, "llm");
  ASSERT_EQ(events.back().tool_calls.size(), 1u);
  const auto requests = model_.requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[0]["tools"].size(), 7u);
  const json second = requests[1]["messages"];
  EXPECT_EQ(second.back()["role"], "tool");
  EXPECT_EQ(second.back()["tool_call_id"], "c1");
  EXPECT_THAT(second.back()["content"].get<std::string>(), HasSubstr("sender1@example.com"));
}

TEST_F(AgentWithModel, AsksBeforeAChangeAndTellsTheModelTheOutcome) {
  FakeWorkspace workspace;
  Agent agent(workspace.tools(), options());
  const json arguments = {{"to_email", "alice@example.com"}, {"subject", "Hi"}, {"body", "Hello"}};
  model_.script({.chunks = {tool_call("c1", "send_email", arguments),
                            OpenAiTestServer::finish("tool_calls")}});
  const auto asked = say(agent, "tell alice hello");
  EXPECT_TRUE(asked.back().awaiting_confirmation);
  EXPECT_THAT(asked.back().text, HasSubstr("send an email to alice@example.com"));
  EXPECT_TRUE(workspace.calls().empty());

  model_.script({.chunks = OpenAiTestServer::text_chunks({"Done, I sent it."})});
  const auto done = say(agent, "yes");
  ASSERT_EQ(workspace.names(), std::vector<std::string>{"send_email"});
  EXPECT_EQ(workspace.calls()[0].second, arguments);
  EXPECT_EQ(done.back().text, "Done, I sent it.");

  model_.script({.chunks = {tool_call("c2", "send_email", arguments),
                            OpenAiTestServer::finish("tool_calls")}});
  say(agent, "send it again");
  EXPECT_EQ(say(agent, "no").back().text, "Okay, I won't.");
  EXPECT_EQ(workspace.calls().size(), 1u);
  model_.script({.chunks = OpenAiTestServer::text_chunks({"Sure."})});
  say(agent, "thanks");
  const json history = model_.requests().back()["messages"];
  EXPECT_THAT(history[history.size() - 2]["content"].get<std::string>(), HasSubstr("declined"));
}

TEST_F(AgentWithModel, StopsAtTheStepLimit) {
  FakeWorkspace workspace;
  AgentOptions limited = options();
  limited.max_steps = 2;
  Agent agent(workspace.tools(), limited);
  for (int i = 0; i < 2; ++i) {
    model_.script(
        {.chunks = {tool_call("c" + std::to_string(i), "load_calendar_events", json::object()),
                    OpenAiTestServer::finish("tool_calls")}});
  }
  EXPECT_THAT(say(agent, "loop").back().text, HasSubstr("2 steps"));
  EXPECT_EQ(workspace.calls().size(), 2u);
}

TEST_F(AgentWithModel, ReportsAnUnreachableModel) {
  FakeWorkspace workspace;
  AgentOptions broken = options();
  broken.llm->base_url = "http://127.0.0.1:1/v1";
  Agent agent(workspace.tools(), broken);
  EXPECT_THAT(say(agent, "hi").back().text, HasSubstr("can't reach the language model"));
}

TEST_F(AgentWithModel, TrimsTheHistoryToItsBudget) {
  FakeWorkspace workspace;
  AgentOptions small = options();
  small.history_token_budget = 40;
  Agent agent(workspace.tools(), small);
  for (int i = 0; i < 4; ++i) {
    model_.script({.chunks = OpenAiTestServer::text_chunks({std::string(60, 'x')})});
    say(agent, "message number " + std::to_string(i) + " " + std::string(60, 'y'));
  }
  const json last = model_.requests().back()["messages"];
  EXPECT_LE(last.size(), 3u) << last.dump();
  EXPECT_EQ(last[1]["role"], "user");
}

}  // namespace
}  // namespace voicedesk::agent
