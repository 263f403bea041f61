#include "security_pki.hpp"

#include <cstdlib>
#include <filesystem>
#include <stdexcept>

namespace edgefed::testing {

const Pki& security_pki() {
  // Revoked agent-003 and an expired certificate, next to 8 good agents.
  static const Pki p{shared_pki_dir(
      "security", {{"init", "--out", "{dir}", "--server-san", "127.0.0.1,localhost", "--agents", "8"},
                   {"add-agent", "--out", "{dir}", "agent-expired", "--valid-from", "20200101000000Z",
                    "--valid-until", "20200102000000Z"},
                   {"revoke", "--out", "{dir}", Pki::agent_id(kRevokedAgent)}})};
  return p;
}

std::vector<std::string> crl_flags() { return {"--crl", security_pki().crl()}; }

}  // namespace edgefed::testing
