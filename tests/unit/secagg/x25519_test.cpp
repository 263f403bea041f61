#include "edgefed/secagg/x25519.hpp"

#include <catch2/catch.hpp>

#include "secagg_test_util.hpp"

using namespace edgefed;
using namespace edgefed::secagg;
using secagg_test::hex;
using secagg_test::unhex;

// RFC 7748 section 6.1 (Curve25519 Diffie-Hellman): Alice's and Bob's keys
// and their shared secret K.
TEST_CASE("X25519 matches RFC 7748 section 6.1", "[unit][secagg][x25519]") {
  const auto alice_secret = unhex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a");
  const auto alice_public = "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a";
  const auto bob_secret = unhex("5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb");
  const auto bob_public = "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f";
  const auto shared = "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742";

  auto a_pub = x25519_public_key(alice_secret);
  auto b_pub = x25519_public_key(bob_secret);
  REQUIRE(a_pub.is_ok());
  REQUIRE(b_pub.is_ok());
  CHECK(hex(*a_pub) == alice_public);
  CHECK(hex(*b_pub) == bob_public);
  auto k_ab = x25519_agree(alice_secret, *b_pub);
  auto k_ba = x25519_agree(bob_secret, *a_pub);
  REQUIRE(k_ab.is_ok());
  REQUIRE(k_ba.is_ok());
  CHECK(hex(*k_ab) == shared);
  CHECK(hex(*k_ba) == shared);
}

// RFC 7748 section 5.2, first X25519 test vector (scalar, u-coordinate,
// output u-coordinate), the scalar as the RFC prints it (unclamped).
TEST_CASE("X25519 matches RFC 7748 section 5.2", "[unit][secagg][x25519]") {
  const auto scalar = unhex("a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4");
  const auto u = unhex("e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c");
  auto out = x25519_agree(scalar, u);
  REQUIRE(out.is_ok());
  CHECK(hex(*out) == "c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552");
}

// Wycheproof testvectors_v1/x25519_test.json (C2SP/wycheproof), tcId 101,
// "RFC 7748": the second section 5.2 vector with the scalar clamped and the
// top bit of u cleared, as Wycheproof stores it.
TEST_CASE("X25519 matches the second RFC 7748 vector as Wycheproof carries it", "[unit][secagg][x25519]") {
  auto out = x25519_agree(unhex("4866e9d4d1b4673c5ad22691957d6af5c11b6421e0ea01d42ca4169e7918ba4d"),
                          unhex("e5210f12786811d3f4b7959d0538ae2c31dbe7106fc03c3efc4cd549c715a413"));
  REQUIRE(out.is_ok());
  CHECK(hex(*out) == "95cbde9476e8907d7aade45cb4b873f88b595a68799fa152e6f8f7647aac7957");
}

// Wycheproof x25519_test.json tcId 32 ("public key = 0") and tcId 33
// ("public key = 1"): low-order points whose shared secret is all zero.
// Wycheproof marks them "acceptable"; secure aggregation refuses them, since
// a zero secret would give a mask seed every observer knows.
TEST_CASE("X25519 refuses low-order peer keys (all-zero shared secret)", "[unit][secagg][x25519]") {
  auto zero = x25519_agree(unhex("88227494038f2bb811d47805bcdf04a2ac585ada7f2f23389bfd4658f9ddd45e"),
                           unhex("0000000000000000000000000000000000000000000000000000000000000000"));
  REQUIRE_FALSE(zero.is_ok());
  CHECK(zero.status().code() == Code::kUnprocessable);
  CHECK(zero.status().message().find("low order") != std::string::npos);
  auto one = x25519_agree(unhex("48232e8972b61c7e61930eb9450b5070eae1c670475685541f0476217e48184f"),
                          unhex("0100000000000000000000000000000000000000000000000000000000000000"));
  REQUIRE_FALSE(one.is_ok());
  CHECK(one.status().code() == Code::kUnprocessable);
}

TEST_CASE("X25519 refuses keys of the wrong length", "[unit][secagg][x25519]") {
  const std::vector<std::uint8_t> short_key(31, 7);
  const std::vector<std::uint8_t> long_key(33, 7);
  const std::vector<std::uint8_t> good(32, 7);
  for (const auto& bad : {short_key, long_key, std::vector<std::uint8_t>{}}) {
    auto a = x25519_agree(bad, good);
    REQUIRE_FALSE(a.is_ok());
    CHECK(a.status().code() == Code::kInvalidArgument);
    auto b = x25519_agree(good, bad);
    REQUIRE_FALSE(b.is_ok());
    CHECK(b.status().code() == Code::kInvalidArgument);
    auto c = x25519_public_key(bad);
    REQUIRE_FALSE(c.is_ok());
    CHECK(c.status().code() == Code::kInvalidArgument);
  }
}

TEST_CASE("fresh X25519 key pairs agree and differ", "[unit][secagg][x25519]") {
  const RandomSource random = system_random();
  auto a = x25519_keypair(random);
  auto b = x25519_keypair(random);
  REQUIRE(a.is_ok());
  REQUIRE(b.is_ok());
  CHECK(a->secret_key != b->secret_key);
  auto ab = x25519_agree(a->secret_key, b->public_key);
  auto ba = x25519_agree(b->secret_key, a->public_key);
  REQUIRE(ab.is_ok());
  REQUIRE(ba.is_ok());
  CHECK(*ab == *ba);
  // A deterministic source gives the same pair twice.
  auto c = x25519_keypair(secagg_test::test_random(3));
  auto d = x25519_keypair(secagg_test::test_random(3));
  REQUIRE(c.is_ok());
  REQUIRE(d.is_ok());
  CHECK(c->public_key == d->public_key);
}
