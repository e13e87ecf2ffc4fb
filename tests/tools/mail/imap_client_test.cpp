#include "tools/mail/imap_client.hpp"

#include <gtest/gtest.h>

#include "tools/mail/imap_test_messages.hpp"
#include "tools/mail/imap_test_server.hpp"

namespace voicedesk::tools::mail {
namespace {

using test_support::DovecotServer;

class ImapClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!DovecotServer::available()) {
      GTEST_SKIP() << "Dovecot is not installed (/usr/sbin/dovecot); scripts/deps installs "
                      "dovecot-imapd";
    }
    for (const auto& message : test_support::sample_messages()) server_.add_message(message);
    server_.start();
  }

  ImapSettings settings() const {
    ImapSettings settings;
    settings.url = server_.url();
    settings.username = "test";
    settings.password = "secret";
    settings.timeout = std::chrono::seconds(10);
    return settings;
  }

  DovecotServer server_;
};

TEST_F(ImapClientTest, ListsNewestFirstWithinTheLimit) {
  ImapReader reader(settings());
  const auto summaries = reader.list_newest(3);
  ASSERT_EQ(summaries.size(), 3u) << server_.log();
  EXPECT_EQ(summaries[0].id, "5");
  EXPECT_EQ(summaries[0].subject, "Re: Project kickoff");
  EXPECT_EQ(summaries[0].from, "Bob <bob@example.org>");
  EXPECT_EQ(summaries[0].date, "Fri, 05 Jan 2024 13:00:00 +0000");
  EXPECT_EQ(summaries[0].snippet, "Monday works for me.");
  EXPECT_EQ(summaries[1].id, "4");
  EXPECT_EQ(summaries[1].subject, "\xE4\xBA\x88\xE5\xAE\x9A");  // 予定
  EXPECT_EQ(summaries[2].id, "3");
  EXPECT_EQ(summaries[2].subject, "R\xC3\xA9sum\xC3\xA9");
  EXPECT_EQ(summaries[2].from, "Zo\xC3\xAB <zoe@example.fr>");
  EXPECT_EQ(summaries[2].snippet,
            "Voici mon r\xC3\xA9sum\xC3\xA9, tr\xC3\xA8s d\xC3\xA9taill\xC3\xA9.");

  const auto all = reader.list_newest(50);
  ASSERT_EQ(all.size(), 5u);
  EXPECT_EQ(all[3].subject, "Caf\xC3\xA9 \xE2\x98\x95 meeting");
  EXPECT_EQ(all[3].snippet,
            "Gr\xC3\xBC\xC3\x9F"
            "e aus M\xC3\xBCnchen! Kaffee um 10?");
  EXPECT_EQ(all[4].id, "1");
}

TEST_F(ImapClientTest, ReadsMultipartNonAsciiMessages) {
  ImapReader reader(settings());
  const MailDetail multipart = reader.read("2");
  EXPECT_EQ(multipart.id, "2");
  EXPECT_EQ(multipart.from, "J\xC3\xBCrgen M\xC3\xBCller <juergen@example.de>");
  EXPECT_EQ(multipart.to, "test@example.org");
  EXPECT_EQ(multipart.subject, "Caf\xC3\xA9 \xE2\x98\x95 meeting");
  EXPECT_EQ(multipart.body,
            "Gr\xC3\xBC\xC3\x9F"
            "e aus M\xC3\xBCnchen! Kaffee um 10?");
  EXPECT_EQ(multipart.message_id, "<m2@example.de>");

  const MailDetail base64 = reader.read("4");
  EXPECT_EQ(base64.body,
            "\xE6\x98\x8E\xE6\x97\xA5\xE3\x81\xAE\xE4\xBC\x9A\xE8\xAD\xB0\xE3\x81\xAF\xE5\x8D\x88"
            "\xE5\xBE\x8C\xE3\x81\xA7\xE3\x81\x99\xE3\x80\x82");

  const MailDetail reply = reader.read("5");
  EXPECT_EQ(reply.references, (std::vector<std::string>{"<m0@example.org>", "<m1@example.org>"}));
}

TEST_F(ImapClientTest, UnknownIdsAreNoSuchMail) {
  ImapReader reader(settings());
  EXPECT_THROW(reader.read("99"), NoSuchMail);
  EXPECT_THROW(reader.read("abc"), NoSuchMail);
  EXPECT_THROW(reader.read("1:*"), NoSuchMail);
  EXPECT_THROW(reader.read("0"), NoSuchMail);
}

TEST_F(ImapClientTest, LongMessagesAreCutAtTheLimit) {
  ImapSettings limited = settings();
  limited.max_message_bytes = 200;
  const MailDetail mail = ImapReader(limited).read("2");
  EXPECT_EQ(mail.subject, "Caf\xC3\xA9 \xE2\x98\x95 meeting");
  EXPECT_LT(mail.body.size(), 200u);
}

TEST_F(ImapClientTest, WrongPasswordAndMissingMailboxAreErrors) {
  ImapSettings wrong = settings();
  wrong.password = "nope";
  try {
    ImapReader(wrong).list_newest(5);
    FAIL() << "expected MailError";
  } catch (const MailError& e) {
    EXPECT_EQ(std::string(e.what()).find("nope"), std::string::npos);
  }
  ImapSettings missing = settings();
  missing.url = server_.url("NoSuchBox");
  EXPECT_THROW(ImapReader(missing).list_newest(5), MailError);
}

TEST(ImapReaderSettings, RejectsOtherSchemes) {
  ImapSettings settings;
  settings.url = "http://example.org/";
  EXPECT_THROW(ImapReader{settings}, MailError);
  settings.url = "not a url";
  EXPECT_THROW(ImapReader{settings}, MailError);
}

TEST(ImapReaderSettings, RefusesPlainImapToARemoteHost) {
  // A port nothing listens on: STARTTLS is required before anything is sent,
  // so the call fails (connection refused) rather than logging in in clear.
  ImapSettings settings;
  settings.url = "imap://192.0.2.1:1/INBOX";
  settings.timeout = std::chrono::milliseconds(300);
  EXPECT_THROW(ImapReader(settings).list_newest(1), MailError);
}

}  // namespace
}  // namespace voicedesk::tools::mail
