// The ledger's body digest (issue 19): XXH3-128, a retry's body matches its
// row and any other body does not; rows from before hold a SHA-256 and are
// still honoured.
#include <catch2/catch.hpp>
#include <cstdint>
#include <string>
#include <vector>

#include "edgefed/sha256.hpp"
#include "server/engine/body_digest.hpp"

using edgefed::server::body_digest;
using edgefed::server::digest_matches;

TEST_CASE("body digest: xxh3-128 of the bytes, tells a retry from another body", "[unit]") {
  std::vector<uint8_t> body(408 * 1024);
  for (size_t i = 0; i < body.size(); ++i) body[i] = static_cast<uint8_t>(i * 131 + 7);
  const std::string d = body_digest(body);
  CHECK(d.rfind("xxh3-128:", 0) == 0);
  CHECK(d.size() == 9 + 32);
  CHECK(d.find_first_not_of("0123456789abcdef", 9) == std::string::npos);
  CHECK(body_digest(body) == d);  // deterministic
  CHECK(digest_matches(d, body, d));
  // One bit anywhere makes another body.
  for (size_t at : {size_t{0}, body.size() / 2, body.size() - 1}) {
    auto other = body;
    other[at] ^= 1;
    const std::string od = body_digest(other);
    CHECK(od != d);
    CHECK_FALSE(digest_matches(d, other, od));
  }
  // The empty body and a known XXH3-128 value (xxhsum -H2 of an empty file).
  CHECK(body_digest({}) == "xxh3-128:99aa06d3014798d86001c324468d497f");
}

TEST_CASE("body digest: a ledger row from before (SHA-256 hex) still matches its retry", "[unit]") {
  const std::string text = "a body accepted before the upgrade";
  const std::vector<uint8_t> body(text.begin(), text.end());
  const std::string old_row = edgefed::sha256_hex(text);
  REQUIRE(old_row.size() == 64);
  CHECK(digest_matches(old_row, body, body_digest(body)));
  const std::vector<uint8_t> other = {'x'};
  CHECK_FALSE(digest_matches(old_row, other, body_digest(other)));
  CHECK_FALSE(digest_matches("garbage", body, body_digest(body)));
  CHECK_FALSE(digest_matches("", body, body_digest(body)));
}
