#include "edgefed/secagg/unmasking.hpp"

#include <openssl/crypto.h>

#include <set>
#include <string>

#include "edgefed/secagg/key_schedule.hpp"
#include "edgefed/secagg/masking.hpp"
#include "edgefed/secagg/x25519.hpp"

namespace edgefed::secagg {
namespace {

Status check_member(const CommunicationGraph& graph, const std::set<AgentId>& maskers, std::set<AgentId>& seen,
                    AgentId id) {
  if (!graph.contains(id)) {
    return Status(Code::kInvalidArgument, "agent " + std::to_string(id) + " is not in the round's graph");
  }
  if (!maskers.contains(id)) {
    return Status(Code::kInvalidArgument, "agent " + std::to_string(id) + " is not among the agents that masked");
  }
  if (!seen.insert(id).second) {
    return Status(Code::kInvalidArgument, "agent " + std::to_string(id) + " given twice (survivor and dropout, or twice)");
  }
  return Status::ok();
}

}  // namespace

Status remove_masks(std::string_view session, const CommunicationGraph& graph, std::span<const AgentId> masker_ids,
                    const std::map<AgentId, Key32>& mask_public_keys, std::span<const SurvivorSeed> survivors,
                    std::span<const DropoutKey> dropouts, std::span<std::uint32_t> sum) {
  if (survivors.empty()) return Status(Code::kInvalidArgument, "no masked vectors to sum");
  const std::set<AgentId> maskers(masker_ids.begin(), masker_ids.end());
  std::set<AgentId> seen;
  std::set<AgentId> surviving;
  std::map<AgentId, const Key32*> dropout_keys;
  for (const SurvivorSeed& s : survivors) {
    EDGEFED_RETURN_IF_ERROR(check_member(graph, maskers, seen, s.id));
    surviving.insert(s.id);
  }
  for (const DropoutKey& d : dropouts) {
    EDGEFED_RETURN_IF_ERROR(check_member(graph, maskers, seen, d.id));
    dropout_keys[d.id] = &d.mask_secret_key;
  }
  // Every survivor's mask with every neighbour it masked with must be removable.
  for (const SurvivorSeed& s : survivors) {
    for (AgentId v : graph.neighbours(s.id)) {
      if (maskers.contains(v) && !surviving.contains(v) && !dropout_keys.contains(v)) {
        return Status(Code::kUnprocessable, "agent " + std::to_string(s.id) + "'s neighbour " + std::to_string(v) +
                                                " neither sent a masked vector nor had its mask key reconstructed");
      }
    }
  }

  for (const SurvivorSeed& s : survivors) EDGEFED_RETURN_IF_ERROR(add_mask(sum, s.self_seed, true));
  for (const auto& [d, secret_key] : dropout_keys) {
    const auto d_public = mask_public_keys.find(d);
    if (d_public == mask_public_keys.end()) {
      return Status(Code::kInvalidArgument, "no mask public key for agent " + std::to_string(d));
    }
    auto derived_public = x25519_public_key(*secret_key);
    if (!derived_public.is_ok()) return derived_public.status();
    if (CRYPTO_memcmp(derived_public->data(), d_public->second.data(), kKeyBytes) != 0) {
      return Status(Code::kUnprocessable, "reconstructed mask key of agent " + std::to_string(d) +
                                              " does not match its public key (bad shares)");
    }
    for (AgentId v : graph.neighbours(d)) {
      if (!surviving.contains(v)) continue;  // two dropouts: neither vector is in the sum
      const auto v_public = mask_public_keys.find(v);
      if (v_public == mask_public_keys.end()) {
        return Status(Code::kInvalidArgument, "no mask public key for agent " + std::to_string(v));
      }
      auto shared = x25519_agree(*secret_key, v_public->second);
      if (!shared.is_ok()) return shared.status();
      auto seed = derive_mask_seed(*shared, session, v, d);
      OPENSSL_cleanse(shared->data(), shared->size());
      if (!seed.is_ok()) return seed.status();
      // v added +PRG(s_vd) if v < d, else -PRG(s_vd): take it back out.
      EDGEFED_RETURN_IF_ERROR(add_mask(sum, *seed, v < d));
    }
  }
  return Status::ok();
}

Result<std::vector<std::uint32_t>> unmask_sum(std::string_view session, const CommunicationGraph& graph,
                                              const std::map<AgentId, Key32>& mask_public_keys,
                                              std::span<const SurvivorInput> survivors,
                                              std::span<const DropoutKey> dropouts) {
  if (survivors.empty()) return Status(Code::kInvalidArgument, "no masked vectors to sum");
  const std::size_t length = survivors.front().masked.size();
  std::vector<SurvivorSeed> seeds;
  seeds.reserve(survivors.size());
  for (const SurvivorInput& s : survivors) {
    if (s.masked.size() != length) {
      return Status(Code::kInvalidArgument, "masked vector of agent " + std::to_string(s.id) + " has " +
                                                std::to_string(s.masked.size()) + " values, others " +
                                                std::to_string(length));
    }
    seeds.push_back(SurvivorSeed{s.id, s.self_seed});
  }
  std::vector<std::uint32_t> sum(length, 0);
  for (const SurvivorInput& s : survivors) {
    for (std::size_t i = 0; i < length; ++i) sum[i] += s.masked[i];
  }
  EDGEFED_RETURN_IF_ERROR(remove_masks(session, graph, graph.agents(), mask_public_keys, seeds, dropouts, sum));
  return sum;
}

}  // namespace edgefed::secagg
