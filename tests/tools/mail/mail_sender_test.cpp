#include "tools/mail/mail_sender.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <regex>
#include <set>

#include "app/config_schema.hpp"
#include "tools/mail/smtp_test_server.hpp"
#include "tools/tool.hpp"
#include "util/config.hpp"
#include "util/config_error.hpp"

namespace voicedesk::tools::mail {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using test_support::SmtpServerOptions;
using test_support::TempDir;
using test_support::TestCertificate;
using test_support::TestSmtpServer;
using ::testing::HasSubstr;

class NullContext : public ToolContext {
 public:
  void progress(double, std::optional<double>, const std::string&) override {}
  void log(LogLevel, const json&) override {}
  json ask_client(const std::string&, const json&) override { return {}; }
  const std::atomic<bool>& cancelled() const override { return cancelled_; }

 private:
  std::atomic<bool> cancelled_{false};
};

ToolResult call(MailSender& sender, const std::string& tool, const json& arguments) {
  NullContext context;
  for (const Tool& candidate : sender.tools()) {
    if (candidate.spec.name == tool) return candidate.call(arguments, context);
  }
  throw std::logic_error("no tool " + tool);
}

std::string text_of(const ToolResult& result) {
  return result.content.at(0).at("text").get<std::string>();
}

std::string unix_lines(std::string text) {
  return std::regex_replace(text, std::regex("\r\n"), "\n");
}

class MailSenderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (const std::string why = test_support::smtp_server_missing(); !why.empty()) {
      GTEST_SKIP() << "no SMTP test server: " << why;
    }
  }

  MailSenderOptions options_for(int port, SmtpSecurity security = SmtpSecurity::none) const {
    MailSenderOptions options;
    options.smtp.host = "127.0.0.1";
    options.smtp.port = port;
    options.smtp.security = security;
    options.smtp.timeout = 5s;
    options.from = "Voice Desk <desk@example.com>";
    options.outbox_path = dir_.path() / "outbox" / "outbox.sqlite3";
    options.retry.first_delay = 50ms;
    options.retry.max_delay = 200ms;
    options.retry.max_attempts = 4;
    options.retry.poll_interval = 100ms;
    options.tool_wait = 3s;
    return options;
  }

  static OutgoingMail simple_mail(const std::string& to = "bob@example.org") {
    OutgoingMail mail;
    mail.to = {to};
    mail.subject = "Test";
    mail.body = "Hello\n";
    return mail;
  }

  TempDir dir_;
};

TEST_F(MailSenderTest, SendEmailDeliversUtf8SubjectAndBodyIntact) {
  TestSmtpServer server(dir_.path() / "smtp", {});
  MailSender sender(options_for(server.port()));
  const std::string subject =
      "Grüße aus Köln — 東京の会議について ✓ with a fairly long tail so that it folds";
  const std::string body =
      "Hallo Bob,\n\nPrüfung: äöüß €, 東京, 🎉.\n.\nFrom the start of a line\nA long line: " +
      std::string(120, 'z') + " end\ntrailing space \n";
  const ToolResult result =
      call(sender, "send_email",
           {{"subject", subject}, {"body", body}, {"to_email", "Bob <bob@example.org>"}});
  ASSERT_FALSE(result.is_error) << text_of(result);
  EXPECT_EQ(result.structured.at("status"), "sent");
  EXPECT_THAT(text_of(result), HasSubstr("Email sent to bob@example.org"));

  const auto received = server.wait_for(1);
  ASSERT_EQ(received.size(), 1u);
  const json& record = received[0];
  EXPECT_EQ(record.at("subject"), subject);
  EXPECT_EQ(unix_lines(record.at("body")), body);
  EXPECT_EQ(record.at("message_id"), result.structured.at("message_id"));
  EXPECT_EQ(record.at("mail_from"), "desk@example.com");
  EXPECT_EQ(record.at("rcpt_tos"), json::array({"bob@example.org"}));
  EXPECT_EQ(record.at("from"), "Voice Desk <desk@example.com>");
  EXPECT_EQ(record.at("to"), "Bob <bob@example.org>");
  EXPECT_TRUE(record.at("defects").empty()) << record.dump();
  const std::string raw = server.raw_of(server.files(".json")[0]);
  EXPECT_EQ(std::regex_replace(raw, std::regex("\r\n"), "").find_first_of("\r\n"),
            std::string::npos);
  for (std::size_t start = 0, end; (end = raw.find("\r\n", start)) != std::string::npos;
       start = end + 2) {
    EXPECT_LE(end - start, 78u) << raw.substr(start, end - start);
  }
}

