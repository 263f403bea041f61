#include "edgefed/secagg/masking.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <map>

#include "edgefed/secagg/communication_graph.hpp"
#include "edgefed/secagg/key_schedule.hpp"
#include "edgefed/secagg/prg.hpp"
#include "edgefed/secagg/unmasking.hpp"
#include "edgefed/secagg/x25519.hpp"
#include "secagg_test_util.hpp"

using namespace edgefed;
using namespace edgefed::secagg;

namespace {

constexpr std::string_view kMaskSession = "masking-test";

// A small cohort with its keys, seeds, graph and quantized inputs, masked
// by the agents' side of the protocol.
struct MaskCohort {
  std::vector<AgentId> ids;
  std::map<AgentId, X25519KeyPair> keys;
  std::map<AgentId, Key32> public_keys;
  std::map<AgentId, Key32> self_seeds;
  std::map<AgentId, std::vector<std::uint32_t>> inputs;
  std::map<AgentId, std::vector<std::uint32_t>> masked;
  CommunicationGraph graph;

  static MaskCohort make(std::size_t n, std::size_t degree, std::size_t dim) {
    const RandomSource random = secagg_test::test_random(40);
    std::vector<AgentId> ids;
    for (std::size_t i = 0; i < n; ++i) ids.push_back(10 + 3 * i);
    auto g = CommunicationGraph::create(ids, degree, Key32{7});
    REQUIRE(g.is_ok());
    MaskCohort c{ids, {}, {}, {}, {}, {}, *g};
    for (AgentId id : ids) {
      auto kp = x25519_keypair(random);
      auto seed = random_key(random);
      REQUIRE(kp.is_ok());
      REQUIRE(seed.is_ok());
      c.keys[id] = *kp;
      c.public_keys[id] = kp->public_key;
      c.self_seeds[id] = *seed;
      std::vector<std::uint32_t> q(dim);
      for (std::size_t i = 0; i < dim; ++i) q[i] = static_cast<std::uint32_t>(id * 1000 + i);
      c.inputs[id] = q;
    }
    for (AgentId id : ids) {
      std::vector<PairwiseSeed> peers;
      for (AgentId v : c.graph.neighbours(id)) {
        auto shared = x25519_agree(c.keys[id].secret_key, c.public_keys[v]);
        REQUIRE(shared.is_ok());
        auto s = derive_mask_seed(*shared, kMaskSession, id, v);
        REQUIRE(s.is_ok());
        peers.push_back(PairwiseSeed{v, *s});
      }
      auto y = mask_input(id, c.inputs[id], c.self_seeds[id], peers);
      REQUIRE(y.is_ok());
      c.masked[id] = *y;
    }
    return c;
  }

  std::vector<std::uint32_t> plain_sum(const std::vector<AgentId>& who) {
    std::vector<std::uint32_t> s(inputs.begin()->second.size(), 0);
    for (AgentId id : who) {
      for (std::size_t i = 0; i < s.size(); ++i) s[i] += inputs[id][i];
    }
    return s;
  }
};

}  // namespace

TEST_CASE("pairwise masks carry the sign of the id order", "[unit][secagg][masking]") {
  Key32 self_seed{}, pair{};
  self_seed.fill(1);
  pair.fill(2);
  const std::vector<std::uint32_t> q = {5, 6, 7};
  auto self_mask = Prg::expand(self_seed, 3);
  auto pair_mask = Prg::expand(pair, 3);
  REQUIRE(self_mask.is_ok());
  REQUIRE(pair_mask.is_ok());
  auto low = mask_input(3, q, self_seed, std::vector<PairwiseSeed>{{8, pair}});
  auto high = mask_input(8, q, self_seed, std::vector<PairwiseSeed>{{3, pair}});
  REQUIRE(low.is_ok());
  REQUIRE(high.is_ok());
  for (std::size_t i = 0; i < q.size(); ++i) {
    CHECK((*low)[i] == q[i] + (*self_mask)[i] + (*pair_mask)[i]);
    CHECK((*high)[i] == q[i] + (*self_mask)[i] - (*pair_mask)[i]);
  }
}

TEST_CASE("pairwise masks cancel exactly and self masks come off", "[unit][secagg][masking]") {
  MaskCohort c = MaskCohort::make(9, 4, 3000);
  // The plain sum of masked vectors still holds the self masks only.
  std::vector<std::uint32_t> masked_sum(3000, 0);
  std::vector<std::uint32_t> expected = c.plain_sum(c.ids);
  for (AgentId id : c.ids) {
    for (std::size_t i = 0; i < masked_sum.size(); ++i) masked_sum[i] += c.masked[id][i];
    REQUIRE(add_mask(expected, c.self_seeds[id], false).is_ok());
  }
  CHECK(masked_sum == expected);

  std::vector<SurvivorInput> survivors;
  for (AgentId id : c.ids) survivors.push_back(SurvivorInput{id, c.masked[id], c.self_seeds[id]});
  auto sum = unmask_sum(kMaskSession, c.graph, c.public_keys, survivors, {});
  REQUIRE(sum.is_ok());
  CHECK(*sum == c.plain_sum(c.ids));
}

