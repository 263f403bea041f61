// Every malformed file of issue 2 as a table row: the input, the Code it must
// give and a phrase its message must contain.
#include <catch2/catch.hpp>

#include "alloc_probe.hpp"
#include "codec_test_util.hpp"
#include "edgefed/safetensors.hpp"

using namespace edgefed;
using test::bytes_of;
using test::raw_file;

namespace {

const std::string kF32x2 = test::raw_values<float>({1.0f, 2.0f});

// A well-formed two-tensor file, the base for the truncation rows.
std::string good_file() {
  const std::string a = test::raw_values<float>({1.0f, 2.0f, 3.0f});
  const std::string b = test::raw_values<float>({4.0f});
  return write_safetensors({{"a", DType::kF32, {3}, bytes_of(a)}, {"b", DType::kF32, {1}, bytes_of(b)}},
                           {{"format", "test"}});
}

std::string tensor(const std::string& name, const std::string& dtype, const std::string& shape, uint64_t begin,
                   uint64_t end) {
  return "\"" + name + "\":{\"dtype\":\"" + dtype + "\",\"shape\":" + shape + ",\"data_offsets\":[" +
         std::to_string(begin) + "," + std::to_string(end) + "]}";
}

}  // namespace

TEST_CASE("parse_safetensors refuses each malformed file with a clear error", "[unit][safetensors][bad]") {
  const std::string good = good_file();
  const std::string deep = "{\"t\":{\"shape\":" + std::string(10000, '[') + std::string(10000, ']') + "}}";
  auto [what, bytes, code, phrase] = GENERATE_COPY(table<std::string, std::string, Code, std::string>({
      {"empty file", "", Code::kInvalidArgument, "empty file"},
      {"shorter than the length field", "\x02\x00\x00", Code::kInvalidArgument, "truncated file"},
      {"truncated inside the length field", good.substr(0, 7), Code::kInvalidArgument, "truncated file"},
      {"truncated inside the header", good.substr(0, 20), Code::kInvalidArgument, "larger than"},
      {"truncated right after the header", good.substr(0, good.size() - 16), Code::kInvalidArgument, "outside"},
      {"truncated inside the data", good.substr(0, good.size() - 1), Code::kInvalidArgument, "outside"},
      {"header length larger than the file", raw_file("{}", "", 1000), Code::kInvalidArgument, "larger than"},
      {"header length 2^64-1", raw_file("{}", "", INT64_MAX).replace(7, 1, "\xff"), Code::kPayloadTooLarge,
       "exceeds the limit"},
      {"header length 0", raw_file("", "", 0), Code::kInvalidArgument, "not a JSON object"},
      {"offsets past the end", raw_file("{" + tensor("a", "F32", "[2]", 8, 16) + "}", kF32x2),
       Code::kInvalidArgument, "outside the 8-byte data section"},
      {"offsets reversed", raw_file("{" + tensor("a", "F32", "[0]", 8, 0) + "}", kF32x2), Code::kInvalidArgument,
       "begin after end"},
      {"offsets overlapping",
       raw_file("{" + tensor("a", "F32", "[2]", 0, 8) + "," + tensor("b", "F32", "[1]", 4, 8) + "}", kF32x2),
       Code::kInvalidArgument, "overlaps"},
      {"offsets with a hole",
       raw_file("{" + tensor("a", "F32", "[1]", 0, 4) + "," + tensor("b", "F32", "[0]", 8, 8) + "}", kF32x2),
       Code::kInvalidArgument, "hole"},
      {"data not starting at 0", raw_file("{" + tensor("a", "F32", "[1]", 4, 8) + "}", kF32x2),
       Code::kInvalidArgument, "hole"},
      {"trailing bytes after the last tensor", raw_file("{" + tensor("a", "F32", "[1]", 0, 4) + "}", kF32x2),
       Code::kInvalidArgument, "4 trailing bytes"},
      {"unknown dtype", raw_file("{" + tensor("a", "BF16", "[4]", 0, 8) + "}", kF32x2), Code::kInvalidArgument,
       "unknown dtype 'BF16'"},
      {"shape larger than the bytes", raw_file("{" + tensor("a", "F32", "[3]", 0, 8) + "}", kF32x2),
       Code::kInvalidArgument, "shape [3] of F32 (12 bytes), but data_offsets [0, 8] hold 8 bytes"},
      {"shape smaller than the bytes", raw_file("{" + tensor("a", "F32", "[1,1]", 0, 8) + "}", kF32x2),
       Code::kInvalidArgument, "shape [1, 1] of F32 (4 bytes), but"},
      {"shape for another dtype", raw_file("{" + tensor("a", "F16", "[2]", 0, 8) + "}", kF32x2),
       Code::kInvalidArgument, "of F16 (4 bytes), but"},
      {"shape that overflows", raw_file("{" + tensor("a", "F32", "[4294967296,4294967296]", 0, 8) + "}", kF32x2),
       Code::kInvalidArgument, "overflows"},
      {"negative dimension", raw_file("{" + tensor("a", "F32", "[-2]", 0, 8) + "}", kF32x2), Code::kInvalidArgument,
       "negative"},
      {"fractional dimension", raw_file("{" + tensor("a", "F32", "[2.0]", 0, 8) + "}", kF32x2),
       Code::kInvalidArgument, "non-integer"},
      {"three data_offsets", raw_file(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,4,8]}})", kF32x2),
       Code::kInvalidArgument, "[begin, end]"},
      {"missing data_offsets", raw_file(R"({"a":{"dtype":"F32","shape":[2]}})", kF32x2), Code::kInvalidArgument,
       "lacks field \"data_offsets\""},
      {"unknown tensor field", raw_file(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8],"x":1}})", kF32x2),
       Code::kInvalidArgument, "unknown field 'x'"},
      {"duplicate tensor name",
       raw_file("{" + tensor("a", "F32", "[1]", 0, 4) + "," + tensor("a", "F32", "[1]", 4, 8) + "}", kF32x2),
       Code::kInvalidArgument, "duplicate key 'a'"},
      {"tensor entry not an object", raw_file(R"({"a":[0,8]})", kF32x2), Code::kInvalidArgument,
       "tensor 'a' is not an object"},
      {"dtype not a string", raw_file(R"({"a":{"dtype":4,"shape":[2],"data_offsets":[0,8]}})", kF32x2),
       Code::kInvalidArgument, "wrong type"},
      {"deeply nested value", raw_file(deep), Code::kInvalidArgument, "where none belongs"},
      {"metadata not an object", raw_file(R"({"__metadata__":"x"})"), Code::kInvalidArgument,
       "__metadata__ is not an object"},
      {"metadata value not a string", raw_file(R"({"__metadata__":{"v":3}})"), Code::kInvalidArgument,
       "not a string"},
      {"duplicate metadata key", raw_file(R"({"__metadata__":{"v":"1","v":"2"}})"), Code::kInvalidArgument,
       "duplicate __metadata__ key 'v'"},
      {"header is a JSON array", raw_file("[1, 2]"), Code::kInvalidArgument, "not a JSON object"},
      {"header is a JSON string", raw_file("\"{}\""), Code::kInvalidArgument, "not a JSON object"},
      {"header is JSON null", raw_file("null"), Code::kInvalidArgument, "not a JSON object"},
      {"header with leading space", raw_file(" {}"), Code::kInvalidArgument, "must start with '{'"},
      {"header is not JSON", raw_file("{\"a\":"), Code::kInvalidArgument, "not valid JSON"},
      {"header with junk after the object", raw_file("{} x"), Code::kInvalidArgument, "not valid JSON"},
      {"header padded with NULs", raw_file(std::string("{}\0\0", 4)), Code::kInvalidArgument, "NUL byte at 2"},
      {"header hiding bytes after a NUL", raw_file(std::string("{}\0{\"x\":1}", 10)), Code::kInvalidArgument,
       "NUL byte"},
      {"header with a 0xff byte", raw_file("{\"\xff\":1}"), Code::kInvalidArgument, "not valid UTF-8 (byte 2)"},
      {"header with Latin-1 text", raw_file("{\"__metadata__\":{\"k\":\"gr\xfc\xdf\"}}"), Code::kInvalidArgument,
       "not valid UTF-8"},
      {"header with an overlong '/'", raw_file("{\"\xc0\xaf\":1}"), Code::kInvalidArgument, "not valid UTF-8"},
      {"header with a UTF-16 surrogate", raw_file("{\"\xed\xa0\x80\":1}"), Code::kInvalidArgument,
       "not valid UTF-8"},
      {"header with a cut UTF-8 sequence", raw_file("{\"\xe2\x82\":1}"), Code::kInvalidArgument,
       "not valid UTF-8"},
  }));
  INFO(what);
  auto parsed = parse_safetensors(bytes_of(bytes));
  REQUIRE_FALSE(parsed.is_ok());
  CHECK(parsed.status().code() == code);
  CHECK_THAT(parsed.status().message(), Catch::Contains(phrase));
}

TEST_CASE("a 100 MB header length is refused before anything is allocated", "[unit][safetensors][bad]") {
  const uint64_t claimed = 100ull << 20;
  SECTION("in a short file") {
    const std::string file = raw_file("{}", "", static_cast<int64_t>(claimed));
    test::start_alloc_probe();
    auto parsed = parse_safetensors(bytes_of(file));
    const auto stats = test::stop_alloc_probe();
    REQUIRE_FALSE(parsed.is_ok());
    CHECK(parsed.status().code() == Code::kPayloadTooLarge);
    CHECK_THAT(parsed.status().message(), Catch::Contains("header length 104857600 exceeds the limit"));
    CHECK(stats.largest < 4096);  // the error message, nothing sized by the claim
  }
  SECTION("in a file that really is that long") {
    std::string file = raw_file("{}", "", static_cast<int64_t>(claimed));
    file.resize(8 + claimed, ' ');
    test::start_alloc_probe();
    auto parsed = parse_safetensors(bytes_of(file));
    const auto stats = test::stop_alloc_probe();
    REQUIRE_FALSE(parsed.is_ok());
    CHECK(parsed.status().code() == Code::kPayloadTooLarge);
    CHECK(stats.largest < 4096);
  }
}
