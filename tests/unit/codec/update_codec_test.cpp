#include <algorithm>
#include <bit>
#include <cmath>
#include <limits>

#include <catch2/catch.hpp>

#include "codec_test_util.hpp"
#include "edgefed/update_codec.hpp"

using namespace edgefed;
using test::bytes_of;

namespace {

UpdateMetadata meta() {
  UpdateMetadata m;
  m.agent_id = "agent-007";
  m.update_id = "agent-007:42";
  m.base_version = 12;
  m.num_samples = 600;
  m.train_loss = 0.4312345678901234;
  return m;
}

DecodedUpdate round_trip(const ModelLayout& layout, const std::vector<float>& delta, EncodeOptions opt) {
  auto file = encode_update(layout, delta, meta(), opt);
  REQUIRE(file.is_ok());
  auto d = decode_update(bytes_of(*file), layout);
  REQUIRE(d.is_ok());
  CHECK(d->meta.agent_id == "agent-007");
  CHECK(d->meta.update_id == "agent-007:42");
  CHECK(d->meta.base_version == 12);
  CHECK(d->meta.num_samples == 600);
  CHECK(d->meta.train_loss == 0.4312345678901234);  // exact through the decimal string
  CHECK(d->meta.encoding == opt.encoding);
  CHECK(d->meta.layout_fingerprint == layout.fingerprint());
  REQUIRE(d->delta.size() == delta.size());
  return std::move(d.value());
}

}  // namespace

TEST_CASE("f32 updates round-trip bit-exact", "[unit][update_codec]") {
  const auto layout = test::small_layout();
  auto delta = test::random_delta(static_cast<size_t>(layout.size()), 1);
  delta[0] = -0.0f;
  delta[1] = std::numeric_limits<float>::denorm_min();
  delta[2] = std::numeric_limits<float>::max();
  const auto d = round_trip(layout, delta, {Encoding::kF32});
  for (size_t i = 0; i < delta.size(); ++i)
    REQUIRE(std::bit_cast<uint32_t>(d.delta[i]) == std::bit_cast<uint32_t>(delta[i]));
}

TEST_CASE("f16 updates stay within the stated bound and are exact on halves", "[unit][update_codec]") {
  const auto layout = test::small_layout();
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    const auto delta = test::random_delta(static_cast<size_t>(layout.size()), seed, 60000.0f);
    const auto d = round_trip(layout, delta, {Encoding::kF16});
    for (size_t i = 0; i < delta.size(); ++i) {
      const double x = delta[i];
      const double bound = std::fabs(x) >= std::ldexp(1.0, -14) ? std::ldexp(std::fabs(x), -11) : std::ldexp(1.0, -25);
      INFO("x = " << x << " decoded " << d.delta[i]);
      REQUIRE(std::fabs(d.delta[i] - x) <= bound);
    }
    // Values that are already halves come back bit-exact.
    const auto again = round_trip(layout, d.delta, {Encoding::kF16});
    for (size_t i = 0; i < delta.size(); ++i)
      REQUIRE(std::bit_cast<uint32_t>(again.delta[i]) == std::bit_cast<uint32_t>(d.delta[i]));
  }
  SECTION("values beyond 65504 are refused, not turned into infinity") {
    std::vector<float> delta(static_cast<size_t>(layout.size()), 0.0f);
    delta[3] = 70000.0f;
    auto file = encode_update(layout, delta, meta(), {Encoding::kF16});
    REQUIRE_FALSE(file.is_ok());
    CHECK(file.status().code() == Code::kInvalidArgument);
    CHECK_THAT(file.status().message(), Catch::Contains("beyond the f16 range"));
    delta[3] = 65504.0f;
    CHECK(encode_update(layout, delta, meta(), {Encoding::kF16}).is_ok());
  }
}

