#include "util/text.hpp"

#include <gtest/gtest.h>

#include <string>
#include <type_traits>
#include <utility>

namespace voicedesk::util {
namespace {

TEST(AsciiLower, MapsOnlyAsciiLetters) {
  EXPECT_EQ(ascii_lower("Content-Type: TEXT/Plain; Charset=UTF-8"),
            "content-type: text/plain; charset=utf-8");
  EXPECT_EQ(ascii_lower(""), "");
  EXPECT_EQ(ascii_lower("@[`{09"), "@[`{09");              // the neighbours of A-Z and a-z stay
  EXPECT_EQ(ascii_lower("\xC3\x84RGER"), "\xC3\x84rger");  // UTF-8 bytes pass through
}

TEST(Trim, RemovesWhitespaceAtBothEnds) {
  EXPECT_EQ(trim("  \t value \r\n"), "value");
  EXPECT_EQ(trim("a b"), "a b");
  EXPECT_EQ(trim(" \t\r\n"), "");
  EXPECT_EQ(trim(""), "");
}

TEST(Trim, DefaultSetLeavesVerticalTabAndFormFeed) {
  EXPECT_EQ(trim("\v x \f"), "\v x \f");
  EXPECT_EQ(trim("\v x \f", kAsciiSpace), "x");
}

TEST(Trim, TakesACustomSet) {
  EXPECT_EQ(trim(" \tkey \r\n", kBlank), "key \r\n");
  EXPECT_EQ(trim("...hello, world!?", " .,!?"), "hello, world");
  EXPECT_EQ(trim("xxx", "x"), "");
}

TEST(Trim, OneSidedVariants) {
  EXPECT_EQ(trim_left("  a  "), "a  ");
  EXPECT_EQ(trim_right("  a  "), "  a");
  EXPECT_EQ(trim_left(" \t "), "");
  EXPECT_EQ(trim_right(" \t "), "");
  EXPECT_EQ(trim_right("a\t\n", kBlank), "a\t\n");
}

TEST(Trim, ResultViewsTheInput) {
  const std::string text = "  value  ";
  const std::string_view trimmed = trim(text);
  EXPECT_EQ(trimmed.data(), text.data() + 2);
  EXPECT_EQ(trimmed.size(), 5u);
}

// A trimmed view of a temporary std::string would dangle, so such calls do not compile.
template <typename Text>
concept Trimmable = requires(Text&& text) {
  trim(std::forward<Text>(text));
};
static_assert(Trimmable<const std::string&>);
static_assert(Trimmable<std::string&>);
static_assert(Trimmable<std::string_view>);
static_assert(Trimmable<const char*>);
static_assert(!Trimmable<std::string>);

TEST(Iequals, IgnoresAsciiCaseOnly) {
  EXPECT_TRUE(iequals("Bearer", "bEARER"));
  EXPECT_TRUE(iequals("", ""));
  EXPECT_FALSE(iequals("Bearer", "Bearer "));
  EXPECT_FALSE(iequals("abc", "abd"));
  EXPECT_FALSE(iequals("@", "`"));  // 0x40 and 0x60 differ by the case bit but are not letters
  EXPECT_FALSE(iequals("\xC3\xA4", "\xC3\x84"));  // no Unicode case folding
}

TEST(IstartsWith, ComparesThePrefixIgnoringCase) {
  EXPECT_TRUE(istarts_with("MAILTO:ann@example.com", "mailto:"));
  EXPECT_TRUE(istarts_with("Re: hello", "re:"));
  EXPECT_TRUE(istarts_with("anything", ""));
  EXPECT_FALSE(istarts_with("mail", "mailto:"));
  EXPECT_FALSE(istarts_with("xmailto:", "mailto:"));
}

TEST(Ifind, FindsIgnoringCase) {
  const std::string_view html = "<script>x</SCRIPT><p></script>";
  EXPECT_EQ(ifind(html, "</script"), 9u);
  EXPECT_EQ(ifind(html, "</script", 10), 21u);
  EXPECT_EQ(ifind(html, "</style"), std::string_view::npos);
  EXPECT_EQ(ifind(html, "<P>"), 18u);
  EXPECT_EQ(ifind("abc", "", 1), 1u);
  EXPECT_EQ(ifind("abc", "a", 4), std::string_view::npos);
  EXPECT_EQ(ifind("", "a"), std::string_view::npos);
}

}  // namespace
}  // namespace voicedesk::util
