#include "server/engine/group_commit_writer.hpp"

#include <pthread.h>

#include <algorithm>
#include <chrono>
#include <cmath>

#include <nlohmann/json.hpp>

#include "edgefed/log.hpp"

namespace edgefed::server {

namespace {

// A failure that aborts the whole transaction (a refused update does not).
// kUnavailable inside a transaction can only come from the store (disk full,
// failed write or fsync, busy: edgefed/sqlite/error.hpp): the batch fails
// with it, so every call in it answers 503 and may be retried.
bool fatal(const Status& s) {
  return s.code() == Code::kIo || s.code() == Code::kInternal || s.code() == Code::kUnavailable;
}

// Answers every job of a batch that is not run at all.
void refuse(const std::vector<GroupCommitWriter::Job*>& batch, const Status& why) {
  for (GroupCommitWriter::Job* j : batch) {
    j->status = why;
    j->complete();
  }
}

}  // namespace

GroupCommitWriter::GroupCommitWriter(const EngineOptions& options, Clock& clock, EngineMetrics& metrics,
                                     AgentRegistry& agents, PublishedState& state)
    : options_(options), clock_(clock), metrics_(metrics), agents_(agents), state_(state) {}

GroupCommitWriter::~GroupCommitWriter() { stop(); }

void GroupCommitWriter::start(std::unique_ptr<VersionKeeper> keeper, std::unique_ptr<ReplicaSet> replicas) {
  keeper_ = std::move(keeper);
  replicas_ = std::move(replicas);
  if (!replicas_) {
    metrics_.set_replica(true, 1, 0, 0);
  } else {
    // Until the first tick: a follower that knows nothing of the others.
    ReplicaSummary summary;
    summary.name = replicas_->name();
    state_.set_replica(std::move(summary));
    metrics_.set_replica(false, 1, 0, 0);
  }
  if (keeper_->store().defers_sync()) {
    // The store outlives the syncer: stop() stops it before closing the
    // keeper.
    syncer_ = std::make_unique<CommitSyncer>([store = &keeper_->store()] { return store->sync_committed(); },
                                             [this](double seconds, size_t batches, bool ok) {
                                               if (ok) metrics_.observe_fsync(seconds, batches);
                                               else metrics_.set_fsync_failed();
                                             });
  }
  writer_ = std::thread([this] {
    // Named for `top -H` and perf: the one thread every write goes through.
    pthread_setname_np(pthread_self(), "edgefed-writer");
    writer_loop();
  });
  ready_ = true;
}

void GroupCommitWriter::stop() {
  std::lock_guard<std::mutex> once(stop_mu_);
  {
    std::lock_guard<std::mutex> lock(queue_mu_);
    if (stopping_ && !writer_.joinable()) return;
    stopping_ = true;
    ready_ = false;
  }
  queue_cv_.notify_all();
  if (writer_.joinable()) writer_.join();  // drains the queue: in-flight calls complete
  if (syncer_) syncer_->stop();           // ... once their commits are durable
  if (replicas_) {
    // A clean stop hands the leadership on at once (a killed replica's
    // session ends with its process, which does the same).
    replicas_->leave();
    replicas_.reset();
  }
  keeper_.reset();  // closes the database
}

Status GroupCommitWriter::run(Job& job) {
  std::future<void> done = job.done.get_future();
  EDGEFED_RETURN_IF_ERROR(submit(job));
  done.wait();
  return job.status;
}

Status GroupCommitWriter::submit(Job& job) {
  {
    std::lock_guard<std::mutex> lock(queue_mu_);
    if (stopping_) return Status(Code::kUnavailable, "the engine is shutting down");
    if (writes_stopped()) return syncer_->failure();
    if (job.kind == Job::Kind::kUpdate) {
      if (queued_updates_ >= options_.max_queued_updates) {
        return Status(Code::kUnavailable, "too many updates waiting to be stored; retry later");
      }
      ++queued_updates_;
    }
    queue_.push_back(&job);
  }
  queue_cv_.notify_one();
  return Status::ok();
}

void GroupCommitWriter::writer_loop() {
  std::unique_lock<std::mutex> lock(queue_mu_);
  for (;;) {
    queue_cv_.wait_for(lock, std::chrono::milliseconds(options_.timer_tick_ms),
                       [&] { return !queue_.empty() || stopping_; });
    std::vector<Job*> batch = take_batch();
    const bool stopping = stopping_;
    lock.unlock();
    if (!batch.empty()) run_batch(batch);
    if (!stopping) run_timers();
    lock.lock();
    if (stopping_ && queue_.empty()) return;
  }
}

std::vector<GroupCommitWriter::Job*> GroupCommitWriter::take_batch() {
  std::vector<Job*> batch;
  // Admin jobs run alone; updates and telemetry share transactions.
  while (!queue_.empty() && static_cast<int64_t>(batch.size()) < options_.group_commit_max) {
    Job* j = queue_.front();
    if (j->kind == Job::Kind::kAdmin && !batch.empty()) break;
    queue_.pop_front();
    if (j->kind == Job::Kind::kUpdate) --queued_updates_;
    batch.push_back(j);
    if (j->kind == Job::Kind::kAdmin) break;
  }
  return batch;
}

void GroupCommitWriter::run_batch(const std::vector<Job*>& batch) {
  // Committed state may be missing from disk: write nothing more.
  if (writes_stopped()) return refuse(batch, syncer_->failure());
  // Nothing is known to be current: refuse rather than act on stale state.
  if (!reload_lost_state()) {
    return refuse(batch, Status(Code::kUnavailable, "the state database cannot be reached; retry later"));
  }
  int64_t telemetry_stored = 0;
  Status st = keeper_->begin();
  for (size_t i = 0; st.is_ok() && i < batch.size(); ++i) {
    Job& job = *batch[i];
    job.status = handle(job, telemetry_stored);
    if (fatal(job.status)) st = job.status;
    // Close the version as soon as it is full, so the next update in this
    // batch is acknowledged against the new version.
    if (st.is_ok() && job.kind == Job::Kind::kUpdate) {
      auto merged = keeper_->merge_if_due();
      if (!merged.is_ok()) st = merged.status();
    }
  }
  // A relay forms a chunk in the transaction that accepted its K-th update:
  // the partial sum leaves as soon as it is whole.
  int64_t formed = 0;
  keeper_->set_relay_uplink_up(relay_uplink_up_.load(std::memory_order_relaxed));
  if (st.is_ok() && keeper_->relay_batches_due()) {
    auto n = keeper_->form_relay_batches(false);
    if (n.is_ok()) formed = *n;
    else st = n.status();
  }
  if (st.is_ok()) st = keeper_->commit();
  if (st.is_ok() && formed > 0) relay_batches_formed_.fetch_add(formed, std::memory_order_relaxed);
  if (!st.is_ok()) {
    log::error("transaction_failed").kv("error", st.to_string()).kv("jobs", batch.size());
    Status reloaded = keeper_->abort();
    if (!reloaded.is_ok()) {
      log::error("state_reload_failed").kv("error", reloaded.to_string());
      state_lost_ = true;  // refuse work until a reload succeeds
      next_reload_s_ = clock_.monotonic_s() + 1.0;
    }
    for (Job* j : batch) {
      j->status = st;
      j->telemetry_stored.clear();  // rolled back: nothing was stored
    }
    telemetry_stored = 0;
  } else {
    metrics_.observe_commit(batch.size());
  }
  after_commit(telemetry_stored, batch);
}

Status GroupCommitWriter::handle(Job& job, int64_t& telemetry_stored) {
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
      // Validation records feed the serving channels (in this transaction).
      for (const auto& rec : job.telemetry_stored)
        EDGEFED_RETURN_IF_ERROR(keeper_->channels().observe(keeper_->store().channels(), job.agent, rec, now));
      // The class a system record names spreads the canary cohort (the last
      // one in the batch wins; a bad name is not a class).
      for (auto it = job.telemetry_stored.rbegin(); it != job.telemetry_stored.rend(); ++it) {
        if (it->kind != "system") continue;
        auto cls = it->labels.find("device_class");
        if (cls == it->labels.end() || !valid_telemetry_key(cls->second)) break;
        if (cls->second != agents_.device_class(job.agent)) {
          EDGEFED_RETURN_IF_ERROR(keeper_->store().agents().set_device_class(job.agent, cls->second, now));
          agents_.set_device_class(job.agent, cls->second, now);
        }
        break;
      }
      job.telemetry_ack.acked_through = job.telemetry->records.back().seq;
      return Status::ok();
    }
    case Job::Kind::kAdmin:
      return job.admin(*keeper_);
  }
  return Status(Code::kInternal, "unknown job");
}

