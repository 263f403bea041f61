#include "edgefed/secagg/communication_graph.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <numeric>
#include <set>

using namespace edgefed;
using namespace edgefed::secagg;

namespace {

std::vector<AgentId> graph_test_ids(std::size_t n) {
  std::vector<AgentId> ids(n);
  for (std::size_t i = 0; i < n; ++i) ids[i] = 1000 + 7 * i;
  return ids;
}

Key32 graph_test_seed(std::uint8_t b) {
  Key32 s{};
  s.fill(b);
  return s;
}

void check_regular_and_symmetric(const CommunicationGraph& g) {
  for (AgentId a : g.agents()) {
    const auto n = g.neighbours(a);
    REQUIRE(n.size() == g.degree());
    REQUIRE(std::is_sorted(n.begin(), n.end()));
    REQUIRE(std::adjacent_find(n.begin(), n.end()) == n.end());
    for (AgentId b : n) {
      REQUIRE(b != a);
      REQUIRE(g.contains(b));
      REQUIRE(g.are_neighbours(b, a));
    }
  }
}

// Connected: every agent reached from the first.
bool connected(const CommunicationGraph& g) {
  std::set<AgentId> seen = {g.agents().front()};
  std::vector<AgentId> todo = {g.agents().front()};
  while (!todo.empty()) {
    const AgentId a = todo.back();
    todo.pop_back();
    for (AgentId b : g.neighbours(a)) {
      if (seen.insert(b).second) todo.push_back(b);
    }
  }
  return seen.size() == g.size();
}

}  // namespace

TEST_CASE("parameters: k ~ 3 log2 n, even, at least 8, t > k / 2", "[unit][secagg][graph]") {
  struct Row {
    std::size_t n, k, t;
  };
  for (Row r : {Row{2, 1, 1}, Row{5, 4, 3}, Row{9, 8, 5}, Row{10, 9, 5}, Row{20, 14, 8}, Row{100, 20, 11},
                Row{1000, 30, 16}, Row{100000, 50, 26}}) {
    INFO("n = " << r.n);
    auto p = choose_parameters(r.n);
    REQUIRE(p.is_ok());
    CHECK(p->degree == r.k);
    CHECK(p->threshold == r.t);
    CHECK(2 * p->threshold > p->degree);
    CHECK(p->threshold <= p->degree);
  }
  CHECK(choose_parameters(1).status().code() == Code::kInvalidArgument);
}

TEST_CASE("the Harary graph on a shuffled ring is k-regular, symmetric and seed-determined",
          "[unit][secagg][graph]") {
  for (std::size_t n : {3u, 8u, 20u, 101u}) {
    auto p = choose_parameters(n);
    REQUIRE(p.is_ok());
    const auto ids = graph_test_ids(n);
    auto g = CommunicationGraph::create(ids, p->degree, graph_test_seed(1));
    REQUIRE(g.is_ok());
    CHECK(g->size() == n);
    check_regular_and_symmetric(*g);
    CHECK(connected(*g));

    // Same ids in another order and the same seed: the same graph.
    auto shuffled = ids;
    std::reverse(shuffled.begin(), shuffled.end());
    auto again = CommunicationGraph::create(shuffled, p->degree, graph_test_seed(1));
    REQUIRE(again.is_ok());
    for (AgentId a : ids) {
      const auto x = g->neighbours(a), y = again->neighbours(a);
      CHECK(std::equal(x.begin(), x.end(), y.begin(), y.end()));
    }
  }
  // Every even degree below n - 1 works, and so does n - 1 (complete).
  const auto ids = graph_test_ids(11);
  for (std::size_t k : {2u, 4u, 6u, 8u, 10u}) {
    auto g = CommunicationGraph::create(ids, k, graph_test_seed(2));
    REQUIRE(g.is_ok());
    check_regular_and_symmetric(*g);
  }
  const auto even_n = graph_test_ids(12);
  auto complete = CommunicationGraph::create(even_n, 11, graph_test_seed(2));
  REQUIRE(complete.is_ok());
  check_regular_and_symmetric(*complete);
}

TEST_CASE("another seed gives another graph", "[unit][secagg][graph]") {
  const auto ids = graph_test_ids(100);
  auto a = CommunicationGraph::create(ids, 20, graph_test_seed(1));
  auto b = CommunicationGraph::create(ids, 20, graph_test_seed(2));
  REQUIRE(a.is_ok());
  REQUIRE(b.is_ok());
  std::size_t differing = 0;
  for (AgentId id : ids) {
    const auto x = a->neighbours(id), y = b->neighbours(id);
    if (!std::equal(x.begin(), x.end(), y.begin(), y.end())) ++differing;
  }
  CHECK(differing > 90);
  // Not the plain ring of sorted ids: the shuffle happened.
  const auto first = a->neighbours(ids[0]);
  CHECK_FALSE(std::includes(first.begin(), first.end(), ids.begin() + 1, ids.begin() + 11));
}

TEST_CASE("bad graph parameters are refused", "[unit][secagg][graph]") {
  const auto ids = graph_test_ids(10);
  const Key32 seed = graph_test_seed(3);
  CHECK(CommunicationGraph::create(ids, 3, seed).status().code() == Code::kInvalidArgument);   // odd, not n - 1
  CHECK(CommunicationGraph::create(ids, 0, seed).status().code() == Code::kInvalidArgument);
  CHECK(CommunicationGraph::create(ids, 10, seed).status().code() == Code::kInvalidArgument);  // > n - 1
  CHECK(CommunicationGraph::create(std::vector<AgentId>{5}, 1, seed).status().code() == Code::kInvalidArgument);
  CHECK(CommunicationGraph::create(std::vector<AgentId>{5, 6, 5}, 2, seed).status().code() == Code::kInvalidArgument);
  CHECK(CommunicationGraph::create(std::vector<AgentId>{0, 6, 7}, 2, seed).status().code() == Code::kInvalidArgument);
  auto g = CommunicationGraph::create(ids, 4, seed);
  REQUIRE(g.is_ok());
  CHECK(g->neighbours(1).empty());
  CHECK_FALSE(g->contains(1));
  CHECK_FALSE(g->are_neighbours(1, ids[0]));
}
