#include "agent/loop/forwarder.hpp"

#include "edgefed/log.hpp"

namespace edgefed::agent {

Forwarder::Forwarder(Outbox& outbox, Link& link, const Clock& clock, std::string agent_id,
                     ForwardOptions options)
    : outbox_(outbox), link_(link), clock_(clock), agent_id_(std::move(agent_id)),
      options_(options) {}

Result<ForwardStats> Forwarder::forward(bool include_telemetry) {
  ForwardStats stats;
  if (!link_.ready()) {
    stats.link_failed = true;
  } else {
    EDGEFED_RETURN_IF_ERROR(forward_updates(stats));
    if (!stats.link_failed && include_telemetry) EDGEFED_RETURN_IF_ERROR(forward_telemetry(stats));
  }
  auto d = outbox_.depth();
  if (!d) return d.status();
  stats.drained = d->records() == 0;
  return stats;
}

Status Forwarder::forward_updates(ForwardStats& stats) {
  size_t sent = 0;
  while (sent < options_.updates_per_pass) {
    auto batch = outbox_.oldest_updates(1);
    if (!batch) return batch.status();
    if (batch->empty()) return Status::ok();
    const PendingUpdate& u = batch->front();
    EDGEFED_RETURN_IF_ERROR(outbox_.mark_update_sent(u.update_id));
    ++sent;
    PushResult r = link_.push_update(u.body);
    switch (r.outcome) {
      case Outcome::kOk:
        EDGEFED_RETURN_IF_ERROR(outbox_.ack_update(u.update_id, r.ack, clock_.unix_ms()));
        ++stats.updates_acked;
        log::debug("update_acked")
            .kv("agent", agent_id_)
            .kv("update_id", u.update_id)
            .kv("version", r.ack.version)
            .kv("staleness", r.ack.staleness)
            .kv("duplicate", r.ack.duplicate);
        break;
      case Outcome::kRejected:
        EDGEFED_RETURN_IF_ERROR(outbox_.reject_update(u.update_id, r.status, clock_.unix_ms()));
        ++stats.updates_rejected;
        log::warn("update_rejected")
            .kv("agent", agent_id_)
            .kv("update_id", u.update_id)
            .kv("base_version", u.base_version)
            .kv("error", r.status.to_string());
        break;
      case Outcome::kRetry:
        stats.link_failed = true;
        return Status::ok();
    }
  }
  return Status::ok();
}

Status Forwarder::forward_telemetry(ForwardStats& stats) {
  for (size_t pass = 0; pass < options_.telemetry_batches_per_pass; ++pass) {
    auto recs = outbox_.oldest_telemetry(options_.telemetry_batch, options_.telemetry_batch_bytes);
    if (!recs) return recs.status();
    if (recs->empty()) return Status::ok();
    const int64_t first = recs->front().seq;
    const int64_t last = recs->back().seq;
    const auto n = static_cast<int64_t>(recs->size());
    EDGEFED_RETURN_IF_ERROR(outbox_.mark_telemetry_sent(n));
    TelemetryResult r = link_.post_telemetry(TelemetryBatch{agent_id_, std::move(*recs)});
    if (r.outcome == Outcome::kRetry) {
      stats.link_failed = true;
      return Status::ok();
    }
    if (r.outcome == Outcome::kRejected) {
      auto dropped = outbox_.reject_telemetry(last, clock_.unix_ms());
      if (!dropped) return dropped.status();
      stats.telemetry_rejected += *dropped;
      log::warn("telemetry_rejected")
          .kv("agent", agent_id_)
          .kv("first_seq", first)
          .kv("last_seq", last)
          .kv("error", r.status.to_string());
      continue;
    }
    // acked_through covers what the server holds; never more than we sent
    // (a server that answers beyond our batch must not erase unsent records).
    const int64_t through = std::min(r.acked_through, last);
    if (through < first) {
      log::warn("telemetry_not_acked")
          .kv("agent", agent_id_)
          .kv("first_seq", first)
          .kv("acked_through", r.acked_through);
      stats.link_failed = true;
      return Status::ok();
    }
    auto acked = outbox_.ack_telemetry(through, clock_.unix_ms());
    if (!acked) return acked.status();
    stats.telemetry_acked += *acked;
  }
  return Status::ok();
}

}  // namespace edgefed::agent
