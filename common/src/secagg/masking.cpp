#include "edgefed/secagg/masking.hpp"

#include <algorithm>
#include <array>
#include <string>

#include "edgefed/secagg/prg.hpp"

namespace edgefed::secagg {

Status add_mask(std::span<std::uint32_t> acc, const Key32& seed, bool subtract) {
  if (acc.size() > kMaxMaskWords) {
    return Status(Code::kInvalidArgument, "vector of " + std::to_string(acc.size()) + " words exceeds the mask limit");
  }
  auto prg = Prg::create(seed);
  if (!prg.is_ok()) return prg.status();
  constexpr std::size_t kPiece = 4096;
  std::array<std::uint32_t, kPiece> mask;
  for (std::size_t off = 0; off < acc.size(); off += kPiece) {
    const std::size_t n = std::min(kPiece, acc.size() - off);
    EDGEFED_RETURN_IF_ERROR(prg->fill_words(std::span(mask).first(n)));
    // Unsigned arithmetic wraps: exactly the ring Z_2^32.
    if (subtract) {
      for (std::size_t i = 0; i < n; ++i) acc[off + i] -= mask[i];
    } else {
      for (std::size_t i = 0; i < n; ++i) acc[off + i] += mask[i];
    }
  }
  return Status::ok();
}

Result<std::vector<std::uint32_t>> mask_input(AgentId self, std::span<const std::uint32_t> quantized,
                                              const Key32& self_seed, std::span<const PairwiseSeed> peers) {
  std::vector<AgentId> ids;
  ids.reserve(peers.size());
  for (const PairwiseSeed& p : peers) {
    if (p.peer == self) return Status(Code::kInvalidArgument, "agent " + std::to_string(self) + " masks against itself");
    ids.push_back(p.peer);
  }
  std::sort(ids.begin(), ids.end());
  if (auto dup = std::adjacent_find(ids.begin(), ids.end()); dup != ids.end()) {
    return Status(Code::kInvalidArgument, "peer " + std::to_string(*dup) + " given twice");
  }
  std::vector<std::uint32_t> y(quantized.begin(), quantized.end());
  EDGEFED_RETURN_IF_ERROR(add_mask(y, self_seed, false));
  for (const PairwiseSeed& p : peers) EDGEFED_RETURN_IF_ERROR(add_mask(y, p.seed, self > p.peer));
  return y;
}

}  // namespace edgefed::secagg
