#include "server/engine/engine_core.hpp"

#include <future>

#include "edgefed/float_sums.hpp"
#include "edgefed/log.hpp"
#include "edgefed/sha256.hpp"
#include "edgefed/update_codec.hpp"
#include "server/engine/engine_job.hpp"

namespace edgefed::server {

namespace {

// A failure that aborts the whole transaction (a refused update does not).
// kUnavailable inside a transaction can only come from the store (disk full,
// failed write or fsync, busy: edgefed/sqlite/error.hpp): the batch fails
// with it, so every call in it answers 503 and may be retried.
bool fatal(const Status& s) {
  return s.code() == Code::kIo || s.code() == Code::kInternal || s.code() == Code::kUnavailable;
}

}  // namespace

EngineCore::EngineCore(const EngineOptions& options, std::shared_ptr<prometheus::Registry> metrics)
    : options_(options),
      clock_(options.clock ? options.clock : std::make_shared<SystemClock>()),
      metrics_(std::move(metrics)),
      agents_(options.agent_active_s, options.agent_offline_s) {}

Result<std::unique_ptr<EngineCore>> EngineCore::open(const EngineOptions& options,
                                                     std::shared_ptr<prometheus::Registry> metrics) {
  EDGEFED_RETURN_IF_ERROR(validate(options));
  std::unique_ptr<EngineCore> core(new EngineCore(options, std::move(metrics)));
  auto keeper = VersionKeeper::open(options, *core->clock_, core->agents_);
  if (!keeper.is_ok()) return keeper.status();
  core->keeper_ = std::move(keeper).value();
  auto telemetry = core->keeper_->store().telemetry().count();
  if (!telemetry.is_ok()) return telemetry.status();
  core->telemetry_records_ = *telemetry;
  (void)core->keeper_->take_effects();
  core->publish();
  core->writer_ = std::thread([c = core.get()] { c->writer_loop(); });
  core->ready_ = true;
  log::info("engine_open").kv("mode", options.mode).kv("version", core->keeper_->version())
      .kv("buffered", core->keeper_->buffered()).kv("layout", core->keeper_->layout()->describe())
      .kv("aggregator", std::string(core->keeper_->aggregator_name()))
      .kv("server_optimizer", std::string(core->keeper_->optimizer_name()))
      .kv("server_lr", effective_server_lr(options));
  return core;
}

EngineCore::~EngineCore() { shutdown(); }

void EngineCore::shutdown() {
  std::lock_guard<std::mutex> once(shutdown_mu_);
  {
    std::lock_guard<std::mutex> lock(queue_mu_);
    if (stopping_ && !writer_.joinable()) return;
    stopping_ = true;
    ready_ = false;
  }
  queue_cv_.notify_all();
  if (writer_.joinable()) writer_.join();  // drains the queue: in-flight calls complete
  waiters_.clear();
  keeper_.reset();  // closes the database
}

Result<UpdateAck> EngineCore::submit_update(const std::string& cert_agent_id, std::span<const uint8_t> body,
                                            std::vector<float>* decoded_delta) {
  auto r = submit_decoded(cert_agent_id, body, decoded_delta);
  if (r.is_ok()) {
    metrics_.count_update(r->duplicate ? "duplicate" : "accepted");
  } else {
    metrics_.count_update(r.status());
  }
  return r;
}

Result<UpdateAck> EngineCore::submit_decoded(const std::string& cert_agent_id, std::span<const uint8_t> body,
                                             std::vector<float>* decoded_delta) {
  if (!ready_) return Status(Code::kUnavailable, "the engine is not accepting updates");
  if (agents_.quarantined(cert_agent_id)) {
    return Status(Code::kPermissionDenied, "agent " + cert_agent_id + " is quarantined");
  }
  std::shared_ptr<const ModelLayout> layout;
  {
    std::lock_guard<std::mutex> lock(state_mu_);
    layout = layout_;
  }
  // The CPU-heavy part, on the caller's thread and outside every lock.
  auto decoded = decode_update(body, *layout);
  if (!decoded.is_ok()) return decoded.status();
  if (decoded->meta.agent_id != cert_agent_id) {
    return Status(Code::kPermissionDenied, "update metadata says agent " + decoded->meta.agent_id +
                                               " but the client certificate is " + cert_agent_id);
  }
  IncomingUpdate u;
  u.meta = decoded->meta;
  u.delta = decoded->delta;
  u.body = body;
  u.body_sha256 = sha256_hex({reinterpret_cast<const char*>(body.data()), body.size()});
  u.layout_fingerprint = layout->fingerprint();
  u.norm2 = sum_squares(decoded->delta);
  Job job;
  job.kind = Job::Kind::kUpdate;
  job.update = &u;
  EDGEFED_RETURN_IF_ERROR(run(job));
  if (decoded_delta) *decoded_delta = std::move(decoded->delta);
  return job.ack;
}

Result<TelemetryAck> EngineCore::submit_telemetry(const std::string& cert_agent_id, const TelemetryBatch& batch,
                                                  TelemetryBatch* newly_stored) {
  if (!ready_) return Status(Code::kUnavailable, "the engine is not accepting telemetry");
  if (batch.agent_id != cert_agent_id) {
    return Status(Code::kPermissionDenied, "telemetry batch says agent " + batch.agent_id +
                                               " but the client certificate is " + cert_agent_id);
  }
  if (batch.records.empty() || batch.records.size() > options_.telemetry_max_records) {
    return Status(Code::kInvalidArgument, "a telemetry batch holds 1.." +
                                              std::to_string(options_.telemetry_max_records) + " records");
  }
  for (size_t i = 0; i < batch.records.size(); ++i) {
    if (batch.records[i].seq < 1 || (i > 0 && batch.records[i].seq <= batch.records[i - 1].seq)) {
      return Status(Code::kInvalidArgument, "telemetry seq must be >= 1 and strictly increasing");
    }
  }
  Job job;
  job.kind = Job::Kind::kTelemetry;
  job.agent = cert_agent_id;
  job.telemetry = &batch;
  EDGEFED_RETURN_IF_ERROR(run(job));
  if (newly_stored) {
    newly_stored->agent_id = batch.agent_id;
    newly_stored->records = std::move(job.telemetry_stored);
  }
  return job.telemetry_ack;
}

Status EngineCore::run(Job& job) {
  std::future<void> done = job.done.get_future();
  {
    std::lock_guard<std::mutex> lock(queue_mu_);
    if (stopping_) return Status(Code::kUnavailable, "the engine is shutting down");
    if (job.kind == Job::Kind::kUpdate) {
      if (queued_updates_ >= options_.max_queued_updates) {
        return Status(Code::kUnavailable, "too many updates waiting to be stored; retry later");
      }
      ++queued_updates_;
    }
    queue_.push_back(&job);
  }
  queue_cv_.notify_one();
  done.wait();
  return job.status;
}

void EngineCore::writer_loop() {
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

std::vector<EngineCore::Job*> EngineCore::take_batch() {
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

void EngineCore::run_batch(const std::vector<Job*>& batch) {
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
  if (st.is_ok()) st = keeper_->commit();
  if (!st.is_ok()) {
    log::error("transaction_failed").kv("error", st.to_string()).kv("jobs", batch.size());
    Status reloaded = keeper_->abort();
    if (!reloaded.is_ok()) {
      log::error("state_reload_failed").kv("error", reloaded.to_string());
      ready_ = false;  // refuse further work; the process should restart
    }
    for (Job* j : batch) {
      j->status = st;
      j->telemetry_stored.clear();  // rolled back: nothing was stored
    }
    telemetry_stored = 0;
  } else {
    metrics_.observe_commit(batch.size());
  }
  after_commit(telemetry_stored);
  for (Job* j : batch) j->done.set_value();
}

void EngineCore::run_timers() {
  if (keeper_->merge_due()) {
    Status st = keeper_->begin();
    if (st.is_ok()) st = keeper_->merge();
    if (st.is_ok()) st = keeper_->commit();
    if (!st.is_ok()) {
      log::error("timed_merge_failed").kv("error", st.to_string());
      if (!keeper_->abort().is_ok()) ready_ = false;
    }
    after_commit(0);
  }
  const double now = clock_->monotonic_s();
  if (now >= next_agent_metrics_s_) {
    next_agent_metrics_s_ = now + 1.0;
    auto c = agents_.counts(now_ms());
    metrics_.set_agents(c.active, c.idle, c.offline, c.quarantined);
  }
}

}  // namespace edgefed::server
