#include "server/observability.hpp"

#include "edgefed/log.hpp"
#include "server/monitor/fleet_telemetry.hpp"
#include "server/monitor/monitor_observer.hpp"
#include "server/monitor/process_collector.hpp"
#include "server/monitor/version_follower.hpp"

namespace edgefed::server {

struct Observability::Impl {
  std::shared_ptr<eval::VersionEvaluator> evaluator;
  std::shared_ptr<monitor::MonitorObserver> observer;
  std::unique_ptr<monitor::VersionFollower> follower;
};

Observability::Observability(const ObservabilityConfig& config, Engine& engine,
                             std::shared_ptr<prometheus::Registry> registry, http::HttpOptions& http)
    : impl_(std::make_unique<Impl>()) {
  Impl& im = *impl_;
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
