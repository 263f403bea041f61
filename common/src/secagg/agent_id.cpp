#include "edgefed/secagg/agent_id.hpp"

#include <cstdint>

#include "edgefed/secagg/messages.hpp"
#include "edgefed/sha256.hpp"

namespace edgefed::secagg {

AgentId agent_id_of(std::string_view name) {
  const auto digest = sha256(bytes_of(name));
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < 8; ++i) v = v << 8 | digest[i];  // the first 8 bytes, big-endian
  // Never 0: x = 0 would be the shared secret itself.
  return 1 + v % kMaxAgentId;
}

}  // namespace edgefed::secagg
