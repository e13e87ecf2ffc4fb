#include "tools/mail/mime_message.hpp"

#include <gtest/gtest.h>

#include <random>

namespace voicedesk::tools::mail {
namespace {

TEST(MimeMessage, ParsesASimpleMessage) {
  const MailMessage mail = parse_mail(
      "From: =?UTF-8?Q?J=C3=BCrgen?= <j@example.org>\r\n"
      "To: me@example.org\r\n"
      "Subject: Hello\r\n there\r\n"
      "Date: Mon, 1 Jan 2024 10:00:00 +0000\r\n"
      "Message-ID: <abc@example.org>\r\n"
      "References: <r1@x> <r2@x>\r\n"
      "\r\n"
      "Line one\r\nLine two\r\n");
  EXPECT_EQ(mail.from, "J\xC3\xBCrgen <j@example.org>");
  EXPECT_EQ(mail.to, "me@example.org");
  EXPECT_EQ(mail.subject, "Hello there");
  EXPECT_EQ(mail.date, "Mon, 1 Jan 2024 10:00:00 +0000");
  EXPECT_EQ(mail.message_id, "<abc@example.org>");
  EXPECT_EQ(mail.references, (std::vector<std::string>{"<r1@x>", "<r2@x>"}));
  EXPECT_EQ(mail.body, "Line one\nLine two\n");
}

TEST(MimeMessage, PicksPlainTextFromAlternative) {
  const MailMessage mail = parse_mail(
      "Content-Type: multipart/alternative; boundary=\"b1\"\n"
      "\n"
      "preamble\n"
      "--b1\n"
      "Content-Type: text/html; charset=utf-8\n"
      "\n"
      "<p>HTML</p>\n"
      "--b1\n"
      "Content-Type: text/plain; charset=iso-8859-1\n"
      "Content-Transfer-Encoding: quoted-printable\n"
      "\n"
      "Gr=FC=DFe\n"
      "--b1--\n"
      "epilogue\n");
  EXPECT_EQ(mail.body,
            "Gr\xC3\xBC\xC3\x9F"
            "e");
}

TEST(MimeMessage, FindsTextInNestedMultipartAndSkipsAttachments) {
  const std::string raw =
      "Content-Type: multipart/mixed; boundary=outer\r\n"
      "\r\n"
      "--outer\r\n"
      "Content-Type: text/plain; name=notes.txt\r\n"
      "Content-Disposition: attachment; filename=notes.txt\r\n"
      "\r\n"
      "attached text\r\n"
      "--outer\r\n"
      "Content-Type: multipart/alternative; boundary=\"inner\"\r\n"
      "\r\n"
      "--inner\r\n"
      "Content-Type: text/plain; charset=\"UTF-8\"\r\n"
      "Content-Transfer-Encoding: base64\r\n"
      "\r\n"
      "w4ljb3V0ZSDinJM=\r\n"
      "--inner--\r\n"
      "--outer--\r\n";
  const MimePart root = parse_mime(raw);
  ASSERT_EQ(root.children.size(), 2u);
  EXPECT_TRUE(root.children[0].attachment);
  ASSERT_EQ(root.children[1].children.size(), 1u);
  EXPECT_EQ(readable_text(root),
            "\xC3\x89"
            "coute \xE2\x9C\x93");
}

TEST(MimeMessage, FallsBackToHtmlStrippedToText) {
  const MailMessage mail = parse_mail(
      "Content-Type: text/html; charset=utf-8\n\n"
      "<html><head><title>T</title><style>p{color:red}</style></head><body>"
      "<p>Hello&nbsp;<b>world</b> &amp; caf&#233; &#x2713;</p><script>alert(1)</script>"
      "<div>second<br>third</div><!-- hidden --></body></html>");
  // Paragraphs stay apart by one empty line.
  EXPECT_EQ(mail.body, "Hello world & caf\xC3\xA9 \xE2\x9C\x93\n\nsecond\nthird");
}

TEST(MimeMessage, ParsesContentTypeParameters) {
  const ContentType type = parse_content_type(
      "Text/Plain; Charset=\"ISO-8859-1\"; name*=utf-8''na%C3%AFve.txt; "
      "title*0=\"a;b\"; title*1=c");
  EXPECT_EQ(type.media_type, "text/plain");
  EXPECT_EQ(type.param("charset"), "ISO-8859-1");
  EXPECT_EQ(type.param("name"), "na\xC3\xAFve.txt");
  EXPECT_EQ(type.param("title"), "a;bc");
  EXPECT_EQ(parse_content_type("garbage").media_type, "text/plain");
}

TEST(MimeMessage, MultipartWithoutDelimitersIsShownAsText) {
  const MailMessage mail =
      parse_mail("Content-Type: multipart/mixed; boundary=zzz\n\nno parts here\n");
  EXPECT_EQ(mail.body, "no parts here\n");
  const MailMessage no_boundary = parse_mail("Content-Type: multipart/mixed\n\nplain\n");
  EXPECT_EQ(no_boundary.body, "plain\n");
}

TEST(MimeMessage, UnterminatedMultipartKeepsItsLastPart) {
  const MailMessage mail = parse_mail(
      "Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: text/plain\n\ncut off");
  EXPECT_EQ(mail.body, "cut off");
}

TEST(MimeMessage, DepthAndPartLimitsHold) {
  std::string raw;
  for (int level = 0; level < 50; ++level) {
    raw += "Content-Type: multipart/mixed; boundary=b" + std::to_string(level) + "\n\n--b" +
           std::to_string(level) + "\n";
  }
  raw += "Content-Type: text/plain\n\ndeep\n";
  MimeLimits limits;
  limits.max_depth = 5;
  const MimePart root = parse_mime(raw, limits);
  std::size_t depth = 0;
  for (const MimePart* part = &root; !part->children.empty(); part = &part->children[0]) ++depth;
  EXPECT_EQ(depth, 5u);

  std::string many = "Content-Type: multipart/mixed; boundary=b\n\n";
  for (int i = 0; i < 1000; ++i) many += "--b\n\npart\n";
  limits.max_parts = 10;
  EXPECT_LE(parse_mime(many, limits).children.size(), 10u);
}

TEST(MimeMessage, BodyTextIsCutOnACharacterBoundary) {
  MimeLimits limits;
  limits.max_text_bytes = 5;
  const MailMessage mail =
      parse_mail("Content-Type: text/plain; charset=utf-8\n\n\xC3\xA9\xC3\xA9\xC3\xA9", limits);
  EXPECT_EQ(mail.body, "\xC3\xA9\xC3\xA9");
}

TEST(MimeMessage, ParsesMailboxes) {
  const Mailbox quoted = parse_mailbox("\"Doe, John\" <john@example.org>, other@x");
  EXPECT_EQ(quoted.name, "Doe, John");
  EXPECT_EQ(quoted.address, "john@example.org");
  EXPECT_EQ(format_mailbox(quoted), "john@example.org");
  const Mailbox plain = parse_mailbox("J\xC3\xBCrgen <j@example.org>");
  EXPECT_EQ(format_mailbox(plain), "J\xC3\xBCrgen <j@example.org>");
  const Mailbox bare = parse_mailbox("a@example.org (Alice)");
  EXPECT_EQ(bare.address, "a@example.org");
  EXPECT_EQ(bare.name, "Alice");
  EXPECT_EQ(format_mailbox(parse_mailbox("")), "");
}

TEST(MimeMessage, ParsesMessageIds) {
  EXPECT_EQ(parse_message_ids(" <a@b>\r\n <c@d> junk <bad id>"),
            (std::vector<std::string>{"<a@b>", "<c@d>"}));
  EXPECT_TRUE(parse_message_ids("none").empty());
}

TEST(MimeMessage, HeaderOnlyAndEmptyInputs) {
  EXPECT_EQ(parse_mail("").body, "");
  EXPECT_EQ(parse_mail("Subject: x").subject, "x");
  EXPECT_EQ(parse_mail("\n\nbody only").body, "\nbody only");
}

TEST(MimeMessage, RandomMutationsNeverCrash) {
  const std::string seed =
      "Content-Type: multipart/mixed; boundary=\"x\"\r\nSubject: =?utf-8?B?w6k=?=\r\n\r\n"
      "--x\r\nContent-Type: multipart/alternative; boundary=y\r\n\r\n--y\r\n"
      "Content-Type: text/html; charset=koi8-r\r\nContent-Transfer-Encoding: base64\r\n\r\n"
      "PGI+aGk8L2I+\r\n--y--\r\n--x\r\nContent-Type: text/plain; charset*=utf-8''x\r\n"
      "Content-Transfer-Encoding: quoted-printable\r\n\r\n=C3=A9=\r\n--x--\r\n";
  std::mt19937 random(11);
  for (int round = 0; round < 2000; ++round) {
    std::string raw = seed;
    const int edits = 1 + static_cast<int>(random() % 8);
    for (int e = 0; e < edits; ++e) {
      const std::size_t at = random() % raw.size();
      switch (random() % 3) {
        case 0:
          raw[at] = static_cast<char>(random() % 256);
          break;
        case 1:
          raw.erase(at, random() % 20);
          break;
        default:
          raw.insert(at, std::string(1 + random() % 5, "<>=?\r\n-\"&;"[random() % 10]));
      }
      if (raw.empty()) raw = "x";
    }
    const MailMessage mail = parse_mail(raw);
    EXPECT_LE(mail.body.size(), MimeLimits{}.max_text_bytes);
  }
}

}  // namespace
}  // namespace voicedesk::tools::mail
