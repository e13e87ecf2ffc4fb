#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>

namespace voicedesk::tools {

// Checks instance against a JSON Schema (2020-12) and returns the first
// problem, naming the field ("text: expected a string, got a number",
// "missing required field \"audio\""), or nullopt when it conforms.
//
// Supports the keywords tool schemas use: type, properties, required,
// additionalProperties, enum, const, minimum, maximum, exclusiveMinimum,
// exclusiveMaximum, minLength, maxLength, pattern, items, minItems, maxItems,
// anyOf, oneOf. Other keywords (format, $ref, annotations) are ignored, so a
// schema using them is checked less strictly, never rejected.
std::optional<std::string> validate(const nlohmann::json& schema, const nlohmann::json& instance);

}  // namespace voicedesk::tools
