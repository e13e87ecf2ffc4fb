#include "tools/mail/mime_codec.hpp"

#include <gtest/gtest.h>

#include <random>

namespace voicedesk::tools::mail {
namespace {

TEST(MimeCodec, ConvertsCharsetsToUtf8) {
  EXPECT_EQ(to_utf8("caf\xE9", "ISO-8859-1"), "caf\xC3\xA9");
  EXPECT_EQ(to_utf8("\x80", "windows-1252"), "\xE2\x82\xAC");
  EXPECT_EQ(to_utf8("\x93\xfa\x96\x7b", "Shift_JIS"), "\xE6\x97\xA5\xE6\x9C\xAC");  // 日本
  EXPECT_EQ(to_utf8("\xC3\xA9t\xC3\xA9", "utf-8"), "\xC3\xA9t\xC3\xA9");
}

TEST(MimeCodec, UnknownCharsetAndBadBytesBecomeReplacementCharacters) {
  EXPECT_EQ(to_utf8("ok\xE9", "x-no-such-charset"), "ok\xEF\xBF\xBD");
  EXPECT_EQ(to_utf8("a\xFF"
                    "b",
                    "utf-8"),
            "a\xEF\xBF\xBD"
            "b");
  EXPECT_EQ(to_utf8("\xE6\x97", "utf-8"), "\xEF\xBF\xBD\xEF\xBF\xBD");  // cut sequence
  EXPECT_EQ(to_utf8("abc", "bad charset\"; rm"), "abc");
  // Invalid and cut sequences inside an iconv conversion are replaced; the rest survives.
  EXPECT_EQ(to_utf8("a\xFF"
                    "b\x82",
                    "Shift_JIS"),
            "a\xEF\xBF\xBD"
            "b\xEF\xBF\xBD");
}

TEST(MimeCodec, SanitizeRejectsOverlongsAndSurrogates) {
  EXPECT_EQ(sanitize_utf8("\xC0\xAF"), "\xEF\xBF\xBD\xEF\xBF\xBD");
  EXPECT_EQ(sanitize_utf8("\xED\xA0\x80"), "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");
  EXPECT_EQ(sanitize_utf8("\xF0\x9F\x98\x80"), "\xF0\x9F\x98\x80");
}

TEST(MimeCodec, DecodesQuotedPrintable) {
  EXPECT_EQ(decode_quoted_printable("caf=C3=A9 ol=\r\nl=e9=\nx"), "caf\xC3\xA9 oll\xE9x");
  EXPECT_EQ(decode_quoted_printable("soft=  \r\nbreak"), "softbreak");
  EXPECT_EQ(decode_quoted_printable("a=ZZb=4"), "a=ZZb=4");
  EXPECT_EQ(decode_quoted_printable("under_score", true), "under score");
  EXPECT_EQ(decode_quoted_printable("trailing="), "trailing");
}

TEST(MimeCodec, DecodesBase64Leniently) {
  EXPECT_EQ(decode_base64("aGVs\r\nbG8="), "hello");
  EXPECT_EQ(decode_base64("aGVsbG8"), "hello");  // no padding
  EXPECT_EQ(decode_base64("aG!Vs*bG8="), "hello");
  EXPECT_EQ(decode_base64("_-8", true), "\xFF\xEF");
  EXPECT_EQ(decode_base64(""), "");
}

TEST(MimeCodec, DecodesEncodedWords) {
  EXPECT_EQ(decode_header_value("=?UTF-8?B?SMOpbGxv?= world"), "H\xC3\xA9llo world");
  EXPECT_EQ(decode_header_value("=?iso-8859-1?q?caf=E9_cr=E8me?="), "caf\xC3\xA9 cr\xC3\xA8me");
  // Whitespace between adjacent encoded-words (even folded) disappears.
  EXPECT_EQ(decode_header_value("=?utf-8?q?a?=\r\n =?utf-8?q?b?= c"), "ab c");
  EXPECT_EQ(decode_header_value("x =?utf-8?q?y?="), "x y");
  EXPECT_EQ(decode_header_value("=?UTF-8*en?Q?hi?="), "hi");
  EXPECT_EQ(decode_header_value("=?KOI8-R?B?8NLJ18XU?="),
            "\xD0\x9F\xD1\x80\xD0\xB8\xD0\xB2\xD0\xB5\xD1\x82");
}

TEST(MimeCodec, LeavesMalformedEncodedWordsAsText) {
  EXPECT_EQ(decode_header_value("=?utf-8?x?abc?="), "=?utf-8?x?abc?=");
  EXPECT_EQ(decode_header_value("=?utf-8?q?no end"), "=?utf-8?q?no end");
  EXPECT_EQ(decode_header_value("=?"), "=?");
  EXPECT_EQ(decode_header_value("=?nosuch?q?ok?="), "ok");
}

TEST(MimeCodec, UnfoldsHeaders) {
  EXPECT_EQ(decode_header_value("a long\r\n subject\n\tline"), "a long subject\tline");
}

TEST(MimeCodec, MakesSnippetsOnCharacterBoundaries) {
  EXPECT_EQ(make_snippet("  hello \n\n world  ", 50), "hello world");
  EXPECT_EQ(make_snippet("\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9", 2), "\xC3\xA9\xC3\xA9...");
  EXPECT_EQ(make_snippet("ab cd", 3), "ab...");
}

TEST(MimeCodec, RandomBytesNeverCrash) {
  std::mt19937 random(7);
  for (int round = 0; round < 500; ++round) {
    std::string bytes(random() % 200, '\0');
    for (char& c : bytes) c = static_cast<char>(random() % 256);
    (void)decode_header_value(bytes);
    (void)decode_quoted_printable(bytes);
    (void)decode_base64(bytes);
    (void)to_utf8(bytes, "iso-2022-jp");
    (void)make_snippet(bytes, 10);
    EXPECT_EQ(sanitize_utf8(sanitize_utf8(bytes)), sanitize_utf8(bytes));
  }
}

}  // namespace
}  // namespace voicedesk::tools::mail
