// The command line of edgefed-server: every flag, declared once, in the one
// table make_server_options() builds (names are a contract: issue 3,
// "Command line"). Each flag fills a field of ServerConfig, whose initial
// values are the defaults; each is also read from EDGEFED_<NAME> and from
// the --config file (edgefed/options.hpp).
#pragma once

#include <string>

#include "edgefed/log.hpp"
#include "edgefed/options.hpp"
#include "server/engine/engine_options.hpp"
#include "server/http/http_options.hpp"
#include "server/observability.hpp"
#include "server/relay/relay_uplink.hpp"

namespace edgefed::server {

struct ServerConfig {
  EngineOptions engine;
  http::HttpOptions http;
  ObservabilityConfig observability;
  RelayUplinkOptions relay;      // --upstream*: a site relay (docs/relays.md)
  std::string port_file;         // written with the bound port once listening
  std::string admin_token_file;  // read into http.admin_token by finish_server_config()
  log::Level log_level = log::Level::kInfo;
  bool check_config = false;     // validate, print the configuration, exit 0/1
};

// The table, bound to `config` (which must outlive it): Options::parse (or
// read + apply) fills config from flags, the --config file and EDGEFED_*.
Options make_server_options(ServerConfig& config);

// After the table is applied: reads --admin-token-file, fixes what is not a
// flag (agents' client certificates are optional at the TLS layer) and
// refuses flag combinations. Throws ConfigError.
void finish_server_config(ServerConfig& config);

}  // namespace edgefed::server
