#include "edgefed/secagg/server_round.hpp"

#include <algorithm>
#include <cmath>
#include <string>

#include "edgefed/secagg/x25519.hpp"
#include "edgefed/sha256.hpp"
#include "wire.hpp"

namespace edgefed::secagg {
namespace {

using wire::id;

// Any clamped scalar times a low-order point is the all-zero secret, which
// x25519_agree refuses: a cheap test that a public key is usable, so one
// agent's bad key cannot make all its neighbours fail their setup.
Status check_public_key(const Key32& key, const char* which, AgentId agent) {
  Key32 probe{};
  probe.fill(0x5a);
  auto shared = x25519_agree(probe, key);
  if (!shared.is_ok()) {
    return Status(Code::kInvalidArgument, std::string(which) + " of agent " + id(agent) +
                                              " is not a usable X25519 public key: " + shared.status().message());
  }
  return Status::ok();
}

std::array<std::uint8_t, 32> digest_of(const std::vector<std::uint32_t>& values) {
  std::vector<std::uint8_t> bytes(values.size() * 4);
  for (std::size_t i = 0; i < values.size(); ++i) {
    for (int b = 0; b < 4; ++b) bytes[4 * i + b] = static_cast<std::uint8_t>(values[i] >> (8 * b));
  }
  return sha256(bytes);
}

bool contains(const std::vector<AgentId>& sorted, AgentId a) {
  return std::binary_search(sorted.begin(), sorted.end(), a);
}

}  // namespace

std::string_view phase_name(ServerPhase phase) {
  switch (phase) {
    case ServerPhase::kAdvertise:
      return "advertise";
    case ServerPhase::kShares:
      return "shares";
    case ServerPhase::kMasked:
      return "masked";
    case ServerPhase::kUnmask:
      return "unmask";
    case ServerPhase::kDone:
      return "done";
    case ServerPhase::kAborted:
      return "aborted";
  }
  return "unknown";
}

ServerRound::ServerRound(ServerRoundConfig config) : config_(std::move(config)) {}

Result<ServerRound> ServerRound::create(ServerRoundConfig config) {
  if (!valid_session_id(config.session)) {
    return Status(Code::kInvalidArgument, "secagg session id must be 1-128 of [A-Za-z0-9._:-]");
  }
  if (config.vector_length < 1 || config.vector_length > kMaxVectorLength) {
    return Status(Code::kInvalidArgument,
                  "secagg vector_length must be in [1, 2^28], got " + std::to_string(config.vector_length));
  }
  if (!std::isfinite(config.clip) || config.clip <= 0) {
    return Status(Code::kInvalidArgument, "secagg clip must be finite and > 0");
  }
  if (config.min_agents < 3 || config.min_agents > kMaxSessionAgents) {
    return Status(Code::kInvalidArgument,
                  "secagg min_agents must be in [3, 65535], got " + std::to_string(config.min_agents));
  }
  if (config.degree != 0 && (config.degree < 2 || config.degree % 2 != 0 || config.degree >= kMaxSessionAgents)) {
    return Status(Code::kInvalidArgument,
                  "secagg degree must be 0 (automatic) or even in [2, 65534], got " + std::to_string(config.degree));
  }
  return ServerRound(std::move(config));
}

void ServerRound::abort(std::string reason) {
  if (phase_ == ServerPhase::kDone || phase_ == ServerPhase::kAborted) return;
  (void)fail(std::move(reason));
}

Status ServerRound::fail(std::string reason) {
  phase_ = ServerPhase::kAborted;
  abort_status_ = Status(Code::kUnprocessable, "secagg session " + config_.session + " aborted: " + reason);
  masked_sum_.clear();
  masked_sum_.shrink_to_fit();
  return abort_status_;
}

Status ServerRound::check(std::string_view session, ServerPhase want, std::string_view what) const {
  if (session != config_.session) {
    return Status(Code::kInvalidArgument,
                  std::string(what) + " for session " + std::string(session) + ", this is session " + config_.session);
  }
  if (phase_ == ServerPhase::kAborted) return Status(Code::kConflict, abort_status_.message());
  if (phase_ != want) {
    return Status(Code::kConflict, std::string(what) + " refused: secagg session " + config_.session + " is in phase " +
                                       std::string(phase_name(phase_)) + ", not " + std::string(phase_name(want)));
  }
  return Status::ok();
}

Status ServerRound::build_graph() {
  std::vector<AgentId> ids = advertised();
  auto graph = CommunicationGraph::create(ids, degree_, *graph_seed_);
  if (!graph.is_ok()) return graph.status();
  graph_.emplace(std::move(graph).value());
  return Status::ok();
}

bool ServerRound::in_u2(AgentId a) const { return contains(u2_, a); }
bool ServerRound::in_u3(AgentId a) const { return contains(u3_, a); }

std::vector<AgentId> ServerRound::advertised() const {
  std::vector<AgentId> ids;
  ids.reserve(adverts_.size());
  for (const auto& [a, unused] : adverts_) ids.push_back(a);
  return ids;
}

// ---- advertise

Status ServerRound::on_advertise(const AdvertiseKeys& m) {
  if (m.session == config_.session && phase_ != ServerPhase::kAborted) {
    if (auto it = adverts_.find(m.agent); it != adverts_.end()) {
      if (it->second == m) return Status::ok();  // a retry
      return Status(Code::kConflict,
                    "agent " + id(m.agent) + " already advertised other keys in session " + config_.session);
    }
  }
  EDGEFED_RETURN_IF_ERROR(check(m.session, ServerPhase::kAdvertise, "advertise_keys"));
  if (!wire::valid_agent(m.agent)) return Status(Code::kInvalidArgument, "agent id " + id(m.agent) + " out of range");
  if (m.num_samples < 1 || m.num_samples > kMaxNumSamples) {
    return Status(Code::kInvalidArgument, "num_samples of agent " + id(m.agent) + " must be in [1, 2^36]");
  }
  if (m.enc_public_key == m.mask_public_key) {
    // The mask key may be reconstructed; it must not also open envelopes.
    return Status(Code::kInvalidArgument, "agent " + id(m.agent) + " uses one key pair for envelopes and masks");
  }
  EDGEFED_RETURN_IF_ERROR(check_public_key(m.enc_public_key, "enc_public_key", m.agent));
  EDGEFED_RETURN_IF_ERROR(check_public_key(m.mask_public_key, "mask_public_key", m.agent));
  if (adverts_.size() >= kMaxSessionAgents) {
    return Status(Code::kInvalidArgument, "secagg session " + config_.session + " is full (65535 agents)");
  }
  adverts_.emplace(m.agent, m);
  return Status::ok();
}

Status ServerRound::close_advertise(const Key32& graph_seed) {
  EDGEFED_RETURN_IF_ERROR(check(config_.session, ServerPhase::kAdvertise, "close_advertise"));
  const std::size_t n = adverts_.size();
  const std::uint64_t minimum = std::max<std::uint64_t>(config_.min_agents, 3);
  if (n < minimum) {
    return fail("advertise closed with " + std::to_string(n) + " agents, fewer than the minimum " +
                std::to_string(minimum));
  }
  if (config_.degree == 0) {
    auto p = choose_parameters(n);
    if (!p.is_ok()) return fail(p.status().message());
    degree_ = p->degree;
    threshold_ = p->threshold;
  } else {
    degree_ = std::min<std::uint64_t>(config_.degree, n - 1);
    threshold_ = degree_ / 2 + 1;
  }
  graph_seed_ = graph_seed;
  if (Status s = build_graph(); !s.is_ok()) {
    graph_seed_.reset();
    return fail("communication graph: " + s.message());
  }
  total_samples_ = 0;
  for (const auto& [a, m] : adverts_) total_samples_ += m.num_samples;
  phase_ = ServerPhase::kShares;
  return Status::ok();
}

Result<RoundSetup> ServerRound::setup_for(AgentId agent) const {
  if (phase_ == ServerPhase::kAborted) return Status(Code::kConflict, abort_status_.message());
  if (phase_ == ServerPhase::kAdvertise || !graph_) {
    return Status(Code::kConflict, "no round setup yet: secagg session " + config_.session + " is still advertising");
  }
  const auto self = adverts_.find(agent);
  if (self == adverts_.end()) {
    return Status(Code::kNotFound, "agent " + id(agent) + " is not in secagg session " + config_.session);
  }
  RoundSetup s;
  s.session = config_.session;
  s.agent = agent;
  s.graph_seed = *graph_seed_;
  s.degree = degree_;
  s.threshold = threshold_;
  s.agents = advertised();
  for (AgentId v : graph_->neighbours(agent)) {
    const AdvertiseKeys& a = adverts_.at(v);  // graph built from adverts_
    s.neighbours.push_back(NeighbourKeys{v, a.enc_public_key, a.mask_public_key, a.num_samples});
  }
  s.weight = static_cast<double>(self->second.num_samples) / static_cast<double>(total_samples_);
  s.cohort_size = adverts_.size();
  s.clip = config_.clip;
  s.vector_length = config_.vector_length;
  return s;
}

// ---- shares

Status ServerRound::on_share_upload(const ShareUpload& m) {
  if (m.session == config_.session && phase_ != ServerPhase::kAborted) {
    if (auto it = uploads_.find(m.agent); it != uploads_.end()) {
      if (it->second == m) return Status::ok();
      return Status(Code::kConflict,
                    "agent " + id(m.agent) + " already uploaded other shares in session " + config_.session);
    }
  }
  EDGEFED_RETURN_IF_ERROR(check(m.session, ServerPhase::kShares, "share_upload"));
  if (!adverts_.contains(m.agent)) {
    return Status(Code::kPermissionDenied,
                  "share_upload from agent " + id(m.agent) + ", which is not in U1 of session " + config_.session);
  }
  const auto neighbours = graph_->neighbours(m.agent);
  for (const auto& [to, envelope] : m.envelopes) {
    if (!std::binary_search(neighbours.begin(), neighbours.end(), to)) {
      return Status(Code::kInvalidArgument, "share_upload of agent " + id(m.agent) + " holds an envelope for agent " +
                                                id(to) + ", not one of its neighbours");
    }
    if (envelope.size() != kShareEnvelopeBytes) {
      return Status(Code::kInvalidArgument, "share_upload of agent " + id(m.agent) + ": envelope for agent " + id(to) +
                                                " has " + std::to_string(envelope.size()) + " bytes, not " +
                                                std::to_string(kShareEnvelopeBytes));
    }
  }
  for (AgentId v : neighbours) {
    if (!m.envelopes.contains(v)) {
      return Status(Code::kInvalidArgument,
                    "share_upload of agent " + id(m.agent) + " lacks the envelope for neighbour " + id(v));
    }
  }
  uploads_.emplace(m.agent, m);
  return Status::ok();
}

Status ServerRound::close_shares() {
  EDGEFED_RETURN_IF_ERROR(check(config_.session, ServerPhase::kShares, "close_shares"));
  std::vector<AgentId> u2;
  for (const auto& [a, unused] : uploads_) u2.push_back(a);
  // Prune agents that could never be unmasked, until none is left.
  for (bool changed = true; changed;) {
    changed = false;
    std::vector<AgentId> kept;
    for (AgentId a : u2) {
      std::size_t live = 0;
      for (AgentId v : graph_->neighbours(a)) live += contains(u2, v) ? 1 : 0;
      if (live >= threshold_) kept.push_back(a);
    }
    changed = kept.size() != u2.size();
    u2 = std::move(kept);
  }
  if (u2.size() < threshold_) {
    return fail("shares closed with " + std::to_string(u2.size()) + " usable senders (of " +
                std::to_string(uploads_.size()) + "), fewer than the threshold t = " + std::to_string(threshold_));
  }
  u2_ = std::move(u2);
  masked_sum_.assign(config_.vector_length, 0);
  phase_ = ServerPhase::kMasked;
  return Status::ok();
}

Result<ShareDelivery> ServerRound::delivery_for(AgentId agent) const {
  if (phase_ == ServerPhase::kAborted) return Status(Code::kConflict, abort_status_.message());
  if (phase_ == ServerPhase::kAdvertise || phase_ == ServerPhase::kShares) {
    return Status(Code::kConflict, "no share delivery yet: secagg session " + config_.session + " is in phase " +
                                       std::string(phase_name(phase_)));
  }
  if (!in_u2(agent)) {
    return Status(Code::kNotFound, "agent " + id(agent) + " is not in U2 of secagg session " + config_.session +
                                       (uploads_.contains(agent) ? " (fewer than t of its neighbours sent shares)"
                                                                 : " (it sent no shares in time)"));
  }
  ShareDelivery d;
  d.session = config_.session;
  d.agent = agent;
  d.senders = u2_;
  for (AgentId u : graph_->neighbours(agent)) {
    if (!in_u2(u)) continue;
    const auto up = uploads_.find(u);
    if (up == uploads_.end()) return Status(Code::kInternal, "secagg state lost the upload of agent " + id(u));
    const auto env = up->second.envelopes.find(agent);
    if (env == up->second.envelopes.end()) {
      return Status(Code::kInternal, "secagg state lost an envelope of agent " + id(u));
    }
    d.envelopes.emplace(u, env->second);
  }
  return d;
}

// ---- masked inputs (the unmask phase: server_round_unmask.cpp)

Status ServerRound::on_masked_input(const MaskedInput& m) {
  if (m.session == config_.session && phase_ != ServerPhase::kAborted) {
    if (auto it = masked_digests_.find(m.agent); it != masked_digests_.end()) {
      if (it->second == digest_of(m.values)) return Status::ok();
      return Status(Code::kConflict,
                    "agent " + id(m.agent) + " already sent another masked input in session " + config_.session);
    }
  }
  EDGEFED_RETURN_IF_ERROR(check(m.session, ServerPhase::kMasked, "masked_input"));
  if (!in_u2(m.agent)) {
    return Status(Code::kPermissionDenied,
                  "masked_input from agent " + id(m.agent) + ", which is not in U2 of session " + config_.session);
  }
  if (m.values.size() != config_.vector_length || masked_sum_.size() != config_.vector_length) {
    return Status(Code::kInvalidArgument, "masked_input of agent " + id(m.agent) + " has " +
                                              std::to_string(m.values.size()) + " values, the session " +
                                              std::to_string(config_.vector_length));
  }
  for (std::size_t i = 0; i < m.values.size(); ++i) masked_sum_[i] += m.values[i];  // mod 2^32
  masked_digests_.emplace(m.agent, digest_of(m.values));
  return Status::ok();
}

Status ServerRound::close_masked() {
  EDGEFED_RETURN_IF_ERROR(check(config_.session, ServerPhase::kMasked, "close_masked"));
  std::vector<AgentId> u3;
  for (const auto& [a, unused] : masked_digests_) u3.push_back(a);
  if (u3.size() < threshold_) {
    return fail("masked inputs closed with " + std::to_string(u3.size()) +
                " senders, fewer than the threshold t = " + std::to_string(threshold_));
  }
  u3_ = std::move(u3);
  const std::vector<AgentId> lost = unrecoverable(std::set<AgentId>(u3_.begin(), u3_.end()));
  if (!lost.empty()) {
    return fail("too many dropouts: even with answers from all " + std::to_string(u3_.size()) +
                " survivors, fewer than t = " + std::to_string(threshold_) + " shares exist for agents " +
                wire::ids_text(lost));
  }
  phase_ = ServerPhase::kUnmask;
  return Status::ok();
}

Result<UnmaskRequest> ServerRound::unmask_request_for(AgentId agent) const {
  if (phase_ == ServerPhase::kAborted) return Status(Code::kConflict, abort_status_.message());
  if (phase_ != ServerPhase::kUnmask && phase_ != ServerPhase::kDone) {
    return Status(Code::kConflict, "no unmask request yet: secagg session " + config_.session + " is in phase " +
                                       std::string(phase_name(phase_)));
  }
  if (!in_u3(agent)) {
    return Status(Code::kNotFound, "agent " + id(agent) + " is not in U3 of secagg session " + config_.session);
  }
  UnmaskRequest r;
  r.session = config_.session;
  r.agent = agent;
  r.survivors = u3_;
  for (AgentId a : u2_) {
    if (!in_u3(a)) r.dropouts.push_back(a);
  }
  return r;
}

}  // namespace edgefed::secagg
