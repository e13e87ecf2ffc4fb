#include "tools/mail/message.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <regex>

#include "tools/tool.hpp"
#include "util/base64.hpp"

namespace voicedesk::tools::mail {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::size_t start = 0;
  while (start < text.size()) {
    const std::size_t end = text.find("\r\n", start);
    if (end == std::string::npos) {
      lines.push_back(text.substr(start));
      break;
    }
    lines.push_back(text.substr(start, end - start));
    start = end + 2;
  }
  return lines;
}

std::string decode_quoted_printable(const std::string& encoded) {
  std::string out;
  for (std::size_t i = 0; i < encoded.size(); ++i) {
    if (encoded[i] != '=') {
      out += encoded[i];
    } else if (encoded.compare(i + 1, 2, "\r\n") == 0) {
      i += 2;  // soft line break
    } else {
      out += static_cast<char>(std::stoi(encoded.substr(i + 1, 2), nullptr, 16));
      i += 2;
    }
  }
  return out;
}

std::string decode_encoded_words(const std::string& value) {
  static const std::regex word(R"(=\?UTF-8\?B\?([A-Za-z0-9+/=]*)\?=)");
  std::string out;
  for (auto it = std::sregex_iterator(value.begin(), value.end(), word);
       it != std::sregex_iterator(); ++it) {
    const auto bytes = util::base64_decode((*it)[1].str());
    EXPECT_TRUE(bytes);
    for (const std::byte b : *bytes) out += static_cast<char>(b);
  }
  return out;
}

OutgoingMail sample_mail() {
  OutgoingMail mail;
  mail.from = "Voice Desk <desk@example.com>";
  mail.to = {"bob@example.org"};
  mail.subject = "Hello";
  mail.body = "Hi Bob,\nsee you.\n";
  return mail;
}

FormattedMail format(const OutgoingMail& mail) {
  return format_mail(mail, "<abc123@example.com>", std::chrono::system_clock::from_time_t(0));
}

std::string header_block(const FormattedMail& formatted) {
  return formatted.raw.substr(0, formatted.raw.find("\r\n\r\n") + 2);
}

// The unfolded value of the first header called name.
std::string header(const FormattedMail& formatted, const std::string& name) {
  const std::string headers = header_block(formatted);
  const auto start = headers.find(name + ": ");
  if (start == std::string::npos) return {};
  std::string value;
  std::size_t i = start + name.size() + 2;
  while (i < headers.size()) {
    const auto end = headers.find("\r\n", i);
    value += headers.substr(i, end - i);
    i = end + 2;
    if (i >= headers.size() || (headers[i] != ' ' && headers[i] != '\t')) break;
  }
  return value;
}

void expect_tool_error(const std::function<void()>& action, const std::string& field) {
  try {
    action();
    ADD_FAILURE() << "expected a ToolError naming " << field;
  } catch (const ToolError& e) {
    EXPECT_THAT(e.what(), StartsWith(field + ":"));
  }
}

TEST(QuotedPrintable, EscapesWhatItMustAndKeepsLinesShort) {
  const std::string text =
      "a=b tail \nline with ünïcödé\tand tab\t\n" + std::string(200, 'x') + "\n";
  const std::string encoded = encode_quoted_printable(text);
  for (const std::string& line : lines_of(encoded)) {
    EXPECT_LE(line.size(), 76u) << line;
    EXPECT_TRUE(line.empty() || (line.back() != ' ' && line.back() != '\t')) << line;
  }
  EXPECT_THAT(encoded, HasSubstr("a=3Db tail=20\r\n"));
  EXPECT_THAT(encoded, HasSubstr("=C3=BC"));
  EXPECT_THAT(encoded, HasSubstr("tab=09\r\n"));
  EXPECT_EQ(encoded.find('\n'), encoded.find("\r\n") + 1);
  std::string expected = text;
  expected = std::regex_replace(expected, std::regex("\n"), "\r\n");
  EXPECT_EQ(decode_quoted_printable(encoded), expected);
}

