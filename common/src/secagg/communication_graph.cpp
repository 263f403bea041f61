#include "edgefed/secagg/communication_graph.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>

#include "edgefed/secagg/prg.hpp"

namespace edgefed::secagg {
namespace {

constexpr std::size_t kMinDegree = 8;

// Uniform in [0, bound) from the stream: reject the top partial range of
// 32-bit words so that every residue is equally likely.
Result<std::uint32_t> uniform_below(Prg& prg, std::uint32_t bound) {
  const std::uint32_t limit = UINT32_MAX - UINT32_MAX % bound;  // multiple of bound
  for (;;) {
    std::uint32_t w = 0;
    EDGEFED_RETURN_IF_ERROR(prg.fill_words(std::span(&w, 1)));
    if (w < limit) return w % bound;
  }
}

}  // namespace

Result<SecAggParameters> choose_parameters(std::size_t agents) {
  if (agents < 2) return Status(Code::kInvalidArgument, "secure aggregation needs at least 2 agents");
  std::size_t k = static_cast<std::size_t>(std::ceil(3 * std::log2(static_cast<double>(agents))));
  k = std::max(k + (k % 2), kMinDegree);
  if (k >= agents - 1) k = agents - 1;
  return SecAggParameters{k, k / 2 + 1};
}

CommunicationGraph::CommunicationGraph(std::vector<AgentId> agents, std::size_t degree,
                                       std::vector<std::vector<AgentId>> neighbours)
    : agents_(std::move(agents)), degree_(degree), neighbours_(std::move(neighbours)) {}

Result<CommunicationGraph> CommunicationGraph::create(std::span<const AgentId> agents, std::size_t degree,
                                                      const Key32& seed) {
  const std::size_t n = agents.size();
  if (n < 2) return Status(Code::kInvalidArgument, "communication graph needs at least 2 agents");
  if (static_cast<std::uint64_t>(n) > UINT32_MAX) return Status(Code::kInvalidArgument, "communication graph over 2^32 agents");
  std::vector<AgentId> sorted(agents.begin(), agents.end());
  std::sort(sorted.begin(), sorted.end());
  if (sorted.front() == 0) return Status(Code::kInvalidArgument, "agent id 0 is reserved");
  if (auto dup = std::adjacent_find(sorted.begin(), sorted.end()); dup != sorted.end()) {
    return Status(Code::kInvalidArgument, "agent id " + std::to_string(*dup) + " given twice");
  }
  if (degree != n - 1 && (degree < 2 || degree % 2 != 0 || degree > n - 1)) {
    return Status(Code::kInvalidArgument, "graph degree " + std::to_string(degree) + " for " + std::to_string(n) +
                                              " agents must be even in 2.." + std::to_string(n - 1) + " or exactly " +
                                              std::to_string(n - 1));
  }
  // The ring order: a seeded Fisher-Yates shuffle of the sorted ids.
  auto prg = Prg::create(seed);
  if (!prg.is_ok()) return prg.status();
  std::vector<AgentId> ring = sorted;
  for (std::size_t i = n - 1; i > 0; --i) {
    auto j = uniform_below(*prg, static_cast<std::uint32_t>(i + 1));
    if (!j.is_ok()) return j.status();
    std::swap(ring[i], ring[*j]);
  }
  std::vector<std::vector<AgentId>> neighbours(n);
  auto index = [&sorted](AgentId id) {
    return static_cast<std::size_t>(std::lower_bound(sorted.begin(), sorted.end(), id) - sorted.begin());
  };
  for (std::size_t pos = 0; pos < n; ++pos) {
    std::vector<AgentId>& mine = neighbours[index(ring[pos])];
    if (degree == n - 1) {
      for (std::size_t other = 0; other < n; ++other) {
        if (other != pos) mine.push_back(ring[other]);
      }
    } else {
      for (std::size_t d = 1; d <= degree / 2; ++d) {
        mine.push_back(ring[(pos + d) % n]);
        mine.push_back(ring[(pos + n - d) % n]);
      }
    }
    std::sort(mine.begin(), mine.end());
  }
  return CommunicationGraph(std::move(sorted), degree, std::move(neighbours));
}

std::ptrdiff_t CommunicationGraph::index_of(AgentId id) const {
  auto it = std::lower_bound(agents_.begin(), agents_.end(), id);
  return it != agents_.end() && *it == id ? it - agents_.begin() : -1;
}

bool CommunicationGraph::contains(AgentId id) const { return index_of(id) >= 0; }

std::span<const AgentId> CommunicationGraph::neighbours(AgentId id) const {
  const std::ptrdiff_t i = index_of(id);
  if (i < 0) return {};
  return neighbours_[static_cast<std::size_t>(i)];
}

bool CommunicationGraph::are_neighbours(AgentId a, AgentId b) const {
  const std::span<const AgentId> n = neighbours(a);
  return std::binary_search(n.begin(), n.end(), b);
}

}  // namespace edgefed::secagg
