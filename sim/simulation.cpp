#include "simulation.hpp"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <set>
#include <string_view>
#include <thread>

#include "edgefed/ml/idx_reader.hpp"
#include "edgefed/log.hpp"
#include "fleet.hpp"
#include "progress.hpp"
#include "serving_recorder.hpp"
#include "ledger_audit.hpp"
#include "server/process/server_process.hpp"
#include "tcp_fault_proxy.hpp"
#include "version_eval.hpp"

namespace edgefed::sim {
namespace fs = std::filesystem;
using server::ServerProcess;
using server::ServerProcessOptions;
namespace {

using Clock = std::chrono::steady_clock;

double since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

int64_t unix_ms_now() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

Status make_certs(const SimConfig& c, const std::string& dir) {
  const std::string cmd = shell_quote(c.certs_tool) + " init --out " + shell_quote(dir) +
                          " --server-san 127.0.0.1,localhost --agents " + std::to_string(c.agents + c.relays) +
                          " >" + shell_quote(c.work_dir + "/certs.log") + " 2>&1";
  if (std::system(cmd.c_str()) != 0)
    return Status(Code::kUnavailable, "certificate tool failed; see " + c.work_dir + "/certs.log");
  return Status::ok();
}

// "https://HOST:PORT" -> port (0 if absent).
uint16_t url_port(const std::string& url) {
  const auto colon = url.rfind(':');
  if (colon == std::string::npos) return 0;
  return static_cast<uint16_t>(std::atoi(url.c_str() + colon + 1));
}

}  // namespace

Result<RunSummary> run_simulation(const SimConfig& c, const std::atomic<bool>& interrupted) {
  std::error_code ec;
  fs::create_directories(c.work_dir, ec);
  if (ec) return Status(Code::kIo, "cannot create " + c.work_dir + ": " + ec.message());
  const std::string certs = c.work_dir + "/certs";
  EDGEFED_RETURN_IF_ERROR(make_certs(c, certs));

  auto devices = parse_device_mix(c.device_mix);
  if (!devices) return devices.status();
  std::vector<DeviceClass> fleet_devices = assign_devices(*devices, c.agents, c.seed);
  // The agents can only be slowed down, not sped up: the fastest class runs
  // at this machine's speed and the others keep their ratios to it.
  double fastest = 1e9;
  for (const auto& d : *devices) fastest = std::min(fastest, d.slowdown);
  for (auto& d : fleet_devices) d.slowdown /= fastest;
  double dilation = 0;  // wall seconds per fleet second; 0 = no fleet time
  if (c.fleet_time) {
    dilation = c.dilation > 0 ? c.dilation
                              : fleet_dilation(fleet_devices, static_cast<int>(std::thread::hardware_concurrency()),
                                               /*all_at_once=*/c.mode == MergeMode::kSync);
    log::info("sim_fleet_time").kv("dilation", dilation).kv("cores",
        static_cast<int64_t>(std::thread::hardware_concurrency()));
  }
  // Fashion-MNIST (loaded once, sliced per agent), or agents' own csv or
  // series data with a held-out set from --test-data.
  std::shared_ptr<const ml::DataStore> train_set;
  auto open_test_set = [&c]() -> Result<ml::Evaluator> {
    if (!c.data.empty()) return ml::Evaluator::open(c.test_data);
    return ml::Evaluator::open_idx_test(c.data_dir);
  };
  if (c.data.empty()) {
    log::info("sim_loading_data").kv("dir", c.data_dir);
    auto train = ml::load_idx(c.data_dir, ml::IdxSplit::kTrain);
    if (!train) return train.status();
    train_set = std::make_shared<const ml::DataStore>(std::move(*train));
  } else {
    log::info("sim_loading_data").kv("data", c.data).kv("test_data", c.test_data);
  }
  auto test_eval = open_test_set();
  if (!test_eval) return Status(test_eval.status().code(), "test data: " + test_eval.status().message());

  // The server: ours unless --server was given.
  std::unique_ptr<ServerProcess> server;
  std::vector<std::unique_ptr<ServerProcess>> relays;
  std::vector<std::unique_ptr<TcpFaultProxy>> uplinks;  // relay r -> server, cut by --relay-cut
  std::vector<std::string> relay_urls;
  std::string url = c.server_url;
  if (url.empty()) {
    ServerProcessOptions so;
    so.bin = c.server_bin;
    so.tls_cert = certs + "/server.pem";
    so.tls_key = certs + "/server.key";
    so.client_ca = certs + "/ca.pem";
    so.state_dir = c.work_dir + "/server";
    so.port_file = so.state_dir + "/port";
    so.log_file = c.work_dir + "/server.log";
    so.args = {std::string("--mode=").append(enum_name(c.mode)), "--model-init=" + c.model,
               "--threads=" + std::to_string(c.server_threads)};
    so.args.insert(so.args.end(), c.server_args.begin(), c.server_args.end());
    so.args.push_back(std::string("--task-encoding=").append(enum_name(c.encoding)));
    // An independent PyTorch simulation of this workload (docs/engine.md): a
    // safe FedBuff server learning rate is about
    // buffer_k / concurrency (up to 2.5x that); 0.25 with 100 agents all
    // training at once oscillates here, 0.1 learns steadily. The sim knows
    // its concurrency, so it picks the rate unless told otherwise.
    bool lr_given = false, min_given = false, timeout_given = false, buffer_given = false, staleness_given = false;
    double buffer_k = 10;  // the server's default
    for (const auto& a : c.server_args) {
      buffer_given = buffer_given || a.rfind("--buffer-k", 0) == 0;
      lr_given = lr_given || a.rfind("--server-lr", 0) == 0;
      constexpr std::string_view kBufferK = "--buffer-k=";
      if (a.rfind(kBufferK, 0) == 0) {
        char* end = nullptr;
        const double k = std::strtod(a.c_str() + kBufferK.size(), &end);
        if (end && *end == '\0' && k >= 1) buffer_k = k;  // a bad value is the server's to refuse
      }
      min_given = min_given || a.rfind("--min-updates", 0) == 0;
      staleness_given = staleness_given || a.rfind("--max-staleness", 0) == 0;
      timeout_given = timeout_given || a.rfind("--round-timeout", 0) == 0;
    }
    // Behind relays the central buffer holds partial sums of relay_k
    // updates each: two of them per version (not the default 10 x K), so
    // a version still weighs a staler sum against a fresher one.
    if (c.relays > 0 && c.mode == MergeMode::kAsync && !buffer_given) {
      buffer_k = 2;
      so.args.push_back("--buffer-k=2");
    }
    // A cut relay's backlog is as old as the cut, counted in central
    // versions: this fleet makes about 6 a second (a real one, whose
    // devices take minutes per round, a few a minute), so a one-minute cut
    // is ~360 versions here, past the default --max-staleness of 100
    // (measured: 5,277 of the cut relay's agent updates refused as too
    // stale). Without a bound of its own, a run with --relay-cut gives the
    // central server one that covers the cut (docs/relays.md).
    if (c.relays > 0 && !c.relay_cut.empty() && !staleness_given) {
      so.args.push_back("--max-staleness=1000");
      log::info("sim_max_staleness").kv("max_staleness", int64_t{1000}).kv("reason", "--relay-cut");
    }
    // Sync FedAvg rounds are cohorts: a round of 10 updates (the server's
    // default) while 100 agents train makes every other update stale and,
    // at server lr 1, diverges (measured: best 0.57, then 0.10). A round
    // waits for 80% of the fleet, so it does not idle on the slowest fifth
    // or on agents that are offline; the stragglers' updates join the next
    // round, staleness-weighted; a round closes after 10 s regardless.
    if (c.mode == MergeMode::kSync && !min_given) {
      const int min_updates = std::max(1, (c.agents * 4 + 4) / 5);
      so.args.push_back("--min-updates=" + std::to_string(min_updates));
      // 10 fleet seconds in fleet time: the server's clock is wall time.
      if (!timeout_given)
        so.args.push_back("--round-timeout=" + std::to_string(std::max(1.0, 10.0 * std::max(1.0, dilation))));
      log::info("sim_round_size").kv("min_updates", static_cast<int64_t>(min_updates))
          .kv("reason", "80% of the agents per sync round");
    }
    if (!lr_given && c.mode == MergeMode::kAsync) {
      // Behind relays, each buffered update is a partial sum of up to
      // relay_k agent updates: a version merges buffer_k x relay_k of the
      // fleet's updates (buffer_k / agents alone picked 0.01 for one partial
      // sum per version, 10x too small a step). And an update is in flight
      // about twice as long (its agent's round, then its wait at the relay
      // and the uplink: 0.85 s + ~0.6 s at the median in a 100-agent run), so
      // twice as many versions pass meanwhile: half that rate (0.2 learned
      // unsteadily, 0.1 to within a point of direct; benchmarks/README.md).
      const double updates_per_merge = c.relays > 0 ? buffer_k * c.relay_k / 2 : buffer_k;
      const double lr = std::min(0.25, updates_per_merge / c.agents);
      so.args.push_back("--server-lr=" + std::to_string(lr));
      log::info("sim_server_lr").kv("server_lr", lr).kv("buffer_k", buffer_k)
          .kv("reason", c.relays > 0 ? "buffer_k x relay_k / (2 x agents), at most 0.25"
                                     : "buffer_k / agents, at most 0.25");
    }
    server = std::make_unique<ServerProcess>(so);
    EDGEFED_RETURN_IF_ERROR(server->start());
    url = "https://127.0.0.1:" + std::to_string(server->port());
    log::info("sim_server_started").kv("url", url).kv("pid", static_cast<int64_t>(server->pid()))
        .kv("log", so.log_file);
    std::printf("edgefed-sim: server %s (pid %d, log %s)\n  status page: %s/  (viewer role: import %s/viewer.p12 "
                "into the browser, empty password; curl: --cert %s/viewer.pem --key %s/viewer.key --cacert "
                "%s/ca.pem)\n",
                url.c_str(), static_cast<int>(server->pid()), so.log_file.c_str(), url.c_str(), certs.c_str(),
                certs.c_str(), certs.c_str(), certs.c_str());
    for (const auto& a : c.server_args)
      if (a.rfind("--metrics-listen=", 0) == 0)
        std::printf("  metrics:     http://%s/metrics\n", a.substr(17).c_str());
    std::fflush(stdout);
    // Site relays: the same agent-facing options (task, mode), each with
    // its own state and the certificate of agent N + r as its identity.
    for (int r = 0; r < c.relays; ++r) {
      char id[32];
      std::snprintf(id, sizeof id, "agent-%03d", c.agents + r);
      ServerProcessOptions ro = so;
      ro.state_dir = c.work_dir + "/relay-" + std::to_string(r);
      ro.port_file = ro.state_dir + "/port";
      ro.log_file = c.work_dir + "/relay-" + std::to_string(r) + ".log";
      ro.args.erase(std::remove_if(ro.args.begin(), ro.args.end(),
                                   [](const std::string& a) { return a.rfind("--metrics-listen", 0) == 0; }),
                    ro.args.end());
      // Each uplink through a fault proxy, so --relay-cut can cut it.
      try {
        uplinks.push_back(std::make_unique<TcpFaultProxy>(static_cast<uint16_t>(server->port())));
      } catch (const std::exception& e) {
        return Status(Code::kUnavailable, std::string("relay uplink proxy: ") + e.what());
      }
      const std::string upstream = "https://127.0.0.1:" + std::to_string(uplinks.back()->port());
      for (std::string a : {"--upstream=" + upstream, "--upstream-ca=" + certs + "/ca.pem",
                            "--upstream-cert=" + certs + "/agents/" + id + ".pem",
                            "--upstream-key=" + certs + "/agents/" + id + ".key",
                            "--relay-k=" + std::to_string(c.relay_k),
                            "--relay-flush=" + std::to_string(c.relay_flush_s)})
        ro.args.push_back(std::move(a));
      relays.push_back(std::make_unique<ServerProcess>(ro));
      EDGEFED_RETURN_IF_ERROR(relays.back()->start());
      relay_urls.push_back("https://127.0.0.1:" + std::to_string(relays.back()->port()));
      log::info("sim_relay_started").kv("url", relay_urls.back()).kv("identity", std::string(id))
          .kv("log", ro.log_file);
    }
  }

  const auto t0 = Clock::now();
  OutagePlan::Options oo;
  oo.agents = c.agents;
  oo.horizon_s = c.duration_s;
  oo.mean_interval_s = c.outage_mean_interval_s;
  oo.mean_duration_s = c.outage_mean_duration_s;
  oo.fleet_outages = c.fleet_outages;
  oo.server_restarts = server ? c.server_restarts : "";
  oo.relay_cut = c.relays > 0 ? c.relay_cut : "";
  oo.seed = c.seed;
  oo.time_scale = dilation > 0 ? dilation : 1.0;  // fleet time: faults are given in fleet seconds
  auto plan = OutagePlan::create(oo);
  if (!plan) return plan.status();

  RunSummary summary;
  FleetOptions fo;
  fo.agents = c.agents;
  fo.agents_dir = c.work_dir + "/agents";
  fo.certs_dir = certs;
  fo.server_url = url;
  fo.server_urls = relay_urls;
  fo.data_dir = c.data_dir;
  fo.data = c.data;
  fo.partition = c.partition;
  fo.corrupt_agents = c.corrupt_agents;
  fo.corrupt_mode = c.corrupt_mode;
  fo.attacks = c.attacks;
  fo.seed = c.seed;
  fo.devices = std::move(fleet_devices);
  fo.dilation = dilation;
  summary.dilation = dilation;
  fo.outages = &*plan;
  fo.t0 = t0;
  auto fleet = Fleet::create(fo, train_set);
  if (!fleet) return fleet.status();

  HttpsClientOptions eo;
  eo.host = "127.0.0.1";
  eo.port = url_port(url);
  eo.tls = {certs + "/ca.pem", certs + "/admin.pem", certs + "/admin.key"};
  CurveRecorder evaluator(eo, std::move(*test_eval), c.eval_interval_s, t0);
  evaluator.start();
  // The serving accuracy: each served version once, on the first 2,000
  // test samples (under ASan a full 10,000-image pass takes ~10 s).
  std::unique_ptr<ServingRecorder> serving;
  if (c.record_serving) {
    auto serving_eval = c.data.empty() ? ml::Evaluator::open_idx_test(c.data_dir, 2000)
                                       : ml::Evaluator::open(c.test_data, 2000);
    if (!serving_eval) return serving_eval.status();
    Fleet* fleet_ptr = fleet->get();
    serving = std::make_unique<ServingRecorder>(eo, std::move(*serving_eval), std::max(1.0, c.eval_interval_s), t0,
                                                [fleet_ptr] { return fleet_ptr->serving_versions(); });
    serving->start();
  }
  (*fleet)->start();
  log::info("sim_started").kv("agents", c.agents).kv("mode", c.mode).kv("partition", c.partition)
      .kv("random_outages", static_cast<int64_t>(plan->random_outages()))
      .kv("duration_s", c.duration_s);

  Progress progress;
  size_t next_restart = 0;
  double cut_restored_at = -1;
  int64_t restored_unix_ms = 0;
  auto tick = [&](const char* phase) {
    const FleetTotals f = (*fleet)->totals();
    summary.outbox_peak_records = std::max(summary.outbox_peak_records, f.outbox_updates + f.outbox_telemetry);
    progress.update(since(t0), evaluator.counters(), evaluator.latest(), f, phase);
    return f;
  };
  // Training phase.
  while (!interrupted && (since(t0) < c.duration_s || c.keep_running)) {
    const double t = since(t0);
    if (server && next_restart < plan->server_restarts().size() && t >= plan->server_restarts()[next_restart]) {
      ++next_restart;
      log::info("sim_server_crash").kv("seconds", t);
      const Status st = server->crash_and_restart();
      if (!st.is_ok()) return st;
      ++summary.server_restarts;
    }
    if (const auto& cut = plan->relay_cut(); cut && !uplinks.empty()) {
      if (cut->contains(t) && !uplinks[0]->is_cut()) {
        uplinks[0]->cut();
        log::info("sim_relay_uplink_cut").kv("relay", 0).kv("seconds", t);
      } else if (t >= cut->end && uplinks[0]->is_cut()) {
        uplinks[0]->restore();
        summary.relay_cut_s = t - cut->start;
        cut_restored_at = t;
        restored_unix_ms = unix_ms_now();
        log::info("sim_relay_uplink_restored").kv("relay", 0).kv("seconds", t);
      }
    }
    // The cut relay's backlog: gone once nothing from before the uplink
    // returned is still unsent.
    if (cut_restored_at >= 0 && summary.relay_drain_s < 0) {
      auto unsent = relay_unsent(c.work_dir + "/relay-0/edgefed.sqlite", restored_unix_ms);
      if (unsent.is_ok() && *unsent == 0) {
        summary.relay_drain_s = t - cut_restored_at;
        log::info("sim_relay_backlog_drained").kv("relay", 0).kv("seconds_after_cut", summary.relay_drain_s);
      }
    }
    tick("train");
    const auto latest = evaluator.latest();
    // Stop early only once every scripted server crash has happened, so a
    // fast run still exercises the faults it was asked for.
    const bool faults_done = next_restart >= plan->server_restarts().size();
    if (c.target_accuracy > 0 && latest && latest->accuracy >= c.target_accuracy && faults_done &&
        !c.keep_running)
      break;
    if (c.stop_version > 0 && evaluator.counters().version >= c.stop_version && !c.keep_running) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
  // Drain phase: no more faults, no more training; every outbox empties and
  // every secure aggregation round in progress ends (done, or aborted at its
  // phase deadline), so that nothing it records comes after the audit.
  (*fleet)->set_faults(false);
  (*fleet)->pause_training();
  const double drain_start = since(t0);
  while (since(t0) - drain_start < c.drain_timeout_s) {
    const FleetTotals f = tick("drain");
    if (f.outbox_updates + f.outbox_telemetry + f.secagg_rounds_active == 0 && since(t0) - drain_start > 1) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
  progress.finish();
  // Relays forward what is left once it waited --relay-flush: wait until
  // each has sent everything (a cut uplink's backlog included), then stop
  // them so their stores can be read.
  if (!relays.empty()) {
    for (auto& u : uplinks) u->restore();
    if (cut_restored_at < 0 && plan->relay_cut() && plan->relay_cut()->start < since(t0)) {
      summary.relay_cut_s = since(t0) - plan->relay_cut()->start;  // the run ended during the cut
      cut_restored_at = since(t0);
      restored_unix_ms = unix_ms_now();
    }
    const double give_up = since(t0) + c.drain_timeout_s + c.relay_flush_s;
    std::vector<bool> drained(relays.size(), false);
    size_t left = relays.size();
    while (left > 0 && since(t0) < give_up) {
      for (size_t r = 0; r < relays.size(); ++r) {
        if (drained[r]) continue;
        auto unsent = relay_unsent(c.work_dir + "/relay-" + std::to_string(r) + "/edgefed.sqlite", unix_ms_now());
        if (unsent.is_ok() && *unsent == 0) {
          drained[r] = true;
          --left;
          if (r == 0 && cut_restored_at >= 0 && summary.relay_drain_s < 0)
            summary.relay_drain_s = since(t0) - cut_restored_at;
        }
      }
      if (left > 0) std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    for (auto& r : relays) {
      const Status st = r->stop();
      if (!st.is_ok()) log::warn("sim_relay_stop").kv("reason", st.to_string());
    }
  }
  // Let the server merge what it buffered, then measure the final model.
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  evaluator.stop();
  evaluator.evaluate_now();

  if (serving) {
    serving->stop();
    serving->poll_now();
    summary.serving_timeline = serving->timeline();
    summary.channel_changes = serving->changes();
    summary.serving_max_drop = serving->max_drop();
    summary.cohort_classes = serving->cohort_classes();
    std::set<int64_t> rejected;
    for (const auto& ch : summary.channel_changes) {
      if (ch.channel == "rejected") {
        rejected.insert(ch.version);
        ++summary.versions_rejected;
      }
      if (ch.channel == "stable") ++summary.versions_promoted;
    }
    for (const auto& history : (*fleet)->served_histories())
      for (const auto& served : history)
        if (rejected.count(served.version))
          ++(served.channel == "canary" ? summary.served_rejected_in_cohort : summary.served_rejected_outside_cohort);
  }
  const FleetTotals totals = (*fleet)->totals();
  const ServerCounters sc = evaluator.counters();
  summary.pace = (*fleet)->pace_stats();
  (*fleet)->stop();
  summary.agent_failures = (*fleet)->failures();
  summary.mode = c.mode;
  summary.agents = c.agents;
  summary.relays = c.relays;
  summary.partition = c.partition;
  summary.curve = evaluator.curve();
  summary.versions = sc.version;
  summary.updates_merged = sc.updates_merged;
  summary.updates_accepted = sc.updates_accepted;
  summary.records_forwarded = totals.journal.updates_acked + totals.journal.telemetry_acked;
  summary.outbox_left = totals.outbox_updates + totals.outbox_telemetry;
  summary.random_outages = static_cast<int64_t>(plan->random_outages());
  summary.fleet_outages = static_cast<int64_t>(plan->fleet().size());

  if (server) {
    const Status st = server->stop();
    if (!st.is_ok()) log::warn("sim_server_stop").kv("reason", st.to_string());
    if (relays.empty()) {
      auto audit = audit_ledger(c.work_dir + "/server/edgefed.sqlite", c.work_dir + "/agents", (*fleet)->agent_ids());
      if (audit) summary.audit = *audit;
      else summary.audit_error = audit.status().to_string();
    } else {
      // Each agent's records against its relay's store (agent i on relay i
      // mod N), then each relay's partial sums against the central server's.
      AuditResult total;
      const auto ids = (*fleet)->agent_ids();
      for (int r = 0; r < c.relays && summary.audit_error.empty(); ++r) {
        std::vector<std::string> mine;
        for (size_t i = static_cast<size_t>(r); i < ids.size(); i += static_cast<size_t>(c.relays)) mine.push_back(ids[i]);
        const std::string relay_db = c.work_dir + "/relay-" + std::to_string(r) + "/edgefed.sqlite";
        auto audit = audit_ledger(relay_db, c.work_dir + "/agents", mine);
        if (!audit) {
          summary.audit_error = "relay " + std::to_string(r) + ": " + audit.status().to_string();
          break;
        }
        total.server_updates += audit->server_updates;
        total.server_telemetry += audit->server_telemetry;
        total.acked_updates += audit->acked_updates;
        total.acked_telemetry += audit->acked_telemetry;
        total.lost += audit->lost;
        total.double_counted += audit->double_counted;
        total.unconfirmed += audit->unconfirmed;
        char relay_id[32];
        std::snprintf(relay_id, sizeof relay_id, "agent-%03d", c.agents + r);
        auto batches = audit_relay_batches(relay_db, c.work_dir + "/server/edgefed.sqlite", relay_id);
        if (!batches) {
          summary.audit_error = "relay " + std::to_string(r) + ": " + batches.status().to_string();
          break;
        }
        summary.relay_batches_accepted += batches->accepted;
        summary.relay_batches_refused += batches->refused;
        summary.relay_updates_refused += batches->updates_refused;
        summary.relay_updates_forwarded += batches->updates_forwarded;
        // A relay row neither forwarded in an accepted batch nor pending is
        // lost; a batch the central server holds twice is double counted.
        total.lost += batches->lost;
        total.double_counted += batches->double_counted;
        total.merged += batches->updates_merged_centrally;
      }
      if (summary.audit_error.empty()) summary.audit = total;
    }
  } else {
    summary.audit_error = "the server is not ours (--server): its records were not read";
  }
  if (c.stop_version > 0) {
    summary.stop_version = c.stop_version;
    auto held_out_or = open_test_set();
    if (!held_out_or) return held_out_or.status();
    ml::Evaluator& held_out = *held_out_or;
    auto at = server ? evaluate_checkpoint(c.work_dir + "/server/edgefed.sqlite", c.stop_version, held_out)
                     : Result<VersionAccuracy>(Code::kNotFound, "the server is not ours (--server)");
    if (at) {
      summary.at_version = *at;
    } else {
      // Without the checkpoint, the evaluator may still have seen that version.
      for (const auto& p : summary.curve)
        if (p.version == c.stop_version) summary.at_version = VersionAccuracy{p.version, p.accuracy, p.loss};
      if (!summary.at_version) summary.at_version_error = at.status().to_string();
    }
  }
  summary.seconds = since(t0);
  finish_summary(summary);
  return summary;
}

}  // namespace edgefed::sim