TEST_F(MailSenderTest, MostlyNonAsciiBodyAndCcArrive) {
  TestSmtpServer server(dir_.path() / "smtp", {});
  MailSender sender(options_for(server.port()));
  const std::string body = "東京の会議について、明日の予定を確認します。よろしくお願いします。";
  const ToolResult result = call(sender, "send_email",
                                 {{"subject", "予定"},
                                  {"body", body},
                                  {"to_email", "bob@example.org"},
                                  {"cc", {"Zoë <zoe@example.net>"}}});
  ASSERT_EQ(result.structured.at("status"), "sent") << text_of(result);
  const auto received = server.wait_for(1);
  ASSERT_EQ(received.size(), 1u);
  EXPECT_EQ(received[0].at("body"), body);
  EXPECT_EQ(received[0].at("subject"), "予定");
  EXPECT_EQ(received[0].at("cc"), "Zoë <zoe@example.net>");
  EXPECT_EQ(received[0].at("rcpt_tos"), json::array({"bob@example.org", "zoe@example.net"}));
}

TEST_F(MailSenderTest, StartTlsWithAuthAndTheTestCa) {
  const TestCertificate certificate = TestCertificate::create(dir_.path());
  TestSmtpServer server(dir_.path() / "smtp", {.certificate = certificate, .auth = "desk:s3cret"});
  MailSenderOptions options = options_for(server.port(), SmtpSecurity::starttls);
  options.smtp.ca_file = certificate.cert.string();
  options.smtp.username = "desk";
  options.smtp.password = "s3cret";
  MailSender sender(options);
  const OutboxEntry entry = sender.enqueue(simple_mail());
  const auto done = sender.wait(entry.id, 5s);
  ASSERT_TRUE(done);
  EXPECT_EQ(done->state, OutboxState::sent) << done->last_error;
  const auto received = server.wait_for(1);
  ASSERT_EQ(received.size(), 1u);
  EXPECT_TRUE(received[0].at("tls"));
  EXPECT_TRUE(received[0].at("authenticated"));
}

TEST_F(MailSenderTest, ImplicitTlsWithAuth) {
  const TestCertificate certificate = TestCertificate::create(dir_.path());
  TestSmtpServer server(dir_.path() / "smtp",
                        {.certificate = certificate, .implicit_tls = true, .auth = "desk:s3cret"});
  MailSenderOptions options = options_for(server.port(), SmtpSecurity::implicit_tls);
  options.smtp.ca_file = certificate.cert.string();
  options.smtp.username = "desk";
  options.smtp.password = "s3cret";
  MailSender sender(options);
  const auto done = sender.wait(sender.enqueue(simple_mail()).id, 5s);
  ASSERT_TRUE(done);
  EXPECT_EQ(done->state, OutboxState::sent) << done->last_error;
  const auto received = server.wait_for(1);
  ASSERT_EQ(received.size(), 1u);
  EXPECT_TRUE(received[0].at("tls"));
  EXPECT_TRUE(received[0].at("authenticated"));
}

TEST_F(MailSenderTest, WrongPasswordFailsAtOnceWithTheReason) {
  const TestCertificate certificate = TestCertificate::create(dir_.path());
  TestSmtpServer server(dir_.path() / "smtp", {.certificate = certificate, .auth = "desk:s3cret"});
  MailSenderOptions options = options_for(server.port(), SmtpSecurity::starttls);
  options.smtp.ca_file = certificate.cert.string();
  options.smtp.username = "desk";
  options.smtp.password = "wrong";
  MailSender sender(options);
  const ToolResult result = call(
      sender, "send_email", {{"subject", "x"}, {"body", "y"}, {"to_email", "bob@example.org"}});
  EXPECT_TRUE(result.is_error);
  EXPECT_EQ(result.structured.at("status"), "failed");
  EXPECT_THAT(text_of(result), HasSubstr("refused the login of user \"desk\""));
  EXPECT_THAT(result.structured.at("error").get<std::string>(), HasSubstr("535"));
  EXPECT_EQ(result.structured.at("attempts"), 1);
  std::this_thread::sleep_for(300ms);  // several retry delays: nothing more happens
  EXPECT_EQ(sender.status(result.structured.at("id"))->attempts, 1);
  EXPECT_EQ(sender.pending(), 0);
  EXPECT_TRUE(server.received().empty());
}

