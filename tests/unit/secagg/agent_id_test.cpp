// agent_id_of: the protocol id both sides derive from an agent's name.
#include <set>
#include <string>

#include <catch2/catch.hpp>

#include "edgefed/secagg/agent_id.hpp"
#include "edgefed/secagg/messages.hpp"

namespace edgefed::secagg::agent_id_test {

TEST_CASE("agent_id_of: 1 + the first 8 bytes of SHA-256(name) mod kMaxAgentId", "[unit][secagg]") {
  // Computed independently (Python's hashlib) from the formula in agent_id.hpp.
  CHECK(agent_id_of("agent-000") == 265032954682045206u);
  CHECK(agent_id_of("agent-1") == 1149459954537876659u);
  CHECK(agent_id_of("secagg") == 483605373146048898u);
}

TEST_CASE("agent_id_of: ids are valid Shamir x-coordinates and differ between agents", "[unit][secagg]") {
  std::set<AgentId> seen;
  for (int i = 0; i < 200; ++i) {
    const AgentId id = agent_id_of("agent-" + std::to_string(i));
    CHECK(id >= 1);
    CHECK(id <= kMaxAgentId);
    seen.insert(id);
  }
  CHECK(seen.size() == 200);
  CHECK(agent_id_of("") >= 1);
}

}  // namespace edgefed::secagg::agent_id_test
