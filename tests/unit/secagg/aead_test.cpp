#include "edgefed/secagg/aead.hpp"

#include <catch2/catch.hpp>

#include "secagg_test_util.hpp"

using namespace edgefed;
using namespace edgefed::secagg;
using secagg_test::hex;
using secagg_test::unhex;

namespace {

struct AeadVector {
  int tc_id;
  std::string key, iv, aad, msg, ct, tag;
  bool valid;
};

}  // namespace

// RFC 8439 section 2.8.2 (AEAD_CHACHA20_POLY1305 example): the sunscreen
// plaintext under key 80..9f, nonce 07000000 || 4041424344454647 and AAD
// 50515253c0c1c2c3c4c5c6c7. (Also Wycheproof tcId 1, "RFC 7539".)
TEST_CASE("ChaCha20-Poly1305 matches RFC 8439 section 2.8.2", "[unit][secagg][aead]") {
  const std::string text =
      "Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would "
      "be it.";
  const std::vector<std::uint8_t> plain(text.begin(), text.end());
  const auto key = unhex("808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f");
  const auto nonce = unhex("070000004041424344454647");
  const auto aad = unhex("50515253c0c1c2c3c4c5c6c7");
  const std::string ct =
      "d31a8d34648e60db7b86afbc53ef7ec2a4aded51296e08fea9e2b5a736ee62d6"
      "3dbea45e8ca9671282fafb69da92728b1a71de0a9e060b2905d6a5b67ecd3b36"
      "92ddbd7f2d778b8c9803aee328091b58fab324e4fad675945585808b4831d7bc"
      "3ff4def08e4b7a9de576d26586cec64b6116";
  const std::string tag = "1ae10b594f09e26a7e902ecbd0600691";
  auto sealed = aead_seal(key, nonce, aad, plain);
  REQUIRE(sealed.is_ok());
  CHECK(hex(*sealed) == ct + tag);
  auto opened = aead_open(key, nonce, aad, *sealed);
  REQUIRE(opened.is_ok());
  CHECK(*opened == plain);
}

// Wycheproof testvectors_v1/chacha20_poly1305_test.json (C2SP/wycheproof,
// generator 0.9rc5), copied byte for byte: tcIds 2-5 (valid, "Pseudorandom",
// empty and one-byte messages, with and without AAD), 146, 162, 164 and 166
// ("ModifiedTag": bit 0 / bit 127 flipped, tag all zero, bit 0 flipped with
// a 16-byte message; result invalid), 318 and 319 ("InvalidNonceSize":
// 8- and 11-byte nonces; result invalid).
TEST_CASE("ChaCha20-Poly1305 passes selected Wycheproof vectors", "[unit][secagg][aead]") {
  const std::vector<AeadVector> vectors = {
      {2, "80ba3192c803ce965ea371d5ff073cf0f43b6a2ab576b208426e11409c09b9b0", "4da5bf8dfd5852c1ea12379d", "", "",
       "", "76acb342cf3166a5b63c0c0ea1383c8d", true},
      {3, "7a4cd759172e02eb204db2c3f5c746227df584fc1345196391dbb9577a250742", "a92ef0ac991dd516a3c6f689",
       "bd506764f2d2c410", "", "", "906fa6284b52f87b7359cbaa7563c709", true},
      {4, "cc56b680552eb75008f5484b4cb803fa5063ebd6eab91f6ab6aef4916a766273", "99e23ec48985bccdeeab60f1", "", "2a",
       "3a", "cac27dec0968801e9f6eded69d807522", true},
      {5, "46f0254965f769d52bdb4a70b443199f8ef207520d1220c55e4b70f0fda620ee", "ab0dca716ee051d2782f4403",
       "91ca6c592cbcca53", "51", "c4", "168310ca45b1f7c66cad4e99e43f72b9", true},
      {146, "202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f", "000102030405060708090a0b", "000102",
       "", "", "f5409bb729039d0814ac514054323f44", false},
      {162, "202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f", "000102030405060708090a0b", "000102",
       "", "", "f4409bb729039d0814ac514054323fc4", false},
      {164, "202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f", "000102030405060708090a0b", "000102",
       "", "", "00000000000000000000000000000000", false},
      {166, "202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f", "000102030405060708090a0b", "000102",
       "000102030405060708090a0b0c0d0e0f", "d03bcb3ca52d48d1d203b1e7b1a5995a", "28914007a6119dd3f109bba21ce9a7d6",
       false},
      {318, "202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f", "0001020304050607", "", "", "", "",
       false},
      {319, "202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f", "000102030405060708090a", "", "", "",
       "", false},
  };
  for (const AeadVector& v : vectors) {
    INFO("Wycheproof tcId " << v.tc_id);
    const auto key = unhex(v.key), iv = unhex(v.iv), aad = unhex(v.aad), msg = unhex(v.msg);
    const auto sealed = unhex(v.ct + v.tag);
    auto opened = aead_open(key, iv, aad, sealed);
    if (v.valid) {
      REQUIRE(opened.is_ok());
      CHECK(*opened == msg);
      auto again = aead_seal(key, iv, aad, msg);
      REQUIRE(again.is_ok());
      CHECK(*again == sealed);
    } else {
      REQUIRE_FALSE(opened.is_ok());
      if (iv.size() != kAeadNonceBytes) {
        CHECK(opened.status().code() == Code::kInvalidArgument);
        CHECK(aead_seal(key, iv, aad, msg).status().code() == Code::kInvalidArgument);
      } else {
        CHECK(opened.status().code() == Code::kUnauthenticated);
      }
    }
  }
}

