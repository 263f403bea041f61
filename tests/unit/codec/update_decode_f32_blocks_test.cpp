// The f32 decode copies and scans values a block of 4096 at a time: values
// at and around block boundaries must come through bit for bit, and a
// non-finite value anywhere must be refused with its own index. The
// server's decode_update_view reads an aligned f32 body in place.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include <catch2/catch.hpp>

#include "codec_test_util.hpp"
#include "edgefed/update_codec.hpp"

using namespace edgefed;
using test::bytes_of;

namespace {

// layers.0.weight is 10 x 1000 = 10,000 floats: three blocks, the last partial.
ModelLayout wide_layout() { return ModelLayout::mlp("mlp:1000-10").value(); }

UpdateMetadata blocks_meta() {
  UpdateMetadata m;
  m.agent_id = "agent-001";
  m.update_id = "u-1";
  m.base_version = 0;
  m.num_samples = 10;
  m.train_loss = 0.5;
  return m;
}

std::string encode(const ModelLayout& layout, const std::vector<float>& delta) {
  auto file = encode_update(layout, delta, blocks_meta(), {Encoding::kF32, 0.1});
  REQUIRE(file.is_ok());
  return *file;
}

uint32_t bits(float v) {
  uint32_t b;
  std::memcpy(&b, &v, sizeof b);
  return b;
}

}  // namespace

TEST_CASE("f32 decode keeps every value bit for bit across block boundaries", "[codec]") {
  const auto layout = wide_layout();
  std::vector<float> delta = test::random_delta(static_cast<size_t>(layout.size()), 4);
  const float specials[] = {-0.0f, std::numeric_limits<float>::denorm_min(), -std::numeric_limits<float>::max(),
                            std::numeric_limits<float>::max(), std::numeric_limits<float>::min()};
  const size_t at[] = {0, 4095, 4096, 8191, 9999};
  for (size_t i = 0; i < 5; ++i) delta[at[i]] = specials[i];
  const std::string file = encode(layout, delta);
  auto decoded = decode_update(bytes_of(file), layout);
  REQUIRE(decoded.is_ok());
  REQUIRE(decoded->delta.size() == delta.size());
  size_t differing = 0;
  for (size_t i = 0; i < delta.size(); ++i) differing += bits(decoded->delta[i]) != bits(delta[i]);
  CHECK(differing == 0);
}

TEST_CASE("f32 decode refuses a non-finite value in any block, naming its index", "[codec]") {
  const auto layout = wide_layout();
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float inf = std::numeric_limits<float>::infinity();
  struct Case {
    size_t index;
    float value;
    const char* word;
  };
  const Case cases[] = {{0, nan, "NaN"}, {4095, inf, "Inf"}, {4096, -inf, "Inf"}, {8191, nan, "NaN"},
                        {8192, inf, "Inf"}, {9999, -nan, "NaN"}};
  for (const auto& c : cases) {
    std::vector<float> delta = test::random_delta(static_cast<size_t>(layout.size()), 5);
    std::string file = encode(layout, delta);
    // The writer refuses non-finite values, so patch the bytes: the weight
    // tensor comes first in the data section, right after the header.
    uint64_t header_len = 0;
    std::memcpy(&header_len, file.data(), sizeof header_len);
    std::memcpy(file.data() + 8 + header_len + c.index * sizeof(float), &c.value, sizeof(float));
    auto decoded = decode_update(bytes_of(file), layout);
    INFO("index " << c.index);
    REQUIRE_FALSE(decoded.is_ok());
    CHECK(decoded.status().code() == Code::kNonFinite);
    CHECK_THAT(decoded.status().message(),
               Catch::Contains(std::string("'layers.0.weight' holds ") + c.word + " at index " +
                               std::to_string(c.index)));
  }
}

TEST_CASE("decode_update_view views an aligned f32 body and copies a misaligned one", "[codec]") {
  const auto layout = wide_layout();
  const std::vector<float> delta = test::random_delta(static_cast<size_t>(layout.size()), 6);
  const std::string file = encode(layout, delta);
  double expect_norm2 = 0.0;
  for (float v : delta) expect_norm2 += static_cast<double>(v) * v;

  // What encode_update writes, in a malloc'd (aligned) buffer: no copy.
  std::vector<float> scratch;
  auto view = decode_update_view(bytes_of(file), layout, scratch);
  REQUIRE(view.is_ok());
  const auto* lo = reinterpret_cast<const float*>(file.data());
  const auto* hi = reinterpret_cast<const float*>(file.data() + file.size());
  CHECK(view->delta.data() > lo);
  CHECK(view->delta.data() + view->delta.size() <= hi);
  CHECK(scratch.empty());
  CHECK(view->meta.update_id == "u-1");
  REQUIRE(view->delta.size() == delta.size());
  CHECK(std::equal(delta.begin(), delta.end(), view->delta.begin()));
  CHECK(view->norm2 == Approx(expect_norm2).epsilon(1e-12));

  // The same bytes one byte off: the floats are not aligned, so they are
  // copied into scratch, with the same values and norm.
  std::string shifted = "x" + file;
  const std::span<const uint8_t> off(reinterpret_cast<const uint8_t*>(shifted.data()) + 1, file.size());
  auto copied = decode_update_view(off, layout, scratch);
  REQUIRE(copied.is_ok());
  CHECK(copied->delta.data() == scratch.data());
  CHECK(std::equal(delta.begin(), delta.end(), copied->delta.begin()));
  CHECK(copied->norm2 == Approx(expect_norm2).epsilon(1e-12));

  // Other encodings decode into scratch.
  auto f16 = encode_update(layout, delta, blocks_meta(), {Encoding::kF16, 0.1});
  REQUIRE(f16.is_ok());
  auto half = decode_update_view(bytes_of(*f16), layout, scratch);
  REQUIRE(half.is_ok());
  CHECK(half->delta.data() == scratch.data());
  CHECK(half->delta.size() == delta.size());
}

TEST_CASE("decode_update_view refuses a non-finite value whether it views or copies", "[codec]") {
  const auto layout = wide_layout();
  std::string file = encode(layout, test::random_delta(static_cast<size_t>(layout.size()), 7));
  uint64_t header_len = 0;
  std::memcpy(&header_len, file.data(), sizeof header_len);
  const float inf = std::numeric_limits<float>::infinity();
  std::memcpy(file.data() + 8 + header_len + 5000 * sizeof(float), &inf, sizeof(float));
  std::string shifted = "x" + file;
  const std::span<const uint8_t> aligned = bytes_of(file);
  const std::span<const uint8_t> off(reinterpret_cast<const uint8_t*>(shifted.data()) + 1, file.size());
  for (const auto bytes : {aligned, off}) {
    std::vector<float> scratch;
    auto decoded = decode_update_view(bytes, layout, scratch);
    REQUIRE_FALSE(decoded.is_ok());
    CHECK(decoded.status().code() == Code::kNonFinite);
    CHECK_THAT(decoded.status().message(), Catch::Contains("'layers.0.weight' holds Inf at index 5000"));
  }
}
