#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace voicedesk::agent {

struct Contact {
  std::string name;   // "Alice Smith"
  std::string email;  // "alice@example.com"
};

// The people a user can name in a command ("send an email to Alice ...").
// The file has one contact per line, "Alice Smith <alice@example.com>";
// blank lines and lines starting with # are ignored.
class Contacts {
 public:
  Contacts() = default;
  explicit Contacts(std::vector<Contact> contacts);
  // Throws std::runtime_error naming the file and line of a malformed entry.
  static Contacts load(const std::filesystem::path& file);
  static Contacts parse(std::string_view text, const std::string& source = "contacts");

  // The address of the contact called name: its full name, or its first name
  // when only one contact has that first name (case-insensitive).
  std::optional<std::string> resolve(std::string_view name) const;
  const std::vector<Contact>& all() const { return contacts_; }

 private:
  std::vector<Contact> contacts_;
};

// Whether text is a plain addr-spec such as alice@example.com.
bool looks_like_email(std::string_view text);

// An address as speech recognition writes it ("alice at example dot com",
// "bob underscore lee at mail dot example dot org", "alice @ example.com"),
// turned into one (alice@example.com), or nullopt when it is not one.
std::optional<std::string> spoken_email(std::string_view text);

}  // namespace voicedesk::agent
