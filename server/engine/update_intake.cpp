#include "server/engine/update_intake.hpp"

#include <future>

#include "edgefed/float_sums.hpp"
#include "edgefed/log.hpp"
#include "edgefed/update_codec.hpp"
#include "server/engine/agent_registry.hpp"
#include "server/engine/body_digest.hpp"
#include "server/engine/engine_metrics.hpp"
#include "server/engine/group_commit_writer.hpp"
#include "server/engine/published_state.hpp"
#include "server/engine/version_keeper.hpp"
#include "server/store/update_spool.hpp"

namespace edgefed::server {

using Job = GroupCommitWriter::Job;

struct UpdateIntake::Pending {
  Job job;
  std::string agent;
  std::span<const uint8_t> body;
  std::shared_ptr<const void> owner;  // keeps body alive
  std::vector<float> scratch;         // the delta, when it cannot view the body
  DecodedUpdateView decoded;
  IncomingUpdate update;
  UpdateDone done;
  Defer defer;
  std::shared_ptr<Pending> self;  // while queued: the job owns its Pending
};

UpdateIntake::UpdateIntake(const EngineOptions& options, EngineMetrics& metrics, const AgentRegistry& agents,
                           const PublishedState& state, GroupCommitWriter& writer)
    : options_(options), metrics_(metrics), agents_(agents), state_(state), writer_(writer) {}

Result<UpdateAck> UpdateIntake::submit_update(const std::string& cert_agent_id, std::span<const uint8_t> body) {
  // The async call, waited for. The observer runs here, on the caller's
  // thread, before the answer is returned (as engine_observer.hpp says).
  std::promise<Result<UpdateAck>> answer;
  std::function<void()> observe;
  submit_update_async(
      cert_agent_id, body, nullptr, [&](Result<UpdateAck> ack) { answer.set_value(std::move(ack)); },
      [&](std::function<void()> task) { observe = std::move(task); });
  auto ack = answer.get_future().get();
  if (observe) observe();
  return ack;
}

void UpdateIntake::submit_update_async(const std::string& cert_agent_id, std::span<const uint8_t> body,
                                       std::shared_ptr<const void> owner, UpdateDone done, Defer defer) {
  auto p = std::make_shared<Pending>();
  p->agent = cert_agent_id;
  p->body = body;
  p->owner = std::move(owner);
  p->done = std::move(done);
  p->defer = std::move(defer);
  if (Status st = prepare(*p); !st.is_ok()) return finish(std::move(p), st);
  p->job.kind = Job::Kind::kUpdate;
  p->job.update = &p->update;
  // Nothing else holds the Pending while it is queued: it holds itself until
  // the job completes (finish() then owns it; it is freed after `done`).
  Pending* raw = p.get();
  p->job.on_done = [this, raw](Job& job) {
    finish(std::move(raw->self), job.status.is_ok() ? Result<UpdateAck>(job.ack) : Result<UpdateAck>(job.status));
  };
  p->self = p;
  if (Status st = writer_.submit(p->job); !st.is_ok()) {
    p->self.reset();
    finish(std::move(p), st);
  }
}

void UpdateIntake::finish(std::shared_ptr<Pending> p, Result<UpdateAck> ack) {
  const bool accepted = ack.is_ok() && !ack->duplicate;
  // A body no row names is free again at once.
  if (p->update.spooled && !accepted) spool_->release(p->update.spooled->offset);
  if (ack.is_ok()) {
    metrics_.count_update(ack->duplicate ? "duplicate" : "accepted");
    if (accepted) accepted_updates_.fetch_add(1, std::memory_order_relaxed);
  } else {
    metrics_.count_update(ack.status());
  }
  if (observer_ && accepted) {
    p->defer([observer = observer_, p, ack = *ack] {
      observer->on_update(p->agent, p->decoded.delta, p->decoded.norm2, ack);
    });
  }
  p->done(std::move(ack));
}

Result<UpdateAck> UpdateIntake::submit_aggregate(const std::string& session, int64_t base_version,
                                                 std::span<const float> mean, uint64_t num_samples) {
  if (options_.secure_aggregation == SecureAggregation::kOff)
    return Status(Code::kUnprocessable, "secure aggregation is off");
  if (!writer_.ready()) return Status(Code::kUnavailable, "the engine is not accepting updates");
  std::shared_ptr<const ModelLayout> layout = state_.layout();
  UpdateMetadata meta;
  meta.agent_id = kSecAggLedgerAgent;
  meta.update_id = session;
  meta.base_version = base_version;
  meta.num_samples = static_cast<int64_t>(num_samples);
  // The ledger keeps the sum's body like any update's: what a restart
  // replays if the version did not commit, and the audit of what merged.
  auto body = encode_update(*layout, mean, meta);
  if (!body.is_ok()) return body.status();
  const std::span<const uint8_t> bytes(reinterpret_cast<const uint8_t*>(body->data()), body->size());
  IncomingUpdate u;
  u.meta = std::move(meta);
  u.meta.layout_fingerprint = layout->fingerprint();
  u.delta = mean;
  u.body = bytes;
  u.body_digest = body_digest(bytes);
  u.layout_fingerprint = layout->fingerprint();
  u.norm2 = sum_squares(mean);
  u.aggregate = true;
  auto ack = record_update(u);
  if (ack.is_ok()) {
    metrics_.count_update(ack->duplicate ? "duplicate" : "accepted");
  } else {
    metrics_.count_update(ack.status());
  }
  return ack;
}

void UpdateIntake::spool_body(IncomingUpdate& u) {
  if (!spool_) return;
  // On this connection's thread, in parallel with the others: the writer
  // thread then stores only the row (server/store/update_spool.hpp).
  auto spooled = spool_->append(u.body);
  if (spooled.is_ok()) {
    u.spooled = *spooled;
    return;
  }
  // Full (bodies not merged yet fill the ring) or a failed write: this one
  // goes into the database, as without a spool. Logged once per 1,000.
  if (metrics_.count_spool_fallback() % 1000 == 1) {
    log::warn("spool_fallback").kv("agent", u.meta.agent_id).kv("update_id", u.meta.update_id)
        .kv("reason", spooled.status().message()).kv("capacity_bytes", spool_->capacity());
  }
}

Result<UpdateAck> UpdateIntake::record_update(const IncomingUpdate& u) {
  Job job;
  job.kind = Job::Kind::kUpdate;
  job.update = &u;
  EDGEFED_RETURN_IF_ERROR(writer_.run(job));
  return job.ack;
}

Status UpdateIntake::prepare(Pending& p) {
  const std::string& cert_agent_id = p.agent;
  if (!writer_.ready()) return Status(Code::kUnavailable, "the engine is not accepting updates");
  if (options_.secure_aggregation != SecureAggregation::kOff) {
    return Status(Code::kUnprocessable,
                  "this server runs secure aggregation (secagg+): plain updates are refused; join a session "
                  "(POST /v1/secagg/join) as the task's secure_aggregation says");
  }
  if (agents_.quarantined(cert_agent_id)) {
    return Status(Code::kPermissionDenied, "agent " + cert_agent_id + " is quarantined");
  }
  std::shared_ptr<const ModelLayout> layout = state_.layout();
  // The CPU-heavy part, on the caller's thread and outside every lock. An
  // f32 body is not copied: the delta views it (the body outlives this call).
  auto view = decode_update_view(p.body, *layout, p.scratch);
  if (!view.is_ok()) return view.status();
  if (view->meta.agent_id != cert_agent_id) {
    return Status(Code::kPermissionDenied, "update metadata says agent " + view->meta.agent_id +
                                               " but the client certificate is " + cert_agent_id);
  }
  p.decoded = std::move(view).value();
  IncomingUpdate& u = p.update;
  u.meta = p.decoded.meta;
  u.delta = p.decoded.delta;
  u.body = p.body;
  u.body_digest = body_digest(p.body);
  u.layout_fingerprint = layout->fingerprint();
  u.norm2 = p.decoded.norm2;
  spool_body(u);
  return Status::ok();
}

}  // namespace edgefed::server
