#include "curve_recorder.hpp"

#include <nlohmann/json.hpp>

#include "edgefed/log.hpp"
#include "edgefed/model_io.hpp"
#include "edgefed/protocol.hpp"

namespace edgefed::sim {

CurveRecorder::CurveRecorder(HttpsClientOptions client, ml::Evaluator evaluator, double interval_s,
                             std::chrono::steady_clock::time_point t0)
    : options_(std::move(client)), evaluator_(std::move(evaluator)), interval_s_(interval_s), t0_(t0) {}

CurveRecorder::~CurveRecorder() { stop(); }

void CurveRecorder::start() { thread_ = std::thread([this] { run(); }); }

void CurveRecorder::stop() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

void CurveRecorder::set_port(uint16_t port) {
  std::lock_guard lock(client_mu_);
  options_.port = port;
  client_.reset();
}

void CurveRecorder::run() {
  while (!stop_) {
    poll(false);
    for (int i = 0; i < 10 && !stop_; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

std::optional<CurvePoint> CurveRecorder::evaluate_now() { return poll(true); }

std::optional<CurvePoint> CurveRecorder::poll(bool force) {
  std::lock_guard lock(client_mu_);
  const double now = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0_).count();
  if (!client_) {
    options_.request_timeout = std::chrono::milliseconds(10000);
    auto c = HttpsClient::create(options_);
    if (!c) return std::nullopt;
    client_ = std::move(*c);
  }
  auto st = client_->request("GET", "/v1/status");
  if (!st || st->status != 200) {
    std::lock_guard l(mu_);
    counters_.reachable = false;
    return std::nullopt;
  }
  auto j = parse_json(st->body);
  if (!j) return std::nullopt;
  ServerCounters c;
  c.reachable = true;
  c.version = j->value("model_version", int64_t{0});
  c.updates_accepted = j->value("updates_accepted", int64_t{0});
  c.updates_merged = j->value("updates_merged", int64_t{0});
  c.telemetry_records = j->value("telemetry_records", int64_t{0});
  {
    std::lock_guard l(mu_);
    counters_ = c;
  }
  if (c.version == evaluated_version_ || (!force && now - last_eval_s_ < interval_s_)) return std::nullopt;

  auto m = client_->request("GET", "/v1/model");
  if (!m || m->status != 200) return std::nullopt;
  auto model = decode_model({reinterpret_cast<const uint8_t*>(m->body.data()), m->body.size()});
  if (!model) {
    log::warn("eval_model_undecodable").kv("reason", model.status().to_string());
    return std::nullopt;
  }
  auto r = evaluator_.evaluate(model->model);
  if (!r) return std::nullopt;
  CurvePoint p{now, model->version, r->accuracy, r->loss, r->mae, c.updates_merged};
  evaluated_version_ = model->version;
  last_eval_s_ = now;
  std::lock_guard l(mu_);
  curve_.push_back(p);
  return p;
}

std::vector<CurvePoint> CurveRecorder::curve() const {
  std::lock_guard l(mu_);
  return curve_;
}

std::optional<CurvePoint> CurveRecorder::latest() const {
  std::lock_guard l(mu_);
  if (curve_.empty()) return std::nullopt;
  return curve_.back();
}

ServerCounters CurveRecorder::counters() const {
  std::lock_guard l(mu_);
  return counters_;
}

}  // namespace edgefed::sim
