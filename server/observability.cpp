#include "server/observability.hpp"

#include "edgefed/log.hpp"
#include "server/monitor/fleet_telemetry.hpp"
#include "server/monitor/monitor_observer.hpp"
#include "server/monitor/process_collector.hpp"
#include "server/monitor/version_follower.hpp"

namespace edgefed::server {

void declare_observability_options(Options& o) {
  const monitor::OutlierOptions d;
  o.add("eval-data", "", "directory with the Fashion-MNIST test split (t10k-*-ubyte.gz) to evaluate each new "
                         "version on; empty = report the agents' sample-weighted train loss instead")
      .add("eval-samples", "0", "evaluate on the first N held-out samples (0 = all)")
      .add("outlier-threshold", std::to_string(d.threshold), "robust z-score above which an update is an outlier")
      .add("outlier-window", std::to_string(d.window), "recent fleet updates the outlier median/MAD use")
      .add("quarantine-after", "0", "quarantine an agent with N outlier updates among its last 2N (0 = never)")
      .add("outlier-top-n", std::to_string(d.top_n), "agents exported in edgefed_agent_outlier_score (top by score)")
      .add_bool("outlier-per-agent-metrics", false, "export every agent's outlier score (one series per agent)")
      .add_bool("status-on-metrics-port", false, "also serve the status page and /v1/status on --metrics-listen");
}

ObservabilityConfig read_observability_options(const Options& o) {
  ObservabilityConfig c;
  c.eval.data_dir = o.get("eval-data");
  c.eval.max_samples = o.get_int("eval-samples");
  if (c.eval.max_samples < 0) throw ConfigError("--eval-samples must be >= 0");
  c.outliers.threshold = o.get_double("outlier-threshold");
  if (!(c.outliers.threshold > 0)) throw ConfigError("--outlier-threshold must be > 0");
  const int64_t window = o.get_int("outlier-window");
  if (window < 8) throw ConfigError("--outlier-window must be >= 8");
  c.outliers.window = static_cast<size_t>(window);
  c.outliers.quarantine_after = o.get_int("quarantine-after");
  if (c.outliers.quarantine_after < 0) throw ConfigError("--quarantine-after must be >= 0");
  const int64_t top = o.get_int("outlier-top-n");
  if (top < 0) throw ConfigError("--outlier-top-n must be >= 0");
  c.outliers.top_n = static_cast<size_t>(top);
  c.outliers.per_agent_metrics = o.get_bool("outlier-per-agent-metrics");
  c.status_on_metrics_port = o.get_bool("status-on-metrics-port");
  return c;
}

struct Observability::Impl {
  std::shared_ptr<eval::VersionEvaluator> evaluator;
  std::shared_ptr<monitor::MonitorObserver> observer;
  std::unique_ptr<monitor::VersionFollower> follower;
};

Observability::Observability(const ObservabilityConfig& config, Engine& engine,
                             std::shared_ptr<prometheus::Registry> registry, http::HttpOptions& http)
    : impl_(std::make_unique<Impl>()) {
  Impl& im = *impl_;
  http.status_on_metrics_port = config.status_on_metrics_port;
  if (!config.eval.data_dir.empty()) {
    auto ev = eval::VersionEvaluator::open(config.eval, registry);
    if (!ev.is_ok()) throw ConfigError("--eval-data: " + ev.status().to_string());
    im.evaluator = std::move(ev).value();
    log::info("eval_set_loaded").kv("dir", config.eval.data_dir).kv("samples", im.evaluator->samples());
  }
  auto outliers = std::make_shared<monitor::OutlierMonitor>(
      config.outliers, registry, [&engine](const std::string& agent, const std::string& reason) {
        Status st = engine.set_quarantine(agent, true, reason);
        if (!st.is_ok()) log::error("auto_quarantine_failed").kv("agent", agent).kv("error", st.to_string());
      });
  auto fleet = std::make_shared<monitor::FleetTelemetry>(registry);
  std::vector<monitor::MonitorObserver::Decorator> decorators;
  if (im.evaluator) decorators.push_back([ev = im.evaluator](ServerStatus& s) { ev->decorate(s); });
  im.observer = std::make_shared<monitor::MonitorObserver>(outliers, fleet, std::move(decorators));
  engine.set_observer(im.observer);
  http.extra_collectables.push_back(std::make_shared<monitor::ProcessCollector>());
  http.extra_collectables.push_back(outliers);
  http.extra_collectables.push_back(fleet);

  std::vector<monitor::VersionFollower::Listener> listeners;
  listeners.push_back([obs = im.observer](int64_t v, const Model& m) { obs->on_version(v, m); });
  if (im.evaluator) {
    listeners.push_back([ev = im.evaluator](int64_t v, const Model& m) {
      Status st = ev->evaluate(v, m);
      if (!st.is_ok()) log::warn("eval_failed").kv("version", v).kv("error", st.to_string());
    });
  }
  im.follower = std::make_unique<monitor::VersionFollower>(engine, std::move(listeners));
  im.follower->start();
}

Observability::~Observability() { stop(); }

void Observability::stop() {
  if (impl_->follower) impl_->follower->stop();
}

}  // namespace edgefed::server
