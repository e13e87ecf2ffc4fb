#pragma once

#include <atomic>
#include <chrono>
#include <stdexcept>
#include <string>
#include <vector>

namespace voicedesk::util {
class Config;
}

namespace voicedesk::tools::mail {

// How the connection to the SMTP server is protected.
enum class SmtpSecurity {
  implicit_tls,  // smtps://, TLS from the first byte (port 465); MAIL_ENCRYPTION=ssl
  starttls,      // smtp:// upgraded with STARTTLS, required (port 587); tls or starttls
  none,          // plain text; see SmtpSettings::validate for when it is allowed
};

struct SmtpSettings {
  std::string host;
  int port = 587;
  SmtpSecurity security = SmtpSecurity::starttls;
  std::string username;  // AUTH when not empty
  std::string password;
  std::string ca_file;  // verify the server against this CA bundle instead of the system's
  std::chrono::milliseconds timeout{30000};

  // From MAIL_HOST, MAIL_PORT, MAIL_ENCRYPTION, MAIL_USERNAME, MAIL_PASSWORD
  // and VOICEDESK_MAIL_CA_FILE. Without MAIL_ENCRYPTION: implicit TLS on port
  // 465, STARTTLS otherwise. Without MAIL_PORT: 465, 587 or 25 by security.
  // Throws util::ConfigError when MAIL_HOST is unset or validate() refuses.
  static SmtpSettings from_config(const util::Config& config);

  // The rule for plain text: security none is allowed to a loopback host
  // (localhost, 127.0.0.0/8, ::1) always, and to another host only without
  // credentials (a trusted relay that needs no login); it is refused when it
  // would send MAIL_PASSWORD over the network in clear. TLS is always
  // verified (certificate and host name). Throws util::ConfigError.
  void validate() const;
  bool host_is_loopback() const;
  // "smtps://host:465" or "smtp://host:587".
  std::string url() const;
};

// A delivery attempt failed. permanent: the server refused for good (a 5xx
// reply, authentication denied) or the configuration cannot work (TLS
// verification failed, STARTTLS not offered), so retrying is pointless;
// otherwise (network, timeout, a 4xx reply) a later attempt may succeed.
class SmtpError : public std::runtime_error {
 public:
  SmtpError(const std::string& message, bool permanent, long reply_code)
      : std::runtime_error(message), permanent_(permanent), reply_code_(reply_code) {}
  bool permanent() const { return permanent_; }
  long reply_code() const { return reply_code_; }  // the server's last reply; 0 when none

 private:
  bool permanent_;
  long reply_code_;
};

// One message to send: the envelope and the formatted RFC 5322 bytes.
struct SmtpMessage {
  std::string envelope_from;
  std::vector<std::string> recipients;
  std::string raw;
};

// Sends message in one SMTP session over libcurl: EHLO, STARTTLS when
// configured, AUTH, MAIL FROM, RCPT TO for every recipient (all must be
// accepted), DATA. Returns once the server has answered the end of data with
// 250. When abort_before_data becomes true, the session is abandoned if it
// has not begun sending the message data yet (the server then has nothing to
// deliver); once data flows it runs to its end. Throws SmtpError.
void send_smtp(const SmtpSettings& settings, const SmtpMessage& message,
               const std::atomic<bool>* abort_before_data = nullptr);

}  // namespace voicedesk::tools::mail
