#include "tools/mail/smtp_client.hpp"

#include <arpa/inet.h>

#include <cstring>

#include "tools/net/curl.hpp"
#include "util/config.hpp"
#include "util/config_error.hpp"

namespace voicedesk::tools::mail {
namespace {

// What libcurl reads the message from, and whether it has begun to.
struct Upload {
  const std::string* data = nullptr;
  std::size_t offset = 0;
  bool started = false;
  const std::atomic<bool>* abort_before_data = nullptr;
};

std::size_t read_message(char* buffer, std::size_t size, std::size_t count, void* upload_ptr) {
  auto& upload = *static_cast<Upload*>(upload_ptr);
  upload.started = true;
  const std::size_t length = std::min(size * count, upload.data->size() - upload.offset);
  std::memcpy(buffer, upload.data->data() + upload.offset, length);
  upload.offset += length;
  return length;
}

int check_abort(void* upload_ptr, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  const auto& upload = *static_cast<const Upload*>(upload_ptr);
  const bool abort = upload.abort_before_data != nullptr && *upload.abort_before_data;
  return abort && !upload.started ? 1 : 0;  // non-zero makes libcurl stop the transfer
}

bool refused_for_good(CURLcode code, long reply) {
  if (reply >= 400 && reply < 500) return false;
  if (reply >= 500 && reply < 600) return true;
  switch (code) {
    case CURLE_LOGIN_DENIED:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_USE_SSL_FAILED:
    case CURLE_UNSUPPORTED_PROTOCOL:
      return true;
    default:
      return false;
  }
}

SmtpSecurity security_from(const std::string& encryption, bool port_set, std::int64_t port) {
  if (encryption == "ssl") return SmtpSecurity::implicit_tls;
  if (encryption == "tls" || encryption == "starttls") return SmtpSecurity::starttls;
  if (encryption == "none") return SmtpSecurity::none;
  return port_set && port == 465 ? SmtpSecurity::implicit_tls : SmtpSecurity::starttls;
}

int default_port(SmtpSecurity security) {
  switch (security) {
    case SmtpSecurity::implicit_tls:
      return 465;
    case SmtpSecurity::starttls:
      return 587;
    case SmtpSecurity::none:
      break;
  }
  return 25;
}

}  // namespace

SmtpSettings SmtpSettings::from_config(const util::Config& config) {
  SmtpSettings settings;
  settings.host = config.get("MAIL_HOST");
  if (settings.host.empty())
    throw util::ConfigError("MAIL_HOST is not set: no SMTP server to send mail to");
  const bool port_set = config.is_set("MAIL_PORT");
  const std::int64_t port = port_set ? config.get_int("MAIL_PORT") : 0;
  settings.security = security_from(config.get("MAIL_ENCRYPTION"), port_set, port);
  settings.port = port_set ? static_cast<int>(port) : default_port(settings.security);
  settings.username = config.get("MAIL_USERNAME");
  settings.password = config.get("MAIL_PASSWORD");
  settings.ca_file = config.get("VOICEDESK_MAIL_CA_FILE");
  settings.validate();
  return settings;
}

bool SmtpSettings::host_is_loopback() const {
  std::string name = host;
  if (name.size() > 2 && name.front() == '[' && name.back() == ']')
    name = name.substr(1, name.size() - 2);
  if (name == "localhost" || name == "localhost.") return true;
  in_addr v4{};
  if (inet_pton(AF_INET, name.c_str(), &v4) == 1) return (ntohl(v4.s_addr) >> 24) == 127;
  in6_addr v6{};
  return inet_pton(AF_INET6, name.c_str(), &v6) == 1 && IN6_IS_ADDR_LOOPBACK(&v6);
}

void SmtpSettings::validate() const {
  if (host.empty()) throw util::ConfigError("MAIL_HOST is not set");
  if (host.find_first_of("/@?#\r\n \t") != std::string::npos) {
    throw util::ConfigError("MAIL_HOST must be a host name or address, not a URL: " + host);
  }
  if (security == SmtpSecurity::none && !host_is_loopback() && !password.empty()) {
    throw util::ConfigError(
        "MAIL_ENCRYPTION=none would send MAIL_PASSWORD in clear to " + host +
        ": use ssl or starttls, or plain text only to a loopback host or a relay without login");
  }
}

std::string SmtpSettings::url() const {
  const bool ipv6 = host.find(':') != std::string::npos && host.front() != '[';
  return std::string(security == SmtpSecurity::implicit_tls ? "smtps://" : "smtp://") +
         (ipv6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

void send_smtp(const SmtpSettings& settings, const SmtpMessage& message,
               const std::atomic<bool>* abort_before_data) {
  const std::string url = settings.url();
  try {
    net::CurlHandle curl;
    net::CurlList recipients;
    for (const std::string& recipient : message.recipients)
      recipients.append("<" + recipient + ">");
    const std::string mail_from = "<" + message.envelope_from + ">";
    Upload upload{&message.raw, 0, false, abort_before_data};

    curl.set(CURLOPT_URL, url.c_str());
    curl.set(CURLOPT_PROTOCOLS_STR, "smtp,smtps");
    curl.set(CURLOPT_USE_SSL,
             static_cast<long>(settings.security == SmtpSecurity::none ? CURLUSESSL_NONE
                                                                       : CURLUSESSL_ALL));
    curl.set(CURLOPT_SSL_VERIFYPEER, 1L);
    curl.set(CURLOPT_SSL_VERIFYHOST, 2L);
    if (!settings.ca_file.empty()) curl.set(CURLOPT_CAINFO, settings.ca_file.c_str());
    if (!settings.username.empty()) {
      curl.set(CURLOPT_USERNAME, settings.username.c_str());
      curl.set(CURLOPT_PASSWORD, settings.password.c_str());
    }
    curl.set(CURLOPT_MAIL_FROM, mail_from.c_str());
    curl.set(CURLOPT_MAIL_RCPT, recipients.get());
    curl.set(CURLOPT_UPLOAD, 1L);
    curl.set(CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(message.raw.size()));
    curl.set(CURLOPT_READFUNCTION, &read_message);
    curl.set(CURLOPT_READDATA, static_cast<void*>(&upload));
    curl.set(CURLOPT_NOPROGRESS, 0L);
    curl.set(CURLOPT_XFERINFOFUNCTION, &check_abort);
    curl.set(CURLOPT_XFERINFODATA, static_cast<void*>(&upload));
    curl.set_timeout(settings.timeout);
    try {
      curl.perform("SMTP to " + url);
    } catch (const net::TransferError& e) {
      const long reply = curl.response_code();
      std::string text = e.what();
      if (reply != 0) text += " (server reply " + std::to_string(reply) + ")";
      if (e.code() == CURLE_LOGIN_DENIED) {
        text += ": the server refused the login of user \"" + settings.username + "\"";
      }
      // All data sent and no refusal heard: the server may have accepted it.
      if (upload.started && upload.offset == message.raw.size() && reply < 400) {
        text +=
            "; the message data had been sent, so the server may have it: a retry may deliver it "
            "twice (same Message-ID)";
      }
      throw SmtpError(text, refused_for_good(e.code(), reply), reply);
    }
  } catch (const net::TransferError& e) {  // setting up the handle failed
    throw SmtpError(e.what(), false, 0);
  }
}

}  // namespace voicedesk::tools::mail