bool GroupCommitWriter::reload_lost_state() {
  if (!state_lost_) return true;
  const double now = clock_.monotonic_s();
  if (now < next_reload_s_) return false;
  next_reload_s_ = now + 1.0;
  if (Status st = keeper_->abort(); !st.is_ok()) {
    log::warn("state_reload_failed").kv("error", st.to_string());
    return false;
  }
  log::info("state_reloaded").kv("version", keeper_->version()).kv("buffered", keeper_->buffered());
  state_lost_ = false;
  after_commit(0);
  return true;
}

void GroupCommitWriter::run_timers() {
  if (writes_stopped()) return;
  if (!reload_lost_state()) return;
  if (replicas_) tick_replicas();
  if (state_lost_) return;
  if (keeper_->merge_due()) {
    Status st = keeper_->begin();
    if (st.is_ok()) st = keeper_->merge();
    if (st.is_ok()) st = keeper_->commit();
    if (!st.is_ok()) {
      log::error("timed_merge_failed").kv("error", st.to_string());
      if (!keeper_->abort().is_ok()) state_lost_ = true;
    }
    after_commit(0);
  }
  if (state_lost_) return;
  // A relay's remainders whose flush time came.
  keeper_->set_relay_uplink_up(relay_uplink_up_.load(std::memory_order_relaxed));
  if (keeper_->relay_batches_due()) {
    Status st = keeper_->begin();
    auto formed = st.is_ok() ? keeper_->form_relay_batches(false) : Result<int64_t>(st);
    if (formed.is_ok()) st = keeper_->commit();
    else st = formed.status();
    if (!st.is_ok()) {
      log::error("relay_batches_failed").kv("error", st.to_string());
      if (!keeper_->abort().is_ok()) state_lost_ = true;
    } else if (*formed > 0) {
      relay_batches_formed_.fetch_add(*formed, std::memory_order_relaxed);
    }
  }
  if (state_lost_) return;
  // Channel decisions are the leader's, like versions.
  if (keeper_->merging() && keeper_->channels().due(keeper_->version(), agents_.roster_generation(), now_ms())) {
    const int64_t now_unix = now_ms();
    const uint64_t roster = agents_.roster_generation();
    std::vector<CohortCandidate> fleet;
    for (auto& a : agents_.list(now_unix)) fleet.push_back({std::move(a.agent_id), std::move(a.device_class)});
    Status st = keeper_->begin();
    if (st.is_ok())
      st = keeper_->channels().tick(keeper_->store().channels(), keeper_->version(), fleet, roster, now_unix);
    if (st.is_ok()) st = keeper_->commit();
    if (!st.is_ok()) {
      log::error("channel_tick_failed").kv("error", st.to_string());
      if (!keeper_->abort().is_ok()) state_lost_ = true;
    }
    after_commit(0);
  }
  const double now = clock_.monotonic_s();
  if (now >= next_agent_metrics_s_) {
    next_agent_metrics_s_ = now + 1.0;
    auto c = agents_.counts(now_ms());
    metrics_.set_agents(c.active, c.idle, c.offline, c.quarantined);
  }
}

