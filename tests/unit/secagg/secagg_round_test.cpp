// An in-memory SecAgg+ round: 20 agents, no network. The "server" below
// only relays public keys and sealed envelopes, sums masked vectors and
// reconstructs what the dropouts' masks need, exactly as the protocol
// integration will (issue 18); every cryptographic step is the library's.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <map>
#include <optional>
#include <random>
#include <set>

#include "edgefed/secagg/communication_graph.hpp"
#include "edgefed/secagg/key_schedule.hpp"
#include "edgefed/secagg/masking.hpp"
#include "edgefed/secagg/quantizer.hpp"
#include "edgefed/secagg/shamir.hpp"
#include "edgefed/secagg/share_envelope.hpp"
#include "edgefed/secagg/unmasking.hpp"
#include "edgefed/secagg/x25519.hpp"
#include "secagg_test_util.hpp"

using namespace edgefed;
using namespace edgefed::secagg;

namespace {

constexpr std::string_view kRoundSession = "round-42";
constexpr double kRoundClip = 1.0;

struct SimAgent {
  AgentId id = 0;
  X25519KeyPair enc;   // keys the share envelopes
  X25519KeyPair mask;  // seeds the pairwise masks; Shamir-shared
  Key32 self_seed{};
  std::vector<float> delta;
  double weight = 0;
  std::map<AgentId, std::vector<std::uint8_t>> inbox;  // envelopes from each neighbour
};

// What the server asks of the agents that answer the unmasking request:
// for each neighbour, the share of its self seed (it sent a masked
// vector) or of its mask key (it did not), never both.
struct UnmaskReply {
  std::map<AgentId, ShamirShare> seed_shares;  // by owner
  std::map<AgentId, ShamirShare> key_shares;   // by owner
};

class SimRound {
 public:
  SimRound(std::size_t n, std::size_t dim, std::uint8_t seed) : random_(secagg_test::test_random(seed)) {
    auto params = choose_parameters(n);
    REQUIRE(params.is_ok());
    params_ = *params;
    std::vector<AgentId> ids;
    for (std::size_t i = 1; i <= n; ++i) ids.push_back(i);
    auto graph_seed = random_key(random_);
    REQUIRE(graph_seed.is_ok());
    auto g = CommunicationGraph::create(ids, params_.degree, *graph_seed);
    REQUIRE(g.is_ok());
    graph_.emplace(std::move(*g));
    auto q = Quantizer::create(n, kRoundClip);
    REQUIRE(q.is_ok());
    quantizer_.emplace(*q);

    std::mt19937 rng(seed);
    std::uniform_real_distribution<float> value(-1.0f, 1.0f);
    std::uniform_real_distribution<double> weight(0.05, 1.0);
    for (AgentId id : ids) {
      SimAgent a;
      a.id = id;
      auto enc = x25519_keypair(random_);
      auto mask = x25519_keypair(random_);
      auto self_seed = random_key(random_);
      REQUIRE(enc.is_ok());
      REQUIRE(mask.is_ok());
      REQUIRE(self_seed.is_ok());
      a.enc = *enc;
      a.mask = *mask;
      a.self_seed = *self_seed;
      a.delta.resize(dim);
      for (float& v : a.delta) v = value(rng);
      a.weight = weight(rng);  // |w * x| <= 1 = C: no clipping, only rounding
      agents_[id] = std::move(a);
      mask_public_[id] = agents_[id].mask.public_key;
      enc_public_[id] = agents_[id].enc.public_key;
    }
  }

  const CommunicationGraph& graph() const { return *graph_; }
  const SecAggParameters& params() const { return params_; }
  const Quantizer& quantizer() const { return *quantizer_; }
  std::vector<AgentId> ids() const { return graph_->agents(); }

