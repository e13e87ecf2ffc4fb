#include "util/env_file.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "util/temp_dir.hpp"

namespace voicedesk::util {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;
using ::testing::ThrowsMessage;

constexpr const char* kOrigin = "./test.env";

std::vector<EnvEntry> parse(std::string_view text) {
  return parse_env_file(text, kOrigin);
}

// The value of the only assignment in `text`.
std::string value_of(std::string_view text) {
  const auto entries = parse(text);
  if (entries.size() != 1) {
    ADD_FAILURE() << "expected one entry in: " << text;
    return {};
  }
  return entries.front().value;
}

std::string error_of(std::string_view text) {
  try {
    parse(text);
  } catch (const ConfigError& error) {
    return error.what();
  }
  ADD_FAILURE() << "no error for: " << text;
  return {};
}

MATCHER_P3(IsEntry, key, value, line, "") {
  return arg.key == key && arg.value == value && arg.line == line;
}

TEST(EnvFileTest, IgnoresBlankLinesAndCommentsAndCountsLines) {
  const auto entries = parse("\n# comment\n   # indented comment\n\t\nA=1\n\nB=2");
  EXPECT_THAT(entries, ElementsAre(IsEntry("A", "1", 5), IsEntry("B", "2", 7)));
}

TEST(EnvFileTest, EmptyInputHasNoEntries) {
  EXPECT_TRUE(parse("").empty());
  EXPECT_TRUE(parse("\n\n# only comments\n").empty());
}

TEST(EnvFileTest, AcceptsExportPrefix) {
  EXPECT_THAT(parse("export A=1\n  export\tB = 2\nexported=3"),
              ElementsAre(IsEntry("A", "1", 1), IsEntry("B", "2", 2), IsEntry("exported", "3", 3)));
}

TEST(EnvFileTest, IgnoresWhitespaceAroundKeyAndEquals) {
  EXPECT_THAT(parse("  KEY \t=  value  \t"), ElementsAre(IsEntry("KEY", "value", 1)));
}

TEST(EnvFileTest, UnquotedValueKeepsInteriorText) {
  EXPECT_EQ(value_of("A=hello   world"), "hello   world");
  EXPECT_EQ(value_of("A=it's \"fine\""), "it's \"fine\"");
  EXPECT_EQ(value_of(R"(A=C:\path\n)"), R"(C:\path\n)");
}

TEST(EnvFileTest, HashAfterWhitespaceStartsInlineComment) {
  EXPECT_EQ(value_of("A=value # comment"), "value");
  EXPECT_EQ(value_of("A=value\t#comment"), "value");
  EXPECT_EQ(value_of("A=  # nothing set yet"), "");
  EXPECT_EQ(value_of("A=pa#ss"), "pa#ss");
  EXPECT_EQ(value_of("A=http://host/page#part"), "http://host/page#part");
  EXPECT_EQ(value_of("A=#x"), "#x");
}

TEST(EnvFileTest, SingleQuotedValueIsLiteral) {
  EXPECT_EQ(value_of(R"(A='  x\n $HOME # not a comment "q" ')"),
            R"(  x\n $HOME # not a comment "q" )");
}

TEST(EnvFileTest, DoubleQuotedValueUnescapes) {
  EXPECT_EQ(value_of(R"(A="a\nb\tc\"d\\e\$f")"), "a\nb\tc\"d\\e$f");
  EXPECT_EQ(value_of(R"(A="x # not a comment 'q'")"), "x # not a comment 'q'");
}

TEST(EnvFileTest, DoubleQuotedValueKeepsOtherBackslashes) {
  EXPECT_EQ(value_of(R"(A="C:\Users\me\r")"), R"(C:\Users\me\r)");
}

TEST(EnvFileTest, AllowsCommentOrBlanksAfterClosingQuote) {
  EXPECT_EQ(value_of(R"(A="x" # comment)"), "x");
  EXPECT_EQ(value_of("A='x'#comment"), "x");
  EXPECT_EQ(value_of("A=\"x\"   \t"), "x");
}

TEST(EnvFileTest, AcceptsCrlfLineEndings) {
  EXPECT_THAT(parse("# c\r\nA=1\r\nB='2'\r\nC=\"3\" # c\r\n\r\nD=4 \r\n"),
              ElementsAre(IsEntry("A", "1", 2), IsEntry("B", "2", 3), IsEntry("C", "3", 4),
                          IsEntry("D", "4", 6)));
}

TEST(EnvFileTest, SkipsUtf8ByteOrderMark) {
  EXPECT_THAT(parse("\xEF\xBB\xBF"
                    "A=1\nB=2"),
              ElementsAre(IsEntry("A", "1", 1), IsEntry("B", "2", 2)));
}

TEST(EnvFileTest, EmptyValuesAreEmptyStrings) {
  EXPECT_THAT(parse("A=\nB=''\nC=\"\"\nD=   "),
              ElementsAre(IsEntry("A", "", 1), IsEntry("B", "", 2), IsEntry("C", "", 3),
                          IsEntry("D", "", 4)));
}

TEST(EnvFileTest, KeepsUtf8InValues) {
  EXPECT_EQ(value_of("A=gr\xC3\xBC\xC3\x9F"
                     "e"),
            "gr\xC3\xBC\xC3\x9F"
            "e");
}

TEST(EnvFileTest, MissingEqualsIsErrorWithLocation) {
  EXPECT_EQ(error_of("A=1\nfoo bar\n"),
            R"(./test.env:2: expected KEY=VALUE, got a line without '=' starting with "foo")");
  // A secret whose '=' was forgotten is not echoed.
  EXPECT_THAT(error_of("MAIL_PASSWORD hunter2\n"), Not(HasSubstr("hunter2")));
}

TEST(EnvFileTest, InvalidKeyIsErrorWithLocation) {
  EXPECT_THAT(error_of("A=1\n\n1A=2"), StartsWith(R"(./test.env:3: invalid key "1A")"));
  EXPECT_THAT(error_of("MY-KEY=1"), StartsWith(R"(./test.env:1: invalid key "MY-KEY")"));
  EXPECT_THAT(error_of("A B=1"), StartsWith(R"(./test.env:1: invalid key "A B")"));
  EXPECT_THAT(error_of("=1"), StartsWith(R"(./test.env:1: invalid key "")"));
  EXPECT_THAT(error_of("export =1"), StartsWith(R"(./test.env:1: invalid key "")"));
}

TEST(EnvFileTest, UnterminatedQuoteIsErrorMentioningMultiLine) {
  EXPECT_EQ(error_of("A=1\nB=\"abc\ndef\"\n"),
            "./test.env:2: unterminated double-quoted value for B (multi-line values are not "
            "supported)");
  EXPECT_EQ(error_of("C='abc"),
            "./test.env:1: unterminated single-quoted value for C (multi-line values are not "
            "supported)");
  // An escaped quote does not close the value.
  EXPECT_THAT(error_of(R"(D="abc\")"), StartsWith("./test.env:1: unterminated double-quoted"));
}

TEST(EnvFileTest, TextAfterClosingQuoteIsErrorWithoutEchoingValue) {
  const std::string message = error_of("A=1\nPASSWORD=\"hunter2\" oops");
  EXPECT_THAT(message, StartsWith("./test.env:2: unexpected text after the closing quote of "
                                  "PASSWORD"));
  EXPECT_THAT(message, Not(HasSubstr("hunter2")));
  EXPECT_THAT(error_of("A='x'y"), StartsWith("./test.env:1: unexpected text after the closing"));
}

TEST(EnvFileTest, NulByteIsError) {
  EXPECT_THAT(error_of(std::string_view("A=1\nB=x\0y\n", 10)),
              StartsWith("./test.env:2: NUL byte in file"));
}

TEST(EnvFileTest, ReadsFileAndNamesItInErrors) {
  test_support::TempDir dir;
  const auto good = dir.write("good.env", "A=1\n");
  EXPECT_THAT(read_env_file(good), ElementsAre(IsEntry("A", "1", 1)));

  const auto bad = dir.write("bad.env", "A=1\nnonsense\n");
  EXPECT_THAT([&] { read_env_file(bad); },
              ThrowsMessage<ConfigError>(StartsWith(bad.string() + ":2: expected KEY=VALUE")));
}

TEST(EnvFileTest, MissingFileIsErrorNamingPath) {
  test_support::TempDir dir;
  const auto missing = dir.path() / "missing.env";
  EXPECT_THAT([&] { read_env_file(missing); },
              ThrowsMessage<ConfigError>(
                  StartsWith(missing.string() + ": cannot read: No such file or directory")));
}

TEST(EnvFileTest, DirectoryIsErrorNamingPath) {
  test_support::TempDir dir;
  EXPECT_THAT([&] { read_env_file(dir.path()); },
              ThrowsMessage<ConfigError>(StartsWith(dir.path().string() + ": cannot read")));
}

TEST(EnvFileTest, RefusesFilesOverOneMebibyte) {
  test_support::TempDir dir;
  const std::string line = "# " + std::string(97, 'x') + "\n";  // 100 bytes
  std::string text;
  while (text.size() + line.size() <= (1 << 20)) text += line;
  text.append((1 << 20) - text.size(), '#');
  EXPECT_NO_THROW(read_env_file(dir.write("limit.env", text)));

  const auto big = dir.write("big.env", text + "\n");
  EXPECT_THAT([&] { read_env_file(big); },
              ThrowsMessage<ConfigError>(StartsWith(big.string() + ": larger than 1 MiB")));
}

TEST(EnvFileTest, QuotedValueReadsBackUnchanged) {
  for (const std::string value : {"plain", "  spaces # and hash  ", "it's \"quoted\"",
                                  R"(back\slash \n)", "tab\tand\nnewline", "$HOME", ""}) {
    SCOPED_TRACE(value);
    EXPECT_EQ(value_of("A=" + quote_env_value(value)), value);
  }
}

TEST(EnvFileTest, QuotedValueShowsControlBytesAsHex) {
  EXPECT_EQ(quote_env_value(std::string_view("a\x01\x7f\r\0b", 6)), R"("a\x01\x7f\x0d\x00b")");
}

}  // namespace
}  // namespace voicedesk::util
