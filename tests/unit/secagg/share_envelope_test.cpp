#include "edgefed/secagg/share_envelope.hpp"

#include <catch2/catch.hpp>

#include "secagg_test_util.hpp"

using namespace edgefed;
using namespace edgefed::secagg;

namespace {

struct EnvelopeFixture {
  Key32 key{};
  ShareBundle bundle;
  EnvelopeFixture() {
    key.fill(0x3c);
    Key32 seed{}, mask_key{};
    seed.fill(1);
    mask_key.fill(2);
    const std::vector<AgentId> holders = {7, 8, 9};
    auto seed_shares = shamir_share(seed, 2, holders, secagg_test::test_random(20));
    auto key_shares = shamir_share(mask_key, 2, holders, secagg_test::test_random(21));
    REQUIRE(seed_shares.is_ok());
    REQUIRE(key_shares.is_ok());
    bundle = ShareBundle{(*seed_shares)[1], (*key_shares)[1]};  // agent 8's
  }
};

}  // namespace

TEST_CASE("share envelopes open for their recipient and nowhere else", "[unit][secagg][envelope]") {
  EnvelopeFixture f;
  const RandomSource random = system_random();
  auto env = seal_shares(f.key, "round-1", 5, 8, f.bundle, random);
  REQUIRE(env.is_ok());
  auto opened = open_shares(f.key, "round-1", 5, 8, *env);
  REQUIRE(opened.is_ok());
  CHECK(opened->self_seed_share.y == f.bundle.self_seed_share.y);
  CHECK(opened->mask_key_share.y == f.bundle.mask_key_share.y);
  CHECK(opened->mask_key_share.x == 8);

  // Fresh nonce per envelope: the same shares seal differently.
  auto env2 = seal_shares(f.key, "round-1", 5, 8, f.bundle, random);
  REQUIRE(env2.is_ok());
  CHECK(*env2 != *env);

  auto refused = [&](Key32 key, std::string_view session, AgentId from, AgentId to,
                     const std::vector<std::uint8_t>& e) {
    auto r = open_shares(key, session, from, to, e);
    REQUIRE_FALSE(r.is_ok());
    CHECK(r.status().code() == Code::kUnauthenticated);
  };
  refused(f.key, "round-2", 5, 8, *env);  // replayed in another round
  refused(f.key, "round-1", 5, 9, *env);  // handed to another agent
  refused(f.key, "round-1", 8, 5, *env);  // direction swapped
  refused(f.key, "round-1", 6, 8, *env);  // claims another sender
  Key32 other = f.key;
  other[0] ^= 1;
  refused(other, "round-1", 5, 8, *env);
  for (std::size_t i : {std::size_t{0}, std::size_t{12}, std::size_t{60}, env->size() - 1}) {
    auto bad = *env;
    bad[i] ^= 4;
    refused(f.key, "round-1", 5, 8, bad);
  }
  auto truncated = *env;
  truncated.pop_back();
  CHECK(open_shares(f.key, "round-1", 5, 8, truncated).status().code() == Code::kInvalidArgument);
  CHECK(open_shares(f.key, "round-1", 5, 8, {}).status().code() == Code::kInvalidArgument);
}

TEST_CASE("share envelopes refuse shares of another holder and bad parameters", "[unit][secagg][envelope]") {
  EnvelopeFixture f;
  const RandomSource random = secagg_test::test_random(22);
  auto wrong_holder = seal_shares(f.key, "r", 5, 9, f.bundle, random);  // agent 8's shares to agent 9
  REQUIRE_FALSE(wrong_holder.is_ok());
  CHECK(wrong_holder.status().code() == Code::kInvalidArgument);
  CHECK(seal_shares(f.key, "r", 8, 8, f.bundle, random).status().code() == Code::kInvalidArgument);
  CHECK(seal_shares(f.key, "", 5, 8, f.bundle, random).status().code() == Code::kInvalidArgument);
}
