// AgentLoop: one training round and the telemetry records.
#include <chrono>
#include <cmath>
#include <fstream>

#include "agent/link/model_cache.hpp"
#include "agent/loop/agent_loop.hpp"
#include "agent/loop/system_probe.hpp"
#include "edgefed/log.hpp"
#include "edgefed/update_codec.hpp"

namespace edgefed::agent {

Status AgentLoop::train_round() {
  const Model& global = sync_->model();
  const Task& task = sync_->task();
  const int64_t base = sync_->version();
  auto journal = outbox_->journal();
  if (!journal) return journal.status();
  // The round index survives restarts, so data order does not repeat.
  const uint64_t seed = config_.seed + static_cast<uint64_t>(journal->updates_created);

  const auto wall0 = std::chrono::steady_clock::now();
  auto result = trainer_->train(global, task, seed, stop_);
  const double wall_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - wall0).count();
  if (!result) {
    if (result.status().code() != Code::kUnavailable)
      log::error("training_failed")
          .kv("agent", config_.agent_id)
          .kv("base_version", base)
          .kv("error", result.status().to_string());
    sleep_ms(config_.idle_ms);
    return Status::ok();  // a bad round is not fatal; the next model may fix it
  }
  if (seams_.slowdown > 1.0)
    sleep_ms(static_cast<int64_t>((seams_.slowdown - 1.0) * wall_s * 1000.0));
  if (stop_) return Status::ok();

  if (task.mode == MergeMode::kSync) {
    // Written before the update exists: a crash in between skips this
    // version rather than sending two updates for it.
    last_sync_version_ = base;
    Status st = write_file_atomic(config_.state_dir + "/sync_version", std::to_string(base));
    if (!st.is_ok()) return st;
  }

  EncodeOptions enc;
  enc.encoding = task.encoding;  // parse_task() refused any other name
  enc.topk_fraction = task.topk_fraction;
  RoundResult& r = *result;
  if (config_.attack.kind != Attack::Kind::kNone) apply_attack(config_.attack, r.delta, seed);
  auto update_id = outbox_->add_update(
      config_.agent_id, base, clock_->unix_ms(), [&](const std::string& uid) {
        UpdateMetadata meta;
        meta.agent_id = config_.agent_id;
        meta.update_id = uid;
        meta.base_version = base;
        meta.num_samples = r.num_samples;
        meta.train_loss = std::isfinite(r.train_loss) && r.train_loss >= 0 ? r.train_loss : 0.0;
        return encode_update(global.layout, r.delta, meta, enc);
      });
  if (!update_id) {
    // The outbox's own failures end the round with their Status (run()
    // decides whether they are transient); an encoding failure does not.
    const Code code = update_id.status().code();
    if (code == Code::kIo || code == Code::kInternal || code == Code::kUnavailable) return update_id.status();
    log::error("update_not_encoded")
        .kv("agent", config_.agent_id)
        .kv("error", update_id.status().to_string());
    return Status::ok();
  }
  ++rounds_;
  last_loss_ = r.train_loss;
  log::debug("round_trained")
      .kv("agent", config_.agent_id)
      .kv("update_id", *update_id)
      .kv("base_version", base)
      .kv("loss", r.train_loss)
      .kv("samples", r.num_samples)
      .kv("seconds", r.seconds);
  return record_train(r, *update_id, base);
}

namespace {

void put(TelemetryRecord& rec, const char* key, double v) {
  if (std::isfinite(v)) rec.values[key] = v;
}

void add_device(TelemetryRecord& rec) {
  if (auto rss = resident_bytes()) put(rec, "rss_bytes", static_cast<double>(*rss));
  if (auto t = cpu_temperature_c()) put(rec, "cpu_temp_c", *t);
}

}  // namespace

Status AgentLoop::record_train(const RoundResult& r, const std::string& update_id, int64_t base) {
  TelemetryRecord rec;
  rec.ts_ms = clock_->unix_ms();
  rec.kind = "train";
  put(rec, "loss", r.train_loss);
  put(rec, "accuracy", r.train_accuracy);
  put(rec, "samples_per_s", r.samples_per_s);
  put(rec, "step_time_ms", r.steps > 0 ? r.seconds * 1000.0 / static_cast<double>(r.steps) : 0);
  put(rec, "samples", static_cast<double>(r.num_samples));
  put(rec, "base_version", static_cast<double>(base));
  if (r.validation) {
    put(rec, "val_loss", r.validation->loss);
    put(rec, "val_accuracy", r.validation->accuracy);
  }
  add_device(rec);
  if (auto d = outbox_->depth()) {
    put(rec, "outbox_updates", static_cast<double>(d->updates));
    put(rec, "outbox_telemetry", static_cast<double>(d->telemetry));
  }
  rec.labels["link_state"] = std::string(link_state_name(link_->state()));
  rec.labels["update_id"] = update_id;
  auto seq = outbox_->add_telemetry(rec);
  return seq ? Status::ok() : seq.status();
}

Status AgentLoop::record_system() {
  TelemetryRecord rec;
  rec.ts_ms = clock_->unix_ms();
  rec.kind = "system";
  add_device(rec);
  if (auto peak = peak_resident_bytes()) put(rec, "peak_rss_bytes", static_cast<double>(*peak));
  if (auto d = outbox_->depth()) {
    put(rec, "outbox_updates", static_cast<double>(d->updates));
    put(rec, "outbox_telemetry", static_cast<double>(d->telemetry));
    put(rec, "outbox_bytes", static_cast<double>(d->bytes));
  }
  const LinkStats ls = link_->stats();
  put(rec, "link_failures", static_cast<double>(ls.failures));
  put(rec, "link_outages", static_cast<double>(ls.outages));
  put(rec, "rounds", static_cast<double>(rounds_.load()));
  put(rec, "model_version", static_cast<double>(model_version_.load()));
  rec.labels["link_state"] = std::string(link_state_name(link_->state()));
  auto seq = outbox_->add_telemetry(rec);
  return seq ? Status::ok() : seq.status();
}

Status AgentLoop::record_link_change() {
  const LinkState now = link_->state();
  if (now == reported_link_) return Status::ok();
  reported_link_ = now;
  TelemetryRecord rec;
  rec.ts_ms = clock_->unix_ms();
  rec.kind = "link";
  const LinkStats ls = link_->stats();
  put(rec, "offline_ms_total", static_cast<double>(ls.offline_ms));
  put(rec, "outages", static_cast<double>(ls.outages));
  rec.labels["link_state"] = std::string(link_state_name(now));
  auto seq = outbox_->add_telemetry(rec);
  return seq ? Status::ok() : seq.status();
}

}  // namespace edgefed::agent
