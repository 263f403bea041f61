#include "edgefed/secagg/shamir.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <numeric>
#include <random>

#include "edgefed/secagg/prime_field.hpp"
#include "secagg_test_util.hpp"

using namespace edgefed;
using namespace edgefed::secagg;

namespace {

Key32 shamir_test_secret(std::uint8_t fill) {
  Key32 s{};
  for (std::size_t i = 0; i < s.size(); ++i) s[i] = static_cast<std::uint8_t>(fill + 37 * i);
  return s;
}

std::vector<ShamirShare> make_shares(const Key32& secret, std::size_t t, std::vector<AgentId> holders,
                                     std::uint8_t random_seed = 1) {
  auto shares = shamir_share(secret, t, holders, secagg_test::test_random(random_seed));
  REQUIRE(shares.is_ok());
  return *shares;
}

}  // namespace

TEST_CASE("Shamir: any t shares reconstruct, in any order", "[unit][secagg][shamir]") {
  const std::vector<AgentId> holders = {3, 7, 11, 12, 40, 41, 1000, 123456789};
  std::mt19937 rng(5);
  for (std::size_t t : {std::size_t{1}, std::size_t{2}, std::size_t{5}, holders.size()}) {
    for (Key32 secret : {Key32{}, shamir_test_secret(0), shamir_test_secret(0xff), []() {
           Key32 k;
           k.fill(0xff);
           return k;
         }()}) {
      const auto shares = make_shares(secret, t, holders);
      REQUIRE(shares.size() == holders.size());
      for (std::size_t i = 0; i < holders.size(); ++i) {
        CHECK(shares[i].x == holders[i]);
        CHECK(shares[i].threshold == t);
      }
      for (int trial = 0; trial < 5; ++trial) {
        auto subset = shares;
        std::shuffle(subset.begin(), subset.end(), rng);
        subset.resize(t);
        auto back = shamir_reconstruct(subset, t);
        REQUIRE(back.is_ok());
        CHECK(*back == secret);
      }
      // All shares at once: the extra ones are checked and agree.
      auto all = shamir_reconstruct(shares, t);
      REQUIRE(all.is_ok());
      CHECK(*all == secret);
    }
  }
}

TEST_CASE("Shamir: fewer than t shares fail cleanly", "[unit][secagg][shamir]") {
  const auto shares = make_shares(shamir_test_secret(9), 4, {1, 2, 3, 4, 5, 6});
  for (std::size_t have = 0; have < 4; ++have) {
    auto r = shamir_reconstruct(std::span(shares).first(have), 4);
    REQUIRE_FALSE(r.is_ok());
    CHECK(r.status().code() == Code::kUnprocessable);
    CHECK(r.status().message() == "Shamir reconstruction needs 4 shares, has " + std::to_string(have));
  }
  // Claiming a lower threshold than the shares were made for is refused too.
  auto lower = shamir_reconstruct(std::span(shares).first(3), 3);
  REQUIRE_FALSE(lower.is_ok());
  CHECK(lower.status().code() == Code::kUnprocessable);
}

TEST_CASE("Shamir: t - 1 shares are consistent with every secret", "[unit][secagg][shamir]") {
  // t = 2: holder 5's share of secret A, together with a share for holder 6
  // built for any other secret B, reconstructs B. One share fits every
  // secret equally well, so it reveals nothing.
  const Key32 a = shamir_test_secret(1);
  const Key32 b = shamir_test_secret(200);
  const auto shares = make_shares(a, 2, {5, 6}, 7);
  auto chunks_of = [](const Key32& k) {
    std::array<std::uint64_t, kShareChunks> c{};
    for (std::size_t i = 0; i < k.size(); ++i) c[i / 7] = c[i / 7] << 8 | k[i];
    return c;
  };
  const auto cb = chunks_of(b);
  ShamirShare forged = shares[1];
  for (std::size_t c = 0; c < kShareChunks; ++c) {
    // The line through (0, B_c) and (5, y5), evaluated at 6.
    const std::uint64_t slope = field_mul(field_sub(shares[0].y[c], cb[c]), field_inverse(5));
    forged.y[c] = field_add(cb[c], field_mul(slope, 6));
  }
  auto back = shamir_reconstruct(std::vector<ShamirShare>{shares[0], forged}, 2);
  REQUIRE(back.is_ok());
  CHECK(*back == b);
  auto honest = shamir_reconstruct(shares, 2);
  REQUIRE(honest.is_ok());
  CHECK(*honest == a);
}

