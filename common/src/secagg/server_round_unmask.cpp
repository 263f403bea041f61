// ServerRound's last phase: which shares each survivor is asked for, the
// responses, and the reconstruction and unmasking of the sum.
#include <openssl/crypto.h>

#include <algorithm>
#include <string>

#include "edgefed/secagg/quantizer.hpp"
#include "edgefed/secagg/server_round.hpp"
#include "edgefed/secagg/unmasking.hpp"
#include "wire.hpp"

namespace edgefed::secagg {
namespace {

using wire::id;

}  // namespace

void ServerRound::asked_of(AgentId v, std::vector<AgentId>& seeds, std::vector<AgentId>& keys) const {
  seeds.clear();
  keys.clear();
  if (!graph_) return;
  for (AgentId u : graph_->neighbours(v)) {
    if (!in_u2(u)) continue;  // never masked with, holds no share of it
    (in_u3(u) ? seeds : keys).push_back(u);
  }
}

std::vector<AgentId> ServerRound::unrecoverable(const std::set<AgentId>& from) const {
  std::vector<AgentId> lost;
  for (AgentId a : u2_) {
    std::size_t holders = 0;
    bool needed = in_u3(a);  // a survivor's self seed is always needed
    for (AgentId v : graph_->neighbours(a)) {
      if (!in_u3(v)) continue;
      needed = true;  // a dropout's key is needed when a survivor masked with it
      holders += from.contains(v) ? 1 : 0;
    }
    if (needed && holders < threshold_) lost.push_back(a);
  }
  return lost;
}

// ---- unmasking

Status ServerRound::on_unmask_response(const UnmaskResponse& m) {
  if (m.session == config_.session && phase_ != ServerPhase::kAborted) {
    if (auto it = responses_.find(m.agent); it != responses_.end()) {
      if (it->second == m) return Status::ok();
      return Status(Code::kConflict,
                    "agent " + id(m.agent) + " already sent another unmask response in session " + config_.session);
    }
  }
  EDGEFED_RETURN_IF_ERROR(check(m.session, ServerPhase::kUnmask, "unmask_response"));
  if (!in_u3(m.agent)) {
    return Status(Code::kPermissionDenied,
                  "unmask_response from agent " + id(m.agent) + ", which is not in U3 of session " + config_.session);
  }
  std::vector<AgentId> seeds, keys;
  asked_of(m.agent, seeds, keys);
  auto check_kind = [&](const std::map<AgentId, ShamirShare>& got, const std::vector<AgentId>& asked,
                        const char* kind) -> Status {
    for (const auto& [owner, share] : got) {
      if (!std::binary_search(asked.begin(), asked.end(), owner)) {
        return Status(Code::kInvalidArgument, "unmask_response of agent " + id(m.agent) + " holds a " + kind +
                                                  " share of agent " + id(owner) + ", which was not asked");
      }
      if (share.x != m.agent || share.threshold != threshold_) {
        return Status(Code::kInvalidArgument, "unmask_response of agent " + id(m.agent) + ": the " + kind +
                                                  " share of agent " + id(owner) +
                                                  " is not the sender's share for t = " + std::to_string(threshold_));
      }
    }
    for (AgentId owner : asked) {
      if (!got.contains(owner)) {
        return Status(Code::kInvalidArgument, "unmask_response of agent " + id(m.agent) + " lacks the " + kind +
                                                  " share of agent " + id(owner));
      }
    }
    return Status::ok();
  };
  EDGEFED_RETURN_IF_ERROR(check_kind(m.seed_shares, seeds, "self-seed"));
  EDGEFED_RETURN_IF_ERROR(check_kind(m.key_shares, keys, "mask-key"));
  responses_.emplace(m.agent, m);
  return Status::ok();
}

bool ServerRound::ready_to_finish() const {
  if (phase_ != ServerPhase::kUnmask) return false;
  std::set<AgentId> from;
  for (const auto& [a, unused] : responses_) from.insert(a);
  return unrecoverable(from).empty();
}

Result<AggregateResult> ServerRound::finish() {
  if (phase_ == ServerPhase::kDone && result_) return *result_;
  EDGEFED_RETURN_IF_ERROR(check(config_.session, ServerPhase::kUnmask, "finish"));
  std::set<AgentId> from;
  for (const auto& [a, unused] : responses_) from.insert(a);
  if (const std::vector<AgentId> lost = unrecoverable(from); !lost.empty()) {
    return fail("cannot reconstruct: fewer than t = " + std::to_string(threshold_) + " shares arrived for agents " +
                wire::ids_text(lost) + " (" + std::to_string(from.size()) + " of " + std::to_string(u3_.size()) +
                " survivors answered)");
  }

  std::vector<SurvivorSeed> seeds;
  std::vector<DropoutKey> keys;
  for (AgentId a : u2_) {
    std::vector<ShamirShare> shares;
    bool needed = in_u3(a);
    for (AgentId v : graph_->neighbours(a)) {
      if (!in_u3(v)) continue;
      needed = true;
      const auto r = responses_.find(v);
      if (r == responses_.end()) continue;
      const auto& kind = in_u3(a) ? r->second.seed_shares : r->second.key_shares;
      if (auto s = kind.find(a); s != kind.end()) shares.push_back(s->second);
    }
    if (!needed) continue;
    auto secret = shamir_reconstruct(shares, threshold_);
    if (!secret.is_ok()) {
      return fail(std::string(in_u3(a) ? "self seed" : "mask key") + " of agent " + id(a) + ": " +
                  secret.status().message());
    }
    if (in_u3(a)) {
      seeds.push_back(SurvivorSeed{a, *secret});
    } else {
      keys.push_back(DropoutKey{a, *secret});
    }
    OPENSSL_cleanse(secret->data(), secret->size());
  }

  std::map<AgentId, Key32> mask_public_keys;
  for (const auto& [a, m] : adverts_) mask_public_keys.emplace(a, m.mask_public_key);
  std::vector<std::uint32_t> sum = masked_sum_;
  Status unmasked = remove_masks(config_.session, *graph_, u2_, mask_public_keys, seeds, keys, sum);
  for (SurvivorSeed& s : seeds) OPENSSL_cleanse(s.self_seed.data(), s.self_seed.size());
  for (DropoutKey& k : keys) OPENSSL_cleanse(k.mask_secret_key.data(), k.mask_secret_key.size());
  if (!unmasked.is_ok()) return fail("unmasking: " + unmasked.message());

  auto quantizer = Quantizer::create(adverts_.size(), config_.clip);
  if (!quantizer.is_ok()) return fail("quantizer: " + quantizer.status().message());
  auto weighted = quantizer->dequantize_sum(sum);
  if (!weighted.is_ok()) return fail("dequantizing: " + weighted.status().message());

  AggregateResult result;
  result.survivors = u3_;
  for (AgentId a : u3_) result.survivor_samples += adverts_.at(a).num_samples;
  // The agents weighted by n / sum_{U1} n; the mean needs n / sum_{U3} n.
  const double rescale = static_cast<double>(total_samples_) / static_cast<double>(result.survivor_samples);
  result.mean.resize(weighted->size());
  for (std::size_t i = 0; i < weighted->size(); ++i) {
    result.mean[i] = static_cast<float>(static_cast<double>((*weighted)[i]) * rescale);
  }
  result_ = std::move(result);
  masked_sum_.clear();
  masked_sum_.shrink_to_fit();
  phase_ = ServerPhase::kDone;
  return *result_;
}

Result<AggregateResult> ServerRound::result() const {
  if (phase_ == ServerPhase::kAborted) return Status(Code::kConflict, abort_status_.message());
  if (phase_ != ServerPhase::kDone || !result_) {
    return Status(Code::kConflict, "secagg session " + config_.session + " has no result yet (phase " +
                                       std::string(phase_name(phase_)) + ")");
  }
  return *result_;
}

}  // namespace edgefed::secagg