TEST_CASE("int8 updates stay within scale / 2 per tensor", "[unit][update_codec]") {
  const auto layout = test::small_layout();
  for (uint64_t seed = 1; seed <= 50; ++seed) {
    const float range = seed % 5 == 0 ? 1e-38f : seed % 7 == 0 ? 3e38f : 1.0f;
    const auto delta = test::random_delta(static_cast<size_t>(layout.size()), seed, range);
    const auto d = round_trip(layout, delta, {Encoding::kInt8});
    for (size_t t = 0; t < layout.tensors().size(); ++t) {
      const size_t off = static_cast<size_t>(layout.offset(t));
      const size_t n = static_cast<size_t>(layout.tensors()[t].numel());
      float m = 0;
      for (size_t k = 0; k < n; ++k) m = std::max(m, std::fabs(delta[off + k]));
      // The scale in the file is max|x| / 127 up to float rounding.
      const double scale = m / 127.0;
      for (size_t k = 0; k < n; ++k) {
        const double x = delta[off + k];
        const double err = std::fabs(d.delta[off + k] - x);
        // scale / 2, plus the float rounding of scale and of q x scale.
        const double bound = scale / 2 * (1 + 1e-4) + std::ldexp(std::fabs(x), -23) +
                             std::numeric_limits<float>::denorm_min();
        INFO("seed " << seed << " tensor " << t << " x = " << x << " decoded " << d.delta[off + k]);
        REQUIRE(err <= bound);
      }
    }
  }
  SECTION("an all-zero tensor decodes to zeros") {
    const std::vector<float> zeros(static_cast<size_t>(layout.size()), 0.0f);
    CHECK(round_trip(layout, zeros, {Encoding::kInt8}).delta == zeros);
  }
  SECTION("the extremes of each tensor are exact") {
    auto delta = test::random_delta(static_cast<size_t>(layout.size()), 3);
    delta[0] = 0.75f;  // the largest magnitude in tensor 0
    const auto d = round_trip(layout, delta, {Encoding::kInt8});
    CHECK(d.delta[0] == Approx(0.75f).epsilon(1e-7));
  }
}

TEST_CASE("topk updates keep the k largest magnitudes exactly", "[unit][update_codec]") {
  const auto layout = test::small_layout();
  const size_t n = static_cast<size_t>(layout.size());
  for (double fraction : {0.01, 0.1, 0.5, 1.0}) {
    for (uint64_t seed = 1; seed <= 10; ++seed) {
      const auto delta = test::random_delta(n, seed);
      const auto d = round_trip(layout, delta, {Encoding::kTopK, fraction});
      const size_t k = std::clamp<size_t>(static_cast<size_t>(std::llround(fraction * n)), 1, n);
      size_t kept = 0;
      float smallest_kept = std::numeric_limits<float>::infinity();
      for (size_t i = 0; i < n; ++i) {
        if (d.delta[i] != 0.0f) {
          REQUIRE(std::bit_cast<uint32_t>(d.delta[i]) == std::bit_cast<uint32_t>(delta[i]));
          ++kept;
          smallest_kept = std::min(smallest_kept, std::fabs(delta[i]));
        }
      }
      CHECK(kept <= k);  // a kept exact zero reads back as "not kept"
      for (size_t i = 0; i < n; ++i)
        if (d.delta[i] == 0.0f) REQUIRE(std::fabs(delta[i]) <= smallest_kept);
      if (fraction == 1.0) CHECK(d.delta == delta);
    }
  }
  SECTION("the fraction must be in (0, 1]") {
    const std::vector<float> delta(n, 1.0f);
    for (double bad : {0.0, -0.5, 1.5, std::nan("")}) {
      auto file = encode_update(layout, delta, meta(), {Encoding::kTopK, bad});
      REQUIRE_FALSE(file.is_ok());
      CHECK(file.status().code() == Code::kInvalidArgument);
    }
  }
}

TEST_CASE("encode_update refuses what it cannot encode", "[unit][update_codec][bad]") {
  const auto layout = test::small_layout();
  std::vector<float> delta(static_cast<size_t>(layout.size()), 0.5f);
  const auto encoding = GENERATE(Encoding::kF32, Encoding::kF16, Encoding::kInt8, Encoding::kTopK);
  SECTION("NaN and Inf") {
    delta[37] = std::numeric_limits<float>::quiet_NaN();
    auto file = encode_update(layout, delta, meta(), {encoding});
    REQUIRE_FALSE(file.is_ok());
    CHECK(file.status().code() == Code::kNonFinite);
    CHECK(file.status().message() == "delta holds NaN at index 2 of tensor 'layers.0.bias'");
  }
  SECTION("a delta of the wrong size") {
    delta.pop_back();
    auto file = encode_update(layout, delta, meta(), {encoding});
    REQUIRE_FALSE(file.is_ok());
    CHECK(file.status().code() == Code::kDimensionMismatch);
  }
  SECTION("metadata that decode_update would refuse") {
    auto m = meta();
    m.num_samples = 0;
    auto file = encode_update(layout, delta, m, {encoding});
    REQUIRE_FALSE(file.is_ok());
    CHECK(file.status().code() == Code::kInvalidArgument);
    CHECK_THAT(file.status().message(), Catch::Contains("num_samples"));
  }
}
