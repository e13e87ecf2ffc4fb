#pragma once

#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>

#include "util/child_process.hpp"
#include "util/temp_dir.hpp"

namespace voicedesk::test_support {

// Runs the openssl CLI with arguments (paths under a TempDir, which need no
// quoting), its output appended to log; throws when it fails.
inline void run_openssl(const std::string& arguments, const std::filesystem::path& log) {
  const std::string command = "openssl " + arguments + " >>'" + log.string() + "' 2>&1";
  if (std::system(command.c_str()) != 0) {
    throw std::runtime_error("openssl failed: " + command);
  }
}

// A throw-away certificate authority: dir/<name>.pem (its certificate, what
// a client trusts) and dir/<name>.key. Valid for two days.
inline void make_test_ca(const std::filesystem::path& dir, const std::string& name) {
  const std::string base = (dir / name).string();
  run_openssl("req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -keyout " +
                  base + ".key -out " + base + ".pem -subj '/CN=voicedesk test CA " + name + "'",
              dir / "openssl.log");
}

// dir/<name>.pem and dir/<name>.key: a server certificate for 127.0.0.1,
// 127.0.0.2 and localhost signed by the CA make_test_ca made as dir/<ca>.
inline void make_server_certificate(const std::filesystem::path& dir, const std::string& name,
                                    const std::string& ca) {
  const std::string base = (dir / name).string();
  const std::string ca_base = (dir / ca).string();
  const std::filesystem::path log = dir / "openssl.log";
  const std::filesystem::path extensions = dir / (name + ".ext");
  std::ofstream(extensions) << "subjectAltName = IP:127.0.0.1, IP:127.0.0.2, DNS:localhost\n"
                               "basicConstraints = CA:FALSE\n"
                               "extendedKeyUsage = serverAuth\n";
  run_openssl("req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout " + base +
                  ".key -out " + base + ".csr -subj /CN=127.0.0.1",
              log);
  run_openssl("x509 -req -days 2 -set_serial 1 -in " + base + ".csr -CA " + ca_base +
                  ".pem -CAkey " + ca_base + ".key -extfile " + extensions.string() + " -out " +
                  base + ".pem",
              log);
}

// A throw-away Dovecot IMAP server (user "test", password "secret") serving
// a Maildir the test seeds before start().
//
// Tls::off: plain IMAP on 127.0.0.1. Tls::required: a fresh CA (ca_file())
// and server certificate made with the openssl CLI in the temp dir, IMAP with
// STARTTLS and IMAPS on a second port, and ssl = required. Dovecot counts a
// connection whose two ends have the same address as secure and lets it log
// in without TLS; a client connecting to 127.0.0.2 comes from 127.0.0.1, so
// the URLs of a TLS server name 127.0.0.2 and Dovecot does require TLS.
class DovecotServer {
 public:
  static constexpr const char* kBinary = "/usr/sbin/dovecot";
  static bool available() { return ::access(kBinary, X_OK) == 0; }

  enum class Tls { off, required };

  explicit DovecotServer(Tls tls = Tls::off) : tls_(tls) {
    namespace fs = std::filesystem;
    for (const char* dir :
         {"mail/Maildir/cur", "mail/Maildir/new", "mail/Maildir/tmp", "run", "state"}) {
      fs::create_directories(dir_.path() / dir);
    }
  }

  // Adds a message; messages get UIDs in the order they are added.
  void add_message(const std::string& raw) {
    const std::string name = std::to_string(1700000000 + messages_) + ".M" +
                             std::to_string(messages_) + "P1.voicedesk:2,";
    ++messages_;
    dir_.write("mail/Maildir/cur/" + name, raw);
  }

