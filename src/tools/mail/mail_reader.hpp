#pragma once

#include <stdexcept>
#include <string>
#include <vector>

namespace voicedesk::tools::mail {

// One line of an inbox listing, as UTF-8 text.
struct MailSummary {
  std::string id;  // the provider's message id: the IMAP UID, or the Gmail message id
  std::string from;
  std::string subject;
  std::string date;
  std::string snippet;
};

// One message as the read and reply tools use it, as UTF-8 text.
struct MailDetail {
  std::string id;
  std::string from;
  std::string to;
  std::string cc;
  std::string reply_to;
  std::string subject;
  std::string date;
  std::string body;
  std::string message_id;               // "<id@host>", "" when the message has none
  std::vector<std::string> references;  // its References (or In-Reply-To) ids
};

// The mailbox could not be read: the server is down, refused the login, or
// answered something we could not use. what() is for the user: no secrets.
class MailError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// There is no message with the id asked for.
class NoSuchMail : public MailError {
 public:
  using MailError::MailError;
};

// Where the mail tools read mail from: an IMAP server or the Gmail API.
// Implementations are thread-safe.
class MailReader {
 public:
  virtual ~MailReader() = default;
  // The newest limit messages of the inbox, newest first.
  virtual std::vector<MailSummary> list_newest(int limit) = 0;
  // Throws NoSuchMail when id names no message, MailError otherwise.
  virtual MailDetail read(const std::string& id) = 0;
};

}  // namespace voicedesk::tools::mail
