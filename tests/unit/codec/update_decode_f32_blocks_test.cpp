// The f32 decode copies and scans values a block of 4096 at a time: values
// at and around block boundaries must come through bit for bit, and a
// non-finite value anywhere must be refused with its own index.
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
