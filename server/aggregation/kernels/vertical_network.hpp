// Internal: applies a comparator network to kLanes coordinates at once.
// The tile holds one row of kLanes floats per wire (wire r at tile + r*kLanes),
// so every comparator is kLanes independent min/max pairs the compiler turns
// into SIMD instructions; an AVX2 clone is picked at run time where the CPU
// has it (the portable build targets x86-64-v2, i.e. SSE4.2).
#pragma once

#include <cstddef>

#include "server/aggregation/kernels/sorting_network.hpp"

namespace edgefed::server::kernels::detail {

inline constexpr size_t kLanes = 32;

void apply_network(const Comparator* net, size_t size, float* tile);

}  // namespace edgefed::server::kernels::detail
