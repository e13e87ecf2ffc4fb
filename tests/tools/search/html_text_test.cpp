#include "tools/search/html_text.hpp"

#include <gtest/gtest.h>

namespace voicedesk::tools::search {
namespace {

TEST(DecodeHtmlEntities, DecodesNamedAndNumericReferences) {
  EXPECT_EQ(decode_html_entities("a &amp; b &lt;c&gt; &quot;d&quot; &#39;e&#x27;"),
            "a & b <c> \"d\" 'e'");
  EXPECT_EQ(decode_html_entities("caf&eacute; &mdash; &#8212; &#x1F600;"),
            "caf\u00E9 \u2014 \u2014 \U0001F600");
}

TEST(DecodeHtmlEntities, KeepsWhatIsNotAReference) {
  EXPECT_EQ(decode_html_entities("AT&T; fish & chips &unknown; &#xZZ; &#;"),
            "AT&T; fish & chips &unknown; &#xZZ; &#;");
  EXPECT_EQ(decode_html_entities("&#0; &#xD800; &#1114112;"), "\uFFFD \uFFFD \uFFFD");
  EXPECT_EQ(decode_html_entities("trailing &amp"), "trailing &amp");
}

TEST(HtmlToText, StripsTagsAndCollapsesWhiteSpace) {
  EXPECT_EQ(html_to_text("  The <b>borrow</b>\n  <i>checker</i>&nbsp;&amp; you  "),
            "The borrow checker & you");
  EXPECT_EQ(html_to_text("<p>one</p><p>two</p>line<br/>break"), "one two line break");
  EXPECT_EQ(html_to_text("ex<b>am</b>ple"), "example");
}

TEST(HtmlToText, DropsScriptsStylesAndComments) {
  EXPECT_EQ(
      html_to_text("a<script>if (x < 1) alert('<b>')</script>b<style>p{}</style>c<!-- d -->e"),
      "abce");
}

TEST(HtmlToText, KeepsALoneLessThanSign) {
  EXPECT_EQ(html_to_text("1 < 2 and 3 <= 4"), "1 < 2 and 3 <= 4");
}

TEST(PercentDecode, DecodesEscapesAndOptionallyPlus) {
  EXPECT_EQ(percent_decode("https%3A%2F%2Fa.b%2Fc%3Fd%3De+f", true), "https://a.b/c?d=e f");
  EXPECT_EQ(percent_decode("a+b%2", false), "a+b%2");
  EXPECT_EQ(percent_decode("%zz%41", false), "%zzA");
}

TEST(NextTag, ParsesAttributesInEveryQuotingStyle) {
  const std::string html =
      R"(text <A Class="result__a  web" HREF='/l/?a=1&amp;b=2' data-x=plain disabled>x</a>)";
  const auto tag = next_tag(html, 0);
  ASSERT_TRUE(tag);
  EXPECT_EQ(tag->name, "a");
  EXPECT_FALSE(tag->closing);
  EXPECT_TRUE(tag->has_class("result__a"));
  EXPECT_TRUE(tag->has_class("web"));
  EXPECT_FALSE(tag->has_class("result"));
  EXPECT_EQ(tag->attribute("href").value_or(""), "/l/?a=1&b=2");
  EXPECT_EQ(tag->attribute("data-x").value_or(""), "plain");
  EXPECT_EQ(tag->attribute("disabled").value_or("?"), "");
  EXPECT_EQ(element_content(html, *tag), "x");
  const auto closing = next_tag(html, tag->end);
  ASSERT_TRUE(closing);
  EXPECT_TRUE(closing->closing);
  EXPECT_EQ(closing->name, "a");
  EXPECT_FALSE(next_tag(html, closing->end));
}

TEST(NextTag, CountsNestedElementsOfTheSameName) {
  const std::string html = "<div class=a><div>inner</div>tail</div>after";
  const auto tag = next_tag(html, 0);
  ASSERT_TRUE(tag);
  EXPECT_EQ(element_content(html, *tag), "<div>inner</div>tail");
}

TEST(NextTag, StopsAtATagCutOff) {
  EXPECT_FALSE(next_tag("<a href=\"never closed", 0));
  EXPECT_FALSE(next_tag("<a href=x", 0));
}

}  // namespace
}  // namespace voicedesk::tools::search
