#include "edgefed/secagg/prg.hpp"

#include <catch2/catch.hpp>

#include "edgefed/secagg/random_source.hpp"
#include "secagg_test_util.hpp"

using namespace edgefed;
using namespace edgefed::secagg;
using secagg_test::hex;
using secagg_test::unhex;

namespace {
const std::string kSunscreen =
    "Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be "
    "it.";
}

// RFC 8439 section 2.4.2 (ChaCha20 encryption): key 00..1f, nonce
// 00:00:00:00:00:00:00:4a:00:00:00:00, initial counter 1, the "sunscreen"
// plaintext and its ciphertext.
TEST_CASE("ChaCha20 matches RFC 8439 section 2.4.2", "[unit][secagg][prg]") {
  const auto key = unhex("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f");
  const auto nonce = unhex("000000000000004a00000000");
  const std::string expected =
      "6e2e359a2568f98041ba0728dd0d6981e97e7aec1d4360c20a27afccfd9fae0b"
      "f91b65c5524733ab8f593dabcd62b3571639d624e65152ab8f530c359f0861d8"
      "07ca0dbf500d6a6156a38e088a22b65e52bc514d16ccf806818ce91ab7793736"
      "5af90bbf74a35be6b40b8eedf2785e42874d";
  const std::vector<std::uint8_t> plain(kSunscreen.begin(), kSunscreen.end());
  REQUIRE(plain.size() == 114);

  auto prg = Prg::create(key, 1, nonce);
  REQUIRE(prg.is_ok());
  std::vector<std::uint8_t> out(plain.size());
  REQUIRE(prg->xor_stream(plain, out).is_ok());
  CHECK(hex(out) == expected);

  // The same stream taken in uneven pieces (partial blocks carry over).
  auto pieces = Prg::create(key, 1, nonce);
  REQUIRE(pieces.is_ok());
  std::vector<std::uint8_t> out2(plain.size());
  std::size_t off = 0;
  for (std::size_t n : {1u, 7u, 64u, 42u}) {
    REQUIRE(pieces->xor_stream(std::span(plain).subspan(off, n), std::span(out2).subspan(off, n)).is_ok());
    off += n;
  }
  CHECK(out2 == out);

  // Decryption is the same operation.
  auto back = Prg::create(key, 1, nonce);
  REQUIRE(back.is_ok());
  std::vector<std::uint8_t> decrypted(out.size());
  REQUIRE(back->xor_stream(out, decrypted).is_ok());
  CHECK(decrypted == plain);
}

// RFC 8439 appendix A.1, test vector 1: the ChaCha20 block of the all-zero
// key and nonce at counter 0. A mask is that keystream read as
// little-endian words.
TEST_CASE("masks are the ChaCha20 keystream as little-endian words (RFC 8439 A.1 #1)", "[unit][secagg][prg]") {
  const auto block = unhex(
      "76b8e0ada0f13d90405d6ae55386bd28bdd219b8a08ded1aa836efcc8b770dc7"
      "da41597c5157488d7724e03fb8d84a376a43b8f41518a11cc387b669b2ee6586");
  auto mask = Prg::expand(Key32{}, 16);
  REQUIRE(mask.is_ok());
  for (std::size_t i = 0; i < 16; ++i) {
    const std::uint32_t want = std::uint32_t{block[4 * i]} | std::uint32_t{block[4 * i + 1]} << 8 |
                               std::uint32_t{block[4 * i + 2]} << 16 | std::uint32_t{block[4 * i + 3]} << 24;
    CHECK((*mask)[i] == want);
  }
  CHECK((*mask)[0] == 0xade0b876u);
}

TEST_CASE("mask expansion is deterministic, seed-dependent and streams in pieces", "[unit][secagg][prg]") {
  Key32 a{};
  a[0] = 1;
  Key32 b = a;
  b[31] = 1;  // the last byte of the key matters too: the whole key is used
  auto ma = Prg::expand(a, 10000);
  auto ma2 = Prg::expand(a, 10000);
  auto mb = Prg::expand(b, 10000);
  REQUIRE(ma.is_ok());
  REQUIRE(ma2.is_ok());
  REQUIRE(mb.is_ok());
  CHECK(*ma == *ma2);
  CHECK(*ma != *mb);
  auto prg = Prg::create(a);
  REQUIRE(prg.is_ok());
  std::vector<std::uint32_t> pieces(10000);
  REQUIRE(prg->fill_words(std::span(pieces).first(4097)).is_ok());
  REQUIRE(prg->fill_words(std::span(pieces).subspan(4097)).is_ok());
  CHECK(pieces == *ma);
  // Roughly uniform: the mean of 10000 words is near 2^31.
  double mean = 0;
  for (std::uint32_t w : *ma) mean += w / 10000.0;
  CHECK(std::abs(mean / 4294967296.0 - 0.5) < 0.02);
}

TEST_CASE("the PRG refuses bad keys, nonces and lengths", "[unit][secagg][prg]") {
  const std::vector<std::uint8_t> key(32, 1);
  CHECK(Prg::create(std::vector<std::uint8_t>(16, 1)).status().code() == Code::kInvalidArgument);
  CHECK(Prg::create(key, 0, std::vector<std::uint8_t>(8, 0)).status().code() == Code::kInvalidArgument);
  CHECK(Prg::expand(Key32{}, kMaxMaskWords + 1).status().code() == Code::kInvalidArgument);
  // Counter 2^32 - 1 leaves one block: the 65th byte is refused.
  auto last = Prg::create(key, 0xffffffffu);
  REQUIRE(last.is_ok());
  std::vector<std::uint8_t> in(64), out(64);
  CHECK(last->xor_stream(in, out).is_ok());
  std::vector<std::uint8_t> one(1);
  CHECK(last->xor_stream(one, one).code() == Code::kInvalidArgument);
  std::vector<std::uint8_t> other(3);
  CHECK(last->xor_stream(in, other).code() == Code::kInvalidArgument);
}

TEST_CASE("deterministic random sources replay, system random does not", "[unit][secagg][prg]") {
  Key32 seed{};
  seed[5] = 9;
  const RandomSource r1 = deterministic_random(seed);
  const RandomSource r2 = deterministic_random(seed);
  std::vector<std::uint8_t> a(100), b(60), c(40), d(100);
  REQUIRE(r1(a).is_ok());
  REQUIRE(r2(b).is_ok());
  REQUIRE(r2(c).is_ok());
  CHECK(std::equal(b.begin(), b.end(), a.begin()));
  CHECK(std::equal(c.begin(), c.end(), a.begin() + 60));
  REQUIRE(r1(d).is_ok());
  CHECK(d != a);  // the stream moves on
  auto k1 = random_key(system_random());
  auto k2 = random_key(system_random());
  REQUIRE(k1.is_ok());
  REQUIRE(k2.is_ok());
  CHECK(*k1 != *k2);
}
