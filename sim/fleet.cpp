#include "fleet.hpp"

#include <cstdio>
#include <filesystem>

#include "edgefed/ml/data_spec.hpp"
#include "edgefed/ml/local_data.hpp"
#include "edgefed/log.hpp"

namespace edgefed::sim {

namespace {
std::string agent_name(int i) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "agent-%03d", i);
  return buf;
}
}  // namespace

Result<std::unique_ptr<Fleet>> Fleet::create(FleetOptions options,
                                             std::shared_ptr<const ml::DataStore> train_set) {
  if (static_cast<int>(options.devices.size()) != options.agents)
    return Status(Code::kInvalidArgument, "one device class per agent is needed");
  std::unique_ptr<Fleet> fleet(new Fleet());
  fleet->options_ = options;
  const auto t0 = options.t0;
  for (int i = 0; i < options.agents; ++i) {
    const std::string id = agent_name(i);
    const bool series = options.data.rfind("series:", 0) == 0;
    const std::string slice = ":" + std::to_string(i) + "/" + std::to_string(options.agents);
    const std::string broken =
        options.corrupt_agents.count(i) ? (series ? ":fault=" : ":corrupt=") + options.corrupt_mode : "";
    const std::string spec_text =
        options.data.empty()
            ? "idx:" + options.data_dir + slice + ":" + options.partition + ":seed=" + std::to_string(options.seed) + broken
            : options.data + slice + ":seed=" + std::to_string(options.seed) + broken;
    auto spec = ml::parse_data_spec(spec_text);
    if (!spec) return spec.status();
    // Fashion-MNIST is loaded once and sliced; a csv or series file is small
    // and each agent reads its own range.
    auto data = options.data.empty() ? ml::slice_local_data(train_set, *spec) : ml::load_local_data(*spec);
    if (!data) return Status(data.status().code(), id + ": " + data.status().message());

    agent::AgentConfig cfg;
    cfg.agent_id = id;
    cfg.state_dir = options.agents_dir + "/" + id;
    cfg.data_spec = spec_text;
    cfg.link.server_url = options.server_urls.empty()
                              ? options.server_url
                              : options.server_urls[static_cast<size_t>(i) % options.server_urls.size()];
    cfg.link.agent_id = id;
    cfg.link.tls.ca_file = options.certs_dir + "/ca.pem";
    cfg.link.tls.cert_file = options.certs_dir + "/agents/" + id + ".pem";
    cfg.link.tls.key_file = options.certs_dir + "/agents/" + id + ".key";
    // A killed process (not a power cut) is what the simulation injects:
    // WAL without fsync per commit survives it and spares the disk.
    cfg.outbox_full_sync = false;
    // Offline, a simulated device trains one update per model version and
    // then waits for the link: dozens of near-copies of the same work, all
    // very stale on arrival, made the global model collapse after outages
    // (measured: final accuracy 0.40 after a best of 0.83 without this cap).
    cfg.offline_updates_per_version = 1;
    cfg.seed = options.seed * 1000003ULL + static_cast<uint64_t>(i) + 1;
    // The simulated device's class (--device-mix), as a real agent names it
    // with --device-class: the server's canary cohort spans the classes.
    if (static_cast<size_t>(i) < options.devices.size()) cfg.device_class = options.devices[static_cast<size_t>(i)].name;
    if (auto a = options.attacks.find(i); a != options.attacks.end()) {
      cfg.attack = a->second;
      log::info("sim_hostile_agent").kv("agent", id).kv("attack", agent::to_string(a->second));
    }
    std::error_code ec;
    std::filesystem::create_directories(cfg.state_dir, ec);

    agent::AgentSeams seams;
    seams.slowdown = options.devices[static_cast<size_t>(i)].slowdown;
    if (options.dilation > 0) {
      const DeviceClass& d = options.devices[static_cast<size_t>(i)];
      seams.pacer = std::make_shared<agent::DevicePacer>(agent::DeviceProfile{
          seams.slowdown, options.dilation, d.latency_ms / 1000.0, d.uplink_mbit * 1e6 / 8, d.downlink_mbit * 1e6 / 8});
      fleet->pacers_.push_back(seams.pacer);
    }
    seams.data = std::move(*data);
    const OutagePlan* plan = options.outages;
    auto flag = fleet->faults_flag_;
    seams.link_fault = [plan, flag, i, t0] {
      if (!plan || !flag->load()) return false;
      const double t = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      return plan->link_down(i, t);
    };
    auto loop = agent::AgentLoop::create(std::move(cfg), std::move(seams));
    if (!loop) return Status(loop.status().code(), id + ": " + loop.status().message());
    fleet->agents_.push_back(std::move(*loop));
  }
  return fleet;
}

