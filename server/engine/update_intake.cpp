#include "server/engine/update_intake.hpp"

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

UpdateIntake::UpdateIntake(const EngineOptions& options, EngineMetrics& metrics, const AgentRegistry& agents,
                           const PublishedState& state, GroupCommitWriter& writer)
    : options_(options), metrics_(metrics), agents_(agents), state_(state), writer_(writer) {}

Result<UpdateAck> UpdateIntake::submit_update(const std::string& cert_agent_id, std::span<const uint8_t> body) {
  std::vector<float> delta;
  auto ack = submit_decoded(cert_agent_id, body, observer_ ? &delta : nullptr);
  if (ack.is_ok()) {
    metrics_.count_update(ack->duplicate ? "duplicate" : "accepted");
    if (!ack->duplicate) accepted_updates_.fetch_add(1, std::memory_order_relaxed);
  } else {
    metrics_.count_update(ack.status());
  }
  if (observer_ && ack.is_ok() && !ack->duplicate) observer_->on_update(cert_agent_id, delta, *ack);
  return ack;
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

Result<UpdateAck> UpdateIntake::submit_decoded(const std::string& cert_agent_id, std::span<const uint8_t> body,
                                               std::vector<float>* decoded_delta) {
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
  u.body_digest = body_digest(body);
  u.layout_fingerprint = layout->fingerprint();
  u.norm2 = sum_squares(decoded->delta);
  spool_body(u);
  auto ack = record_update(u);
  // A body no row names is free again at once.
  if (u.spooled && !(ack.is_ok() && !ack->duplicate)) spool_->release(u.spooled->offset);
  if (ack.is_ok() && decoded_delta) *decoded_delta = std::move(decoded->delta);
  return ack;
}

}  // namespace edgefed::server
