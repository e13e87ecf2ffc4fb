#include <gtest/gtest.h>

#include "app/config_schema.hpp"
#include "tools/json_schema.hpp"
#include "tools/mail/imap_test_messages.hpp"
#include "tools/mail/imap_test_server.hpp"
#include "tools/mail/read_tools.hpp"

namespace voicedesk::tools::mail {
namespace {

using nlohmann::json;
using test_support::DovecotServer;

class NullContext final : public ToolContext {
 public:
  void progress(double, std::optional<double>, const std::string&) override {}
  void log(LogLevel, const json&) override {}
  json ask_client(const std::string&, const json&) override {
    throw ClientRequestError("no client");
  }
  const std::atomic<bool>& cancelled() const override { return cancelled_; }

 private:
  std::atomic<bool> cancelled_{false};
};

const Tool& find_tool(const std::vector<Tool>& tools, const std::string& name) {
  for (const Tool& tool : tools) {
    if (tool.spec.name == name) return tool;
  }
  throw std::runtime_error("no tool " + name);
}

// Calls a tool as the MCP server would: arguments checked against its input
// schema, the structured result against its output schema.
json call(const std::vector<Tool>& tools, const std::string& name, const json& arguments) {
  const Tool& tool = find_tool(tools, name);
  if (auto problem = validate(tool.spec.input_schema, arguments)) {
    throw std::runtime_error("invalid arguments: " + *problem);
  }
  NullContext context;
  const ToolResult result = tool.call(arguments, context);
  if (auto problem = validate(tool.spec.output_schema, result.structured)) {
    throw std::runtime_error("invalid output: " + *problem);
  }
  return result.structured;
}

class ImapReadToolsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!DovecotServer::available()) {
      GTEST_SKIP() << "Dovecot is not installed (/usr/sbin/dovecot); scripts/deps installs "
                      "dovecot-imapd";
    }
    for (const auto& message : test_support::sample_messages()) server_.add_message(message);
    server_.start();
    util::Config config(app::config_schema());
    config.apply_override("VOICEDESK_IMAP_URL", server_.url());
    // The IMAP login falls back to the SMTP account's keys.
    config.apply_override("MAIL_USERNAME", "test");
    config.apply_override("MAIL_PASSWORD", "secret");
    tools_ = make_read_tools(config, [this](const OutgoingMail& mail) {
      sent_.push_back(mail);
      return json{{"status", "sent"}, {"id", 1}, {"message_id", "<reply@voicedesk>"}};
    });
  }

  DovecotServer server_;
  std::vector<OutgoingMail> sent_;
  std::vector<Tool> tools_;
};

TEST_F(ImapReadToolsTest, ListInboxNewestFirst) {
  const json listed = call(tools_, "list_inbox", {{"limit", 2}});
  ASSERT_EQ(listed["emails"].size(), 2u);
  EXPECT_EQ(listed["emails"][0]["id"], "5");
  EXPECT_EQ(listed["emails"][0]["from"], "Bob <bob@example.org>");
  EXPECT_EQ(listed["emails"][1]["subject"], "\xE4\xBA\x88\xE5\xAE\x9A");
  EXPECT_EQ(call(tools_, "list_inbox", json::object())["emails"].size(), 5u);
}

TEST_F(ImapReadToolsTest, ReadEmail) {
  const json mail = call(tools_, "read_email", {{"email_id", "3"}});
  EXPECT_EQ(mail["subject"], "R\xC3\xA9sum\xC3\xA9");
  EXPECT_EQ(mail["from"], "Zo\xC3\xAB <zoe@example.fr>");
  EXPECT_EQ(mail["to"], "test@example.org");
  EXPECT_EQ(mail["body"], "Voici mon r\xC3\xA9sum\xC3\xA9, tr\xC3\xA8s d\xC3\xA9taill\xC3\xA9.\n");
  EXPECT_EQ(mail["message_id"], "<m3@example.fr>");
  EXPECT_EQ(call(tools_, "read_email", {{"email_id", 3}})["id"], "3");
}