TEST(QuotedPrintable, DoesNotSplitEscapesAcrossSoftBreaks) {
  const std::string text(100, '\xff');
  const auto lines = lines_of(encode_quoted_printable(text));
  for (std::size_t i = 0; i + 1 < lines.size(); ++i) {
    EXPECT_EQ(lines[i].size() % 3, 1u) << lines[i];  // whole "=FF" groups, then the soft break
  }
  EXPECT_EQ(lines.back().size() % 3, 0u) << lines.back();
  EXPECT_EQ(decode_quoted_printable(encode_quoted_printable(text)), text);
}

TEST(HeaderText, PlainAsciiIsFoldedAtSpaces) {
  std::string subject;
  for (int i = 0; i < 30; ++i) subject += "word" + std::to_string(i) + " ";
  subject.pop_back();
  const std::string value = encode_header_text(subject, 9);
  const auto lines = lines_of(value);
  EXPECT_GT(lines.size(), 1u);
  EXPECT_LE(lines[0].size() + 9, 78u);
  for (std::size_t i = 1; i < lines.size(); ++i) {
    EXPECT_LE(lines[i].size(), 78u);
    EXPECT_EQ(lines[i][0], ' ');
  }
  EXPECT_EQ(std::regex_replace(value, std::regex("\r\n"), ""), subject);
}

TEST(HeaderText, NonAsciiBecomesEncodedWordsOfAtMost76Characters) {
  const std::string subject = "Grüße aus Köln — 東京の会議について、明日の予定を確認します ✓ " +
                              std::string("and some more words to make it long");
  const std::string value = encode_header_text(subject, 9);
  const auto lines = lines_of(value);
  EXPECT_GT(lines.size(), 1u);
  EXPECT_LE(lines[0].size() + 9, 76u);
  for (const std::string& line : lines) EXPECT_LE(line.size(), 76u) << line;
  EXPECT_EQ(decode_encoded_words(value), subject);
  // Every word holds whole UTF-8 characters, so each decodes on its own.
  for (const std::string& line : lines) EXPECT_TRUE(is_valid_utf8(decode_encoded_words(line)));
}

TEST(HeaderText, TextLookingLikeAnEncodedWordIsEncoded) {
  EXPECT_THAT(encode_header_text("=?UTF-8?B?SGk=?=", 9), StartsWith("=?UTF-8?B?"));
}

TEST(Addresses, AcceptsCommonForms) {
  EXPECT_EQ(parse_address("bob@example.org", "to").addr_spec, "bob@example.org");
  const Address named = parse_address("  Bob Smith <bob.smith+tag@mail.example.org> ", "to");
  EXPECT_EQ(named.display_name, "Bob Smith");
  EXPECT_EQ(named.addr_spec, "bob.smith+tag@mail.example.org");
  const Address quoted = parse_address(R"("Smith, Bob \"B\"" <bob@example.org>)", "to");
  EXPECT_EQ(quoted.display_name, R"(Smith, Bob "B")");
  EXPECT_EQ(parse_address("<bob@localhost>", "to").display_name, "");
  EXPECT_EQ(parse_address("Zoë <zoe@example.org>", "to").display_name, "Zoë");
}

TEST(Addresses, RejectsMalformedOnesNamingTheField) {
  for (const char* bad :
       {"", "bob", "bob@", "@example.org", "bob..x@example.org", ".bob@example.org",
        "bob@exa mple.org", "bob@-example.org", "bob@example..org", "bob@ex_ample.org",
        "bøb@example.org", "Smith, Bob <bob@example.org>", "Bob <bob@example.org",
        "bob@example.org>", "a@b.org, c@d.org", "bob@example.org\r\nBcc: eve@evil.example",
        "Bob\n <bob@example.org>", "Bob <bob@example.org>\r\n"}) {
    expect_tool_error([&] { parse_address(bad, "to_email"); }, "to_email");
  }
  expect_tool_error([&] { parse_address(std::string(65, 'a') + "@example.org", "cc"); }, "cc");
}

