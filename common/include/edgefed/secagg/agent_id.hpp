// agent_id_of: an agent's protocol id (its Shamir x-coordinate) in every
// SecAgg+ session, derived from its name (the client certificate's agent
// id), so the server and the agent agree on it without a message:
//   1 + (first 8 bytes of SHA-256(name), big-endian) mod kMaxAgentId.
// Two names collide with probability about n^2 / 2^62 for n agents; the
// server refuses a second agent advertising an id already taken.
//
// Thread safety: a pure function. Errors: none (any name has an id).
#pragma once

#include <string_view>

#include "edgefed/secagg/types.hpp"

namespace edgefed::secagg {

// In [1, kMaxAgentId] (messages.hpp).
AgentId agent_id_of(std::string_view name);

}  // namespace edgefed::secagg
