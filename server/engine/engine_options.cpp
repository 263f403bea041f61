#include "server/engine/engine_options.hpp"

#include "server/aggregation/staleness.hpp"
#include "edgefed/update_codec.hpp"

namespace edgefed::server {

namespace {

Status bad(const std::string& message) { return Status(Code::kInvalidArgument, message); }

}  // namespace

Status validate(const EngineOptions& o) {
  if (o.state_dir.empty()) return bad("state_dir is required");
  if (o.mode != "sync" && o.mode != "async") return bad("mode must be sync or async, not '" + o.mode + "'");
  if (o.sync_stale_policy != "weight" && o.sync_stale_policy != "refuse") {
    return bad("sync_stale_policy must be weight or refuse");
  }
  if (o.min_updates < 1) return bad("min_updates must be >= 1");
  if (o.min_updates_on_timeout < 1) return bad("min_updates_on_timeout must be >= 1");
  if (o.round_timeout_s < 0 || o.buffer_timeout_s < 0) return bad("timeouts must be >= 0");
  if (o.buffer_k < 1) return bad("buffer_k must be >= 1");
  auto fn = StalenessFunction::create(o.staleness_fn, o.staleness_a, o.staleness_b);
  if (!fn.is_ok()) return fn.status();
  if (o.max_staleness < 0) return bad("max_staleness must be >= 0");
  if (!(o.server_lr >= 0 && o.server_lr < 1e6)) return bad("server_lr must be >= 0 (0 = the mode's default)");
  if (o.task_epochs < 0 || o.task_steps < 0 || (o.task_epochs == 0 && o.task_steps == 0)) {
    return bad("the task needs epochs or steps > 0");
  }
  if (o.task_batch_size < 1) return bad("task_batch_size must be >= 1");
  if (!(o.task_lr > 0)) return bad("task_lr must be > 0");
  if (o.task_momentum < 0 || o.task_momentum >= 1) return bad("task_momentum must be in [0, 1)");
  if (!parse_encoding(o.task_encoding).is_ok()) return bad("task_encoding must be f32, f16, int8 or topk");
  if (o.keep_last_n < 1) return bad("keep_last_n must be >= 1");
  if (o.keep_every_m < 0) return bad("keep_every_m must be >= 0");
  if (o.max_db_mb < 0) return bad("max_db_mb must be >= 0");
  if (o.group_commit_max < 1 || o.max_queued_updates < 1) return bad("queue limits must be >= 1");
  if (o.timer_tick_ms < 1) return bad("timer_tick_ms must be >= 1");
  return Status::ok();
}

double effective_server_lr(const EngineOptions& o) {
  if (o.server_lr > 0) return o.server_lr;
  return o.mode == "sync" ? 1.0 : 0.25;
}

}  // namespace edgefed::server