TEST_CASE("unmasking removes the masks of dropped neighbours", "[unit][secagg][masking]") {
  MaskCohort c = MaskCohort::make(9, 4, 1000);
  const std::vector<AgentId> dropped = {c.ids[2], c.ids[5]};
  std::vector<AgentId> alive;
  std::vector<SurvivorInput> survivors;
  for (AgentId id : c.ids) {
    if (std::find(dropped.begin(), dropped.end(), id) != dropped.end()) continue;
    alive.push_back(id);
    survivors.push_back(SurvivorInput{id, c.masked[id], c.self_seeds[id]});
  }
  std::vector<DropoutKey> dropouts;
  for (AgentId d : dropped) dropouts.push_back(DropoutKey{d, c.keys[d].secret_key});
  auto sum = unmask_sum(kMaskSession, c.graph, c.public_keys, survivors, dropouts);
  REQUIRE(sum.is_ok());
  CHECK(*sum == c.plain_sum(alive));

  // Without one dropout's key its masks cannot come off.
  auto missing = unmask_sum(kMaskSession, c.graph, c.public_keys, survivors, std::span(dropouts).first(1));
  REQUIRE_FALSE(missing.is_ok());
  CHECK(missing.status().code() == Code::kUnprocessable);
  CHECK(missing.status().message().find("neither sent a masked vector nor had its mask key reconstructed") !=
        std::string::npos);

  // A wrong key (a bad reconstruction) is caught against the public key.
  auto wrong = dropouts;
  wrong[0].mask_secret_key[3] ^= 1;
  auto bad = unmask_sum(kMaskSession, c.graph, c.public_keys, survivors, wrong);
  REQUIRE_FALSE(bad.is_ok());
  CHECK(bad.status().code() == Code::kUnprocessable);

  // The wrong session gives the wrong seeds, hence a wrong sum.
  auto other_round = unmask_sum("another-round", c.graph, c.public_keys, survivors, dropouts);
  REQUIRE(other_round.is_ok());
  CHECK(*other_round != c.plain_sum(alive));

  // A self seed missing (wrong) leaves the sum wrong as well.
  auto wrong_seed = survivors;
  wrong_seed[0].self_seed[0] ^= 1;
  auto off = unmask_sum(kMaskSession, c.graph, c.public_keys, wrong_seed, dropouts);
  REQUIRE(off.is_ok());
  CHECK(*off != c.plain_sum(alive));
}

TEST_CASE("masking and unmasking refuse bad input", "[unit][secagg][masking]") {
  MaskCohort c = MaskCohort::make(5, 2, 10);
  const Key32 seed{};
  const std::vector<std::uint32_t> q(10, 1);
  CHECK(mask_input(4, q, seed, std::vector<PairwiseSeed>{{4, seed}}).status().code() == Code::kInvalidArgument);
  CHECK(mask_input(4, q, seed, std::vector<PairwiseSeed>{{5, seed}, {5, seed}}).status().code() ==
        Code::kInvalidArgument);

  std::vector<SurvivorInput> survivors;
  for (AgentId id : c.ids) survivors.push_back(SurvivorInput{id, c.masked[id], c.self_seeds[id]});
  CHECK(unmask_sum(kMaskSession, c.graph, c.public_keys, {}, {}).status().code() == Code::kInvalidArgument);
  auto shorter = survivors;
  shorter[1].masked = shorter[1].masked.first(9);
  CHECK(unmask_sum(kMaskSession, c.graph, c.public_keys, shorter, {}).status().code() == Code::kInvalidArgument);
  auto twice = survivors;
  twice.push_back(survivors[0]);
  CHECK(unmask_sum(kMaskSession, c.graph, c.public_keys, twice, {}).status().code() == Code::kInvalidArgument);
  auto stranger = survivors;
  stranger[0].id = 999;
  CHECK(unmask_sum(kMaskSession, c.graph, c.public_keys, stranger, {}).status().code() == Code::kInvalidArgument);
  const std::vector<DropoutKey> both = {DropoutKey{c.ids[0], c.keys[c.ids[0]].secret_key}};
  CHECK(unmask_sum(kMaskSession, c.graph, c.public_keys, survivors, both).status().code() ==
        Code::kInvalidArgument);
  auto no_keys = c.public_keys;
  no_keys.erase(c.ids[1]);
  auto rest = std::vector<SurvivorInput>(survivors.begin() + 2, survivors.end());
  rest.insert(rest.begin(), survivors[0]);
  const std::vector<DropoutKey> one_dropout = {DropoutKey{c.ids[1], c.keys[c.ids[1]].secret_key}};
  CHECK(unmask_sum(kMaskSession, c.graph, no_keys, rest, one_dropout).status().code() == Code::kInvalidArgument);
}
