#include "edgefed/secagg/key_schedule.hpp"

#include <catch2/catch.hpp>

#include "edgefed/secagg/hkdf.hpp"
#include "edgefed/secagg/x25519.hpp"
#include "secagg_test_util.hpp"

using namespace edgefed;
using namespace edgefed::secagg;

TEST_CASE("pairwise keys agree on both sides and separate rounds, pairs and purposes",
          "[unit][secagg][key_schedule]") {
  auto u = x25519_keypair(secagg_test::test_random(10));
  auto v = x25519_keypair(secagg_test::test_random(11));
  REQUIRE(u.is_ok());
  REQUIRE(v.is_ok());
  auto s_uv = x25519_agree(u->secret_key, v->public_key);
  auto s_vu = x25519_agree(v->secret_key, u->public_key);
  REQUIRE(s_uv.is_ok());
  REQUIRE(s_vu.is_ok());

  auto at_u = derive_mask_seed(*s_uv, "round-7", 3, 9);
  auto at_v = derive_mask_seed(*s_vu, "round-7", 9, 3);
  REQUIRE(at_u.is_ok());
  REQUIRE(at_v.is_ok());
  CHECK(*at_u == *at_v);

  auto next_round = derive_mask_seed(*s_uv, "round-8", 3, 9);
  auto other_pair = derive_mask_seed(*s_uv, "round-7", 3, 10);
  auto share_key = derive_share_key(*s_uv, "round-7", 3, 9);
  REQUIRE(next_round.is_ok());
  REQUIRE(other_pair.is_ok());
  REQUIRE(share_key.is_ok());
  CHECK(*next_round != *at_u);
  CHECK(*other_pair != *at_u);
  CHECK(*share_key != *at_u);
  // The seed is neither the shared secret nor a plain HKDF of it.
  CHECK(*at_u != *s_uv);

  // The documented construction, spelled out.
  std::vector<std::uint8_t> info;
  const std::string label = "pairwise mask seed";
  info.insert(info.end(), label.begin(), label.end());
  info.push_back(0);
  for (std::uint8_t b : {0, 0, 0, 7}) info.push_back(b);
  const std::string session = "round-7";
  info.insert(info.end(), session.begin(), session.end());
  for (std::uint64_t id : {3ull, 9ull}) {
    for (int i = 7; i >= 0; --i) info.push_back(static_cast<std::uint8_t>(id >> (8 * i)));
  }
  auto expected = hkdf_sha256(*s_uv, bytes_of("edgefed/secagg/v1"), info, 32);
  REQUIRE(expected.is_ok());
  CHECK(std::equal(expected->begin(), expected->end(), at_u->begin()));
}

TEST_CASE("pairwise key derivation refuses bad input", "[unit][secagg][key_schedule]") {
  const Key32 secret{1};
  CHECK(derive_mask_seed(secret, "r", 4, 4).status().code() == Code::kInvalidArgument);
  CHECK(derive_mask_seed(secret, "", 4, 5).status().code() == Code::kInvalidArgument);
  CHECK(derive_share_key(secret, std::string(kMaxSessionBytes + 1, 'x'), 4, 5).status().code() ==
        Code::kInvalidArgument);
  CHECK(derive_share_key(secret, std::string(kMaxSessionBytes, 'x'), 4, 5).is_ok());
}
