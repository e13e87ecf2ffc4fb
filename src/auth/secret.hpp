#pragma once

#include <array>
#include <cstddef>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <span>
#include <stdexcept>
#include <string_view>

namespace voicedesk::auth {

// A secret that cannot be used: unreadable or malformed file, unsafe permissions, bad hex. The
// message says what to fix and never contains the secret.
class SecretError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The key the local services share to mint and verify tokens: 32 random bytes. It has no way to
// print itself, so it cannot end up in a log by accident; the bytes are wiped on destruction.
class ServiceSecret {
 public:
  static constexpr std::size_t kSize = 32;

  // From the system CSPRNG (RAND_bytes).
  static ServiceSecret generate();
  // Exactly 64 hex digits (either case). Throws SecretError.
  static ServiceSecret from_hex(std::string_view hex);

  ServiceSecret(const ServiceSecret&) = default;
  ServiceSecret& operator=(const ServiceSecret&) = default;
  ~ServiceSecret();

  std::span<const unsigned char, kSize> bytes() const { return key_; }

 private:
  ServiceSecret() = default;
  std::array<unsigned char, kSize> key_{};
};

// $XDG_CONFIG_HOME/voicedesk/service.key, else $HOME/.config/voicedesk/service.key. Throws
// SecretError when neither variable is set (absolute).
std::filesystem::path default_secret_path(
    const std::function<const char*(const char*)>& getenv_fn = ::getenv);

// Reads the secret file: 64 hex digits and a newline, a regular file owned by this user with no
// group or other permission bits (refused otherwise, as ssh refuses a private key). When the file
// does not exist it is first created with a fresh secret: mode 0600, missing parent directories
// 0700, written under a temporary name and linked into place so that a concurrent reader never
// sees a partial file and two processes starting at once agree on one secret. Throws SecretError.
ServiceSecret load_or_create_secret(const std::filesystem::path& path);

}  // namespace voicedesk::auth
