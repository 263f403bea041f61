// edgefed-server: the HTTPS aggregator. Parses the options (flags > --config
// file > EDGEFED_* environment > defaults), opens the engine, serves until
// SIGTERM/SIGINT, then drains in-flight requests, shuts the engine down and
// exits 0. Start-up errors print one line on stderr and exit 2;
// --check-config validates everything, prints the resolved configuration and
// exits 0 (valid) or 1.
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>

#include <prometheus/registry.h>

#include "edgefed/log.hpp"
#include "edgefed/model_layout.hpp"
#include "edgefed/options.hpp"
#include "edgefed/tls.hpp"
#include "server/engine/aggregation_flags.hpp"
#include "server/engine/engine.hpp"
#include "server/http/server.hpp"
#include "server/http/server_config.hpp"
#include "server/observability.hpp"

extern char** environ;

namespace {

using edgefed::ConfigError;
namespace srv = edgefed::server;

// Everything that can be checked without binding or opening the database.
void validate(const srv::ServerConfig& c) {
  if (c.engine.state_dir.empty()) throw ConfigError("--state-dir is required");
  if (c.engine.mode != "sync" && c.engine.mode != "async")
    throw ConfigError("--mode must be sync or async, got '" + c.engine.mode + "'");
  if (auto layout = edgefed::ModelLayout::mlp(c.engine.model_init); !layout)
    throw ConfigError("--model-init: " + layout.status().message());
  if (c.http.tls.cert_file.empty() || c.http.tls.key_file.empty())
    throw ConfigError("--tls-cert and --tls-key are required");
  if (c.http.tls.client_ca_file.empty()) throw ConfigError("--client-ca is required (agents use mTLS)");
  edgefed::check_key_permissions(c.http.tls.key_file);
  // The engine's own checks (ranges, strategy combinations), so that
  // --check-config refuses what Engine::open would.
  if (auto st = srv::validate(c.engine); !st.is_ok()) throw ConfigError(st.message());
  (void)edgefed::make_server_context(c.http.tls);  // reads and checks every PEM file
  std::error_code ec;
  const std::filesystem::path dir(c.engine.state_dir);
  if (std::filesystem::exists(dir, ec) && !std::filesystem::is_directory(dir, ec))
    throw ConfigError("--state-dir " + c.engine.state_dir + " is not a directory");
}

void write_port_file(const std::string& path, uint16_t port) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << port << "\n";
    if (!out) throw ConfigError("cannot write --port-file " + path);
  }
  std::filesystem::rename(tmp, path);
}

int serve(srv::ServerConfig config, const srv::ObservabilityConfig& observability) {
  // Signals are taken by sigwait() below; block them before any thread starts
  // so that no other thread receives them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  ::signal(SIGPIPE, SIG_IGN);

  auto registry = std::make_shared<prometheus::Registry>();
  auto engine = srv::Engine::open(config.engine, registry);
  if (!engine) throw ConfigError("cannot open the engine: " + engine.status().to_string());
  srv::Observability watch(observability, **engine, registry, config.http);
  auto server = srv::http::Server::start(config.http, **engine, registry);
  if (!server) throw ConfigError(server.status().message());
  const uint16_t port = (*server)->port();
  edgefed::log::info("listening")
      .kv("host", config.http.listen_host)
      .kv("port", port)
      .kv("metrics_port", (*server)->metrics_port())
      .kv("mode", config.engine.mode)
      .kv("model_version", (*engine)->current_model().version);
  if (!config.port_file.empty()) write_port_file(config.port_file, port);

  int sig = 0;
  sigwait(&signals, &sig);
  edgefed::log::info("shutting_down").kv("signal", sig == SIGTERM ? "SIGTERM" : "SIGINT");
  const int64_t unfinished = (*server)->drain();
  watch.stop();
  (*engine)->shutdown();
  (*server)->stop();
  edgefed::log::info("stopped").kv("unfinished_requests", unfinished);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  edgefed::log::set_component("server");
  edgefed::Options options("edgefed-server",
                           "The edgefed aggregator: serves the global model over HTTPS (TLS 1.3, mTLS), accepts "
                           "model updates and merges them (sync FedAvg rounds or async FedBuff).");
  srv::declare_server_options(options);
  srv::declare_aggregation_options(options);
  srv::declare_observability_options(options);
  srv::ServerConfig config;
  srv::ObservabilityConfig observability;
  try {
    options.parse(argc, argv, environ);
    if (options.help_requested()) {
      std::cout << options.help_text();
      return 0;
    }
    edgefed::log::set_level(edgefed::log::parse_level(options.get("log-level")));
    config = srv::read_server_options(options);
    srv::read_aggregation_options(options, config.engine);
    observability = srv::read_observability_options(options);
    // The plain listener has no credentials: what it shows is what anonymous
    // callers may see, so serving the status there needs that said explicitly.
    if (observability.status_on_metrics_port && config.http.status_anonymous == srv::http::StatusAnonymous::kNone)
      throw ConfigError("--status-on-metrics-port serves anonymous callers: set --status-anonymous to summary "
                        "(no agent named) or full");
  } catch (const std::exception& e) {
    std::cerr << "edgefed-server: " << e.what() << "\n";
    return 2;
  }
  if (options.get_bool("check-config")) {
    try {
      validate(config);
    } catch (const std::exception& e) {
      std::cerr << "edgefed-server: invalid configuration: " << e.what() << "\n";
      return 1;
    }
    for (const auto& [name, value] : options.values())
      std::cout << name << " = " << value << "    # " << options.source(name) << "\n";
    std::cout << "# configuration OK\n";
    return 0;
  }
  try {
    validate(config);
    return serve(config, observability);
  } catch (const std::exception& e) {
    std::cerr << "edgefed-server: " << e.what() << "\n";
    return 2;
  }
}