  void start() {
    namespace fs = std::filesystem;
    port_ = free_tcp_port();
    if (tls_ == Tls::required) {
      do imaps_port_ = free_tcp_port();
      while (imaps_port_ == port_);
      make_test_ca(dir_.path(), "ca");
      make_server_certificate(dir_.path(), "server", "ca");
    }
    // Dovecot refuses to run its login processes or mail access as root: as
    // root, use its own unprivileged users and give the mail to nobody.
    std::string login_user, internal_user;
    uid_t mail_uid = ::getuid();
    gid_t mail_gid = ::getgid();
    if (::getuid() == 0) {
      login_user = ::getpwnam("dovenull") != nullptr ? "dovenull" : "nobody";
      internal_user = ::getpwnam("dovecot") != nullptr ? "dovecot" : "nobody";
      const passwd* nobody = ::getpwnam("nobody");
      mail_uid = nobody->pw_uid;
      mail_gid = nobody->pw_gid;
      for (const auto& entry : fs::recursive_directory_iterator(dir_.path() / "mail")) {
        (void)::chown(entry.path().c_str(), mail_uid, mail_gid);
      }
      (void)::chown((dir_.path() / "mail").c_str(), mail_uid, mail_gid);
      fs::permissions(dir_.path(),
                      fs::perms::owner_all | fs::perms::group_exec | fs::perms::others_exec);
    } else {
      const passwd* me = ::getpwuid(::getuid());
      login_user = internal_user = me->pw_name;
    }
    const std::string root = dir_.path().string();
    dir_.write("passwd", "test:{PLAIN}secret:" + std::to_string(mail_uid) + ":" +
                             std::to_string(mail_gid) + "::" + root + "/mail::\n");
    // With ssl = required Dovecot refuses logins without TLS (LOGINDISABLED)
    // from clients it does not count as local.
    const std::string ssl_settings =
        tls_ == Tls::required ? "ssl = required\nssl_cert = <" + root + "/server.pem\nssl_key = <" +
                                    root + "/server.key\ndisable_plaintext_auth = yes\n"
                              : "ssl = no\ndisable_plaintext_auth = no\n";
    const fs::path config =
        dir_.write("dovecot.conf",
                   "protocols = imap\n"
                   "listen = 127.0.0.1\n"
                   "base_dir = " +
                       root +
                       "/run\n"
                       "state_dir = " +
                       root +
                       "/state\n"
                       "log_path = " +
                       root + "/dovecot.log\n" + ssl_settings +
                       "auth_mechanisms = plain login\n"
                       "auth_failure_delay = 0\n"
                       "first_valid_uid = 0\n"
                       "default_login_user = " +
                       login_user +
                       "\n"
                       "default_internal_user = " +
                       internal_user +
                       "\n"
                       "passdb {\n  driver = passwd-file\n  args = scheme=PLAIN " +
                       root +
                       "/passwd\n}\n"
                       "userdb {\n  driver = passwd-file\n  args = " +
                       root +
                       "/passwd\n}\n"
                       "mail_location = maildir:" +
                       root +
                       "/mail/Maildir\n"
                       "service imap-login {\n"
                       "  inet_listener imap {\n    address = 127.0.0.1 127.0.0.2\n    port = " +
                       std::to_string(port_) +
                       "\n  }\n"
                       "  inet_listener imaps {\n    address = 127.0.0.1 127.0.0.2\n    port = " +
                       std::to_string(imaps_port_) +
                       "\n    ssl = yes\n  }\n"
                       "  chroot =\n"
                       "}\n"
                       "service anvil {\n  chroot =\n}\n");
    process_ = std::make_unique<ChildProcess>(
        std::vector<std::string>{kBinary, "-F", "-c", config.string()}, dir_.path() / "stdout.log");
    process_->wait_for_port(port_);
  }

  // The address the URLs name (see the class comment).
  std::string host() const { return tls_ == Tls::required ? "127.0.0.2" : "127.0.0.1"; }
  // The IMAP port (plain, with STARTTLS when TLS is on).
  int port() const { return port_; }
  std::string url(const std::string& mailbox = "INBOX") const {
    return "imap://" + host() + ":" + std::to_string(port_) + "/" + mailbox;
  }
  // Tls::required only: IMAP over TLS from the first byte.
  std::string imaps_url(const std::string& mailbox = "INBOX") const {
    return "imaps://" + host() + ":" + std::to_string(imaps_port_) + "/" + mailbox;
  }
  // Tls::required only: the CA certificate (PEM) that signed the server's.
  std::filesystem::path ca_file() const { return dir_.path() / "ca.pem"; }
  // A scratch directory that goes away with the server (other test CAs).
  const std::filesystem::path& dir() const { return dir_.path(); }
  // Dovecot's own log and what it wrote to stdout/stderr, for failure messages.
  std::string log() const {
    std::ifstream in(dir_.path() / "dovecot.log");
    return std::string(std::istreambuf_iterator<char>(in), {}) +
           (process_ ? process_->log_text() : std::string());
  }

 private:
  Tls tls_;
  TempDir dir_;
  int messages_ = 0;
  int port_ = 0;
  int imaps_port_ = 0;  // 0: no IMAPS listener
  std::unique_ptr<ChildProcess> process_;
};

}  // namespace voicedesk::test_support
