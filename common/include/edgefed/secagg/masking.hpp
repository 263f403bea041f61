// The agent's side of masking: y_u = q(x_u) + PRG(b_u) + sum over its
// neighbours v of sign(u, v) * PRG(s_uv), all mod 2^32, where b_u is the
// agent's fresh self-mask seed, s_uv the pair's mask seed
// (key_schedule.hpp) and sign(u, v) = +1 if u < v, -1 otherwise. In a sum
// over all agents each pairwise mask appears once with each sign and
// cancels; the server removes the self masks and the masks shared with
// dropouts (unmasking.hpp).
//
// Thread safety: free functions without shared state.
// Errors: a peer equal to `self` or given twice -> kInvalidArgument;
// a vector over kMaxMaskWords -> kInvalidArgument; an OpenSSL failure ->
// kInternal.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "edgefed/secagg/types.hpp"
#include "edgefed/status.hpp"

namespace edgefed::secagg {

struct PairwiseSeed {
  AgentId peer = 0;
  Key32 seed{};  // s_uv
};

Result<std::vector<std::uint32_t>> mask_input(AgentId self, std::span<const std::uint32_t> quantized,
                                              const Key32& self_seed, std::span<const PairwiseSeed> peers);

// acc += PRG(seed) (or -= when `subtract`), word by word mod 2^32,
// streaming the mask in pieces instead of materialising it.
Status add_mask(std::span<std::uint32_t> acc, const Key32& seed, bool subtract);

}  // namespace edgefed::secagg
