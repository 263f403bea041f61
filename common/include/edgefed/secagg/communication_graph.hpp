// CommunicationGraph: SecAgg+'s sparse graph. An
// agent agrees keys with, masks against and Shamir-shares among its k
// neighbours only, instead of the whole cohort: O(k) instead of O(n) work
// and traffic per agent.
//
// Construction: the Harary graph H(k, n) on a random permutation of the
// agents: sort the ids, shuffle them with Fisher-Yates driven by the
// ChaCha20 stream of a 32-byte seed the server publishes (unbiased
// rejection sampling), place them on a ring and connect each to the k/2
// nearest on each side. k-regular and symmetric; agents and server that
// hold the same id set and seed build the same graph.
//
// choose_parameters(n): k = the smallest even number >= 3 log2(n), at
// least 8, capped at n - 1 (then the graph is complete, k may be odd);
// t = floor(k / 2) + 1. t > k / 2 keeps an honest-but-curious server from
// collecting t shares of both an agent's self seed and its mask key (each
// honest neighbour reveals one or the other, never both); every agent can
// lose up to k - t of its neighbours and still be unmasked.
// n = 20: k = 14, t = 8; n = 100: k = 20, t = 11; n = 1000: k = 30, t = 16.
//
// Thread safety: immutable after create(); share freely.
// Errors: fewer than 2 agents, a duplicated id or id 0, a degree that is
// neither even in 2..n-1 nor exactly n-1 -> kInvalidArgument.
#pragma once

#include <cstddef>
#include <span>
#include <vector>

#include "edgefed/secagg/types.hpp"
#include "edgefed/status.hpp"

namespace edgefed::secagg {

struct SecAggParameters {
  std::size_t degree = 0;     // k
  std::size_t threshold = 0;  // t
};

Result<SecAggParameters> choose_parameters(std::size_t agents);

class CommunicationGraph {
 public:
  static Result<CommunicationGraph> create(std::span<const AgentId> agents, std::size_t degree, const Key32& seed);

  std::size_t size() const { return agents_.size(); }
  std::size_t degree() const { return degree_; }
  // All agents, sorted by id.
  const std::vector<AgentId>& agents() const { return agents_; }
  bool contains(AgentId id) const;
  // The agent's neighbours sorted by id; empty for an unknown id.
  std::span<const AgentId> neighbours(AgentId id) const;
  bool are_neighbours(AgentId a, AgentId b) const;

 private:
  CommunicationGraph(std::vector<AgentId> agents, std::size_t degree, std::vector<std::vector<AgentId>> neighbours);
  std::ptrdiff_t index_of(AgentId id) const;

  std::vector<AgentId> agents_;
  std::size_t degree_;
  std::vector<std::vector<AgentId>> neighbours_;  // by index in agents_
};

}  // namespace edgefed::secagg