void GroupCommitWriter::tick_replicas() {
  const double now_s = clock_.monotonic_s();
  if (now_s < next_replica_tick_s_) return;
  next_replica_tick_s_ = now_s + options_.replica_poll_s;
  const int64_t loaded = keeper_->version();
  auto view = replicas_->tick(loaded, now_ms());
  if (!view.is_ok()) {
    if (!replica_tick_failing_) {
      log::warn("replica_tick_failed").kv("replica", replicas_->name()).kv("error", view.status().to_string());
      replica_tick_failing_ = true;
    }
    if (keeper_->merging() && !replicas_->leading()) {
      // The session that held the leadership is gone: another replica may
      // lead already. Merge nothing more; the version fence would refuse it.
      log::warn("leadership_lost").kv("replica", replicas_->name()).kv("version", loaded);
      keeper_->set_merging(false);
      if (!keeper_->reload().is_ok()) state_lost_ = true;
      after_commit(0);
    }
    return;
  }
  if (replica_tick_failing_) {
    log::info("replica_tick_resumed").kv("replica", replicas_->name());
    replica_tick_failing_ = false;
  }
  // Nothing here depends on the clocks agreeing (the leadership is a
  // database session, heartbeats use the database's clock), but versions
  // and the ledger carry this replica's timestamps: say when they are off.
  const bool skewed = std::abs(view->clock_skew_s) > 1.0;
  if (skewed != clock_skewed_) {
    clock_skewed_ = skewed;
    if (skewed) {
      log::warn("replica_clock_skew").kv("replica", replicas_->name()).kv("skew_seconds", view->clock_skew_s);
    } else {
      log::info("replica_clock_ok").kv("replica", replicas_->name()).kv("skew_seconds", view->clock_skew_s);
    }
  }
  Status st = Status::ok();
  // Whether the keeper's state moved (and so needs publishing).
  bool changed = true;
  if (view->leading != keeper_->merging()) {
    const auto t0 = std::chrono::steady_clock::now();
    keeper_->set_merging(view->leading);
    // The leader takes over the whole state from the database: the newest
    // version, its optimizer state, the round or buffer (every pending
    // update, whichever replica recorded it).
    st = keeper_->reload();
    const double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (view->leading) {
      metrics_.count_leader_election();
      log::info("leader_elected").kv("replica", replicas_->name()).kv("version", keeper_->version())
          .kv("buffered", keeper_->buffered()).kv("live_replicas", view->live_replicas).kv("reload_seconds", took);
    } else {
      log::warn("leadership_lost").kv("replica", replicas_->name()).kv("version", keeper_->version())
          .kv("leader", view->leader);
    }
  } else if (keeper_->merging()) {
    auto absorbed = keeper_->absorb_pending();
    st = absorbed.status();
    changed = !absorbed.is_ok() || *absorbed > 0;
  } else if (view->newest_version > loaded) {
    st = keeper_->reload();
  } else {
    changed = false;
  }
  // Channels and agents are written by every replica: reload them from the
  // database now and then, so the leader decides (and every replica
  // answers) on the fleet's whole picture.
  if (st.is_ok() && ++replica_ticks_ % 5 == 0) {
    changed = true;
    st = keeper_->channels().load(keeper_->store().channels());
    if (st.is_ok()) {
      auto agents = keeper_->store().agents().load_all();
      if (agents.is_ok()) agents_.load(*agents);
      else st = agents.status();
    }
  }
  if (!st.is_ok()) {
    log::error("replica_reload_failed").kv("replica", replicas_->name()).kv("error", st.to_string());
    if (!keeper_->abort().is_ok()) {
      state_lost_ = true;
      next_reload_s_ = now_s + 1.0;
    }
  }
  ReplicaSummary summary;
  summary.name = replicas_->name();
  summary.leader = keeper_->merging();
  summary.leader_name = view->leader;
  summary.live_replicas = view->live_replicas;
  summary.database_version = view->newest_version;
  summary.clock_skew_s = view->clock_skew_s;
  metrics_.set_replica(summary.leader, summary.live_replicas, summary.clock_skew_s,
                       std::max<int64_t>(0, view->newest_version - keeper_->version()));
  state_.set_replica(std::move(summary));
  if (changed || !st.is_ok()) after_commit(0);
}

