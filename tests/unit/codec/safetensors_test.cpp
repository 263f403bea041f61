#include <catch2/catch.hpp>

#include "codec_test_util.hpp"
#include "edgefed/safetensors.hpp"

using namespace edgefed;
using test::bytes_of;
using test::raw_file;
using test::raw_values;

TEST_CASE("write_safetensors then parse_safetensors gives the tensors back", "[unit][safetensors]") {
  const std::string a = raw_values<float>({1.5f, -2.0f, 0.0f, 3.25f, 1e-40f, -0.0f});
  const std::string b = raw_values<uint16_t>({0x3c00, 0x7bff});
  const std::string c = raw_values<int8_t>({-128, 127, 0});
  const std::string d = raw_values<int32_t>({7});
  const std::vector<TensorOut> in{
      {"a", DType::kF32, {2, 3}, bytes_of(a)},
      {"b", DType::kF16, {2}, bytes_of(b)},
      {"c", DType::kI8, {3, 1}, bytes_of(c)},
      {"d", DType::kI32, {1}, bytes_of(d)},
  };
  const std::map<std::string, std::string> md{{"format", "test"}, {"k\"ey", "v\\al\n"}};
  const std::string file = write_safetensors(in, md);

  SECTION("the data section starts at a multiple of 8") {
    uint64_t n = 0;
    for (int i = 7; i >= 0; --i) n = (n << 8) | static_cast<uint8_t>(file[i]);
    CHECK(n % 8 == 0);
    CHECK(file.size() == 8 + n + a.size() + b.size() + c.size() + d.size());
    CHECK(file[8] == '{');
  }
  SECTION("tensors, shapes, dtypes, bytes and metadata are unchanged") {
    auto parsed = parse_safetensors(bytes_of(file));
    REQUIRE(parsed.is_ok());
    CHECK(parsed->metadata == md);
    REQUIRE(parsed->tensors.size() == in.size());
    for (size_t i = 0; i < in.size(); ++i) {
      const auto& t = parsed->tensors[i];
      CHECK(t.name == in[i].name);
      CHECK(t.dtype == in[i].dtype);
      CHECK(t.shape == in[i].shape);
      CHECK(std::equal(t.data.begin(), t.data.end(), in[i].data.begin(), in[i].data.end()));
    }
    CHECK(parsed->find("c") == &parsed->tensors[2]);
    CHECK(parsed->find("zz") == nullptr);
  }
  SECTION("writing the parsed file again gives the same bytes") {
    auto parsed = parse_safetensors(bytes_of(file));
    REQUIRE(parsed.is_ok());
    std::vector<TensorOut> again;
    for (const auto& t : parsed->tensors) again.push_back({t.name, t.dtype, t.shape, t.data});
    CHECK(write_safetensors(again, parsed->metadata) == file);
  }
}

TEST_CASE("parse_safetensors accepts what the format allows", "[unit][safetensors]") {
  SECTION("no tensors, no metadata") {
    auto f = parse_safetensors(bytes_of(raw_file("{}")));
    REQUIRE(f.is_ok());
    CHECK(f->tensors.empty());
  }
  SECTION("header padded with trailing spaces, tensors listed out of data order") {
    const std::string h =
        R"({"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]},"a":{"shape":[1],"data_offsets":[0,4],"dtype":"F32"}})"
        "        ";
    auto f = parse_safetensors(bytes_of(raw_file(h, raw_values<float>({1.0f, 2.0f}))));
    REQUIRE(f.is_ok());
    REQUIRE(f->tensors.size() == 2);
    CHECK(f->tensors[0].name == "a");  // data-offset order
    CHECK(f->tensors[1].name == "b");
  }
  SECTION("scalars (shape []) and empty tensors (a 0 dimension)") {
    const std::string h =
        R"({"s":{"dtype":"F32","shape":[],"data_offsets":[0,4]},"e":{"dtype":"F32","shape":[0,5],"data_offsets":[4,4]}})";
    auto f = parse_safetensors(bytes_of(raw_file(h, raw_values<float>({9.0f}))));
    REQUIRE(f.is_ok());
    CHECK(f->find("s")->numel() == 1);
    CHECK(f->find("e")->numel() == 0);
  }
  SECTION("non-ASCII UTF-8 names and metadata") {
    const std::string h =
        "{\"__metadata__\":{\"note\":\"gr\xc3\xbc\xc3\x9f \xf0\x9f\x99\x82\"},"
        "\"\xce\xb8\":{\"dtype\":\"I8\",\"shape\":[2],\"data_offsets\":[0,2]}}";
    auto f = parse_safetensors(bytes_of(raw_file(h, "\x01\x02")));
    REQUIRE(f.is_ok());
    CHECK(f->tensors[0].name == "\xce\xb8");
  }
}

TEST_CASE("parse_safetensors enforces its limits", "[unit][safetensors]") {
  std::vector<TensorOut> many;
  std::vector<std::string> names;
  for (int i = 0; i < 20; ++i) names.push_back("t" + std::to_string(i));
  for (const auto& n : names) many.push_back({n, DType::kF32, {0}, {}});
  const std::string file = write_safetensors(many, {});
  SafetensorsLimits limits;
  limits.max_tensors = 19;
  auto f = parse_safetensors(bytes_of(file), limits);
  REQUIRE_FALSE(f.is_ok());
  CHECK(f.status().code() == Code::kInvalidArgument);
  CHECK_THAT(f.status().message(), Catch::Contains("more than 19 tensors"));
  limits.max_tensors = 20;
  CHECK(parse_safetensors(bytes_of(file), limits).is_ok());
  SafetensorsLimits few_entries;
  few_entries.max_metadata_entries = 2;
  auto h = parse_safetensors(bytes_of(write_safetensors({}, {{"a", "1"}, {"b", "2"}, {"c", "3"}})), few_entries);
  REQUIRE_FALSE(h.is_ok());
  CHECK_THAT(h.status().message(), Catch::Contains("__metadata__ has more than 2 entries"));
  CHECK(parse_safetensors(bytes_of(write_safetensors({}, {{"a", "1"}, {"b", "2"}})), few_entries).is_ok());
  limits.max_header_bytes = 64;
  auto g = parse_safetensors(bytes_of(file), limits);
  REQUIRE_FALSE(g.is_ok());
  CHECK(g.status().code() == Code::kPayloadTooLarge);
}
