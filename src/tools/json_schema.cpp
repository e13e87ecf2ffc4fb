#include "tools/json_schema.hpp"

#include <cmath>
#include <cstdint>
#include <regex>

namespace voicedesk::tools {
namespace {

using nlohmann::json;

std::string describe_type(const json& value) {
  switch (value.type()) {
    case json::value_t::null:
      return "null";
    case json::value_t::boolean:
      return "a boolean";
    case json::value_t::number_integer:
    case json::value_t::number_unsigned:
      return "an integer";
    case json::value_t::number_float:
      return "a number";
    case json::value_t::string:
      return "a string";
    case json::value_t::array:
      return "an array";
    default:
      return "an object";
  }
}

bool has_type(const json& value, const std::string& type) {
  if (type == "string") return value.is_string();
  if (type == "integer") {
    if (value.is_number_integer()) return true;
    if (!value.is_number_float()) return false;
    // 3.0 (and 1e20, beyond every machine integer) is an integer in JSON Schema.
    const double number = value.get<double>();
    return std::isfinite(number) && std::trunc(number) == number;
  }
  if (type == "number") return value.is_number();
  if (type == "boolean") return value.is_boolean();
  if (type == "object") return value.is_object();
  if (type == "array") return value.is_array();
  if (type == "null") return value.is_null();
  return true;  // unknown type names constrain nothing
}

std::size_t utf8_length(const std::string& text) {
  std::size_t count = 0;
  for (const char c : text) count += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  return count;
}

// The value of a count keyword (minLength, maxItems...): a non-negative
// integer, signed when the schema was built in C++ and unsigned when parsed.
std::optional<std::size_t> count_keyword(const json& schema, const char* key) {
  const auto it = schema.find(key);
  if (it == schema.end()) return std::nullopt;
  if (it->is_number_unsigned()) return it->get<std::size_t>();
  if (it->is_number_integer() && it->get<std::int64_t>() >= 0) return it->get<std::size_t>();
  return std::nullopt;
}

std::string at(const std::string& path) {
  return path.empty() ? "arguments" : path;
}

std::string child(const std::string& path, const std::string& key) {
  return path.empty() ? key : path + "." + key;
}

class Validator {
 public:
  std::optional<std::string> check(const json& schema, const json& value, const std::string& path) {
    if (schema.is_boolean()) {
      if (schema.get<bool>()) return std::nullopt;
      return at(path) + ": not allowed";
    }
    if (!schema.is_object()) return std::nullopt;
    if (auto problem = check_type(schema, value, path)) return problem;
    if (auto it = schema.find("enum"); it != schema.end() && it->is_array()) {
      if (std::find(it->begin(), it->end(), value) == it->end()) {
        return at(path) + ": must be one of " + it->dump();
      }
    }
    if (auto it = schema.find("const"); it != schema.end() && *it != value) {
      return at(path) + ": must be " + it->dump();
    }
    if (value.is_number()) {
      if (auto problem = check_number(schema, value.get<double>(), path)) return problem;
    }
    if (value.is_string()) {
      if (auto problem = check_string(schema, value.get_ref<const std::string&>(), path))
        return problem;
    }
    if (value.is_array()) {
      if (auto problem = check_array(schema, value, path)) return problem;
    }
    if (value.is_object()) {
      if (auto problem = check_object(schema, value, path)) return problem;
    }
    return check_combinators(schema, value, path);
  }

 private:
  std::optional<std::string> check_type(const json& schema, const json& value,
                                        const std::string& path) {
    const auto it = schema.find("type");
    if (it == schema.end()) return std::nullopt;
    if (it->is_string()) {
      if (has_type(value, it->get<std::string>())) return std::nullopt;
      return at(path) + ": expected " + it->get<std::string>() + ", got " + describe_type(value);
    }
    if (it->is_array()) {
      for (const json& type : *it) {
        if (type.is_string() && has_type(value, type.get<std::string>())) return std::nullopt;
      }
      return at(path) + ": expected one of " + it->dump() + ", got " + describe_type(value);
    }
    return std::nullopt;
  }

