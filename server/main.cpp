// edgefed-server: the HTTPS aggregator. Parses the options (flags > --config
// file > EDGEFED_* environment > defaults), opens the engine, serves until
// SIGTERM/SIGINT, then drains in-flight requests, shuts the engine down and
// exits 0. Start-up errors print one line on stderr and exit 2;
// --check-config validates everything, prints the resolved configuration and
// exits 0 (valid) or 1.
#include <malloc.h>
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>

#include <prometheus/registry.h>

#include "edgefed/log.hpp"
#include "edgefed/ml/model_spec.hpp"
#include "edgefed/options.hpp"
#include "edgefed/tls.hpp"
#include "server/engine/engine.hpp"
#include "server/http/server.hpp"
#include "server/observability.hpp"
#include "server/relay/relay_uplink.hpp"
#include "server/secagg/secagg_service.hpp"
#include "server/server_options.hpp"

extern char** environ;

namespace {

using edgefed::ConfigError;
namespace srv = edgefed::server;

// Everything that can be checked without binding or opening the database.
void validate(const srv::ServerConfig& c) {
  if (c.engine.state_dir.empty()) throw ConfigError("--state-dir is required");
  if (auto spec = edgefed::ml::ModelSpec::load(c.engine.model_init); !spec)
    throw ConfigError("--model-init: " + spec.status().message());
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

// glibc's allocator, tuned for a server whose requests each allocate and
// free a few buffers of one update's size (400 KB for the 784-128-10 MLP:
// the body, the decoded delta, SQLite's copy). With the defaults each of
// those went to a fresh mmap (zero pages faulted in, then munmap) or, in the
// worker threads' arenas, was given back with madvise after every request
// and faulted in again for the next: 35 % of the server's CPU under the
// ingest benchmark (2.2-2.6 -> 1.45-1.5 ms per update with this, peak RSS
// +12 MB; benchmarks/README.md). 32 MB is glibc's largest mmap threshold;
// an update above it (a 10M-parameter model) is mapped as before. An
// operator's own GLIBC_TUNABLES for malloc wins.
void tune_allocator() {
  const char* tunables = std::getenv("GLIBC_TUNABLES");
  if (tunables && std::strstr(tunables, "glibc.malloc.")) return;
  constexpr int kBytes = 32 << 20;
  mallopt(M_MMAP_THRESHOLD, kBytes);
  mallopt(M_TRIM_THRESHOLD, kBytes);
}

int serve(srv::ServerConfig config) {
  tune_allocator();
  // Signals are taken by sigwait() below; block them before any thread starts
  // so that no other thread receives them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  ::signal(SIGPIPE, SIG_IGN);

  auto registry = std::make_shared<prometheus::Registry>();
  if (config.engine.relay) {
    // A fresh relay starts from the central model; one restarted while the
    // central server is away serves the version in its store meanwhile.
    auto central = srv::fetch_central_model(config.relay, config.engine.store_connect_s);
    if (central) {
      config.engine.relay_initial_version = central->version;
      config.engine.relay_initial_model = std::move(central->bytes);
    } else if (!std::filesystem::exists(std::filesystem::path(config.engine.state_dir) / "edgefed.sqlite")) {
      throw ConfigError("relay: " + central.status().to_string());
    } else {
      edgefed::log::warn("upstream_unreachable_at_start").kv("error", central.status().to_string());
    }
  }
  auto engine = srv::Engine::open(config.engine, registry);
  if (!engine) throw ConfigError("cannot open the engine: " + engine.status().to_string());
  srv::Observability watch(config.observability, **engine, registry, config.http);
  std::unique_ptr<srv::SecAggService> secagg;
  if (config.engine.secure_aggregation != edgefed::SecureAggregation::kOff) {
    auto s = srv::SecAggService::open(config.engine, **engine, config.engine.clock);
    if (!s) throw ConfigError("cannot start secure aggregation: " + s.status().to_string());
    secagg = std::move(s).value();
  }
  std::unique_ptr<srv::RelayUplink> uplink;
  if (config.engine.relay) {
    if (config.engine.relay_initial_version >= 0) {
      // A restarted relay may be behind the central server: catch up now.
      auto bytes = std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(config.engine.relay_initial_model.data()),
                                            config.engine.relay_initial_model.size());
      if (auto st = (*engine)->adopt_upstream(config.engine.relay_initial_version, bytes); !st.is_ok())
        throw ConfigError("relay: " + st.to_string());
    }
    uplink = std::make_unique<srv::RelayUplink>(config.relay, **engine, registry);
    if (auto st = uplink->start(); !st.is_ok()) throw ConfigError("relay: " + st.to_string());
  }
  auto server = srv::http::Server::start(config.http, **engine, registry, secagg.get());
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
  if (uplink) uplink->stop();
  if (secagg) secagg->stop();
  (*engine)->shutdown();
  (*server)->stop();
  edgefed::log::info("stopped").kv("unfinished_requests", unfinished);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  edgefed::log::set_component("server");
  srv::ServerConfig config;
  edgefed::Options options = srv::make_server_options(config);
  try {
    options.read(argc, argv, environ);
  } catch (const std::exception& e) {
    std::cerr << "edgefed-server: " << e.what() << "\n";
    return 2;
  }
  if (options.help_requested()) {
    std::cout << options.help_text();
    return 0;
  }
  // A value the table refuses is an invalid configuration like any other:
  // exit 1 for --check-config (apply() fills every other field, that flag
  // included), 2 at start-up.
  try {
    options.apply();
    srv::finish_server_config(config);
  } catch (const std::exception& e) {
    std::cerr << "edgefed-server: " << (config.check_config ? "invalid configuration: " : "") << e.what() << "\n";
    return config.check_config ? 1 : 2;
  }
  edgefed::log::set_level(config.log_level);
  if (config.check_config) {
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
    return serve(config);
  } catch (const std::exception& e) {
    std::cerr << "edgefed-server: " << e.what() << "\n";
    return 2;
  }
}
