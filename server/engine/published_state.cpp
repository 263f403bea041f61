#include "server/engine/published_state.hpp"

#include "server/engine/version_keeper.hpp"

#include <cmath>

namespace edgefed::server {

PublishedState::Prepared PublishedState::prepare(const VersionKeeper& keeper) {
  Prepared p;
  p.snapshot = keeper.snapshot();
  p.layout = keeper.layout();
  p.updates_accepted = keeper.updates_accepted();
  p.updates_merged = keeper.updates_merged();
  if (prepared_version_ != p.snapshot.version || prepared_bytes_ != p.snapshot.bytes) {
    prepared_version_ = p.snapshot.version;
    prepared_bytes_ = p.snapshot.bytes;
    std::vector<VersionPoint> history;
    for (const auto& r : keeper.history()) {
      VersionPoint v;
      v.version = r.version;
      v.unix_ms = r.created_unix_ms;
      v.loss = r.train_loss;
      v.gradient_variance = r.gradient_variance;
      v.updates = r.num_updates;
      history.push_back(v);
      if (r.train_loss) {
        p.global_loss = r.train_loss;
        p.gradient_variance = r.gradient_variance;
      }
    }
    p.history = std::move(history);
  }
  p.serving = keeper.channels().view();
  p.buffered = keeper.buffered();
  p.aggregator_memory_bytes = keeper.aggregator_memory_bytes();
  return p;
}

void PublishedState::install(Prepared p) {
  bool changed;
  bool serving_changed;
  {
    std::lock_guard<std::mutex> lock(state_mu_);
    changed = snapshot_.version != p.snapshot.version || snapshot_.bytes != p.snapshot.bytes;
    snapshot_ = p.snapshot;
    layout_ = std::move(p.layout);
    updates_accepted_ = p.updates_accepted;
    updates_merged_ = p.updates_merged;
    if (p.history) {
      history_ = std::move(*p.history);
      if (p.global_loss) {
        global_loss_ = p.global_loss;
        gradient_variance_ = p.gradient_variance;
      }
    }
    serving_changed = p.serving != serving_;
    serving_ = p.serving;
  }
  if (serving_changed) {
    const auto& serving = p.serving;
    auto figure = [&](int64_t version) {
      auto it = serving->validations.find(version);
      return it == serving->validations.end() ? std::nan("") : it->second.value;
    };
    int64_t on_stable = 0, on_canary = 0, other = 0;
    for (const auto& [version, n] : serving->serving_agents) {
      if (version == serving->stable) on_stable += n;
      else if (version == serving->canary) on_canary += n;
      else other += n;
    }
    metrics_.set_serving(serving->stable, serving->canary, figure(serving->stable), figure(serving->canary),
                         on_stable, on_canary, other);
  }
  metrics_.set_buffered(p.buffered);
  metrics_.set_aggregator_memory(p.aggregator_memory_bytes);
  if (!changed) return;
  metrics_.set_version(p.snapshot.version);
  if (global_loss_) metrics_.set_global_loss(*global_loss_);
  metrics_.set_gradient_variance(gradient_variance_);
  waiters_.publish(p.snapshot);
}

void PublishedState::count_telemetry(int64_t records) {
  std::lock_guard<std::mutex> lock(state_mu_);
  telemetry_records_ += records;
}

ModelSnapshot PublishedState::current_model() const {
  std::lock_guard<std::mutex> lock(state_mu_);
  return snapshot_;
}

PublishedState::Current PublishedState::current() const {
  std::lock_guard<std::mutex> lock(state_mu_);
  return {snapshot_, layout_};
}

std::shared_ptr<const ModelLayout> PublishedState::layout() const {
  std::lock_guard<std::mutex> lock(state_mu_);
  return layout_;
}

uint64_t PublishedState::on_version_after(int64_t after, std::function<void(ModelSnapshot)> cb) {
  // Registering and checking against the published snapshot must not race
  // with publish(): hold state_mu_ across both, callbacks run outside it.
  std::unique_lock<std::mutex> lock(state_mu_);
  ModelSnapshot snap = snapshot_;
  if (snap.version > after) {
    lock.unlock();
    return waiters_.add(after, std::move(cb), snap);
  }
  return waiters_.add(after, std::move(cb), snap);  // only registers: snap.version <= after
}

std::shared_ptr<const ServingView> PublishedState::serving() const {
  std::lock_guard<std::mutex> lock(state_mu_);
  return serving_;
}

void PublishedState::set_replica(ReplicaSummary replica) {
  std::lock_guard<std::mutex> lock(state_mu_);
  replica_ = std::move(replica);
}

ServerStatus PublishedState::status() const {
  ServerStatus s;
  {
    std::lock_guard<std::mutex> lock(state_mu_);
    s.model_version = snapshot_.version;
    s.layout = layout_->describe();
    s.updates_accepted = updates_accepted_;
    s.updates_merged = updates_merged_;
    s.telemetry_records = telemetry_records_;
    s.global_loss = global_loss_;
    s.gradient_variance = gradient_variance_;
    s.history = history_;
    s.replica = replica_;
  }
  s.mode = options_.mode;
  s.loss_source = "reported";
  s.agent_list = agents_.list(now_ms());
  s.agents = static_cast<int64_t>(s.agent_list.size());
  return s;
}

}  // namespace edgefed::server
