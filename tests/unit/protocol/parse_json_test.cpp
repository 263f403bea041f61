#include <string>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "edgefed/protocol.hpp"

using namespace edgefed;

namespace {
std::string nested(int depth) { return std::string(depth, '[') + std::string(depth, ']'); }
}  // namespace

TEST_CASE("parse_json accepts ordinary JSON", "[unit][protocol]") {
  auto r = parse_json(R"({"a": [1, 2.5, "x\u00e9", null, true]})");
  REQUIRE(r.is_ok());
  CHECK(r->at("a").size() == 5);
}

TEST_CASE("parse_json refuses bad text with a clear code", "[unit][protocol]") {
  auto [name, text, code] = GENERATE(table<std::string, std::string, Code>({
      {"empty", "", Code::kInvalidArgument},
      {"truncated", R"({"a": 1)", Code::kInvalidArgument},
      {"trailing garbage", R"({"a": 1} x)", Code::kInvalidArgument},
      {"NaN literal", R"({"a": NaN})", Code::kInvalidArgument},
      {"Infinity literal", R"({"a": Infinity})", Code::kInvalidArgument},
      {"single quotes", R"({'a': 1})", Code::kInvalidArgument},
      {"invalid UTF-8 in string", "{\"a\": \"\xff\xfe\"}", Code::kInvalidArgument},
      {"overlong UTF-8", "{\"a\": \"\xc0\xaf\"}", Code::kInvalidArgument},
      {"lone surrogate escape", R"({"a": "\ud800"})", Code::kInvalidArgument},
      {"UTF-8 outside strings", "{\"a\": 1}\xc3\xa9", Code::kInvalidArgument},
      {"control char in string", std::string("{\"a\": \"x\x01y\"}"), Code::kInvalidArgument},
      {"duplicate key", R"({"agent_id": "a", "agent_id": "b"})", Code::kInvalidArgument},
      {"nested duplicate key", R"({"r": [{"seq": 1, "seq": 2}]})", Code::kInvalidArgument},
      {"duplicate empty key", R"({"": 1, "": 2})", Code::kInvalidArgument},
      {"65 levels", nested(65), Code::kInvalidArgument},
      {"100000 levels", nested(100000), Code::kInvalidArgument},
  }));
  INFO(name);
  auto r = parse_json(text);
  REQUIRE_FALSE(r.is_ok());
  CHECK(r.status().code() == code);
  CHECK_FALSE(r.status().message().empty());
}

TEST_CASE("parse_json depth limit counts brackets, not brackets in strings", "[unit][protocol]") {
  CHECK(parse_json(nested(64)).is_ok());
  CHECK(parse_json(R"({"a": ")" + std::string(1000, '[') + R"("})").is_ok());
  CHECK(parse_json(R"({"a": "\"[[[[", "b": 1})").is_ok());
}

TEST_CASE("parse_json allows equal keys in different objects", "[unit][protocol]") {
  auto r = parse_json(R"({"a": {"x": 1}, "b": {"x": 2}, "c": [{"x": 3}, {"x": 4}], "x": 5})");
  REQUIRE(r.is_ok());
  CHECK(r->at("c").at(1).at("x") == 4);
  auto dup = parse_json(R"({"a": 1, "b": {}, "a": 2})");
  REQUIRE_FALSE(dup.is_ok());
  CHECK(dup.status().message().find("\"a\"") != std::string::npos);
}

TEST_CASE("parse_json caps the size", "[unit][protocol]") {
  const std::string big = "[" + std::string(100, ' ') + "]";
  CHECK(parse_json(big, 1000).is_ok());
  auto r = parse_json(big, 50);
  REQUIRE_FALSE(r.is_ok());
  CHECK(r.status().code() == Code::kPayloadTooLarge);
  CHECK(r.status().message().find("50") != std::string::npos);
}

TEST_CASE("parse_json reads only the given view", "[unit][protocol]") {
  const std::string buf = R"({"a": 1}garbage)";
  CHECK(parse_json(std::string_view(buf).substr(0, 8)).is_ok());
}
