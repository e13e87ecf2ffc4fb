#pragma once

#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "util/child_process.hpp"
#include "util/temp_dir.hpp"

namespace voicedesk::test_support {

// A throw-away Dovecot IMAP server on 127.0.0.1 (plain IMAP, user "test",
// password "secret") serving a Maildir the test seeds before start().
class DovecotServer {
 public:
  static constexpr const char* kBinary = "/usr/sbin/dovecot";
  static bool available() { return ::access(kBinary, X_OK) == 0; }

  DovecotServer() {
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
                       root +
                       "/dovecot.log\n"
                       "ssl = no\n"
                       "disable_plaintext_auth = no\n"
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
                       "  inet_listener imap {\n    address = 127.0.0.1\n    port = " +
                       std::to_string(port_) +
                       "\n  }\n"
                       "  inet_listener imaps {\n    port = 0\n  }\n"
                       "  chroot =\n"
                       "}\n"
                       "service anvil {\n  chroot =\n}\n");
    process_ = std::make_unique<ChildProcess>(
        std::vector<std::string>{kBinary, "-F", "-c", config.string()}, dir_.path() / "stdout.log");
    process_->wait_for_port(port_);
  }

  std::string url(const std::string& mailbox = "INBOX") const {
    return "imap://127.0.0.1:" + std::to_string(port_) + "/" + mailbox;
  }
  std::string log() const { return process_ ? process_->log_text() : std::string(); }

 private:
  TempDir dir_;
  int messages_ = 0;
  int port_ = 0;
  std::unique_ptr<ChildProcess> process_;
};

}  // namespace voicedesk::test_support
