// The command line of edgefed-server: declares every option (names are a
// contract: issue 3, "Command line") and turns the parsed Options into the
// engine's and the HTTP layer's option structs. Each option is also read
// from EDGEFED_<NAME> and from the --config file (options.hpp).
#pragma once

#include <string>

#include "edgefed/options.hpp"
#include "server/engine/engine_options.hpp"
#include "server/http/http_options.hpp"

namespace edgefed::server {

struct ServerConfig {
  EngineOptions engine;
  http::HttpOptions http;
  std::string port_file;  // written with the bound port once listening
};

// Declares the options with their defaults and help lines.
void declare_server_options(Options& options);

// Reads the parsed values; throws ConfigError on a bad value (bad number,
// bad HOST:PORT, unreadable --admin-token-file).
ServerConfig read_server_options(const Options& options);

}  // namespace edgefed::server
