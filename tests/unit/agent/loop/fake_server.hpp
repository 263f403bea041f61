// An in-process stand-in for edgefed-server behind the agent's Transport
// seam: serves a task and a model (ETag, 304), accepts updates idempotently
// by update_id and telemetry by seq, and can be cut. Thread-safe, so a test
// may cut the link while the agent runs on another thread. A test may
// script more routes (secure aggregation's) with `handler`.
#pragma once

#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>

#include <nlohmann/json.hpp>

#include "agent/link/transport.hpp"
#include "edgefed/model_io.hpp"
#include "edgefed/protocol.hpp"
#include "edgefed/update_codec.hpp"

namespace edgefed::agent::testing {

struct FakeServerState {
  std::mutex mu;
  Model model;
  int64_t version = 1;
  MergeMode mode = MergeMode::kAsync;
  SecureAggregation secure_aggregation = SecureAggregation::kOff;  // the task's
  double update_clip_norm = 0;     // the task's, under secure aggregation
  double dp_noise_multiplier = 0;  // the task's, under secure aggregation
  // Asked first for every request (called with `mu` held, so it must not
  // lock it; a test reads what it records under `mu`); nullopt: not its route.
  std::function<std::optional<HttpResponse>(std::string_view method, std::string_view target, std::string_view body)>
      handler;
  bool down = false;
  std::set<std::string> updates;          // distinct update ids accepted
  std::vector<std::string> normalizers;   // each accepted update's metadata.normalizer
  int64_t update_posts = 0;               // including duplicates
  std::map<int64_t, std::string> telemetry;  // seq -> kind
  std::map<std::string, std::string> system_labels;  // of the last system record
  int64_t telemetry_posts = 0;
  int64_t requests = 0;

  std::string etag() const { return "\"v" + std::to_string(version) + "\""; }
};

class FakeServerTransport final : public Transport {
 public:
  explicit FakeServerTransport(FakeServerState& s) : s_(s) {}

  Result<HttpResponse> request(std::string_view method, std::string_view target,
                               std::string_view body, std::string_view,
                               const HttpHeaders& headers, std::chrono::milliseconds) override {
    std::lock_guard lock(s_.mu);
    ++s_.requests;
    if (s_.down) return Status(Code::kUnavailable, "connection refused");
    HttpResponse r;
    r.status = 200;
    const std::string path(target.substr(0, target.find('?')));
    if (s_.handler) {
      if (auto scripted = s_.handler(method, target, body)) return *scripted;
    }
    if (method == "GET" && path == "/v1/task") {
      Task t;
      t.agent_id = "agent-1";
      t.model_version = s_.version;
      t.layout_fingerprint = s_.model.layout.fingerprint();
      t.mode = s_.mode;
      t.epochs = 1;
      t.batch_size = 8;
      t.lr = 0.1;
      t.secure_aggregation = s_.secure_aggregation;
      if (t.secure_aggregation != SecureAggregation::kOff) {
        t.secagg_clip = 1.0;
        t.update_clip_norm = s_.update_clip_norm;
        t.dp_noise_multiplier = s_.dp_noise_multiplier;
      }
      r.body = to_json(t).dump();
    } else if (method == "GET" && path == "/v1/model") {
      for (const auto& [k, v] : headers)
        if (k == "If-None-Match" && v == s_.etag()) {
          r.status = 304;
          return r;
        }
      r.body = encode_model(s_.model, s_.version);
      r.headers = {{"ETag", s_.etag()}, {"X-Model-Version", std::to_string(s_.version)}};
    } else if (method == "POST" && path == "/v1/updates") {
      ++s_.update_posts;
      auto u = decode_update(
          std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(body.data()), body.size()),
          s_.model.layout);
      if (!u) {
        r.status = 422;
        r.body = error_body(u.status());
        return r;
      }
      const bool dup = !s_.updates.insert(u->meta.update_id).second;
      if (!dup) s_.normalizers.push_back(u->meta.normalizer);
      UpdateAck ack{s_.version, s_.version - u->meta.base_version, 1.0, dup};
      r.status = 202;
      r.body = to_json(ack).dump();
    } else if (method == "POST" && path == "/v1/telemetry") {
      ++s_.telemetry_posts;
      auto j = parse_json(body);
      auto b = j ? parse_telemetry_batch(*j) : Result<TelemetryBatch>(j.status());
      if (!b) {
        r.status = 400;
        r.body = error_body(b.status());
        return r;
      }
      for (const auto& rec : b->records) {
        s_.telemetry.emplace(rec.seq, rec.kind);
        if (rec.kind == "system") s_.system_labels = rec.labels;
      }
      r.body = to_json(TelemetryAck{b->records.back().seq}).dump();
    } else {
      r.status = 404;
      r.body = error_body(Status(Code::kNotFound, "no route"));
    }
    return r;
  }
  void close() override {}

 private:
  FakeServerState& s_;
};

}  // namespace edgefed::agent::testing
