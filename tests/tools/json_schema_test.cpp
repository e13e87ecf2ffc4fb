#include "tools/json_schema.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace voicedesk::tools {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;
using ::testing::Optional;

// Schemas as tool authors write them in C++ (integer literals are signed)...
json schema_of(json schema) {
  return schema;
}
// ...and as they arrive parsed from JSON text (integers are unsigned).
json parsed(const char* text) {
  return json::parse(text);
}

TEST(JsonSchema, TypeMismatchNamesTheFieldAndBothTypes) {
  const json schema = {{"type", "object"}, {"properties", {{"text", {{"type", "string"}}}}}};
  EXPECT_EQ(validate(schema, {{"text", "hi"}}), std::nullopt);
  EXPECT_THAT(validate(schema, {{"text", 5}}),
              Optional(std::string("text: expected string, got an integer")));
  EXPECT_THAT(validate(schema, {{"text", true}}), Optional(HasSubstr("got a boolean")));
  EXPECT_THAT(validate(schema, {{"text", nullptr}}), Optional(HasSubstr("got null")));
  EXPECT_THAT(validate(schema, {{"text", json::array()}}), Optional(HasSubstr("got an array")));
  EXPECT_THAT(validate(schema, {{"text", json::object()}}), Optional(HasSubstr("got an object")));
}

TEST(JsonSchema, TopLevelProblemsAreAboutTheArguments) {
  EXPECT_THAT(validate({{"type", "object"}}, json::array()),
              Optional(std::string("arguments: expected object, got an array")));
}

TEST(JsonSchema, IntegerAcceptsWholeNumbersIncludingThreePointZero) {
  const json integer = {{"type", "integer"}};
  EXPECT_EQ(validate(integer, 3), std::nullopt);
  EXPECT_EQ(validate(integer, -3), std::nullopt);
  EXPECT_EQ(validate(integer, 3u), std::nullopt);
  EXPECT_EQ(validate(integer, parsed("3.0")), std::nullopt);
  EXPECT_EQ(validate(integer, parsed("-0.0")), std::nullopt);
  EXPECT_THAT(validate(integer, 3.5), Optional(HasSubstr("expected integer, got a number")));
  EXPECT_THAT(validate(integer, "3"), Optional(HasSubstr("expected integer, got a string")));
  EXPECT_THAT(validate(integer, true), Optional(HasSubstr("expected integer")));
}

TEST(JsonSchema, IntegerAcceptsWholeFloatsBeyondTheRangeOfMachineIntegers) {
  // 1e20 has no fractional part, so JSON Schema counts it as an integer even
  // though no 64-bit integer holds it.
  const json integer = {{"type", "integer"}};
  EXPECT_EQ(validate(integer, parsed("1e20")), std::nullopt);
  EXPECT_EQ(validate(integer, parsed("-1e300")), std::nullopt);
  EXPECT_NE(validate(integer, parsed("1e-20")), std::nullopt);
}

TEST(JsonSchema, NumberAcceptsIntegersAndFloats) {
  const json number = {{"type", "number"}};
  EXPECT_EQ(validate(number, 3), std::nullopt);
  EXPECT_EQ(validate(number, 3.25), std::nullopt);
  EXPECT_THAT(validate(number, "3"), Optional(HasSubstr("expected number, got a string")));
}

TEST(JsonSchema, TypeListAcceptsAnyListedType) {
  const json schema = {{"type", {"string", "null"}}};
  EXPECT_EQ(validate(schema, "x"), std::nullopt);
  EXPECT_EQ(validate(schema, nullptr), std::nullopt);
  EXPECT_THAT(validate(schema, 1), Optional(HasSubstr("expected one of [\"string\",\"null\"]")));
}

TEST(JsonSchema, MissingRequiredFieldIsNamed) {
  const json schema = {{"type", "object"},
                       {"properties", {{"audio", {{"type", "string"}}}}},
                       {"required", {"audio"}}};
  EXPECT_THAT(validate(schema, json::object()),
              Optional(std::string("missing required field \"audio\"")));
  EXPECT_EQ(validate(schema, {{"audio", "x"}}), std::nullopt);
}

TEST(JsonSchema, AdditionalPropertiesFalseNamesTheUnknownField) {
  const json schema = {{"type", "object"},
                       {"properties", {{"text", {{"type", "string"}}}}},
                       {"additionalProperties", false}};
  EXPECT_EQ(validate(schema, {{"text", "x"}}), std::nullopt);
  EXPECT_THAT(validate(schema, {{"text", "x"}, {"txet", "y"}}),
              Optional(std::string("unknown field \"txet\"")));
}