TEST_F(MailSenderTest, UntrustedCertificateFailsAtOnce) {
  const TestCertificate certificate = TestCertificate::create(dir_.path());
  TestSmtpServer server(dir_.path() / "smtp", {.certificate = certificate});
  MailSender sender(options_for(server.port(), SmtpSecurity::starttls));  // system CAs only
  const auto done = sender.wait(sender.enqueue(simple_mail()).id, 5s);
  ASSERT_TRUE(done);
  EXPECT_EQ(done->state, OutboxState::failed);
  EXPECT_EQ(done->attempts, 1);
  EXPECT_THAT(done->last_error, HasSubstr("certificate"));
}

TEST_F(MailSenderTest, RejectedRecipientFailsAtOnceTemporaryFailureGivesUpAfterMaxAttempts) {
  TestSmtpServer server(dir_.path() / "smtp", {});
  MailSender sender(options_for(server.port()));
  const auto rejected = sender.wait(sender.enqueue(simple_mail("reject@example.org")).id, 5s);
  ASSERT_TRUE(rejected);
  EXPECT_EQ(rejected->state, OutboxState::failed);
  EXPECT_EQ(rejected->attempts, 1);
  EXPECT_THAT(rejected->last_error, HasSubstr("550"));

  const OutboxEntry deferred = sender.enqueue(simple_mail("tempfail@example.org"));
  const auto first = sender.wait(deferred.id, 5s);
  ASSERT_TRUE(first);
  EXPECT_EQ(first->state, OutboxState::queued);
  EXPECT_THAT(first->last_error, HasSubstr("451"));
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  while (sender.status(deferred.id)->state != OutboxState::failed &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(20ms);
  }
  const OutboxEntry given_up = *sender.status(deferred.id);
  EXPECT_EQ(given_up.state, OutboxState::failed);
  EXPECT_EQ(given_up.attempts, 4);
  EXPECT_THAT(given_up.last_error, HasSubstr("gave up after 4 attempts"));
}

TEST_F(MailSenderTest, ServerDownKeepsMailQueuedUntilItIsUpAcrossARestart) {
  const int port = test_support::free_tcp_port();
  MailSenderOptions options = options_for(port);
  options.retry.max_attempts = 1000;  // keep retrying while the server starts
  std::set<std::string> sent_ids;
  {
    MailSender sender(options);
    const ToolResult result = call(
        sender, "send_email", {{"subject", "one"}, {"body", "1"}, {"to_email", "bob@example.org"}});
    EXPECT_FALSE(result.is_error);
    EXPECT_EQ(result.structured.at("status"), "queued");
    EXPECT_THAT(text_of(result), HasSubstr("will be sent automatically"));
    EXPECT_FALSE(result.structured.at("error").get<std::string>().empty());
    sent_ids.insert(result.structured.at("message_id").get<std::string>());

    // The server comes up while this process runs: the next retry delivers.
    TestSmtpServer server(dir_.path() / "smtp1", {.port = port});
    const auto deadline = std::chrono::steady_clock::now() + 5s;
    while (sender.status(result.structured.at("id"))->state != OutboxState::sent &&
           std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(20ms);
    }
    const OutboxEntry first = *sender.status(result.structured.at("id"));
    EXPECT_EQ(first.state, OutboxState::sent) << first.last_error;
    server.stop();
    EXPECT_EQ(server.received().size(), 1u);

    // Down again: the next mail waits in the outbox when the process ends.
    const OutboxEntry second = sender.enqueue(simple_mail());
    sent_ids.insert(second.message_id);
    EXPECT_EQ(sender.wait(second.id, 3s)->state, OutboxState::queued);
  }
  TestSmtpServer server(dir_.path() / "smtp2", {.port = port});
  MailSender restarted(options);
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  while (restarted.pending() > 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(20ms);
  }
  EXPECT_EQ(restarted.pending(), 0);
  std::this_thread::sleep_for(200ms);
  const auto received = server.received();
  ASSERT_EQ(received.size(), 1u);
  EXPECT_EQ(received[0].at("subject"), "Test");
  EXPECT_TRUE(sent_ids.count(received[0].at("message_id")));
}

