// Test seam: which agents of the fleet send hostile updates and how
// (edgefed-sim --attack-agents, --attack-mode; see agent/test_seam/attack.hpp).
// "mixed" gives the hostile agents, in index order, sign-flip, scale:10,
// noise, sign-flip, scale:10, noise, ... so one run carries every kind;
// "mixed:S" gives the noise agents stddev S.
#pragma once

#include <map>
#include <set>
#include <string>

#include "agent/test_seam/attack.hpp"
#include "edgefed/status.hpp"

namespace edgefed::sim {

// "0,3,5-7" -> {0,3,5,6,7}; every index must be in [0, agents).
Result<std::set<int>> parse_agent_indices(const std::string& text, int agents);

// Agent index -> its attack. Mode: any agent attack (sign-flip, scale:F,
// noise[:S]) for all of them, "mixed" or "mixed:S".
Result<std::map<int, agent::Attack>> assign_attacks(const std::set<int>& hostile, const std::string& mode);

}  // namespace edgefed::sim
