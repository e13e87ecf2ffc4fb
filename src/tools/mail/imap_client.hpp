#pragma once

#include <chrono>
#include <cstddef>
#include <string>

#include "tools/mail/mail_reader.hpp"

namespace voicedesk::tools::mail {

struct ImapSettings {
  // imaps://host[:port][/MAILBOX] (TLS from the first byte) or
  // imap://host[:port][/MAILBOX]: upgraded with STARTTLS whenever the server
  // offers it, and refused when it does not unless the host is loopback or
  // allow_plain is set. MAILBOX defaults to INBOX. The server's certificate
  // is always verified.
  std::string url;
  std::string username;
  std::string password;
  // CA bundle (PEM) to trust in place of libcurl's default bundle (libcurl's
  // CA directory, /etc/ssl/certs on Debian, still counts); "" for the defaults.
  std::string ca_file;
  bool allow_plain = false;                       // imap:// to a remote host without TLS
  std::chrono::milliseconds timeout{20000};       // per tool call, connecting included
  std::size_t max_message_bytes = 10u << 20;      // a message read is cut at this size
  std::size_t max_listing_text_bytes = 4u << 10;  // of each message read for its snippet
  std::size_t snippet_chars = 160;
};

// Reads a mailbox over IMAP (RFC 3501) with libcurl: one connection per call,
// the mailbox opened read-only (EXAMINE), messages addressed by UID and never
// marked as read. Every answer is bounded in size and time.
class ImapReader : public MailReader {
 public:
  // Throws MailError when settings.url is not an imap:// or imaps:// URL.
  explicit ImapReader(ImapSettings settings);

  std::vector<MailSummary> list_newest(int limit) override;
  MailDetail read(const std::string& id) override;

 private:
  ImapSettings settings_;
  std::string server_url_;  // scheme://host:port/, what libcurl logs in to
  std::string mailbox_;
  bool require_tls_ = true;
};

}  // namespace voicedesk::tools::mail
