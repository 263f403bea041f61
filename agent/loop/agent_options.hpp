// edgefed-agent's command line (flags > --config file > EDGEFED_* > default,
// see edgefed/options.hpp): one table, make_agent_options(), declares every
// flag once and binds it to a field of AgentCommandLine, whose initial
// values are the defaults. Start-up errors are ConfigError with a one-line
// reason; main() prints it and exits 2.
#pragma once

#include <string>

#include "agent/loop/agent_config.hpp"
#include "edgefed/log.hpp"
#include "edgefed/options.hpp"

namespace edgefed::agent {

// What the command line sets: the agent's config and the process's own
// switches.
struct AgentCommandLine {
  AgentConfig config;
  bool once = false;          // train one round, forward everything, exit
  bool check_config = false;  // check, print the configuration, exit
  log::Level log_level = log::Level::kInfo;
  int64_t outbox_max_mb = 64;  // -> config.outbox_limits.max_bytes
};

// The table, bound to `command_line` (which must outlive it).
Options make_agent_options(AgentCommandLine& command_line);

// After the table is applied: required flags, the server URL, the backoff,
// the agent id (--agent-id, else the certificate CN, else NODE_NAME from
// `env`, environ) and the derived fields. Throws ConfigError: missing
// required option, bad URL, bad agent id, unreadable certificate.
void finish_agent_config(AgentCommandLine& command_line, const char* const* env);

// Deeper checks for --check-config: the TLS files load (CA, certificate,
// key with mode 0600 or stricter) and the data spec parses. Throws ConfigError.
void check_agent_config(const AgentConfig& config);

// The subject CN of the first certificate in a PEM file; ConfigError if the
// file cannot be read or holds no certificate; "" if it has no CN.
std::string certificate_file_common_name(const std::string& cert_file);

}  // namespace edgefed::agent