// The expected tag of tcIds 146-165 (from their comment) opens: the refusal
// above is the flipped bit, not a wrong key.
TEST_CASE("the unmodified Wycheproof tag of the ModifiedTag group opens", "[unit][secagg][aead]") {
  auto opened = aead_open(unhex("202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f"),
                          unhex("000102030405060708090a0b"), unhex("000102"),
                          unhex("f4409bb729039d0814ac514054323f44"));
  REQUIRE(opened.is_ok());
  CHECK(opened->empty());
}

TEST_CASE("ChaCha20-Poly1305 refuses any tampering", "[unit][secagg][aead]") {
  const std::vector<std::uint8_t> key(32, 0x42);
  const std::vector<std::uint8_t> nonce(12, 0x24);
  const std::vector<std::uint8_t> aad = {1, 2, 3};
  const std::vector<std::uint8_t> plain(100, 0x5a);
  auto sealed = aead_seal(key, nonce, aad, plain);
  REQUIRE(sealed.is_ok());
  REQUIRE(sealed->size() == plain.size() + kAeadTagBytes);

  auto expect_refused = [&](std::span<const std::uint8_t> k, std::span<const std::uint8_t> n,
                            std::span<const std::uint8_t> a, std::span<const std::uint8_t> s) {
    auto r = aead_open(k, n, a, s);
    REQUIRE_FALSE(r.is_ok());
    CHECK(r.status().code() == Code::kUnauthenticated);
    CHECK(r.status().message().find("tag mismatch") != std::string::npos);
  };
  for (std::size_t i : {std::size_t{0}, std::size_t{50}, plain.size() - 1, plain.size(), sealed->size() - 1}) {
    INFO("byte " << i);
    auto bad = *sealed;
    bad[i] ^= 0x01;
    expect_refused(key, nonce, aad, bad);
  }
  auto bad_key = key;
  bad_key[31] ^= 1;
  expect_refused(bad_key, nonce, aad, *sealed);
  auto bad_nonce = nonce;
  bad_nonce[0] ^= 1;
  expect_refused(key, bad_nonce, aad, *sealed);
  expect_refused(key, nonce, std::vector<std::uint8_t>{1, 2, 4}, *sealed);
  expect_refused(key, nonce, std::vector<std::uint8_t>{}, *sealed);
  // Truncated: one byte of ciphertext missing.
  expect_refused(key, nonce, aad, std::span(*sealed).subspan(1));
  auto too_short = aead_open(key, nonce, aad, std::span(*sealed).first(kAeadTagBytes - 1));
  CHECK(too_short.status().code() == Code::kInvalidArgument);
  CHECK(aead_seal(std::vector<std::uint8_t>(16, 1), nonce, aad, plain).status().code() == Code::kInvalidArgument);
}
