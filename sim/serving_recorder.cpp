#include "serving_recorder.hpp"

#include <algorithm>

#include <nlohmann/json.hpp>

#include "edgefed/log.hpp"
#include "edgefed/model_io.hpp"
#include "edgefed/protocol.hpp"

namespace edgefed::sim {

ServingRecorder::ServingRecorder(HttpsClientOptions client, ml::Evaluator evaluator, double interval_s,
                                 std::chrono::steady_clock::time_point t0,
                                 std::function<std::vector<int64_t>()> serving_versions)
    : options_(std::move(client)),
      evaluator_(std::move(evaluator)),
      interval_s_(interval_s),
      t0_(t0),
      serving_versions_(std::move(serving_versions)) {}

ServingRecorder::~ServingRecorder() { stop(); }

void ServingRecorder::start() {
  thread_ = std::thread([this] { run(); });
}

void ServingRecorder::stop() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

void ServingRecorder::run() {
  while (!stop_) {
    poll_now();
    for (int i = 0; i < static_cast<int>(interval_s_ * 10) && !stop_; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

double ServingRecorder::accuracy_of(int64_t version) {
  {
    std::lock_guard l(mu_);
    if (auto it = accuracy_.find(version); it != accuracy_.end()) return it->second;
  }
  auto r = client_->request("GET", "/v1/versions/" + std::to_string(version) + "/model");
  if (!r || r->status != 200) return -1;
  auto model = decode_model({reinterpret_cast<const uint8_t*>(r->body.data()), r->body.size()});
  if (!model) return -1;
  auto e = evaluator_.evaluate(model->model);
  if (!e) return -1;
  std::lock_guard l(mu_);
  accuracy_[version] = e->accuracy;
  return e->accuracy;
}

void ServingRecorder::poll_now() {
  std::lock_guard lock(client_mu_);
  const double now = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0_).count();
  if (!client_) {
    options_.request_timeout = std::chrono::milliseconds(10000);
    auto c = HttpsClient::create(options_);
    if (!c) return;
    client_ = std::move(*c);
  }
  auto r = client_->request("GET", "/v1/versions");
  if (!r || r->status != 200) return;
  auto j = parse_json(r->body);
  if (!j || !j->is_object()) return;
  ServingPoint p;
  p.seconds = now;
  p.stable = j->value("stable", int64_t{-1});
  p.canary = j->value("canary", int64_t{-1});
  std::vector<ChannelChange> seen;
  std::map<std::string, CohortClass> classes;
  if (auto it = j->find("cohort_classes"); it != j->end() && it->is_object())
    for (const auto& [name, c] : it->items())
      if (c.is_object()) classes[name] = {c.value("agents", int64_t{0}), c.value("cohort", int64_t{0})};
  if (auto it = j->find("versions"); it != j->end() && it->is_array()) {
    for (const auto& v : *it) {
      if (!v.is_object()) continue;
      const int64_t version = v.value("version", int64_t{-1});
      const std::string channel = v.value("channel", std::string("candidate"));
      std::lock_guard l(mu_);
      auto [known, added] = channels_.try_emplace(version, "candidate");
      if (known->second == channel) continue;
      known->second = channel;
      seen.push_back({now, version, channel, v.value("channel_reason", std::string()), -1});
    }
  }
  for (auto& c : seen) {
    if (c.channel != "candidate") c.accuracy = accuracy_of(c.version);
    log::info("sim_channel_change").kv("version", c.version).kv("channel", c.channel).kv("accuracy", c.accuracy).kv(
        "reason", c.reason);
  }
  double sum = 0;
  for (int64_t v : serving_versions_()) {
    if (v < 0) continue;
    const double a = accuracy_of(v);
    if (a < 0) continue;
    p.by_version[v] += 1;
    sum += a;
    ++p.agents_serving;
  }
  if (p.agents_serving > 0) p.serving_accuracy = sum / static_cast<double>(p.agents_serving);
  std::lock_guard l(mu_);
  cohort_classes_ = std::move(classes);
  for (auto& c : seen) changes_.push_back(std::move(c));
  timeline_.push_back(std::move(p));
}

std::vector<ServingPoint> ServingRecorder::timeline() const {
  std::lock_guard l(mu_);
  return timeline_;
}

std::vector<ChannelChange> ServingRecorder::changes() const {
  std::lock_guard l(mu_);
  return changes_;
}

std::map<int64_t, double> ServingRecorder::accuracies() const {
  std::lock_guard l(mu_);
  return accuracy_;
}

std::map<std::string, CohortClass> ServingRecorder::cohort_classes() const {
  std::lock_guard l(mu_);
  return cohort_classes_;
}

double ServingRecorder::max_drop() const {
  std::lock_guard l(mu_);
  double best = -1, drop = 0;
  for (const auto& p : timeline_) {
    if (p.agents_serving == 0) continue;
    best = std::max(best, p.serving_accuracy);
    drop = std::max(drop, best - p.serving_accuracy);
  }
  return drop;
}

}  // namespace edgefed::sim
