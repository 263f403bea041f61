// edgefed-sim: a fleet of real agents against a real server on this machine.
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "edgefed/log.hpp"
#include "attack_mix.hpp"
#include "edgefed/options.hpp"
#include "simulation.hpp"

extern char** environ;

namespace {

std::atomic<bool> g_interrupted{false};
void on_signal(int) { g_interrupted = true; }

std::string default_server_bin() {
  std::error_code ec;
  const auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    for (const auto& candidate : {self.parent_path() / "edgefed-server",
                                  self.parent_path().parent_path() / "server" / "edgefed-server"})
      if (std::filesystem::exists(candidate)) return candidate.string();
  }
  return EDGEFED_DEFAULT_SERVER_BIN;
}

edgefed::Options make_options() {
  edgefed::sim::SimConfig d;
  edgefed::Options o("edgefed-sim",
                     "Runs N real edgefed agents (threads, each with its own outbox, certificate and TLS\n"
                     "connection) against a real edgefed-server on 127.0.0.1, with slow devices and\n"
                     "scripted link faults, and reports how the fleet learned.");
  o.add("agents", std::to_string(d.agents), "number of agents")
      .add("work-dir", d.work_dir, "directory for certificates, server state, agent outboxes and results")
      .add("json-summary", "", "write the JSON summary here (default WORK_DIR/summary.json)")
      .add("server", "", "use this server (https://HOST:PORT) instead of starting one; needs WORK_DIR/certs from its CA")
      .add("server-bin", "", "edgefed-server binary to start (default: next to edgefed-sim)")
      .add("certs-tool", EDGEFED_DEFAULT_CERTS_TOOL, "the edgefed-certs tool")
      .add("data-dir", d.data_dir, "Fashion-MNIST IDX files (Debian package dataset-fashion-mnist)")
      .add("mode", d.mode, "server merging mode: sync (FedAvg rounds of 80% of the agents, 10 s timeout, unless --server-arg sets --min-updates / --round-timeout) or async (FedBuff)")
      .add("model", d.model, "model layout the server initialises")
      .add("partition", d.partition, "how the training set is split: iid, dirichlet:ALPHA or shards:K")
      .add("corrupt-agents", "", "test seam: agent indices (e.g. '0,3') that train on corrupted data")
      .add("corrupt-mode", d.corrupt_mode, "how --corrupt-agents' data is corrupted: labels (random) or noise")
      .add("attack-agents", "", "test seam: agent indices (e.g. '0,3' or '0-3') that send hostile updates")
      .add("attack-mode", d.attack_mode,
           "what --attack-agents send: sign-flip, scale:FACTOR, noise[:STDDEV] (agent --attack), or mixed "
           "(sign-flip, scale:10, noise in turn)")
      .add("seed", std::to_string(d.seed), "seed of the partition, devices, outages and training")
      .add("device-mix", d.device_mix, "device classes NAME:SHARE:SLOWDOWN, comma-separated")
      .add("encoding", d.encoding, "update encoding the agents are told to use: f32, f16, int8, topk")
      .add("duration", "240", "seconds of training before the drain")
      .add("target-accuracy", "0", "stop training once the global model reaches this test accuracy (0 = run the full duration)")
      .add("versions", "0", "stop training once the global model reaches this version and report its accuracy (0 = no limit)")
      .add_bool("keep-running", false, "keep training after the duration until interrupted")
      .add("eval-interval", "2", "evaluate the global model at most every this many seconds")
      .add("outage-interval", "90", "mean seconds between one agent's random link outages (0 = none)")
      .add("outage-duration", "8", "mean length of a random outage in seconds")
      .add("fleet-outages", d.fleet_outages, "whole-fleet link outages AT:DURATION in seconds, comma-separated ('' = none)")
      .add("server-restarts", d.server_restarts, "SIGKILL and restart the server at these seconds, comma-separated ('' = none)")
      .add("drain-timeout", "90", "seconds to wait for every outbox to empty at the end")
      .add("server-threads", "2", "I/O threads of the server we start")
      .add("server-arg", "", "extra flags for our server, ';'-separated (e.g. '--buffer-k=10;--server-lr=0.25')")
      .add("log-level", "info", "debug, info, warn or error");
  return o;
}

