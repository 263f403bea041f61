// EngineCore: the writer's per-job work and what it publishes to readers.
#include <chrono>

#include "edgefed/log.hpp"
#include "edgefed/model_io.hpp"
#include "server/engine/engine_core.hpp"
#include "server/engine/engine_job.hpp"

namespace edgefed::server {

Status EngineCore::handle(Job& job, int64_t& telemetry_stored) {
  switch (job.kind) {
    case Job::Kind::kUpdate: {
      auto ack = keeper_->accept(*job.update);
      if (!ack.is_ok()) return ack.status();
      job.ack = *ack;
      return Status::ok();
    }
    case Job::Kind::kTelemetry: {
      // The store alone decides what is new (INSERT OR IGNORE on (agent, seq)):
      // the metrics and the observers count exactly these records.
      auto inserted = keeper_->store().telemetry().insert(job.agent, job.telemetry->records);
      if (!inserted.is_ok()) return inserted.status();
      job.telemetry_stored = std::move(inserted).value();
      const auto stored = static_cast<int64_t>(job.telemetry_stored.size());
      const int64_t now = now_ms();
      EDGEFED_RETURN_IF_ERROR(keeper_->store().agents().touch(job.agent, now, 0, std::nullopt, stored));
      agents_.touch(job.agent, now, 0, std::nullopt, stored);
      telemetry_stored += stored;
      job.telemetry_ack.acked_through = job.telemetry->records.back().seq;
      return Status::ok();
    }
    case Job::Kind::kAdmin:
      return job.admin(*keeper_);
  }
  return Status(Code::kInternal, "unknown job");
}

void EngineCore::after_commit(int64_t telemetry_stored) {
  KeeperEffects effects = keeper_->take_effects();
  for (const auto& a : effects.accepted) metrics_.observe_accepted(a.staleness, a.age_seconds);
  for (const auto& m : effects.merged) metrics_.observe_merge(m.clipped, m.noise_stddev);
  if (telemetry_stored > 0) metrics_.count_telemetry(telemetry_stored);
  for (const auto& v : effects.versions) {
    if (v.kind == "merge") {
      metrics_.observe_aggregation(v.merge_seconds);
      log::info("version_committed").kv("version", v.version).kv("updates", v.num_updates)
          .kv("weight", v.total_weight).kv("train_loss", v.train_loss.value_or(0.0))
          .kv("gradient_variance", v.gradient_variance).kv("seconds", v.merge_seconds);
    } else {
      log::info("model_replaced").kv("version", v.version).kv("kind", v.kind).kv("parent", v.parent.value_or(-1));
    }
  }
  {
    std::lock_guard<std::mutex> lock(state_mu_);
    telemetry_records_ += telemetry_stored;
  }
  publish();
}

void EngineCore::publish() {
  ModelSnapshot snap = keeper_->snapshot();
  bool changed;
  {
    std::lock_guard<std::mutex> lock(state_mu_);
    changed = snapshot_.version != snap.version || snapshot_.bytes != snap.bytes;
    snapshot_ = snap;
    layout_ = keeper_->layout();
    updates_accepted_ = keeper_->updates_accepted();
    updates_merged_ = keeper_->updates_merged();
    if (changed) {
      history_.clear();
      for (const auto& r : keeper_->history()) {
        VersionPoint p;
        p.version = r.version;
        p.unix_ms = r.created_unix_ms;
        p.loss = r.train_loss;
        p.gradient_variance = r.gradient_variance;
        p.updates = r.num_updates;
        history_.push_back(p);
        if (r.train_loss) {
          global_loss_ = r.train_loss;
          gradient_variance_ = r.gradient_variance;
        }
      }
    }
  }
  metrics_.set_buffered(keeper_->buffered());
  metrics_.set_aggregator_memory(keeper_->aggregator_memory_bytes());
  if (!changed) return;
  metrics_.set_version(snap.version);
  if (global_loss_) metrics_.set_global_loss(*global_loss_);
  metrics_.set_gradient_variance(gradient_variance_);
  waiters_.publish(snap);
}

ModelSnapshot EngineCore::current_model() const {
  std::lock_guard<std::mutex> lock(state_mu_);
  return snapshot_;
}

uint64_t EngineCore::on_version_after(int64_t after, std::function<void(ModelSnapshot)> cb) {
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

Result<Task> EngineCore::task_for(const std::string& agent_id) {
  if (!valid_agent_id(agent_id)) return Status(Code::kInvalidArgument, "invalid agent id");
  if (agents_.quarantined(agent_id)) return Status(Code::kPermissionDenied, "agent " + agent_id + " is quarantined");
  Task t;
  t.agent_id = agent_id;
  {
    std::lock_guard<std::mutex> lock(state_mu_);
    t.model_version = snapshot_.version;
    t.layout_fingerprint = layout_->fingerprint();
  }
  t.mode = options_.mode;
  t.round = t.model_version;
  t.epochs = options_.task_epochs;
  t.steps = options_.task_steps;
  t.batch_size = options_.task_batch_size;
  t.lr = options_.task_lr;
  t.momentum = options_.task_momentum;
  t.weight_decay = options_.task_weight_decay;
  t.proximal_mu = options_.task_proximal_mu;
  t.clip_norm = options_.task_clip_norm;
  t.encoding = options_.task_encoding;
  if (options_.task_deadline_s > 0) {
    t.deadline_unix_ms = now_ms() + static_cast<int64_t>(options_.task_deadline_s * 1000);
  }
  return t;
}

ServerStatus EngineCore::status() const {
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
  }
  s.mode = options_.mode;
  s.loss_source = "reported";
  s.agent_list = agents_.list(now_ms());
  s.agents = static_cast<int64_t>(s.agent_list.size());
  return s;
}

std::vector<AgentStatus> EngineCore::agents() const { return agents_.list(now_ms()); }

}  // namespace edgefed::server
