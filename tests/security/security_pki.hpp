// Test support: a certificate fleet of its own for the security tests (made
// with deploy/certs/edgefed-certs, removed at exit): agents agent-000..007,
// agent-003 revoked (in crl.pem), and "agent-expired" whose certificate
// lapsed in 2020.
#pragma once

#include <string>

#include "../integration/server/server_process.hpp"
#include "raw_tls.hpp"

namespace edgefed::testing {

const Pki& security_pki();
inline constexpr int kRevokedAgent = 3;
inline std::string expired_cert() { return security_pki().dir + "/agents/agent-expired.pem"; }
inline std::string expired_key() { return security_pki().dir + "/agents/agent-expired.key"; }

// Server flags that make the security fleet's CRL effective.
std::vector<std::string> crl_flags();

// The raw TLS client options of security_pki()'s agent i.
inline RawTlsOptions agent_tls(int i) {
  const Pki& p = security_pki();
  return {p.ca(), p.agent_cert(i), p.agent_key(i)};
}

}  // namespace edgefed::testing
