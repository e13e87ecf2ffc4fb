#include "tools/mail/imap_client.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>

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

class ImapTlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!DovecotServer::available()) {
      GTEST_SKIP() << "Dovecot is not installed (/usr/sbin/dovecot); scripts/deps installs "
                      "dovecot-imapd";
    }
    if (std::system("openssl version >/dev/null 2>&1") != 0) {
      GTEST_SKIP() << "the openssl CLI is not installed (it makes the test certificates)";
    }
    for (const auto& message : test_support::sample_messages()) server_.add_message(message);
    server_.start();
  }

  ImapSettings settings(const std::string& url) const {
    ImapSettings settings;
    settings.url = url;
    settings.username = "test";
    settings.password = "secret";
    settings.ca_file = server_.ca_file().string();
    settings.timeout = std::chrono::seconds(10);
    return settings;
  }

  // The MailError a call with these settings fails with, and that it fails
  // well before the timeout.
  static std::string login_error(const ImapSettings& settings) {
    const auto start = std::chrono::steady_clock::now();
    try {
      ImapReader(settings).list_newest(5);
    } catch (const MailError& e) {
      EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
      return e.what();
    }
    ADD_FAILURE() << "expected MailError from " << settings.url;
    return {};
  }

  DovecotServer server_{DovecotServer::Tls::required};
};

void expect_sample_mailbox(ImapReader& reader, const std::string& log) {
  const auto summaries = reader.list_newest(50);
  ASSERT_EQ(summaries.size(), 5u) << log;
  EXPECT_EQ(summaries[0].subject, "Re: Project kickoff");
  EXPECT_EQ(reader.read("2").body,
            "Gr\xC3\xBC\xC3\x9F"
            "e aus M\xC3\xBCnchen! Kaffee um 10?");
}

TEST_F(ImapTlsTest, ImapsWithTheCaFileListsAndReads) {
  ImapReader reader(settings(server_.imaps_url()));
  expect_sample_mailbox(reader, server_.log());
}

TEST_F(ImapTlsTest, ImapUpgradesWithStartTls) {
  // The server refuses logins without TLS (see PlaintextLoginIsRefused...),
  // so reading mail at all means the client upgraded.
  ImapReader reader(settings(server_.url()));
  expect_sample_mailbox(reader, server_.log());
  EXPECT_NE(server_.log().find(", TLS"), std::string::npos) << server_.log();
}

TEST_F(ImapTlsTest, CertificatesFromAnotherCaAreRefused) {
  test_support::make_test_ca(server_.dir(), "other");
  for (const std::string& url : {server_.imaps_url(), server_.url()}) {
    ImapSettings other_ca = settings(url);
    other_ca.ca_file = (server_.dir() / "other.pem").string();
    const std::string error = login_error(other_ca);
    EXPECT_NE(error.find("certificate"), std::string::npos) << error;
    EXPECT_EQ(error.find("secret"), std::string::npos) << error;
    EXPECT_NE(error.find(other_ca.ca_file), std::string::npos) << error;

    ImapSettings system_cas = settings(url);
    system_cas.ca_file.clear();
    EXPECT_NE(login_error(system_cas).find("certificate"), std::string::npos);
  }
}

// What a client that never upgrades to TLS gets: the server's lines from the
// greeting to its answer to a LOGIN sent in clear.
std::string plaintext_login(const std::string& host, int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  timeval timeout{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  ::inet_pton(AF_INET, host.c_str(), &address.sin_addr);
  std::string transcript;
  // Reads until the transcript ends with a whole line starting with prefix.
  const auto read_line = [&](const std::string& prefix) {
    char chunk[4096];
    while (
        !(transcript.starts_with(prefix) || transcript.find("\n" + prefix) != std::string::npos) ||
        !transcript.ends_with("\r\n")) {
      const ssize_t received = ::recv(fd, chunk, sizeof chunk, 0);
      if (received <= 0) return;
      transcript.append(chunk, static_cast<std::size_t>(received));
    }
  };
  if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0) {
    read_line("* OK");
    const std::string login = "a1 LOGIN test secret\r\n";
    if (::send(fd, login.data(), login.size(), MSG_NOSIGNAL) ==
        static_cast<ssize_t>(login.size())) {
      read_line("a1 ");
    }
  }
  ::close(fd);
  return transcript;
}

TEST_F(ImapTlsTest, PlaintextLoginIsRefusedWhenTlsIsRequired) {
  const std::string transcript = plaintext_login(server_.host(), server_.port());
  EXPECT_NE(transcript.find("STARTTLS"), std::string::npos) << transcript;
  EXPECT_NE(transcript.find("LOGINDISABLED"), std::string::npos) << transcript;
  EXPECT_NE(transcript.find("a1 NO"), std::string::npos) << transcript;
  EXPECT_NE(transcript.find("Plaintext authentication disallowed"), std::string::npos)
      << transcript;
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