edgefed::sim::SimConfig config_from(const edgefed::Options& o) {
  edgefed::sim::SimConfig c;
  c.agents = static_cast<int>(o.get_int("agents"));
  if (c.agents < 1 || c.agents > 10000) throw edgefed::ConfigError("--agents must be in 1..10000");
  c.work_dir = o.get("work-dir");
  c.json_summary = o.get("json-summary").empty() ? c.work_dir + "/summary.json" : o.get("json-summary");
  c.server_url = o.get("server");
  c.server_bin = o.get("server-bin").empty() ? default_server_bin() : o.get("server-bin");
  c.certs_tool = o.get("certs-tool");
  c.data_dir = o.get("data-dir");
  c.mode = o.get("mode");
  if (c.mode != "sync" && c.mode != "async") throw edgefed::ConfigError("--mode must be sync or async");
  c.model = o.get("model");
  c.partition = o.get("partition");
  std::stringstream agents_list(o.get("corrupt-agents"));
  for (std::string t; std::getline(agents_list, t, ',');) {
    if (t.empty()) continue;
    int i = -1;
    try {
      i = std::stoi(t);
    } catch (const std::exception&) {
    }
    if (i < 0 || i >= c.agents) throw edgefed::ConfigError("--corrupt-agents: bad agent index '" + t + "'");
    c.corrupt_agents.insert(i);
  }
  c.corrupt_mode = o.get("corrupt-mode");
  if (c.corrupt_mode != "labels" && c.corrupt_mode != "noise")
    throw edgefed::ConfigError("--corrupt-mode must be labels or noise");
  auto hostile = edgefed::sim::parse_agent_indices(o.get("attack-agents"), c.agents);
  if (!hostile) throw edgefed::ConfigError("--attack-agents: " + hostile.status().message());
  c.attack_mode = o.get("attack-mode");
  auto attacks = edgefed::sim::assign_attacks(*hostile, c.attack_mode);
  if (!attacks) throw edgefed::ConfigError(attacks.status().message());
  c.attacks = *attacks;
  c.stop_version = o.get_int("versions");
  if (c.stop_version < 0) throw edgefed::ConfigError("--versions must be >= 0");
  c.seed = static_cast<uint64_t>(o.get_int("seed"));
  c.device_mix = o.get("device-mix");
  c.encoding = o.get("encoding");
  c.duration_s = o.get_double("duration");
  c.target_accuracy = o.get_double("target-accuracy");
  c.keep_running = o.get_bool("keep-running");
  c.eval_interval_s = o.get_double("eval-interval");
  c.outage_mean_interval_s = o.get_double("outage-interval");
  c.outage_mean_duration_s = o.get_double("outage-duration");
  c.fleet_outages = o.get("fleet-outages");
  c.server_restarts = o.get("server-restarts");
  c.drain_timeout_s = o.get_double("drain-timeout");
  c.server_threads = static_cast<int>(o.get_int("server-threads"));
  std::string extra = o.get("server-arg");
  for (size_t p = 0; !extra.empty();) {
    p = extra.find(';');
    if (!extra.substr(0, p).empty()) c.server_args.push_back(extra.substr(0, p));
    extra = p == std::string::npos ? "" : extra.substr(p + 1);
  }
  if (c.duration_s <= 0) throw edgefed::ConfigError("--duration must be positive");
  return c;
}

}  // namespace

int main(int argc, char** argv) {
  edgefed::log::set_component("sim");
  edgefed::sim::SimConfig config;
  try {
    edgefed::Options options = make_options();
    options.parse(argc, argv, environ);
    if (options.help_requested()) {
      std::cout << options.help_text();
      return 0;
    }
    edgefed::log::set_level(edgefed::log::parse_level(options.get("log-level")));
    config = config_from(options);
  } catch (const edgefed::ConfigError& e) {
    std::fprintf(stderr, "edgefed-sim: %s\n", e.what());
    return 2;
  }
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  std::signal(SIGPIPE, SIG_IGN);

  auto summary = edgefed::sim::run_simulation(config, g_interrupted);
  if (!summary) {
    std::fprintf(stderr, "edgefed-sim: %s\n", summary.status().to_string().c_str());
    return 1;
  }
  const std::string csv = config.work_dir + "/curve.csv", png = config.work_dir + "/curve.png";
  edgefed::sim::write_curve_csv(csv, summary->curve);
  const std::string plot_error = edgefed::sim::plot_curves(
      csv, png, "edgefed: " + std::to_string(config.agents) + " agents, " + config.mode + ", " + config.partition);
  std::ofstream(config.json_summary) << edgefed::sim::to_json(*summary).dump(2) << "\n";
  std::cout << edgefed::sim::to_text(*summary);
  std::cout << "  results: " << config.json_summary << ", " << csv << ", "
            << (plot_error.empty() ? png : "no plot (" + plot_error + ")") << "\n";
  const bool clean = summary->audit && summary->audit->lost == 0 && summary->audit->double_counted == 0;
  return clean || !summary->audit ? 0 : 3;
}
