#pragma once

#include <string>
#include <vector>

namespace voicedesk::tools::mail {

// A mail to send, as the tools and the outbox hand it around: plain values,
// UTF-8 text, addresses as "addr@example.com" or "Name <addr@example.com>".
// Formatting it as RFC 5322 validates every field (no CR/LF injection).
struct OutgoingMail {
  std::string from;
  std::vector<std::string> to;
  std::vector<std::string> cc;
  std::string subject;
  std::string body;  // plain text
  // Threading, for replies: the answered mail's Message-ID ("<id@host>") and
  // its References followed by that Message-ID.
  std::string in_reply_to;
  std::vector<std::string> references;
};

}  // namespace voicedesk::tools::mail
