#include "agent/loop/telemetry_recorder.hpp"

#include <cmath>

#include "agent/loop/system_probe.hpp"

namespace edgefed::agent {
namespace {

void put(TelemetryRecord& rec, const char* key, double v) {
  if (std::isfinite(v)) rec.values[key] = v;
}

void add_device(TelemetryRecord& rec) {
  if (auto rss = resident_bytes()) put(rec, "rss_bytes", static_cast<double>(*rss));
  if (auto t = cpu_temperature_c()) put(rec, "cpu_temp_c", *t);
}

}  // namespace

TelemetryRecorder::TelemetryRecorder(Outbox& outbox, const Link& link, const Clock& clock, std::string device_class)
    : outbox_(outbox), link_(link), clock_(clock), device_class_(std::move(device_class)) {}

Status TelemetryRecorder::record_train(const RoundResult& r, const std::string& update_id,
                                       int64_t base_version) {
  TelemetryRecord rec;
  rec.ts_ms = clock_.unix_ms();
  rec.kind = "train";
  put(rec, "loss", r.train_loss);
  put(rec, "accuracy", r.train_accuracy);
  put(rec, "samples_per_s", r.samples_per_s);
  put(rec, "step_time_ms", r.steps > 0 ? r.seconds * 1000.0 / static_cast<double>(r.steps) : 0);
  put(rec, "samples", static_cast<double>(r.num_samples));
  put(rec, "base_version", static_cast<double>(base_version));
  if (r.validation) {
    put(rec, "val_loss", r.validation->loss);
    put(rec, "val_accuracy", r.validation->accuracy);
  }
  add_device(rec);
  if (auto d = outbox_.depth()) {
    put(rec, "outbox_updates", static_cast<double>(d->updates));
    put(rec, "outbox_telemetry", static_cast<double>(d->telemetry));
  }
  rec.labels["link_state"] = std::string(link_state_name(link_.state()));
  rec.labels["update_id"] = update_id;
  auto seq = outbox_.add_telemetry(rec);
  return seq ? Status::ok() : seq.status();
}

Status TelemetryRecorder::record_system(int64_t rounds, int64_t model_version, int64_t serving_version) {
  TelemetryRecord rec;
  rec.ts_ms = clock_.unix_ms();
  rec.kind = "system";
  add_device(rec);
  if (auto peak = peak_resident_bytes()) put(rec, "peak_rss_bytes", static_cast<double>(*peak));
  if (auto d = outbox_.depth()) {
    put(rec, "outbox_updates", static_cast<double>(d->updates));
    put(rec, "outbox_telemetry", static_cast<double>(d->telemetry));
    put(rec, "outbox_bytes", static_cast<double>(d->bytes));
  }
  const LinkStats ls = link_.stats();
  put(rec, "link_failures", static_cast<double>(ls.failures));
  put(rec, "link_outages", static_cast<double>(ls.outages));
  put(rec, "rounds", static_cast<double>(rounds));
  put(rec, "model_version", static_cast<double>(model_version));
  put(rec, "serving_version", static_cast<double>(serving_version));
  rec.labels["link_state"] = std::string(link_state_name(link_.state()));
  if (!device_class_.empty()) rec.labels["device_class"] = device_class_;
  auto seq = outbox_.add_telemetry(rec);
  return seq ? Status::ok() : seq.status();
}

Status TelemetryRecorder::record_link_change() {
  const LinkState now = link_.state();
  if (now == reported_link_) return Status::ok();
  reported_link_ = now;
  TelemetryRecord rec;
  rec.ts_ms = clock_.unix_ms();
  rec.kind = "link";
  const LinkStats ls = link_.stats();
  put(rec, "offline_ms_total", static_cast<double>(ls.offline_ms));
  put(rec, "outages", static_cast<double>(ls.outages));
  rec.labels["link_state"] = std::string(link_state_name(now));
  auto seq = outbox_.add_telemetry(rec);
  return seq ? Status::ok() : seq.status();
}

Status TelemetryRecorder::record_model_event(const std::string& event, int64_t version, int64_t held_version,
                                             const std::string& reason) {
  TelemetryRecord rec;
  rec.ts_ms = clock_.unix_ms();
  rec.kind = "model";
  if (version >= 0) put(rec, "version", static_cast<double>(version));
  put(rec, "held_version", static_cast<double>(held_version));
  rec.labels["event"] = event;
  rec.labels["reason"] = reason.substr(0, kMaxTelemetryLabelBytes);
  auto seq = outbox_.add_telemetry(rec);
  return seq ? Status::ok() : seq.status();
}

Status TelemetryRecorder::record_validation(const Validation& v, bool accepted, int64_t serving_version,
                                            double serving_value) {
  TelemetryRecord rec;
  rec.ts_ms = clock_.unix_ms();
  rec.kind = "validation";
  put(rec, "version", static_cast<double>(v.version));
  put(rec, "value", v.value);
  put(rec, "loss", v.loss);
  put(rec, "samples", static_cast<double>(v.samples));
  put(rec, "accepted", accepted ? 1.0 : 0.0);
  put(rec, "serving_version", static_cast<double>(serving_version));
  put(rec, "serving_value", serving_value);
  if (v.metric == ServingMetric::kAccuracy) put(rec, "accuracy", v.value);
  rec.labels["metric"] = to_string(v.metric);
  auto seq = outbox_.add_telemetry(rec);
  return seq ? Status::ok() : seq.status();
}

Status TelemetryRecorder::record_drift(const DriftReport& d) {
  TelemetryRecord rec;
  rec.ts_ms = clock_.unix_ms();
  rec.kind = "drift";
  put(rec, "score", d.score);
  put(rec, "input_shift", d.input_shift);
  put(rec, "output_shift", d.output_shift);
  put(rec, "output_mean", d.output_mean);
  put(rec, "window", static_cast<double>(d.window));
  put(rec, "serving_version", static_cast<double>(d.version));
  auto seq = outbox_.add_telemetry(rec);
  return seq ? Status::ok() : seq.status();
}

Status TelemetryRecorder::record_model_rejected(const Validation& candidate, const Validation& serving,
                                                const Verdict& verdict, double threshold) {
  TelemetryRecord rec;
  rec.ts_ms = clock_.unix_ms();
  rec.kind = "model_rejected";
  put(rec, "version", static_cast<double>(candidate.version));
  put(rec, "value", candidate.value);
  put(rec, "serving_version", static_cast<double>(serving.version));
  put(rec, "serving_value", serving.value);
  put(rec, "worse_by", verdict.worse_by);
  put(rec, "threshold", threshold);
  put(rec, "samples", static_cast<double>(candidate.samples));
  rec.labels["metric"] = to_string(candidate.metric);
  rec.labels["reason"] = verdict.reason.substr(0, kMaxTelemetryLabelBytes);
  auto seq = outbox_.add_telemetry(rec);
  return seq ? Status::ok() : seq.status();
}

}  // namespace edgefed::agent