  std::optional<std::string> check_number(const json& schema, double number,
                                          const std::string& path) {
    auto bound = [&](const char* key) -> std::optional<double> {
      const auto it = schema.find(key);
      if (it == schema.end() || !it->is_number()) return std::nullopt;
      return it->get<double>();
    };
    if (auto min = bound("minimum"); min && number < *min)
      return at(path) + ": must be >= " + schema["minimum"].dump();
    if (auto max = bound("maximum"); max && number > *max)
      return at(path) + ": must be <= " + schema["maximum"].dump();
    if (auto min = bound("exclusiveMinimum"); min && number <= *min)
      return at(path) + ": must be > " + schema["exclusiveMinimum"].dump();
    if (auto max = bound("exclusiveMaximum"); max && number >= *max)
      return at(path) + ": must be < " + schema["exclusiveMaximum"].dump();
    return std::nullopt;
  }

  std::optional<std::string> check_string(const json& schema, const std::string& text,
                                          const std::string& path) {
    const std::size_t length = utf8_length(text);
    if (auto min = count_keyword(schema, "minLength"); min && length < *min) {
      return at(path) + ": must be at least " + std::to_string(*min) + " characters";
    }
    if (auto max = count_keyword(schema, "maxLength"); max && length > *max) {
      return at(path) + ": must be at most " + std::to_string(*max) + " characters";
    }
    if (auto it = schema.find("pattern"); it != schema.end() && it->is_string()) {
      try {
        if (!std::regex_search(text, std::regex(it->get<std::string>(), std::regex::ECMAScript))) {
          return at(path) + ": does not match the pattern " + it->dump();
        }
      } catch (const std::regex_error&) {
        // A pattern std::regex cannot compile constrains nothing.
      }
    }
    return std::nullopt;
  }

  std::optional<std::string> check_array(const json& schema, const json& array,
                                         const std::string& path) {
    if (auto min = count_keyword(schema, "minItems"); min && array.size() < *min) {
      return at(path) + ": must have at least " + std::to_string(*min) + " items";
    }
    if (auto max = count_keyword(schema, "maxItems"); max && array.size() > *max) {
      return at(path) + ": must have at most " + std::to_string(*max) + " items";
    }
    if (auto it = schema.find("items"); it != schema.end()) {
      for (std::size_t i = 0; i < array.size(); ++i) {
        if (auto problem = check(*it, array[i], at(path) + "[" + std::to_string(i) + "]"))
          return problem;
      }
    }
    return std::nullopt;
  }

  std::optional<std::string> check_object(const json& schema, const json& object,
                                          const std::string& path) {
    if (auto it = schema.find("required"); it != schema.end() && it->is_array()) {
      for (const json& name : *it) {
        if (name.is_string() && !object.contains(name.get<std::string>())) {
          return "missing required field \"" + child(path, name.get<std::string>()) + "\"";
        }
      }
    }
    const auto properties = schema.find("properties");
    const auto additional = schema.find("additionalProperties");
    for (const auto& [key, value] : object.items()) {
      if (properties != schema.end() && properties->is_object() && properties->contains(key)) {
        if (auto problem = check((*properties)[key], value, child(path, key))) return problem;
      } else if (additional != schema.end()) {
        if (additional->is_boolean() && !additional->get<bool>()) {
          return "unknown field \"" + child(path, key) + "\"";
        }
        if (auto problem = check(*additional, value, child(path, key))) return problem;
      }
    }
    return std::nullopt;
  }

  std::optional<std::string> check_combinators(const json& schema, const json& value,
                                               const std::string& path) {
    if (auto it = schema.find("anyOf"); it != schema.end() && it->is_array()) {
      std::optional<std::string> first;
      for (const json& option : *it) {
        auto problem = check(option, value, path);
        if (!problem) return std::nullopt;
        if (!first) first = problem;
      }
      if (first) return first;
    }
    if (auto it = schema.find("oneOf"); it != schema.end() && it->is_array()) {
      int matches = 0;
      std::optional<std::string> first;
      for (const json& option : *it) {
        auto problem = check(option, value, path);
        if (!problem)
          ++matches;
        else if (!first)
          first = problem;
      }
      if (matches == 0 && first) return first;
      if (matches > 1) return at(path) + ": matches more than one allowed form";
    }
    return std::nullopt;
  }
};

}  // namespace

std::optional<std::string> validate(const json& schema, const json& instance) {
  return Validator().check(schema, instance, "");
}

}  // namespace voicedesk::tools