TEST(FormatMail, ProducesAWellFormedMessage) {
  OutgoingMail mail = sample_mail();
  mail.cc = {"Carol <carol@example.net>", "BOB@example.org"};
  mail.in_reply_to = "<orig@example.org>";
  mail.references = {"<first@example.org>", "<orig@example.org>"};
  const FormattedMail formatted = format(mail);
  EXPECT_EQ(formatted.envelope_from, "desk@example.com");
  EXPECT_EQ(formatted.recipients,
            (std::vector<std::string>{"bob@example.org", "carol@example.net"}));  // once each
  EXPECT_EQ(header(formatted, "Date"), "Thu, 01 Jan 1970 00:00:00 +0000");
  EXPECT_EQ(header(formatted, "From"), "Voice Desk <desk@example.com>");
  EXPECT_EQ(header(formatted, "To"), "bob@example.org");
  EXPECT_EQ(header(formatted, "Cc"), "Carol <carol@example.net>, BOB@example.org");
  EXPECT_EQ(header(formatted, "Subject"), "Hello");
  EXPECT_EQ(header(formatted, "Message-ID"), "<abc123@example.com>");
  EXPECT_EQ(header(formatted, "In-Reply-To"), "<orig@example.org>");
  EXPECT_EQ(header(formatted, "References"), "<first@example.org> <orig@example.org>");
  EXPECT_EQ(header(formatted, "MIME-Version"), "1.0");
  EXPECT_EQ(header(formatted, "Content-Type"), "text/plain; charset=utf-8");
  EXPECT_EQ(header(formatted, "Content-Transfer-Encoding"), "quoted-printable");
  EXPECT_THAT(formatted.raw, ::testing::EndsWith("\r\n\r\nHi Bob,\r\nsee you.\r\n"));
  // CRLF only, no bare CR or LF.
  EXPECT_EQ(std::regex_replace(formatted.raw, std::regex("\r\n"), "").find_first_of("\r\n"),
            std::string::npos);
}

TEST(FormatMail, EncodesNonAsciiNamesAndKeepsEveryLineShort) {
  OutgoingMail mail = sample_mail();
  mail.from = "Jürgen Müller-Lüdenscheidt von und zu Großherzogtum <j@example.com>";
  mail.to.clear();
  for (int i = 0; i < 12; ++i)
    mail.to.push_back("Person " + std::to_string(i) + " <p" + std::to_string(i) + "@example.org>");
  mail.subject = std::string(300, 'x') + " ünïcode";
  mail.body = std::string(5000, 'y') + "\n. a dot line\nFrom the start\n";
  const FormattedMail formatted = format(mail);
  for (const std::string& line : lines_of(formatted.raw)) EXPECT_LE(line.size(), 78u) << line;
  EXPECT_EQ(decode_encoded_words(header(formatted, "From")),
            "Jürgen Müller-Lüdenscheidt von und zu Großherzogtum");
  EXPECT_THAT(header(formatted, "From"), ::testing::EndsWith(" <j@example.com>"));
  EXPECT_EQ(decode_encoded_words(header(formatted, "Subject")), mail.subject);
  EXPECT_EQ(formatted.recipients.size(), 12u);
}

TEST(FormatMail, QuotesDisplayNamesWithSpecials) {
  OutgoingMail mail = sample_mail();
  mail.from = R"("Desk, the \"Voice\"" <desk@example.com>)";
  EXPECT_EQ(header(format(mail), "From"), R"("Desk, the \"Voice\"" <desk@example.com>)");
}