TEST_F(ImapReadToolsTest, ReplyIsThreaded) {
  const json result =
      call(tools_, "reply_to_email", {{"email_id", "5"}, {"body", "See you Monday."}});
  EXPECT_EQ(result["status"], "sent");
  ASSERT_EQ(sent_.size(), 1u);
  const OutgoingMail& reply = sent_[0];
  EXPECT_EQ(reply.to, std::vector<std::string>{"Bob <bob@example.org>"});
  EXPECT_EQ(reply.subject, "Re: Project kickoff");  // no "Re: Re:"
  EXPECT_EQ(reply.body, "See you Monday.");
  EXPECT_EQ(reply.in_reply_to, "<m5@example.org>");
  EXPECT_EQ(reply.references,
            (std::vector<std::string>{"<m0@example.org>", "<m1@example.org>", "<m5@example.org>"}));

  call(tools_, "reply_to_email", {{"email_id", "2"}, {"body", "Ja!"}});
  ASSERT_EQ(sent_.size(), 2u);
  EXPECT_EQ(sent_[1].to,
            std::vector<std::string>{"J\xC3\xBCrgen M\xC3\xBCller <juergen@example.de>"});
  EXPECT_EQ(sent_[1].subject, "Re: Caf\xC3\xA9 \xE2\x98\x95 meeting");
  EXPECT_EQ(sent_[1].in_reply_to, "<m2@example.de>");
  EXPECT_EQ(sent_[1].references, std::vector<std::string>{"<m2@example.de>"});
}

TEST_F(ImapReadToolsTest, BadIdsAreToolErrorsNamingTheField) {
  NullContext context;
  try {
    find_tool(tools_, "read_email").call({{"email_id", "42"}}, context);
    FAIL() << "expected ToolError";
  } catch (const ToolError& e) {
    EXPECT_EQ(std::string(e.what()).rfind("email_id:", 0), 0u) << e.what();
  }
  EXPECT_THROW(
      find_tool(tools_, "reply_to_email").call({{"email_id", "1"}, {"body", " "}}, context),
      ToolError);
  EXPECT_TRUE(sent_.empty());
}

TEST(ReadTools, UnconfiguredMailSaysHowToConfigure) {
  util::Config config(app::config_schema());
  const auto tools = make_read_tools(config, nullptr);
  ASSERT_EQ(tools.size(), 3u);
  NullContext context;
  for (const Tool& tool : tools) {
    try {
      tool.call({{"email_id", "1"}, {"body", "x"}}, context);
      FAIL() << tool.spec.name << " should fail";
    } catch (const ToolError& e) {
      EXPECT_NE(std::string(e.what()).find("VOICEDESK_IMAP_URL"), std::string::npos);
    }
  }
}

TEST(ReadTools, BadImapUrlIsAConfigError) {
  util::Config config(app::config_schema());
  config.apply_override("VOICEDESK_IMAP_URL", "pop3://mail.example.org");
  EXPECT_THROW(make_read_tools(config, nullptr), util::ConfigError);
}

TEST(ReadTools, ReplySubjectAndRecipient) {
  MailDetail original;
  original.from = "Alice <alice@example.org>";
  original.reply_to = "\"List, The\" <list@example.org>";
  original.subject = "  RE: status";
  const OutgoingMail reply = build_reply(original, "ok");
  EXPECT_EQ(reply.to, std::vector<std::string>{"list@example.org"});
  EXPECT_EQ(reply.subject, "RE: status");
  EXPECT_TRUE(reply.in_reply_to.empty());
  EXPECT_TRUE(reply.references.empty());
  original.subject = "";
  EXPECT_EQ(build_reply(original, "ok").subject, "Re: ");
}

}  // namespace
}  // namespace voicedesk::tools::mail