void GroupCommitWriter::after_commit(int64_t telemetry_stored, std::vector<Job*> jobs) {
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
  for (const auto& e : keeper_->channels().take_events()) {
    // The audit trail of serving: every channel change, with its reason.
    nlohmann::json detail = {{"version", e.version},
                             {"from", std::string(enum_name(e.from))},
                             {"to", std::string(enum_name(e.to))},
                             {"reason", e.reason}};
    log::info("audit").kv("who", "engine").kv("action", "channel").kv_json("detail", detail.dump()).kv("result", "ok");
    if (e.from == Channel::kCanary && (e.to == Channel::kStable || e.to == Channel::kRejected))
      metrics_.count_channel_decision(e.to == Channel::kStable);
  }
  if (!syncer_) {
    state_.count_telemetry(telemetry_stored);
    state_.publish(*keeper_);
    for (Job* j : jobs) j->complete();
    return;
  }
  // Pipelined: what readers see and every answer wait for the fsync, so
  // nothing is shown or acknowledged that a power loss could take back.
  // (std::function needs a copyable capture: the prepared state is shared.)
  auto prepared = std::make_shared<PublishedState::Prepared>(state_.prepare(*keeper_));
  syncer_->submit([this, prepared, telemetry_stored, jobs = std::move(jobs)](const Status& synced) {
    if (synced.is_ok()) {
      state_.count_telemetry(telemetry_stored);
      state_.install(std::move(*prepared));
    } else {
      for (Job* j : jobs) {
        if (!j->status.is_ok()) continue;  // refused on its own: nothing of it was stored
        j->status = synced;
        j->telemetry_stored.clear();
      }
    }
    for (Job* j : jobs) j->complete();
  });
}

}  // namespace edgefed::server