TEST_F(MailSenderTest, KilledMidQueueThenRestartedDeliversEveryMessageExactlyOnce) {
  TestSmtpServer server(dir_.path() / "smtp", {.delay_s = 0.3});
  const std::string db = (dir_.path() / "crash.sqlite3").string();
  const std::string port = std::to_string(server.port());
  constexpr int kMessages = 8;
  {
    test_support::ChildProcess child({VOICEDESK_OUTBOX_CHILD, db, port, std::to_string(kMessages)},
                                     dir_.path() / "child1.log");
    // Kill it while the server holds the third message's data: the first two
    // are stored (and committed as sent), the third is in flight.
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (server.files(".started").size() < 3 && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(5ms);
    }
    ASSERT_EQ(server.files(".started").size(), 3u) << child.log_text();
    child.stop(SIGKILL);
  }
  std::this_thread::sleep_for(500ms);  // longer than the server's delay
  EXPECT_EQ(server.files(".json").size(), 2u) << "the server stored the interrupted transfer";

  test_support::ChildProcess drain({VOICEDESK_OUTBOX_CHILD, db, port, "0"},
                                   dir_.path() / "child2.log");
  const auto deadline = std::chrono::steady_clock::now() + 15s;
  while (drain.running() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(20ms);
  }
  EXPECT_THAT(drain.log_text(), HasSubstr("drained"));

  std::map<std::string, int> copies_by_id;
  std::set<std::string> subjects;
  for (const json& record : server.received()) {
    ++copies_by_id[record.at("message_id").get<std::string>()];
    subjects.insert(record.at("subject").get<std::string>());
  }
  EXPECT_EQ(copies_by_id.size(), static_cast<std::size_t>(kMessages));
  for (const auto& [id, copies] : copies_by_id) EXPECT_EQ(copies, 1) << id;
  EXPECT_EQ(subjects.size(), static_cast<std::size_t>(kMessages));

  // The outbox knows which one was interrupted and resent.
  MailSenderOptions options = options_for(server.port());
  options.outbox_path = db;
  MailSender inspector(options);
  int interrupted = 0;
  for (int id = 1; id <= kMessages; ++id) {
    const auto entry = inspector.status(id);
    ASSERT_TRUE(entry);
    EXPECT_EQ(entry->state, OutboxState::sent);
    interrupted += entry->interrupted;
  }
  EXPECT_EQ(interrupted, 1);
}

TEST_F(MailSenderTest, OutboxStatusReportsAnEntry) {
  TestSmtpServer server(dir_.path() / "smtp", {});
  MailSender sender(options_for(server.port()));
  const OutboxEntry entry = sender.enqueue(simple_mail());
  sender.wait(entry.id, 5s);
  const ToolResult status = call(sender, "outbox_status", {{"id", entry.id}});
  EXPECT_EQ(status.structured.at("status"), "sent");
  EXPECT_EQ(status.structured.at("message_id"), entry.message_id);
  EXPECT_THROW(call(sender, "outbox_status", {{"id", 999}}), ToolError);
}

// No server needed: bad arguments never reach the outbox.
TEST(SendEmailTool, RejectsHeaderInjectionAndBadAddressesNamingTheArgument) {
  TempDir dir;
  MailSenderOptions options;
  options.smtp.host = "127.0.0.1";
  options.smtp.port = test_support::free_tcp_port();
  options.smtp.security = SmtpSecurity::none;
  options.from = "desk@example.com";
  options.outbox_path = dir.path() / "outbox.sqlite3";
  MailSender sender(options);
  const auto rejects = [&](const json& arguments, const std::string& field) {
    try {
      call(sender, "send_email", arguments);
      ADD_FAILURE() << "accepted " << arguments.dump();
    } catch (const ToolError& e) {
      EXPECT_THAT(e.what(), ::testing::StartsWith(field + ":")) << e.what();
    }
  };
  const auto with = [](const std::string& key, json value) {
    json arguments = {{"subject", "s"}, {"body", "b"}, {"to_email", "bob@example.org"}};
    arguments[key] = std::move(value);
    return arguments;
  };
  rejects(with("to_email", "bob@example.org\r\nBcc: eve@evil.example"), "to_email");
  rejects(with("to_email", "bob@example.org, eve@evil.example"), "to_email");
  rejects(with("to_email", "not an address"), "to_email");
  rejects(with("subject", "s\r\nBcc: eve@evil.example"), "subject");
  rejects(with("cc", {"eve@evil.example\nX: y"}), "cc");
  rejects(with("body", "\xFF"), "body");
  EXPECT_FALSE(sender.status(1));
  EXPECT_EQ(sender.pending(), 0);
}

