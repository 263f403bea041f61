#include "edgefed/secagg/hkdf.hpp"

#include <catch2/catch.hpp>

#include "secagg_test_util.hpp"

using namespace edgefed;
using namespace edgefed::secagg;
using secagg_test::hex;
using secagg_test::unhex;

namespace {

struct HkdfVector {
  const char* name;
  std::string ikm, salt, info;
  std::size_t length;
  std::string prk, okm;
};

std::string hex_range(int first, int last) {
  std::vector<std::uint8_t> b;
  for (int i = first; i <= last; ++i) b.push_back(static_cast<std::uint8_t>(i));
  return hex(b);
}

}  // namespace

// RFC 5869 appendix A, test cases 1-3 (HKDF with SHA-256): IKM, salt,
// info, L, PRK, OKM. (The OKMs also appear as Wycheproof
// testvectors_v1/hkdf_sha256_test.json tcIds 1-3, "RFC 5869".)
TEST_CASE("HKDF-SHA256 matches RFC 5869 appendix A.1-A.3", "[unit][secagg][hkdf]") {
  const std::vector<HkdfVector> vectors = {
      {"A.1 basic", "0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b",
       "000102030405060708090a0b0c", "f0f1f2f3f4f5f6f7f8f9", 42,
       "077709362c2e32df0ddc3f0dc47bba6390b6c73bb50f9c3122ec844ad7c2b3e5",
       "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865"},
      {"A.2 long inputs", hex_range(0x00, 0x4f), hex_range(0x60, 0xaf), hex_range(0xb0, 0xff), 82,
       "06a6b88c5853361a06104c9ceb35b45cef760014904671014a193f40c15fc244",
       "b11e398dc80327a1c8e7f78c596a49344f012eda2d4efad8a050cc4c19afa97c"
       "59045a99cac7827271cb41c65e590e09da3275600c2f09b8367793a9aca3db71"
       "cc30c58179ec3e87c14c01d5c1f3434f1d87"},
      {"A.3 empty salt and info", "0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b", "", "", 42,
       "19ef24a32c717b167f33a91d6f648bdf96596776afdb6377ac434c1c293ccb04",
       "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8"},
  };
  for (const HkdfVector& v : vectors) {
    INFO(v.name);
    const auto ikm = unhex(v.ikm), salt = unhex(v.salt), info = unhex(v.info);
    auto prk = hkdf_sha256_extract(salt, ikm);
    REQUIRE(prk.is_ok());
    CHECK(hex(*prk) == v.prk);
    auto okm = hkdf_sha256_expand(*prk, info, v.length);
    REQUIRE(okm.is_ok());
    CHECK(hex(*okm) == v.okm);
    auto both = hkdf_sha256(ikm, salt, info, v.length);
    REQUIRE(both.is_ok());
    CHECK(hex(*both) == v.okm);
  }
}

TEST_CASE("HKDF-SHA256 refuses bad lengths", "[unit][secagg][hkdf]") {
  const std::vector<std::uint8_t> ikm(32, 1);
  const std::vector<std::uint8_t> short_prk(31, 1);
  CHECK(hkdf_sha256(ikm, {}, {}, 0).status().code() == Code::kInvalidArgument);
  CHECK(hkdf_sha256(ikm, {}, {}, kHkdfMaxOutput + 1).status().code() == Code::kInvalidArgument);
  CHECK(hkdf_sha256_expand(short_prk, {}, 32).status().code() == Code::kInvalidArgument);
  CHECK(hkdf_sha256({}, {}, {}, 32).status().code() == Code::kInvalidArgument);
  CHECK(hkdf_sha256_extract({}, {}).status().code() == Code::kInvalidArgument);
  auto longest = hkdf_sha256(ikm, {}, {}, kHkdfMaxOutput);
  REQUIRE(longest.is_ok());
  CHECK(longest->size() == kHkdfMaxOutput);
}