TEST(JsonSchema, AdditionalPropertiesSchemaChecksTheOtherFields) {
  const json schema = {{"type", "object"},
                       {"properties", {{"name", {{"type", "string"}}}}},
                       {"additionalProperties", {{"type", "integer"}}}};
  EXPECT_EQ(validate(schema, {{"name", "x"}, {"count", 2}}), std::nullopt);
  EXPECT_THAT(validate(schema, {{"name", "x"}, {"count", "two"}}),
              Optional(HasSubstr("count: expected integer")));
}

TEST(JsonSchema, ExtraFieldsAreAllowedByDefault) {
  const json schema = {{"type", "object"}, {"properties", {{"text", {{"type", "string"}}}}}};
  EXPECT_EQ(validate(schema, {{"text", "x"}, {"other", 1}}), std::nullopt);
}

TEST(JsonSchema, EnumAndConst) {
  const json colour = {{"enum", {"red", "green", 3}}};
  EXPECT_EQ(validate(colour, "red"), std::nullopt);
  EXPECT_EQ(validate(colour, 3), std::nullopt);
  EXPECT_EQ(validate(colour, parsed("3.0")), std::nullopt);
  EXPECT_THAT(validate(colour, "blue"),
              Optional(HasSubstr("must be one of [\"red\",\"green\",3]")));
  const json fixed = {{"const", {{"kind", "wav"}}}};
  EXPECT_EQ(validate(fixed, {{"kind", "wav"}}), std::nullopt);
  EXPECT_THAT(validate(fixed, {{"kind", "mp3"}}),
              Optional(HasSubstr("must be {\"kind\":\"wav\"}")));
}

TEST(JsonSchema, InclusiveAndExclusiveBounds) {
  const json inclusive = {{"minimum", 1}, {"maximum", 10}};
  EXPECT_EQ(validate(inclusive, 1), std::nullopt);
  EXPECT_EQ(validate(inclusive, 10), std::nullopt);
  EXPECT_THAT(validate(inclusive, 0), Optional(HasSubstr("must be >= 1")));
  EXPECT_THAT(validate(inclusive, 10.5), Optional(HasSubstr("must be <= 10")));
  const json exclusive = {{"exclusiveMinimum", 0}, {"exclusiveMaximum", 1.5}};
  EXPECT_EQ(validate(exclusive, 0.001), std::nullopt);
  EXPECT_THAT(validate(exclusive, 0), Optional(HasSubstr("must be > 0")));
  EXPECT_THAT(validate(exclusive, 1.5), Optional(HasSubstr("must be < 1.5")));
  // Bounds constrain numbers only.
  EXPECT_EQ(validate(inclusive, "0"), std::nullopt);
}

TEST(JsonSchema, StringLengthCountsCodePointsNotBytes) {
  for (const json& schema : {schema_of({{"minLength", 2}, {"maxLength", 3}}),
                             parsed(R"({"minLength": 2, "maxLength": 3})")}) {
    SCOPED_TRACE(schema.dump());
    EXPECT_EQ(validate(schema, "日本語"), std::nullopt);   // 3 code points, 9 bytes
    EXPECT_EQ(validate(schema, "é!"), std::nullopt);       // 2 code points, 3 bytes
    EXPECT_EQ(validate(schema, "🎙️"), std::nullopt);  // U+1F399 U+FE0F: 2 code points, 7 bytes
    EXPECT_THAT(validate(schema, "é"), Optional(HasSubstr("must be at least 2 characters")));
    EXPECT_THAT(validate(schema, "日本語!"), Optional(HasSubstr("must be at most 3 characters")));
  }
}

TEST(JsonSchema, PatternSearchesAnywhereUnlessAnchored) {
  const json contains = {{"pattern", "[0-9]+"}};
  EXPECT_EQ(validate(contains, "abc123"), std::nullopt);
  EXPECT_THAT(validate(contains, "abc"),
              Optional(HasSubstr("does not match the pattern \"[0-9]+\"")));
  const json language = {{"type", "string"}, {"pattern", "^[a-z]{2,3}$"}};
  EXPECT_EQ(validate(language, "en"), std::nullopt);
  EXPECT_NE(validate(language, "EN"), std::nullopt);
  EXPECT_NE(validate(language, "english"), std::nullopt);
}

TEST(JsonSchema, UncompilablePatternConstrainsNothing) {
  EXPECT_EQ(validate({{"pattern", "(unclosed"}}, "anything"), std::nullopt);
}

