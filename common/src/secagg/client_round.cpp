#include "edgefed/secagg/client_round.hpp"

#include <openssl/crypto.h>

#include <algorithm>
#include <cmath>
#include <iterator>
#include <string>

#include "edgefed/secagg/communication_graph.hpp"
#include "edgefed/secagg/key_schedule.hpp"
#include "edgefed/secagg/masking.hpp"
#include "edgefed/secagg/shamir.hpp"
#include "wire.hpp"

namespace edgefed::secagg {
namespace {

using wire::id;

Status invalid(std::string what) { return Status(Code::kInvalidArgument, std::move(what)); }

template <typename T>
void cleanse(T& secret) {
  OPENSSL_cleanse(secret.data(), secret.size() * sizeof(secret[0]));
}

bool ascending(const std::vector<AgentId>& ids) {
  return std::adjacent_find(ids.begin(), ids.end(), [](AgentId a, AgentId b) { return a >= b; }) == ids.end();
}

bool contains(const std::vector<AgentId>& sorted, AgentId a) {
  return std::binary_search(sorted.begin(), sorted.end(), a);
}

}  // namespace

std::string_view phase_name(ClientPhase phase) {
  switch (phase) {
    case ClientPhase::kAdvertised:
      return "advertised";
    case ClientPhase::kSharesSent:
      return "shares_sent";
    case ClientPhase::kMaskedSent:
      return "masked_sent";
    case ClientPhase::kDone:
      return "done";
  }
  return "unknown";
}

Result<ClientRound> ClientRound::create(std::string session, AgentId self, std::uint64_t num_samples,
                                        const RandomSource& random) {
  if (!valid_session_id(session)) return invalid("secagg session id must be 1-128 of [A-Za-z0-9._:-]");
  if (!wire::valid_agent(self)) return invalid("secagg agent id must be in [1, 2^61 - 2], got " + id(self));
  if (num_samples < 1 || num_samples > kMaxNumSamples) {
    return invalid("num_samples must be in [1, 2^36], got " + std::to_string(num_samples));
  }
  ClientRound c;
  auto enc = x25519_keypair(random);
  if (!enc.is_ok()) return enc.status();
  auto mask = x25519_keypair(random);
  if (!mask.is_ok()) return mask.status();
  c.enc_ = *enc;
  c.mask_ = *mask;
  cleanse(enc->secret_key);
  cleanse(mask->secret_key);
  c.advert_ = AdvertiseKeys{std::move(session), self, c.enc_.public_key, c.mask_.public_key, num_samples};
  return c;
}

Status ClientRound::addressed(std::string_view session, AgentId to, std::string_view what) const {
  if (session != advert_.session) {
    return invalid(std::string(what) + " for session " + std::string(session) + ", this is session " + advert_.session);
  }
  if (to != advert_.agent) {
    return invalid(std::string(what) + " addressed to agent " + id(to) + ", this is agent " + id(advert_.agent));
  }
  return Status::ok();
}

Result<Quantizer> ClientRound::quantizer() const {
  if (!setup_) return Status(Code::kConflict, "no round setup yet");
  return Quantizer::create(setup_->cohort_size, setup_->clip);
}

Result<Key32> ClientRound::share_key(const NeighbourKeys& peer) const {
  auto shared = x25519_agree(enc_.secret_key, peer.enc_public_key);
  if (!shared.is_ok())
    return invalid("enc_public_key of neighbour " + id(peer.agent) + ": " + shared.status().message());
  auto key = derive_share_key(*shared, advert_.session, advert_.agent, peer.agent);
  cleanse(*shared);
  return key;
}

void ClientRound::wipe_secrets() {
  cleanse(enc_.secret_key);
  cleanse(mask_.secret_key);
  cleanse(self_seed_);
  secrets_wiped_ = true;
}

// ---- setup -> shares

Result<ShareUpload> ClientRound::on_setup(const RoundSetup& s, const RandomSource& random) {
  EDGEFED_RETURN_IF_ERROR(addressed(s.session, s.agent, "round_setup"));
  if (setup_) {
    if (*setup_ == s && upload_) return *upload_;  // a retry: the same envelopes
    return Status(Code::kConflict, "round_setup refused: agent " + id(advert_.agent) +
                                       " already answered a different setup in session " + advert_.session);
  }
  if (phase_ != ClientPhase::kAdvertised) return Status(Code::kConflict, "round_setup in the wrong phase");
  const AgentId self = advert_.agent;
  if (!ascending(s.agents)) return invalid("round_setup: U1 is not strictly ascending");
  if (!contains(s.agents, self)) return invalid("round_setup: agent " + id(self) + " is not in U1");
  if (s.agents.size() < 3) return invalid("round_setup: U1 has fewer than 3 agents");
  // t > k / 2 is what keeps the server from collecting both kinds of
  // share of one agent; a setup with another t is refused.
  if (s.threshold != s.degree / 2 + 1) {
    return invalid("round_setup: threshold " + std::to_string(s.threshold) +
                   " is not k / 2 + 1 for k = " + std::to_string(s.degree));
  }
  if (s.cohort_size != s.agents.size()) {
    return invalid("round_setup: quantizer cohort size " + std::to_string(s.cohort_size) +
                   " is not |U1| = " + std::to_string(s.agents.size()));
  }
  if (!(s.weight > 0 && s.weight <= 1) || !std::isfinite(s.clip) || !(s.clip > 0)) {
    return invalid("round_setup: weight must be in (0, 1] and clip finite and > 0");
  }
  if (s.vector_length < 1 || s.vector_length > kMaxVectorLength) return invalid("round_setup: bad vector_length");
  auto graph = CommunicationGraph::create(s.agents, s.degree, s.graph_seed);
  if (!graph.is_ok()) return invalid("round_setup: communication graph: " + graph.status().message());
  const auto neighbours = graph->neighbours(self);
  bool same = neighbours.size() == s.neighbours.size();
  for (std::size_t i = 0; same && i < neighbours.size(); ++i) same = neighbours[i] == s.neighbours[i].agent;
  if (!same) {
    std::vector<AgentId> listed;
    for (const NeighbourKeys& n : s.neighbours) listed.push_back(n.agent);
    return invalid("round_setup lists neighbours " + wire::ids_text(listed) + ", the graph gives " +
                   wire::ids_text({neighbours.begin(), neighbours.end()}));
  }
  if (s.neighbours.size() < s.threshold) return invalid("round_setup: fewer neighbours than the threshold");

  std::vector<Key32> keys;
  keys.reserve(s.neighbours.size());
  auto wipe_keys = [&] {
    for (Key32& k : keys) cleanse(k);
  };
  for (const NeighbourKeys& n : s.neighbours) {
    if (n.mask_public_key == n.enc_public_key) {
      wipe_keys();
      return invalid("round_setup: neighbour " + id(n.agent) + " uses one key for envelopes and masks");
    }
    auto k = share_key(n);
    if (!k.is_ok()) {
      wipe_keys();
      return k.status();
    }
    keys.push_back(*k);
  }
  auto self_seed = random_key(random);
  if (!self_seed.is_ok()) {
    wipe_keys();
    return self_seed.status();
  }
  const std::vector<AgentId> holders(neighbours.begin(), neighbours.end());
  auto seed_shares = shamir_share(*self_seed, s.threshold, holders, random);
  auto key_shares = shamir_share(mask_.secret_key, s.threshold, holders, random);
  if (!seed_shares.is_ok() || !key_shares.is_ok()) {
    wipe_keys();
    return seed_shares.is_ok() ? key_shares.status() : seed_shares.status();
  }
  ShareUpload up;
  up.session = advert_.session;
  up.agent = self;
  for (std::size_t i = 0; i < holders.size(); ++i) {
    auto env = seal_shares(keys[i], advert_.session, self, holders[i], ShareBundle{(*seed_shares)[i], (*key_shares)[i]},
                           random);
    if (!env.is_ok()) {
      wipe_keys();
      return env.status();
    }
    up.envelopes.emplace(holders[i], std::move(env).value());
  }
  wipe_keys();
  for (ShamirShare& sh : *seed_shares) cleanse(sh.y);
  for (ShamirShare& sh : *key_shares) cleanse(sh.y);
  self_seed_ = *self_seed;
  cleanse(*self_seed);
  setup_ = s;
  upload_ = up;
  phase_ = ClientPhase::kSharesSent;
  return up;
}

// ---- delivery -> masked input

Result<MaskedInput> ClientRound::on_delivery(const ShareDelivery& d, std::span<const float> update,
                                             const Quantizer& quantizer) {
  EDGEFED_RETURN_IF_ERROR(addressed(d.session, d.agent, "share_delivery"));
  if (delivery_) {
    if (*delivery_ == d && masked_) return *masked_;  // a retry: the same vector
    return Status(Code::kConflict, "share_delivery refused: agent " + id(advert_.agent) +
                                       " already masked its input for another delivery in session " + advert_.session);
  }
  if (phase_ != ClientPhase::kSharesSent || !setup_) {
    return Status(Code::kConflict, "share_delivery refused: agent " + id(advert_.agent) + " is in phase " +
                                       std::string(phase_name(phase_)) + ", not shares_sent");
  }
  const RoundSetup& s = *setup_;
  const AgentId self = advert_.agent;
  if (!ascending(d.senders) || !std::includes(s.agents.begin(), s.agents.end(), d.senders.begin(), d.senders.end())) {
    return invalid("share_delivery: U2 is not a sorted subset of U1");
  }
  if (!contains(d.senders, self)) return invalid("share_delivery: agent " + id(self) + " is not in U2");
  std::vector<const NeighbourKeys*> live;  // neighbours in U2
  for (const NeighbourKeys& n : s.neighbours) {
    if (!contains(d.senders, n.agent)) continue;
    if (!d.envelopes.contains(n.agent)) return invalid("share_delivery lacks the envelope of neighbour " + id(n.agent));
    live.push_back(&n);
  }
  if (d.envelopes.size() != live.size()) {
    for (const auto& entry : d.envelopes) {
      // A plain variable, not a structured binding: clang 14 cannot capture those.
      const AgentId from = entry.first;
      const bool expected =
          std::any_of(live.begin(), live.end(), [&](const NeighbourKeys* n) { return n->agent == from; });
      if (!expected)
        return invalid("share_delivery holds an envelope from agent " + id(from) + ", not a neighbour in U2");
    }
  }
  if (live.size() < s.threshold) {
    return Status(Code::kUnprocessable,
                  "share_delivery: only " + std::to_string(live.size()) + " neighbours of agent " + id(self) +
                      " are in U2, t = " + std::to_string(s.threshold) + " needed to ever unmask it");
  }
  if (update.size() != s.vector_length) {
    return invalid("update has " + std::to_string(update.size()) + " values, the session " +
                   std::to_string(s.vector_length));
  }
  if (quantizer.cohort_size() != s.cohort_size || quantizer.clip() != s.clip) {
    return invalid("quantizer (K = " + std::to_string(quantizer.cohort_size()) +
                   ") is not the one the round setup asks for (K = " + std::to_string(s.cohort_size) + ")");
  }

  std::map<AgentId, ShareBundle> held;
  auto wipe_held = [&] {
    for (auto& [owner, b] : held) {
      cleanse(b.self_seed_share.y);
      cleanse(b.mask_key_share.y);
    }
  };
  for (const NeighbourKeys* n : live) {
    auto key = share_key(*n);
    if (!key.is_ok()) {
      wipe_held();
      return key.status();
    }
    auto bundle = open_shares(*key, advert_.session, n->agent, self, d.envelopes.at(n->agent));
    cleanse(*key);
    if (!bundle.is_ok()) {
      wipe_held();
      return Status(Code::kUnauthenticated, "share_delivery refused: the envelope from agent " + id(n->agent) +
                                                " does not open (" + bundle.status().message() + ")");
    }
    if (bundle->self_seed_share.threshold != s.threshold || bundle->mask_key_share.threshold != s.threshold) {
      wipe_held();
      return Status(Code::kUnauthenticated,
                    "share_delivery refused: agent " + id(n->agent) + "'s shares are for another threshold");
    }
    held.emplace(n->agent, *bundle);
  }

  auto q = quantizer.quantize(update, s.weight);
  if (!q.is_ok()) {
    wipe_held();
    return q.status();
  }
  std::vector<PairwiseSeed> peers;
  auto wipe_peers = [&] {
    for (PairwiseSeed& p : peers) cleanse(p.seed);
  };
  for (const NeighbourKeys* n : live) {
    auto shared = x25519_agree(mask_.secret_key, n->mask_public_key);
    if (!shared.is_ok()) {
      wipe_held();
      wipe_peers();
      return invalid("mask_public_key of neighbour " + id(n->agent) + ": " + shared.status().message());
    }
    auto seed = derive_mask_seed(*shared, advert_.session, self, n->agent);
    cleanse(*shared);
    if (!seed.is_ok()) {
      wipe_held();
      wipe_peers();
      return seed.status();
    }
    peers.push_back(PairwiseSeed{n->agent, *seed});
  }
  auto y = mask_input(self, *q, self_seed_, peers);
  wipe_peers();
  if (!y.is_ok()) {
    wipe_held();
    return y.status();
  }
  MaskedInput m;
  m.session = advert_.session;
  m.agent = self;
  m.values = std::move(y).value();
  delivery_ = d;
  held_ = std::move(held);
  masked_ = m;
  phase_ = ClientPhase::kMaskedSent;
  wipe_secrets();  // b and the keys did their work; only the held shares remain secret
  return m;
}

// ---- unmask request -> response

Result<UnmaskResponse> ClientRound::on_unmask(const UnmaskRequest& r) {
  EDGEFED_RETURN_IF_ERROR(addressed(r.session, r.agent, "unmask_request"));
  if (request_) {
    if (*request_ == r && response_) return *response_;  // a retry: the same answer
    return Status(Code::kConflict, "unmask_request refused: agent " + id(advert_.agent) +
                                       " already answered one with other survivors/dropouts; it keeps the first");
  }
  if (phase_ != ClientPhase::kMaskedSent || !setup_ || !delivery_) {
    return Status(Code::kConflict, "unmask_request refused: agent " + id(advert_.agent) + " is in phase " +
                                       std::string(phase_name(phase_)) + ", it sent no masked input");
  }
  const AgentId self = advert_.agent;
  if (!ascending(r.survivors) || !ascending(r.dropouts)) {
    return invalid("unmask_request refused: survivors and dropouts must be strictly ascending");
  }
  std::vector<AgentId> both;
  std::set_intersection(r.survivors.begin(), r.survivors.end(), r.dropouts.begin(), r.dropouts.end(),
                        std::back_inserter(both));
  if (!both.empty()) {
    return invalid("unmask_request refused: agents " + wire::ids_text(both) + " named both survivor and dropout");
  }
  if (!contains(r.survivors, self)) return invalid("unmask_request refused: agent " + id(self) + " is not a survivor");
  std::vector<AgentId> all;
  std::merge(r.survivors.begin(), r.survivors.end(), r.dropouts.begin(), r.dropouts.end(), std::back_inserter(all));
  if (all != delivery_->senders) {
    return invalid("unmask_request refused: survivors and dropouts are not a partition of U2");
  }
  if (r.survivors.size() < setup_->threshold) {
    return Status(Code::kUnprocessable, "unmask_request refused: " + std::to_string(r.survivors.size()) +
                                            " survivors, fewer than t = " + std::to_string(setup_->threshold));
  }
  UnmaskResponse out;
  out.session = advert_.session;
  out.agent = self;
  for (const auto& [owner, bundle] : held_) {
    if (contains(r.survivors, owner)) {
      out.seed_shares.emplace(owner, bundle.self_seed_share);
    } else if (contains(r.dropouts, owner)) {
      out.key_shares.emplace(owner, bundle.mask_key_share);
    }
  }
  request_ = r;
  response_ = out;
  phase_ = ClientPhase::kDone;
  // The other kind of share must never leave this agent: drop them all.
  for (auto& [owner, b] : held_) {
    cleanse(b.self_seed_share.y);
    cleanse(b.mask_key_share.y);
  }
  held_.clear();
  return out;
}

}  // namespace edgefed::secagg