TEST_CASE("Shamir: duplicated, malformed and inconsistent shares are refused", "[unit][secagg][shamir]") {
  const Key32 secret = shamir_test_secret(4);
  const auto shares = make_shares(secret, 3, {10, 20, 30, 40});

  auto dup = shamir_reconstruct(std::vector<ShamirShare>{shares[0], shares[1], shares[0]}, 3);
  REQUIRE_FALSE(dup.is_ok());
  CHECK(dup.status().code() == Code::kInvalidArgument);
  CHECK(dup.status().message().find("twice") != std::string::npos);

  auto bad = shares;
  bad[1].y[2] = kFieldPrime;  // outside the field
  CHECK(shamir_reconstruct(bad, 3).status().code() == Code::kInvalidArgument);
  bad = shares;
  bad[0].x = 0;
  CHECK(shamir_reconstruct(bad, 3).status().code() == Code::kInvalidArgument);

  // A fourth share that is not on the polynomial of the first three.
  bad = shares;
  bad[3].y[0] = field_add(bad[3].y[0], 1);
  auto inconsistent = shamir_reconstruct(bad, 3);
  REQUIRE_FALSE(inconsistent.is_ok());
  CHECK(inconsistent.status().code() == Code::kUnprocessable);
  CHECK(inconsistent.status().message().find("inconsistent") != std::string::npos);

  // With exactly t shares nothing is left to cross-check; an alteration
  // shows only when a chunk comes back out of its range (here the 4-byte
  // last chunk; a small change with small Lagrange weights could pass).
  bad = shares;
  bad[0].y[4] = field_add(bad[0].y[4], std::uint64_t{1} << 40);
  auto out_of_range = shamir_reconstruct(std::span(bad).first(3), 3);
  REQUIRE_FALSE(out_of_range.is_ok());
  CHECK(out_of_range.status().code() == Code::kUnprocessable);

  CHECK(shamir_reconstruct(shares, 0).status().code() == Code::kInvalidArgument);
}

TEST_CASE("Shamir: bad sharing parameters are refused", "[unit][secagg][shamir]") {
  const Key32 secret = shamir_test_secret(3);
  const RandomSource random = secagg_test::test_random(2);
  const std::vector<AgentId> ok = {1, 2, 3};
  CHECK(shamir_share(secret, 0, ok, random).status().code() == Code::kInvalidArgument);
  CHECK(shamir_share(secret, 4, ok, random).status().code() == Code::kInvalidArgument);
  CHECK(shamir_share(secret, 2, std::vector<AgentId>{1, 0, 3}, random).status().code() == Code::kInvalidArgument);
  CHECK(shamir_share(secret, 2, std::vector<AgentId>{1, kFieldPrime}, random).status().code() ==
        Code::kInvalidArgument);
  CHECK(shamir_share(secret, 2, std::vector<AgentId>{4, 9, 4}, random).status().code() == Code::kInvalidArgument);
  const RandomSource failing = [](std::span<std::uint8_t>) { return Status(Code::kInternal, "no entropy"); };
  auto failed = shamir_share(secret, 2, ok, failing);
  REQUIRE_FALSE(failed.is_ok());
  CHECK(failed.status().message() == "no entropy");
}

TEST_CASE("Shamir shares survive serialization, malformed bytes do not", "[unit][secagg][shamir]") {
  const auto shares = make_shares(shamir_test_secret(8), 2, {17, 99});
  std::vector<ShamirShare> parsed;
  for (const ShamirShare& s : shares) {
    const auto bytes = serialize_share(s);
    REQUIRE(bytes.size() == kShareWireBytes);
    auto back = parse_share(bytes);
    REQUIRE(back.is_ok());
    CHECK(back->x == s.x);
    CHECK(back->threshold == s.threshold);
    CHECK(back->y == s.y);
    parsed.push_back(*back);
  }
  auto secret = shamir_reconstruct(parsed, 2);
  REQUIRE(secret.is_ok());
  CHECK(*secret == shamir_test_secret(8));

  const auto good = serialize_share(shares[0]);
  CHECK(parse_share(std::span(good).first(good.size() - 1)).status().code() == Code::kInvalidArgument);
  auto longer = good;
  longer.push_back(0);
  CHECK(parse_share(longer).status().code() == Code::kInvalidArgument);
  auto version = good;
  version[0] = 2;
  CHECK(parse_share(version).status().code() == Code::kInvalidArgument);
  auto zero_t = good;
  zero_t[1] = zero_t[2] = 0;
  CHECK(parse_share(zero_t).status().code() == Code::kInvalidArgument);
  auto zero_x = good;
  std::fill(zero_x.begin() + 3, zero_x.begin() + 11, std::uint8_t{0});
  CHECK(parse_share(zero_x).status().code() == Code::kInvalidArgument);
  auto big_y = good;
  std::fill(big_y.begin() + 11, big_y.begin() + 19, std::uint8_t{0xff});
  CHECK(parse_share(big_y).status().code() == Code::kInvalidArgument);
  CHECK(parse_share({}).status().code() == Code::kInvalidArgument);
  // Any single-byte corruption is either refused or changes the share.
  for (std::size_t i = 0; i < good.size(); ++i) {
    auto flipped = good;
    flipped[i] ^= 0x80;
    auto r = parse_share(flipped);
    if (r.is_ok()) CHECK(serialize_share(*r) == flipped);
  }
}