TEST(JsonSchema, ItemsAndItemCounts) {
  for (const json& schema :
       {schema_of(
            {{"type", "array"}, {"items", {{"type", "string"}}}, {"minItems", 1}, {"maxItems", 2}}),
        parsed(R"({"type":"array","items":{"type":"string"},"minItems":1,"maxItems":2})")}) {
    SCOPED_TRACE(schema.dump());
    EXPECT_EQ(validate(schema, {"a"}), std::nullopt);
    EXPECT_EQ(validate(schema, {"a", "b"}), std::nullopt);
    EXPECT_THAT(validate(schema, json::array()), Optional(HasSubstr("must have at least 1 items")));
    EXPECT_THAT(validate(schema, {"a", "b", "c"}),
                Optional(HasSubstr("must have at most 2 items")));
    EXPECT_THAT(validate(schema, {"a", 2}),
                Optional(std::string("arguments[1]: expected string, got an integer")));
  }
}

TEST(JsonSchema, NestedPathsNameTheFullPath) {
  const json schema = {
      {"type", "object"},
      {"properties",
       {{"address",
         {{"type", "object"},
          {"properties", {{"city", {{"type", "string"}}}, {"zip", {{"type", "string"}}}}},
          {"required", {"zip"}},
          {"additionalProperties", false}}},
        {"tags", {{"type", "array"}, {"items", {{"type", "string"}}}}},
        {"points",
         {{"type", "array"},
          {"items", {{"type", "object"}, {"properties", {{"x", {{"type", "number"}}}}}}}}}}}};
  EXPECT_EQ(validate(schema, {{"address", {{"city", "Oslo"}, {"zip", "0150"}}}}), std::nullopt);
  EXPECT_THAT(validate(schema, {{"address", {{"city", 7}, {"zip", "0150"}}}}),
              Optional(std::string("address.city: expected string, got an integer")));
  EXPECT_THAT(validate(schema, {{"address", {{"city", "Oslo"}}}}),
              Optional(std::string("missing required field \"address.zip\"")));
  EXPECT_THAT(validate(schema, {{"address", {{"zip", "1"}, {"street", "x"}}}}),
              Optional(std::string("unknown field \"address.street\"")));
  EXPECT_THAT(validate(schema, {{"tags", {"a", false}}}),
              Optional(std::string("tags[1]: expected string, got a boolean")));
  EXPECT_THAT(validate(schema, {{"points", {{{"x", 1}}, {{"x", "1"}}}}}),
              Optional(std::string("points[1].x: expected number, got a string")));
}

TEST(JsonSchema, AnyOfPassesWhenOneFormMatches) {
  const json schema = {{"anyOf", {{{"type", "string"}}, {{"type", "integer"}, {"minimum", 0}}}}};
  EXPECT_EQ(validate(schema, "x"), std::nullopt);
  EXPECT_EQ(validate(schema, 4), std::nullopt);
  EXPECT_NE(validate(schema, -4), std::nullopt);
  EXPECT_NE(validate(schema, true), std::nullopt);
}

TEST(JsonSchema, OneOfNeedsExactlyOneMatch) {
  const json schema = {{"oneOf", {{{"type", "integer"}}, {{"type", "number"}, {"minimum", 10}}}}};
  EXPECT_EQ(validate(schema, 3), std::nullopt);     // integer only
  EXPECT_EQ(validate(schema, 10.5), std::nullopt);  // number >= 10 only
  EXPECT_THAT(validate(schema, 12), Optional(HasSubstr("matches more than one allowed form")));
  EXPECT_NE(validate(schema, 2.5), std::nullopt);  // neither
}

TEST(JsonSchema, BooleanSchemas) {
  EXPECT_EQ(validate(true, {{"anything", 1}}), std::nullopt);
  EXPECT_THAT(validate(false, 1), Optional(std::string("arguments: not allowed")));
  const json schema = {{"type", "object"}, {"properties", {{"legacy", false}, {"free", true}}}};
  EXPECT_EQ(validate(schema, {{"free", {1, 2}}}), std::nullopt);
  EXPECT_THAT(validate(schema, {{"legacy", 1}}), Optional(std::string("legacy: not allowed")));
}

TEST(JsonSchema, UnknownKeywordsAreIgnored) {
  const json schema = {{"type", "object"},
                       {"$schema", "https://json-schema.org/draft/2020-12/schema"},
                       {"$ref", "#/$defs/nothing"},
                       {"format", "email"},
                       {"x-vendor", {{"anything", true}}},
                       {"properties", {{"when", {{"type", "string"}, {"format", "date-time"}}}}}};
  EXPECT_EQ(validate(schema, {{"when", "not a date"}}), std::nullopt);
  EXPECT_EQ(validate({{"type", "no-such-type"}}, 1), std::nullopt);
}

TEST(JsonSchema, EmptySchemaAcceptsEverything) {
  for (const json& value : {json(nullptr), json(1), json("x"), json::array(), json::object()}) {
    EXPECT_EQ(validate(json::object(), value), std::nullopt) << value.dump();
  }
}

}  // namespace
}  // namespace voicedesk::tools
