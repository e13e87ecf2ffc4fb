#include "agent/contacts.hpp"

#include <gtest/gtest.h>

#include "util/temp_dir.hpp"

namespace voicedesk::agent {
namespace {

TEST(Contacts, ParsesNameAddressLinesSkippingCommentsAndBlanks) {
  const Contacts contacts = Contacts::parse(
      "# team\n\nAlice Smith <alice@example.com>\n  Bob Lee   < bob@example.org >  \n");
  ASSERT_EQ(contacts.all().size(), 2u);
  EXPECT_EQ(contacts.all()[1].name, "Bob Lee");
  EXPECT_EQ(contacts.all()[1].email, "bob@example.org");
}

TEST(Contacts, NamesTheLineOfAMalformedEntry) {
  try {
    Contacts::parse("Alice <alice@example.com>\nbob@example.org\n", "people.txt");
    FAIL() << "expected an error";
  } catch (const std::runtime_error& error) {
    EXPECT_NE(std::string(error.what()).find("people.txt:2"), std::string::npos) << error.what();
  }
  EXPECT_THROW(Contacts::parse("Alice <not-an-address>"), std::runtime_error);
}

TEST(Contacts, ResolvesFullAndUniqueFirstNamesIgnoringCase) {
  const Contacts contacts = Contacts::parse(
      "Alice Smith <alice@example.com>\nAlice Wong <awong@example.com>\nBob Lee <bob@example.org>");
  EXPECT_EQ(contacts.resolve("alice smith").value_or(""), "alice@example.com");
  EXPECT_EQ(contacts.resolve("Bob").value_or(""), "bob@example.org");
  EXPECT_FALSE(contacts.resolve("alice")) << "two Alices: ambiguous";
  EXPECT_FALSE(contacts.resolve("carol"));
}

TEST(Contacts, LoadsAFile) {
  test_support::TempDir dir;
  const auto file = dir.write("contacts.txt", "Carol Diaz <carol@example.net>\n");
  EXPECT_EQ(Contacts::load(file).resolve("carol").value_or(""), "carol@example.net");
  EXPECT_THROW(Contacts::load(dir.path() / "missing.txt"), std::runtime_error);
}

TEST(SpokenEmail, TurnsSpokenAddressesIntoAddresses) {
  EXPECT_EQ(spoken_email("alice at example dot com").value_or(""), "alice@example.com");
  EXPECT_EQ(spoken_email("Bob underscore Lee at mail dot example dot org").value_or(""),
            "bob_lee@mail.example.org");
  EXPECT_EQ(spoken_email("alice @ example.com").value_or(""), "alice@example.com");
  EXPECT_EQ(spoken_email("first dash last at example dot co dot uk").value_or(""),
            "first-last@example.co.uk");
  EXPECT_EQ(spoken_email("alice@example.com.").value_or(""), "alice@example.com");
  EXPECT_FALSE(spoken_email("alice"));
  EXPECT_FALSE(spoken_email("meet at noon"));
}

}  // namespace
}  // namespace voicedesk::agent