TEST(FormatMail, MostlyNonAsciiBodiesUseBase64AndBodiesWithoutNewlineGetASoftBreak) {
  OutgoingMail mail = sample_mail();
  mail.body = "東京の会議について、明日の予定を確認します。";
  FormattedMail formatted = format(mail);
  EXPECT_EQ(header(formatted, "Content-Transfer-Encoding"), "base64");
  const std::string body = formatted.raw.substr(formatted.raw.find("\r\n\r\n") + 4);
  const auto bytes = util::base64_decode(body);
  ASSERT_TRUE(bytes);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(bytes->data()), bytes->size()), mail.body);

  mail.body = "no newline at the end";
  formatted = format(mail);
  EXPECT_THAT(formatted.raw, ::testing::EndsWith("\r\n\r\nno newline at the end=\r\n"));
}

TEST(FormatMail, RejectsHeaderInjectionAndBadFields) {
  const auto rejects = [](const std::function<void(OutgoingMail&)>& change,
                          const std::string& field) {
    OutgoingMail mail = sample_mail();
    change(mail);
    expect_tool_error([&] { format(mail); }, field);
  };
  rejects([](OutgoingMail& m) { m.subject = "Hi\r\nBcc: eve@evil.example"; }, "subject");
  rejects([](OutgoingMail& m) { m.subject = "Hi\nBcc: eve@evil.example"; }, "subject");
  rejects([](OutgoingMail& m) { m.subject = std::string("Hi\0there", 8); }, "subject");
  rejects([](OutgoingMail& m) { m.subject = "\xC3\x28"; }, "subject");
  rejects([](OutgoingMail& m) { m.subject = std::string(kMaxSubjectBytes + 1, 'a'); }, "subject");
  rejects([](OutgoingMail& m) { m.to = {"bob@example.org\r\nBcc: eve@evil.example"}; }, "to");
  rejects([](OutgoingMail& m) { m.to.clear(); }, "to");
  rejects([](OutgoingMail& m) { m.cc = {"Eve\r\n <eve@evil.example>"}; }, "cc");
  rejects([](OutgoingMail& m) { m.from = "Desk\r\nBcc: eve@evil.example <d@example.com>"; },
          "from");
  rejects([](OutgoingMail& m) { m.in_reply_to = "<a@b>\r\nBcc: eve@evil.example"; }, "in_reply_to");
  rejects([](OutgoingMail& m) { m.in_reply_to = "no-angles@example.org"; }, "in_reply_to");
  rejects([](OutgoingMail& m) { m.references = {"<a@b> <c@d>"}; }, "references");
  rejects([](OutgoingMail& m) { m.body = "bad \xFF byte"; }, "body");
  rejects([](OutgoingMail& m) { m.body = "\xED\xA0\x80 surrogate"; }, "body");
  rejects([](OutgoingMail& m) { m.body = "\xC0\xAF overlong"; }, "body");
  rejects([](OutgoingMail& m) { m.body = std::string("nul\0", 4); }, "body");
  rejects([](OutgoingMail& m) { m.body = std::string(kMaxBodyBytes + 1, 'a'); }, "body");
  rejects([](OutgoingMail& m) { m.to.assign(kMaxRecipients + 1, "a@example.org"); }, "to");
}

TEST(MessageId, IsRandomAtTheSendersDomain) {
  const Address from = parse_address("Desk <desk@mail.example.com>", "from");
  const std::string first = make_message_id(from);
  EXPECT_TRUE(std::regex_match(first, std::regex(R"(<[0-9a-f]{32}@mail\.example\.com>)"))) << first;
  EXPECT_NE(first, make_message_id(from));
}

TEST(Utf8, ValidatesWellFormedSequences) {
  EXPECT_TRUE(is_valid_utf8("plain ascii"));
  EXPECT_TRUE(is_valid_utf8("Grüße 東京 🎉"));
  EXPECT_FALSE(is_valid_utf8("\xF4\x90\x80\x80"));  // over U+10FFFF
  EXPECT_FALSE(is_valid_utf8("\xE2\x82"));          // truncated
  EXPECT_FALSE(is_valid_utf8("\x80"));              // stray continuation
}

}  // namespace
}  // namespace voicedesk::tools::mail