Fleet::~Fleet() { stop(); }

void Fleet::start() {
  for (auto& a : agents_) {
    agent::AgentLoop* loop = a.get();
    threads_.emplace_back([this, loop] {
      const Status st = loop->run();
      if (!st.is_ok()) {
        log::error("agent_failed").kv("agent", loop->config().agent_id).kv("reason", st.to_string());
        std::lock_guard lock(failures_mu_);
        failures_.push_back(loop->config().agent_id + ": " + st.to_string());
      }
    });
  }
}

void Fleet::pause_training() {
  for (auto& a : agents_) a->set_training(false);
}

void Fleet::stop() {
  for (auto& a : agents_) a->stop();
  for (auto& t : threads_)
    if (t.joinable()) t.join();
  threads_.clear();
}

FleetTotals Fleet::totals() const {
  FleetTotals t;
  for (const auto& a : agents_) {
    const agent::AgentSnapshot s = a->snapshot();
    switch (s.link) {
      case agent::LinkState::kOnline: ++t.online; break;
      case agent::LinkState::kOffline: ++t.offline; break;
      default: ++t.unknown; break;
    }
    t.rounds += s.rounds;
    t.outbox_updates += s.depth.updates;
    t.outbox_telemetry += s.depth.telemetry;
    // The journal's invariant (agent/outbox/FORMAT.md): created = done +
    // aborted + the round stored.
    t.secagg_rounds_active +=
        s.journal.secagg_rounds_created - s.journal.secagg_rounds_done - s.journal.secagg_rounds_aborted;
    const auto& j = s.journal;
    t.journal.updates_created += j.updates_created;
    t.journal.updates_acked += j.updates_acked;
    t.journal.updates_duplicate += j.updates_duplicate;
    t.journal.updates_rejected += j.updates_rejected;
    t.journal.updates_dropped += j.updates_dropped;
    t.journal.telemetry_created += j.telemetry_created;
    t.journal.telemetry_acked += j.telemetry_acked;
    t.journal.telemetry_rejected += j.telemetry_rejected;
    t.journal.telemetry_dropped += j.telemetry_dropped;
  }
  return t;
}

std::vector<std::string> Fleet::agent_ids() const {
  std::vector<std::string> out;
  for (const auto& a : agents_) out.push_back(a->config().agent_id);
  return out;
}

std::vector<std::string> Fleet::failures() const {
  std::lock_guard lock(failures_mu_);
  return failures_;
}

agent::PaceStats Fleet::pace_stats() const {
  agent::PaceStats sum;
  for (const auto& p : pacers_) {
    const agent::PaceStats s = p->stats();
    sum.rounds += s.rounds;
    sum.rounds_behind += s.rounds_behind;
    sum.cpu_s += s.cpu_s;
    sum.device_s += s.device_s;
    sum.network_s += s.network_s;
    sum.overrun_wall_s += s.overrun_wall_s;
  }
  return sum;
}

std::vector<int64_t> Fleet::serving_versions() const {
  std::vector<int64_t> out;
  out.reserve(agents_.size());
  for (const auto& a : agents_) out.push_back(a->serving_version());
  return out;
}

std::vector<std::vector<agent::ServedVersion>> Fleet::served_histories() const {
  std::vector<std::vector<agent::ServedVersion>> out;
  out.reserve(agents_.size());
  for (const auto& a : agents_) out.push_back(a->served_history());
  return out;
}

}  // namespace edgefed::sim
