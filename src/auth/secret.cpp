#include "auth/secret.hpp"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <optional>
#include <string>
#include <system_error>
#include <utility>

#include "auth/hex.hpp"
#include "util/data_path.hpp"

namespace voicedesk::auth {
namespace {

namespace fs = std::filesystem;

// 64 hex digits, a newline, and room to notice that a file is longer than that.
constexpr std::size_t kMaxFileBytes = 2 * ServiceSecret::kSize + 2;

class UniqueFd {
 public:
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const { return fd_; }
  // Closes now, reporting the error that a deferred close would swallow.
  int close() { return ::close(std::exchange(fd_, -1)); }

 private:
  int fd_;
};

std::string quoted(const fs::path& path) {
  return "\"" + path.string() + "\"";
}

[[noreturn]] void fail_errno(const std::string& what, const fs::path& path) {
  throw SecretError(what + " " + quoted(path) + ": " + std::strerror(errno));
}

std::string octal_mode(mode_t mode) {
  char text[8];
  std::snprintf(text, sizeof text, "%04o", static_cast<unsigned>(mode & 07777));
  return text;
}

// The secret in `path`, or nullopt when there is no such file.
std::optional<ServiceSecret> read_secret_file(const fs::path& path) {
  // O_NONBLOCK: a FIFO planted at the path must not hang start-up; it is refused below.
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK));
  if (fd.get() < 0) {
    if (errno == ENOENT) return std::nullopt;
    fail_errno("cannot open secret file", path);
  }
  struct stat info {};
  if (::fstat(fd.get(), &info) != 0) fail_errno("cannot stat secret file", path);
  if (!S_ISREG(info.st_mode)) throw SecretError("secret file " + quoted(path) + " is not a file");
  if (info.st_uid != ::geteuid()) {
    throw SecretError("secret file " + quoted(path) + " is owned by uid " +
                      std::to_string(info.st_uid) + ", not by this user");
  }
  if ((info.st_mode & 077) != 0) {
    throw SecretError(
        "secret file " + quoted(path) + " has permissions " + octal_mode(info.st_mode) +
        ": it must not be accessible by group or others (chmod 600 " + quoted(path) + ")");
  }
  std::string text(kMaxFileBytes, '\0');
  std::size_t size = 0;
  while (size < text.size()) {
    const ssize_t got = ::read(fd.get(), text.data() + size, text.size() - size);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) fail_errno("cannot read secret file", path);
    if (got == 0) break;
    size += static_cast<std::size_t>(got);
  }
  std::string_view content(text.data(), size);
  if (content.ends_with('\n')) content.remove_suffix(1);
  try {
    return ServiceSecret::from_hex(content);
  } catch (const SecretError&) {
    throw SecretError("secret file " + quoted(path) +
                      " is malformed: expected 64 hex digits and a newline");
  }
}

// Creates the missing directories above `path` with mode 0700.
void create_private_parents(const fs::path& path) {
  const fs::path parent = path.parent_path();
  std::error_code ignored;  // an unreadable parent shows up as mkdir's or mkstemp's error
  if (parent.empty() || fs::exists(parent, ignored)) return;
  create_private_parents(parent);
  if (::mkdir(parent.c_str(), 0700) != 0 && errno != EEXIST) {
    fail_errno("cannot create directory", parent);
  }
}

void write_all(int fd, std::string_view bytes, const fs::path& path) {
  while (!bytes.empty()) {
    const ssize_t written = ::write(fd, bytes.data(), bytes.size());
    if (written < 0 && errno == EINTR) continue;
    if (written < 0) fail_errno("cannot write secret file", path);
    bytes.remove_prefix(static_cast<std::size_t>(written));
  }
}

// Writes a fresh secret under a temporary name and links it to `path`; when `path` appeared in
// the meantime (another process starting), that one is kept.
void create_secret_file(const fs::path& path) {
  create_private_parents(path);
  // Hidden, next to the final name (link() does not cross file systems).
  std::string temp_name = path.parent_path() / ".";
  temp_name += path.filename().string();
  temp_name += ".XXXXXX";
  UniqueFd fd(::mkstemp(temp_name.data()));  // O_CREAT | O_EXCL, mode 0600
  if (fd.get() < 0) fail_errno("cannot create secret file next to", path);
  const fs::path temp(temp_name);
  struct RemoveTemp {
    const fs::path& temp;
    ~RemoveTemp() { ::unlink(temp.c_str()); }
  } remove_temp{temp};

  std::string content = hex::encode(ServiceSecret::generate().bytes()) + "\n";
  write_all(fd.get(), content, temp);
  OPENSSL_cleanse(content.data(), content.size());
  if (::fchmod(fd.get(), 0600) != 0 || ::fsync(fd.get()) != 0 || fd.close() != 0) {
    fail_errno("cannot write secret file", temp);
  }
  if (::link(temp.c_str(), path.c_str()) != 0 && errno != EEXIST) {
    fail_errno("cannot create secret file", path);
  }
}

}  // namespace

ServiceSecret ServiceSecret::generate() {
  ServiceSecret secret;
  if (RAND_bytes(secret.key_.data(), static_cast<int>(secret.key_.size())) != 1) {
    throw SecretError("the system random number generator failed");
  }
  return secret;
}

ServiceSecret ServiceSecret::from_hex(std::string_view hex) {
  ServiceSecret secret;
  if (!hex::decode(hex, secret.key_)) throw SecretError("expected 64 hex digits");
  return secret;
}

ServiceSecret::~ServiceSecret() {
  OPENSSL_cleanse(key_.data(), key_.size());
}

fs::path default_secret_path(const std::function<const char*(const char*)>& getenv_fn) {
  if (auto path = util::default_config_file("service.key", getenv_fn)) return *path;
  throw SecretError(
      "cannot place the service secret file: neither XDG_CONFIG_HOME nor HOME is an absolute "
      "path; set VOICEDESK_AUTH_SECRET_FILE");
}

ServiceSecret load_or_create_secret(const fs::path& path) {
  if (auto secret = read_secret_file(path)) return *secret;
  create_secret_file(path);
  if (auto secret = read_secret_file(path)) return *secret;
  throw SecretError("secret file " + quoted(path) + " disappeared right after it was created");
}

}  // namespace voicedesk::auth