  // Key exchange and share distribution: every agent seals its shares for
  // each neighbour; the server relays the envelopes unread.
  void share_phase() {
    for (auto& [u, a] : agents_) {
      const auto holders = graph_->neighbours(u);
      auto seed_shares = shamir_share(a.self_seed, params_.threshold, holders, random_);
      auto key_shares = shamir_share(a.mask.secret_key, params_.threshold, holders, random_);
      REQUIRE(seed_shares.is_ok());
      REQUIRE(key_shares.is_ok());
      for (std::size_t i = 0; i < holders.size(); ++i) {
        const AgentId v = holders[i];
        auto env = seal_shares(share_key(a, v), kRoundSession, u, v, ShareBundle{(*seed_shares)[i], (*key_shares)[i]},
                               random_);
        REQUIRE(env.is_ok());
        agents_[v].inbox[u] = *env;  // via the server
      }
    }
  }

  // Masked upload of every agent not in `gone`.
  void mask_phase(const std::set<AgentId>& gone) {
    for (auto& [u, a] : agents_) {
      if (gone.contains(u)) continue;
      auto q = quantizer_->quantize(a.delta, a.weight);
      REQUIRE(q.is_ok());
      std::vector<PairwiseSeed> peers;
      for (AgentId v : graph_->neighbours(u)) {
        auto shared = x25519_agree(a.mask.secret_key, mask_public_[v]);
        REQUIRE(shared.is_ok());
        auto s = derive_mask_seed(*shared, kRoundSession, u, v);
        REQUIRE(s.is_ok());
        peers.push_back(PairwiseSeed{v, *s});
      }
      auto y = mask_input(u, *q, a.self_seed, peers);
      REQUIRE(y.is_ok());
      masked_[u] = *y;
      quantized_[u] = *q;  // for the test's check only; never sent
    }
  }

  const std::map<AgentId, std::vector<std::uint32_t>>& masked() const { return masked_; }

  // The unmasking round: agents in `silent` (and those that never sent a
  // masked vector) do not answer. Returns the unmasked ring sum, or why not.
  Result<std::vector<std::uint32_t>> unmask_phase(const std::set<AgentId>& silent) {
    std::map<AgentId, std::vector<ShamirShare>> seed_shares, key_shares;
    for (auto& [v, a] : agents_) {
      if (silent.contains(v) || !masked_.contains(v)) continue;
      const UnmaskReply reply = answer(a);
      for (const auto& [owner, s] : reply.seed_shares) seed_shares[owner].push_back(s);
      for (const auto& [owner, s] : reply.key_shares) key_shares[owner].push_back(s);
    }
    // The server never holds both kinds of share of one agent.
    for (const auto& [owner, unused] : seed_shares) REQUIRE_FALSE(key_shares.contains(owner));

    std::vector<SurvivorInput> survivors;
    for (const auto& [u, y] : masked_) {
      auto b = shamir_reconstruct(seed_shares[u], params_.threshold);
      if (!b.is_ok()) {
        return Status(b.status().code(), "self seed of agent " + std::to_string(u) + ": " + b.status().message());
      }
      survivors.push_back(SurvivorInput{u, y, *b});
    }
    std::vector<DropoutKey> dropouts;
    for (AgentId d : graph_->agents()) {
      if (masked_.contains(d)) continue;
      auto sk = shamir_reconstruct(key_shares[d], params_.threshold);
      if (!sk.is_ok()) {
        return Status(sk.status().code(), "mask key of agent " + std::to_string(d) + ": " + sk.status().message());
      }
      dropouts.push_back(DropoutKey{d, *sk});
    }
    return unmask_sum(kRoundSession, *graph_, mask_public_, survivors, dropouts);
  }

  // The exact ring sum of the quantized inputs whose masked vector arrived.
  std::vector<std::uint32_t> plain_ring_sum() const {
    std::vector<std::uint32_t> s(agents_.begin()->second.delta.size(), 0);
    for (const auto& [u, y] : masked_) {
      const auto& q = quantized_.at(u);
      for (std::size_t i = 0; i < s.size(); ++i) s[i] += q[i];
    }
    return s;
  }

  // The plain weighted sum of the agents whose masked vector arrived.
  std::vector<double> plain_weighted_sum() const {
    std::vector<double> s(agents_.begin()->second.delta.size(), 0.0);
    for (const auto& [u, y] : masked_) {
      const SimAgent& a = agents_.at(u);
      for (std::size_t i = 0; i < s.size(); ++i) s[i] += a.weight * a.delta[i];
    }
    return s;
  }