util::Config schema_config(const std::vector<std::pair<std::string, std::string>>& values) {
  util::Config config(app::config_schema());
  for (const auto& [key, value] : values) config.apply_override(key, value);
  return config;
}

TEST(MailSenderConfig, ReadsTheMailKeys) {
  auto options =
      MailSenderOptions::from_config(schema_config({{"MAIL_HOST", "smtp.example.com"},
                                                    {"MAIL_USERNAME", "me@example.com"},
                                                    {"MAIL_PASSWORD", "pw"},
                                                    {"VOICEDESK_OUTBOX_PATH", "/tmp/o.db"}}));
  EXPECT_EQ(options.smtp.security, SmtpSecurity::starttls);
  EXPECT_EQ(options.smtp.port, 587);
  EXPECT_EQ(options.smtp.url(), "smtp://smtp.example.com:587");
  EXPECT_EQ(options.from, "me@example.com");
  EXPECT_EQ(options.outbox_path, "/tmp/o.db");

  options =
      MailSenderOptions::from_config(schema_config({{"MAIL_HOST", "smtp.example.com"},
                                                    {"MAIL_ENCRYPTION", "ssl"},
                                                    {"MAIL_FROM_ADDRESS", "desk@example.com"},
                                                    {"MAIL_FROM_NAME", "Voice \"Desk\""},
                                                    {"VOICEDESK_MAIL_CA_FILE", "/tmp/ca.pem"}}));
  EXPECT_EQ(options.smtp.security, SmtpSecurity::implicit_tls);
  EXPECT_EQ(options.smtp.url(), "smtps://smtp.example.com:465");
  EXPECT_EQ(options.smtp.ca_file, "/tmp/ca.pem");
  EXPECT_EQ(options.from, R"("Voice \"Desk\"" <desk@example.com>)");
  EXPECT_EQ(parse_address(options.from, "from").display_name, "Voice \"Desk\"");

  options = MailSenderOptions::from_config(schema_config(
      {{"MAIL_HOST", "smtp.example.com"}, {"MAIL_PORT", "465"}, {"MAIL_FROM_ADDRESS", "a@b.org"}}));
  EXPECT_EQ(options.smtp.security, SmtpSecurity::implicit_tls);
  options = MailSenderOptions::from_config(schema_config({{"MAIL_HOST", "localhost"},
                                                          {"MAIL_ENCRYPTION", "none"},
                                                          {"MAIL_PASSWORD", "pw"},
                                                          {"MAIL_FROM_ADDRESS", "a@b.org"}}));
  EXPECT_EQ(options.smtp.url(), "smtp://localhost:25");
}

TEST(MailSenderConfig, RefusesUnsafeOrIncompleteSettings) {
  EXPECT_FALSE(MailSender::configured(schema_config({})));
  EXPECT_THROW(MailSenderOptions::from_config(schema_config({{"MAIL_FROM_ADDRESS", "a@b.org"}})),
               util::ConfigError);
  EXPECT_THROW(MailSenderOptions::from_config(schema_config({{"MAIL_HOST", "smtp.example.com"}})),
               util::ConfigError);  // no sender
  EXPECT_THROW(MailSenderOptions::from_config(schema_config({{"MAIL_HOST", "smtp.example.com"},
                                                             {"MAIL_ENCRYPTION", "none"},
                                                             {"MAIL_USERNAME", "me"},
                                                             {"MAIL_PASSWORD", "pw"},
                                                             {"MAIL_FROM_ADDRESS", "a@b.org"}})),
               util::ConfigError);  // the password would cross the network in clear
  EXPECT_NO_THROW(
      MailSenderOptions::from_config(schema_config({{"MAIL_HOST", "relay.lan"},
                                                    {"MAIL_ENCRYPTION", "none"},
                                                    {"MAIL_FROM_ADDRESS", "a@b.org"}})));
  EXPECT_THROW(MailSenderOptions::from_config(schema_config(
                   {{"MAIL_HOST", "smtp://smtp.example.com"}, {"MAIL_FROM_ADDRESS", "a@b.org"}})),
               util::ConfigError);
  EXPECT_THROW(MailSender(schema_config(
                   {{"MAIL_HOST", "smtp.example.com"}, {"MAIL_FROM_ADDRESS", "not-an-address"}})),
               util::ConfigError);
}

}  // namespace
}  // namespace voicedesk::tools::mail
