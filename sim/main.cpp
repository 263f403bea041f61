// edgefed-sim: a fleet of real agents against a real server on this machine.
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "edgefed/log.hpp"
#include "edgefed/ml/model_spec.hpp"
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

// What the command line sets: the run's config and the flags that are
// checked against each other once all are read.
struct SimCommandLine {
  edgefed::sim::SimConfig config;
  std::string corrupt_agents;  // "0,3"
  std::string attack_agents;   // "0,3" or "0-3"
  edgefed::log::Level log_level = edgefed::log::Level::kInfo;
};

// The sim's one table: every flag, bound to its field (whose value is the default).
edgefed::Options make_options(SimCommandLine& cl) {
  edgefed::sim::SimConfig& c = cl.config;
  c.certs_tool = EDGEFED_DEFAULT_CERTS_TOOL;
  edgefed::Options o("edgefed-sim",
                     "Runs N real edgefed agents (threads, each with its own outbox, certificate and TLS\n"
                     "connection) against a real edgefed-server on 127.0.0.1, with slow devices and\n"
                     "scripted link faults, and reports how the fleet learned.");
  o.bind("agents", &c.agents, "number of agents").in(1, 10000);
  o.bind("relays", &c.relays, "site relays between the agents and the server (agent i on relay i mod N; 0 = none)")
      .in(0, 64);
  o.bind("relay-k", &c.relay_k, "agent updates per partial sum a relay forwards").in(1, 10000);
  o.bind("relay-cut", &c.relay_cut,
         "cut relay 0's uplink to the server at AT for DURATION seconds (AT:DURATION; '' = none)");
  o.bind("relay-flush", &c.relay_flush_s, "seconds an update waits at a relay at most before its partial sum leaves")
      .above(0);
  o.bind("work-dir", &c.work_dir, "directory for certificates, server state, agent outboxes and results");
  o.bind("json-summary", &c.json_summary, "write the JSON summary here (default WORK_DIR/summary.json)");
  o.bind("server", &c.server_url, "use this server (https://HOST:PORT) instead of starting one; needs WORK_DIR/certs from its CA");
  o.bind("server-bin", &c.server_bin, "edgefed-server binary to start (default: next to edgefed-sim)");
  o.bind("certs-tool", &c.certs_tool, "the edgefed-certs tool");
  o.bind("data-dir", &c.data_dir, "Fashion-MNIST IDX files (Debian package dataset-fashion-mnist)");
  o.bind("data", &c.data,
         "instead of Fashion-MNIST: a csv: or series: data spec every agent takes its slice of (agent i of N "
         "adds :i/N), e.g. series:seattle-temps.csv:columns=temp:window=24");
  o.bind("test-data", &c.test_data, "with --data: the held-out data spec the curve is measured on");
  o.bind("mode", &c.mode, "server merging mode: sync (FedAvg rounds of 80% of the agents, 10 s timeout (10 fleet s with --fleet-time), unless --server-arg sets --min-updates / --round-timeout) or async (FedBuff)");
  o.bind("model", &c.model,
         "model the server initialises: a preset (mlp:784-128-10, cnn-fmnist, ...) or a model spec FILE.json");
  o.bind("partition", &c.partition, "how the training set is split: iid, dirichlet:ALPHA or shards:K");
  o.bind("corrupt-agents", &cl.corrupt_agents, "test seam: agent indices (e.g. '0,3') that train on corrupted data");
  o.bind("corrupt-mode", &c.corrupt_mode,
         "how --corrupt-agents' data is corrupted: labels (random) or noise; for a --data series a broken sensor: "
         "stuck, spikes or drift");
  o.bind("attack-agents", &cl.attack_agents, "test seam: agent indices (e.g. '0,3' or '0-3') that send hostile updates");
  o.bind("record-serving", &c.record_serving,
         "record what the fleet serves: the serving accuracy over time and every canary decision (in the summary)");
  o.bind("attack-from-version", &c.attack_from_version,
         "test seam: --attack-agents train honestly until the model reaches this version (0 = from the start)")
      .at_least(0);
  o.bind("attack-mode", &c.attack_mode,
         "what --attack-agents send: sign-flip, scale:FACTOR, noise[:STDDEV] (agent --attack), or mixed "
         "(sign-flip, scale:10, noise in turn)");
  o.bind("seed", &c.seed, "seed of the partition, devices, outages and training");
  o.bind("device-mix", &c.device_mix,
         "device classes NAME:SHARE:SLOWDOWN[:LATENCY_MS[:UP_MBIT[:DOWN_MBIT]]], comma-separated (the link "
         "fields count in --fleet-time only)");
  o.bind("fleet-time", &c.fleet_time,
         "pace each device's round to its device time (thread CPU time x slowdown x dilation), so contention on "
         "this machine does not stretch it, and report fleet seconds (wall / dilation) too");
  o.bind("dilation", &c.dilation,
         "--fleet-time: wall seconds per fleet second (0 = from the device mix and the cores, leaving headroom)")
      .at_least(0);
  o.bind("encoding", &c.encoding, "update encoding the agents are told to use");
  o.bind("duration", &c.duration_s, "seconds of training before the drain").above(0);
  o.bind("target-accuracy", &c.target_accuracy, "stop training once the global model reaches this test accuracy (0 = run the full duration)");
  o.bind("versions", &c.stop_version, "stop training once the global model reaches this version and report its accuracy (0 = no limit)")
      .at_least(0);
  o.bind("keep-running", &c.keep_running, "keep training after the duration until interrupted");
  o.bind("eval-interval", &c.eval_interval_s, "evaluate the global model at most every this many seconds");
  o.bind("outage-interval", &c.outage_mean_interval_s, "mean seconds between one agent's random link outages (0 = none); with --fleet-time this and the fault times below are fleet seconds");
  o.bind("outage-duration", &c.outage_mean_duration_s, "mean length of a random outage in seconds (fleet seconds with --fleet-time)");
  o.bind("fleet-outages", &c.fleet_outages, "whole-fleet link outages AT:DURATION in seconds (fleet seconds with --fleet-time), comma-separated ('' = none)");
  o.bind("server-restarts", &c.server_restarts, "SIGKILL and restart the server at these seconds (fleet seconds with --fleet-time), comma-separated ('' = none)");
  o.bind("drain-timeout", &c.drain_timeout_s, "seconds to wait for every outbox to empty at the end");
  o.bind("server-threads", &c.server_threads, "I/O threads of the server we start");
  o.bind_text("server-arg", "", "extra flags for our server, ';'-separated (e.g. '--buffer-k=10;--server-lr=0.25')",
              [&c](const std::string& text) {
                c.server_args.clear();
                std::string extra = text;
                for (size_t p = 0; !extra.empty();) {
                  p = extra.find(';');
                  if (!extra.substr(0, p).empty()) c.server_args.push_back(extra.substr(0, p));
                  extra = p == std::string::npos ? "" : extra.substr(p + 1);
                }
              });
  o.bind("log-level", &cl.log_level, "log verbosity");
  return o;
}