 private:
  Key32 share_key(const SimAgent& a, AgentId peer) const {
    auto shared = x25519_agree(a.enc.secret_key, enc_public_.at(peer));
    REQUIRE(shared.is_ok());
    auto k = derive_share_key(*shared, kRoundSession, a.id, peer);
    REQUIRE(k.is_ok());
    return *k;
  }

  UnmaskReply answer(const SimAgent& a) const {
    UnmaskReply reply;
    for (const auto& [u, env] : a.inbox) {
      auto bundle = open_shares(share_key(a, u), kRoundSession, u, a.id, env);
      REQUIRE(bundle.is_ok());
      if (masked_.contains(u)) {
        reply.seed_shares[u] = bundle->self_seed_share;
      } else {
        reply.key_shares[u] = bundle->mask_key_share;
      }
    }
    return reply;
  }

  RandomSource random_;
  SecAggParameters params_;
  std::optional<CommunicationGraph> graph_;
  std::optional<Quantizer> quantizer_;
  std::map<AgentId, SimAgent> agents_;
  std::map<AgentId, Key32> mask_public_, enc_public_;
  std::map<AgentId, std::vector<std::uint32_t>> masked_;
  std::map<AgentId, std::vector<std::uint32_t>> quantized_;
};

std::set<AgentId> pick_agents(const std::vector<AgentId>& ids, std::size_t count, unsigned seed) {
  std::vector<AgentId> shuffled = ids;
  std::mt19937 rng(seed);
  std::shuffle(shuffled.begin(), shuffled.end(), rng);
  return {shuffled.begin(), shuffled.begin() + static_cast<std::ptrdiff_t>(count)};
}

void check_sum_within_bound(SimRound& round, const std::set<AgentId>& silent) {
  auto ring = round.unmask_phase(silent);
  REQUIRE(ring.is_ok());
  // Masks cancel exactly: the ring sum is the sum of the quantized inputs.
  REQUIRE(*ring == round.plain_ring_sum());
  auto sum = round.quantizer().dequantize_sum(*ring);
  REQUIRE(sum.is_ok());
  const std::vector<double> plain = round.plain_weighted_sum();
  REQUIRE(sum->size() == plain.size());
  const double bound = round.quantizer().error_bound(round.masked().size());
  double worst = 0;
  for (std::size_t i = 0; i < plain.size(); ++i) {
    // The rounding bound, plus the float rounding of the result (2^-24).
    const double err = std::abs((*sum)[i] - plain[i]);
    worst = std::max(worst, err);
    REQUIRE(err <= bound + (std::abs(plain[i]) + bound) * 0x1p-24);
  }
  INFO("worst error " << worst << ", bound " << bound);
  CHECK(worst > 0);  // it did quantize
}

}  // namespace

TEST_CASE("SecAgg+ round of 20: 30% drop after the key exchange", "[unit][secagg][round]") {
  SimRound round(20, 2000, 1);
  REQUIRE(round.params().degree == 14);
  REQUIRE(round.params().threshold == 8);
  round.share_phase();
  const std::set<AgentId> dropped = pick_agents(round.ids(), 6, 1);
  round.mask_phase(dropped);
  REQUIRE(round.masked().size() == 14);
  check_sum_within_bound(round, {});
}

TEST_CASE("SecAgg+ round of 20: 30% drop after the masked upload", "[unit][secagg][round]") {
  SimRound round(20, 2000, 2);
  round.share_phase();
  round.mask_phase({});
  REQUIRE(round.masked().size() == 20);
  // Their vectors count; their self seeds come from their neighbours' shares.
  check_sum_within_bound(round, pick_agents(round.ids(), 6, 2));
}

