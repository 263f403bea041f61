// The bytes a stateful server optimizer stores in versions.optimizer_state:
//   "edgefed-optimizer/1 <name> <steps> <dim> <slots>\n"
// followed by slots x dim float32 values in host byte order (x86-64 and
// arm64 are both little-endian), slot after slot. Exact: restoring the
// bytes gives back the very same floats.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "edgefed/status.hpp"

namespace edgefed::server {

struct OptimizerState {
  std::string name;
  int64_t steps = 0;
  std::vector<std::vector<float>> slots;  // each the same size
};

std::string encode_optimizer_state(const OptimizerState& state);
// kInvalidArgument on a bad header, a size that does not match, or a
// non-finite value.
Result<OptimizerState> decode_optimizer_state(std::string_view bytes);

}  // namespace edgefed::server
