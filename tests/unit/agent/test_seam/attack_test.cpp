#include "agent/test_seam/attack.hpp"

#include <catch2/catch.hpp>
#include <cmath>
#include <vector>

using namespace edgefed;
using namespace edgefed::agent;

namespace {

Attack parsed(const std::string& text) {
  auto a = parse_attack(text);
  INFO(text << ": " << a.status().to_string());
  REQUIRE(a.is_ok());
  return *a;
}

}  // namespace

TEST_CASE("attack: parsing and names", "[unit]") {
  CHECK(parsed("").kind == Attack::Kind::kNone);
  CHECK(parsed("none").kind == Attack::Kind::kNone);
  CHECK(parsed("sign-flip").kind == Attack::Kind::kSignFlip);
  const Attack s = parsed("scale:10");
  CHECK(s.kind == Attack::Kind::kScale);
  CHECK(s.value == 10.0);
  CHECK(parsed("scale:-2.5").value == -2.5);
  const Attack n = parsed("noise");
  CHECK(n.kind == Attack::Kind::kNoise);
  CHECK(n.value == kDefaultNoiseStddev);
  CHECK(parsed("noise:0.25").value == 0.25);

  CHECK(to_string(parsed("none")) == "none");
  CHECK(to_string(parsed("sign-flip")) == "sign-flip");
  CHECK(to_string(parsed("scale:10")) == "scale:10");
  CHECK(to_string(parsed("noise:0.25")) == "noise:0.25");

  for (const char* bad : {"flip", "scale", "scale:", "scale:x", "scale:10x", "scale:inf", "noise:0",
                          "noise:-1", "noise:nan", "sign-flip:2", "none:1"}) {
    INFO(bad);
    auto a = parse_attack(bad);
    REQUIRE_FALSE(a.is_ok());
    CHECK(a.status().code() == Code::kInvalidArgument);
  }
}

TEST_CASE("attack: sign flip, scale and none transform the delta exactly", "[unit]") {
  const std::vector<float> honest = {0.5f, -1.25f, 0.0f, 3.0f};
  auto d = honest;
  apply_attack(parsed("none"), d, 1);
  CHECK(d == honest);
  apply_attack(parsed("sign-flip"), d, 1);
  CHECK(d == std::vector<float>{-0.5f, 1.25f, -0.0f, -3.0f});
  d = honest;
  apply_attack(parsed("scale:10"), d, 1);
  CHECK(d == std::vector<float>{5.0f, -12.5f, 0.0f, 30.0f});
}

TEST_CASE("attack: noise replaces the delta with Gaussian noise of the given stddev, by seed", "[unit]") {
  const size_t n = 200000;
  std::vector<float> a(n, 7.0f), b(n, -3.0f), c(n, 7.0f);
  apply_attack(parsed("noise:0.5"), a, 42);
  apply_attack(parsed("noise:0.5"), b, 42);
  apply_attack(parsed("noise:0.5"), c, 43);
  CHECK(a == b);  // the honest values do not leak into the noise; same seed, same noise
  CHECK(a != c);
  double sum = 0, sum2 = 0;
  size_t non_finite = 0;
  for (float v : a) {
    non_finite += std::isfinite(v) ? 0 : 1;
    sum += v;
    sum2 += static_cast<double>(v) * v;
  }
  CHECK(non_finite == 0);
  const double mean = sum / n, stddev = std::sqrt(sum2 / n - mean * mean);
  CHECK(std::abs(mean) < 0.005);  // 4.5 standard errors
  CHECK(stddev == Approx(0.5).epsilon(0.01));
}
