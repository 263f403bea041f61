// edgefed-agent's command line (flags > --config file > EDGEFED_* > default,
// see edgefed/options.hpp) and its translation into an AgentConfig.
// Start-up errors are ConfigError with a one-line reason; main() prints it
// and exits 2.
#pragma once

#include <string>

#include "agent/loop/agent_config.hpp"
#include "edgefed/options.hpp"

namespace edgefed::agent {

// Declares every edgefed-agent option with its default and help line.
Options make_agent_options();

// Builds the config from parsed options. `env` (environ) is consulted for
// NODE_NAME when neither --agent-id nor a certificate CN names the agent.
// Throws ConfigError: missing required option, bad number, bad URL, bad
// agent id, unreadable certificate.
AgentConfig agent_config_from(const Options& options, const char* const* env);

// Deeper checks for --check-config: the TLS files load (CA, certificate,
// key with mode 0600 or stricter) and the data spec parses. Throws ConfigError.
void check_agent_config(const AgentConfig& config);

// The subject CN of the first certificate in a PEM file; ConfigError if the
// file cannot be read or holds no certificate; "" if it has no CN.
std::string certificate_file_common_name(const std::string& cert_file);

}  // namespace edgefed::agent