// After the table is applied: the derived fields and the checks that need
// several flags.
void finish_config(SimCommandLine& cl) {
  edgefed::sim::SimConfig& c = cl.config;
  if (c.json_summary.empty()) c.json_summary = c.work_dir + "/summary.json";
  if (c.server_bin.empty()) c.server_bin = default_server_bin();
  std::stringstream agents_list(cl.corrupt_agents);
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
  const bool series = c.data.rfind("series:", 0) == 0;
  if (!c.corrupt_agents.empty() &&
      (series ? !(c.corrupt_mode == "stuck" || c.corrupt_mode == "spikes" || c.corrupt_mode == "drift")
              : !(c.corrupt_mode == "labels" || c.corrupt_mode == "noise")))
    throw edgefed::ConfigError(series ? "--corrupt-mode for a series must be stuck, spikes or drift"
                                      : "--corrupt-mode must be labels or noise");
  if (!c.data.empty() && c.data.rfind("csv:", 0) != 0 && !series)
    throw edgefed::ConfigError("--data must be a csv: or series: spec (Fashion-MNIST is --data-dir)");
  if (!c.data.empty() && c.test_data.empty()) throw edgefed::ConfigError("--data needs --test-data");
  auto spec = edgefed::ml::ModelSpec::load(c.model);
  if (!spec) throw edgefed::ConfigError("--model: " + spec.status().message());
  // Without --data the fleet trains on Fashion-MNIST images.
  if (c.data.empty() &&
      (spec->task() != edgefed::ml::TaskType::kClassification || spec->input_size() != 784 || spec->output_size() < 10))
    throw edgefed::ConfigError("--model: " + spec->describe() +
                               " does not fit Fashion-MNIST (784 inputs, 10 classes, softmax_cross_entropy)");
  // The server runs in another directory: it gets the file by absolute path.
  if (c.model.size() > 5 && c.model.compare(c.model.size() - 5, 5, ".json") == 0)
    c.model = std::filesystem::absolute(c.model).string();
  auto hostile = edgefed::sim::parse_agent_indices(cl.attack_agents, c.agents);
  if (!hostile) throw edgefed::ConfigError("--attack-agents: " + hostile.status().message());
  auto attacks = edgefed::sim::assign_attacks(*hostile, c.attack_mode);
  if (!attacks) throw edgefed::ConfigError(attacks.status().message());
  c.attacks = *attacks;
  for (auto& [agent, attack] : c.attacks) attack.from_version = c.attack_from_version;
}

}  // namespace

int main(int argc, char** argv) {
  edgefed::log::set_component("sim");
  SimCommandLine command_line;
  const edgefed::sim::SimConfig& config = command_line.config;
  try {
    edgefed::Options options = make_options(command_line);
    options.parse(argc, argv, environ);
    if (options.help_requested()) {
      std::cout << options.help_text();
      return 0;
    }
    edgefed::log::set_level(command_line.log_level);
    finish_config(command_line);
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
      csv, png, "edgefed: " + std::to_string(config.agents) + " agents, " + std::string(edgefed::enum_name(config.mode)) + ", " +
               config.partition,
      summary->regression);
  std::ofstream(config.json_summary) << edgefed::sim::to_json(*summary).dump(2) << "\n";
  std::cout << edgefed::sim::to_text(*summary);
  std::cout << "  results: " << config.json_summary << ", " << csv << ", "
            << (plot_error.empty() ? png : "no plot (" + plot_error + ")") << "\n";
  const bool clean = summary->audit && summary->audit->lost == 0 && summary->audit->double_counted == 0;
  return clean || !summary->audit ? 0 : 3;
}
