#include "agent/contacts.hpp"

#include <algorithm>
#include <cctype>
#include <fstream>
#include <regex>
#include <sstream>
#include <stdexcept>

#include "util/text.hpp"

namespace voicedesk::agent {
namespace {

using util::ascii_lower;
using util::trim;

std::string first_word(std::string_view name) {
  return ascii_lower(name.substr(0, name.find(' ')));
}

}  // namespace

bool looks_like_email(std::string_view text) {
  static const std::regex kAddress(
      R"([A-Za-z0-9._%+'-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,})");
  return std::regex_match(text.begin(), text.end(), kAddress);
}

std::optional<std::string> spoken_email(std::string_view text) {
  // Spoken separators become symbols; then every space goes.
  static const std::vector<std::pair<std::regex, std::string>> kWords = {
      {std::regex(R"(\s+at\s+)", std::regex::icase), "@"},
      {std::regex(R"(\s*\bdot\s+)", std::regex::icase), "."},
      {std::regex(R"(\s+underscore\s+)", std::regex::icase), "_"},
      {std::regex(R"(\s+(dash|hyphen)\s+)", std::regex::icase), "-"},
  };
  std::string address(trim(text));
  for (const auto& [pattern, symbol] : kWords)
    address = std::regex_replace(address, pattern, symbol);
  address.erase(std::remove_if(address.begin(), address.end(),
                               [](unsigned char c) { return std::isspace(c); }),
                address.end());
  while (!address.empty() && (address.back() == '.' || address.back() == ',')) address.pop_back();
  address = ascii_lower(address);
  if (!looks_like_email(address)) return std::nullopt;
  return address;
}

Contacts::Contacts(std::vector<Contact> contacts) : contacts_(std::move(contacts)) {}

Contacts Contacts::parse(std::string_view text, const std::string& source) {
  static const std::regex kEntry(R"(^\s*([^<>]*?)\s*<\s*([^<>\s]+)\s*>\s*$)");
  std::vector<Contact> contacts;
  std::istringstream lines{std::string(text)};
  std::string line;
  for (int number = 1; std::getline(lines, line); ++number) {
    const std::string entry(trim(line));
    if (entry.empty() || entry.front() == '#') continue;
    std::smatch match;
    if (!std::regex_match(entry, match, kEntry) || match[1].length() == 0 ||
        !looks_like_email(match[2].str())) {
      throw std::runtime_error(source + ":" + std::to_string(number) +
                               ": expected \"Name <address@example.com>\", got \"" + entry + "\"");
    }
    contacts.push_back({match[1].str(), match[2].str()});
  }
  return Contacts(std::move(contacts));
}

Contacts Contacts::load(const std::filesystem::path& file) {
  std::ifstream in(file);
  if (!in) throw std::runtime_error("cannot read contacts file " + file.string());
  std::ostringstream text;
  text << in.rdbuf();
  return parse(text.str(), file.string());
}

std::optional<std::string> Contacts::resolve(std::string_view name) const {
  const std::string wanted = ascii_lower(trim(name));
  if (wanted.empty()) return std::nullopt;
  for (const auto& contact : contacts_) {
    if (util::iequals(contact.name, wanted)) return contact.email;
  }
  const Contact* only = nullptr;
  for (const auto& contact : contacts_) {
    if (first_word(contact.name) != wanted) continue;
    if (only != nullptr) return std::nullopt;  // two Alices: ambiguous
    only = &contact;
  }
  if (only == nullptr) return std::nullopt;
  return only->email;
}

}  // namespace voicedesk::agent
