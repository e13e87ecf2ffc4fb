#include "tools/mail/imap_response.hpp"

#include <gtest/gtest.h>

#include "tools/mail/mail_reader.hpp"

namespace voicedesk::tools::mail {
namespace {

TEST(ImapResponse, ParsesFetchWithLiteralsAndSections) {
  const std::string answer =
      "* 1 FETCH (UID 7 FLAGS (\\Seen) BODY[HEADER.FIELDS (FROM SUBJECT)] {22}\r\n"
      "Subject: a ) V1 OK\r\n\r\n BODY[TEXT]<0> \"q\\\"x\" X NIL)\r\n"
      "* OK [UNSEEN 1] text with \"odd quote\r\n"
      "V1 OK done\r\n";
  std::size_t scan = 0;
  EXPECT_EQ(find_tagged_end(answer, "V1", scan), answer.size());
  const auto responses = parse_untagged_responses(answer);
  ASSERT_EQ(responses.size(), 2u);
  ASSERT_EQ(responses[0].size(), 3u);
  EXPECT_TRUE(responses[0][1].is_atom("fetch"));
  const auto& items = responses[0][2].items;
  EXPECT_EQ(fetch_item(items, "UID")->text, "7");
  EXPECT_EQ(fetch_item(items, "FLAGS")->items.at(0).text, "\\Seen");
  EXPECT_EQ(fetch_item(items, "BODY[HEADER.FIELDS (FROM SUBJECT)]")->text,
            "Subject: a ) V1 OK\r\n\r\n");
  EXPECT_EQ(fetch_item(items, "BODY[TEXT]<0>")->text, "q\"x");
  EXPECT_EQ(fetch_item(items, "X")->kind, ImapValue::Kind::nil);
  EXPECT_EQ(tagged_status(answer, "V1").condition, "OK");
}

TEST(ImapResponse, WaitsForCompleteLiterals) {
  std::string text = "* 1 FETCH (BODY[] {10}\r\nV2 OK";
  std::size_t scan = 0;
  EXPECT_FALSE(find_tagged_end(text, "V2", scan));
  text += " 123)\r\n";
  EXPECT_FALSE(find_tagged_end(text, "V2", scan));
  text += "V2 NO [TRYCREATE] nope\r\n";
  EXPECT_EQ(find_tagged_end(text, "V2", scan), text.size());
  const ImapStatus status = tagged_status(text, "V2");
  EXPECT_EQ(status.condition, "NO");
  EXPECT_EQ(status.text, "[TRYCREATE] nope");
}

TEST(ImapResponse, MalformedAnswersThrowMailError) {
  EXPECT_THROW(parse_untagged_responses("* 1 FETCH (UID 1\r\n"), MailError);
  EXPECT_THROW(parse_untagged_responses("* 1 FETCH (BODY[] {99}\r\nshort)\r\n"), MailError);
  EXPECT_THROW(parse_untagged_responses("* 1 FETCH \"open\r\n"), MailError);
  std::string deep = "* 1 FETCH ";
  deep += std::string(1000, '(');
  EXPECT_THROW(parse_untagged_responses(deep + "\r\n"), MailError);
}

TEST(ImapResponse, QuotesMailboxNames) {
  EXPECT_EQ(imap_quote("INBOX"), "\"INBOX\"");
  EXPECT_EQ(imap_quote("a\"b\\c"), "\"a\\\"b\\\\c\"");
}

}  // namespace
}  // namespace voicedesk::tools::mail