TEST_CASE("SecAgg+ round of 20: dropouts in both phases", "[unit][secagg][round]") {
  SimRound round(20, 2000, 3);
  round.share_phase();
  const std::set<AgentId> six = pick_agents(round.ids(), 6, 3);
  const std::set<AgentId> before(six.begin(), std::next(six.begin(), 3));
  const std::set<AgentId> after(std::next(six.begin(), 3), six.end());
  round.mask_phase(before);
  REQUIRE(round.masked().size() == 17);
  check_sum_within_bound(round, after);
}

TEST_CASE("SecAgg+ round fails cleanly when a dropout has fewer than t live neighbours", "[unit][secagg][round]") {
  SimRound round(20, 200, 4);
  round.share_phase();
  // Agent 1 and 7 of its 14 neighbours drop: 7 < t = 8 shares of its key.
  const AgentId target = 1;
  const auto neighbours = round.graph().neighbours(target);
  std::set<AgentId> dropped = {target};
  dropped.insert(neighbours.begin(), neighbours.begin() + 7);
  round.mask_phase(dropped);
  auto sum = round.unmask_phase({});
  REQUIRE_FALSE(sum.is_ok());
  CHECK(sum.status().code() == Code::kUnprocessable);
  CHECK(sum.status().message().find("Shamir reconstruction needs 8 shares, has") != std::string::npos);
}

TEST_CASE("a masked vector is statistically unrelated to its input", "[unit][secagg][round]") {
  // One agent with 14 neighbours masks 100k quantized coordinates.
  const std::size_t dim = 100000;
  const RandomSource random = secagg_test::test_random(50);
  auto q = Quantizer::create(20, kRoundClip);
  REQUIRE(q.is_ok());
  std::mt19937 rng(50);
  std::normal_distribution<float> value(0.3f, 0.3f);
  std::vector<float> delta(dim);
  for (float& v : delta) v = value(rng);
  auto quantized = q->quantize(delta);
  REQUIRE(quantized.is_ok());

  auto own = x25519_keypair(random);
  auto self_seed = random_key(random);
  REQUIRE(own.is_ok());
  REQUIRE(self_seed.is_ok());
  std::vector<PairwiseSeed> peers;
  for (AgentId v = 2; v <= 15; ++v) {
    auto peer = x25519_keypair(random);
    REQUIRE(peer.is_ok());
    auto shared = x25519_agree(own->secret_key, peer->public_key);
    REQUIRE(shared.is_ok());
    auto s = derive_mask_seed(*shared, kRoundSession, 1, v);
    REQUIRE(s.is_ok());
    peers.push_back(PairwiseSeed{v, *s});
  }
  auto masked = mask_input(1, *quantized, *self_seed, peers);
  REQUIRE(masked.is_ok());

  // Both read as centered (signed) ring values.
  auto centered = [](std::uint32_t w) { return static_cast<double>(static_cast<std::int32_t>(w)); };
  auto correlation = [&](const std::vector<std::uint32_t>& a, const std::vector<std::uint32_t>& b) {
    double ma = 0, mb = 0;
    for (std::size_t i = 0; i < dim; ++i) {
      ma += centered(a[i]);
      mb += centered(b[i]);
    }
    ma /= dim;
    mb /= dim;
    double sab = 0, saa = 0, sbb = 0;
    for (std::size_t i = 0; i < dim; ++i) {
      const double da = centered(a[i]) - ma, db = centered(b[i]) - mb;
      sab += da * db;
      saa += da * da;
      sbb += db * db;
    }
    return sab / std::sqrt(saa * sbb);
  };
  const double r = correlation(*quantized, *masked);
  INFO("correlation " << r);
  CHECK(std::abs(r) < 0.01);
  // The statistic sees a relation where there is one: the input against
  // itself plus a small perturbation.
  std::vector<std::uint32_t> nudged = *quantized;
  for (std::size_t i = 0; i < dim; ++i) nudged[i] += static_cast<std::uint32_t>(rng() % 1000000);
  CHECK(correlation(*quantized, nudged) > 0.9);
  // And the masked words spread over the whole ring.
  double mean = 0;
  for (std::uint32_t w : *masked) mean += centered(w) / dim;
  CHECK(std::abs(mean) < 0.01 * 2147483648.0);
}
