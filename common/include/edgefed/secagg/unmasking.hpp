// The server's side: the exact ring sum of the survivors' quantized
// inputs from their masked vectors.
//
//   sum = sum_{u in S} y_u - sum_{u in S} PRG(b_u)
//         - sum_{d dropped} sum_{v in S, v ~ d} sign(v, d) * PRG(s_vd)
//
// Survivors S are the agents whose masked vector arrived; their self seeds
// b_u are reconstructed from neighbours' shares (or revealed by u itself).
// For each dropout d (its masked vector never arrived) the server
// reconstructs d's mask secret key and recomputes, with each surviving
// neighbour v's mask public key, the seed s_vd that v masked with. Masks
// between two survivors cancel and need nothing.
//
// Thread safety: free function without shared state.
// Errors -> kInvalidArgument: no survivors, masked vectors of different
// lengths, an id not in the graph, an id twice, an id both survivor and
// dropout, a missing mask public key. -> kUnprocessable: a survivor's
// neighbour that is neither a survivor nor a dropout with its key (its
// mask cannot be removed), or a dropout secret key that does not match
// its public key (a bad reconstruction). An OpenSSL failure -> kInternal.
#pragma once

#include <cstdint>
#include <map>
#include <span>
#include <string_view>
#include <vector>

#include "edgefed/secagg/communication_graph.hpp"
#include "edgefed/secagg/types.hpp"
#include "edgefed/status.hpp"

namespace edgefed::secagg {

struct SurvivorInput {
  AgentId id = 0;
  std::span<const std::uint32_t> masked;  // y_u, borrowed for the call
  Key32 self_seed{};                      // b_u
};

struct DropoutKey {
  AgentId id = 0;
  Key32 mask_secret_key{};  // reconstructed from its neighbours' shares
};

// All of the graph's agents masked with one another (no agent dropped
// before the shares went out).
Result<std::vector<std::uint32_t>> unmask_sum(std::string_view session, const CommunicationGraph& graph,
                                              const std::map<AgentId, Key32>& mask_public_keys,
                                              std::span<const SurvivorInput> survivors,
                                              std::span<const DropoutKey> dropouts);

// The protocol's form (server_round.hpp): `sum` is already the ring sum of
// the survivors' masked vectors (the server keeps only that running sum,
// never an individual vector) and the masks are removed from it in place.
// `maskers` is U2, the agents whose shares went out and whose list each
// masking agent was given: an agent masked only with its graph neighbours
// in U2, so a neighbour outside U2 is ignored here. Survivors and dropouts
// must be in `maskers`; the errors are unmask_sum's, plus an id outside
// `maskers` -> kInvalidArgument. On error `sum` is left partly unmasked.
struct SurvivorSeed {
  AgentId id = 0;
  Key32 self_seed{};  // b_u
};

Status remove_masks(std::string_view session, const CommunicationGraph& graph, std::span<const AgentId> maskers,
                    const std::map<AgentId, Key32>& mask_public_keys, std::span<const SurvivorSeed> survivors,
                    std::span<const DropoutKey> dropouts, std::span<std::uint32_t> sum);

}  // namespace edgefed::secagg
