// edgefed_schema_emit OUTDIR: writes every JSON body the C++ code produces,
// through the same functions the server and agent use, as
// OUTDIR/<schema>/<case>.json, for validate.cjs to check against schemas/.
// Metadata objects come out of real safetensors files (encode_update,
// encode_model), not hand-built maps.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "edgefed/ml/model_spec.hpp"
#include "edgefed/model_io.hpp"
#include "edgefed/model_layout.hpp"
#include "edgefed/protocol.hpp"
#include "edgefed/safetensors.hpp"
#include "edgefed/status.hpp"
#include "edgefed/update_codec.hpp"

using namespace edgefed;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

fs::path g_out;
int g_written = 0;

void emit(const std::string& schema, const std::string& name, const std::string& text) {
  fs::create_directories(g_out / schema);
  std::ofstream(g_out / schema / (name + ".json"), std::ios::binary) << text << '\n';
  ++g_written;
}
void emit(const std::string& schema, const std::string& name, const json& j) { emit(schema, name, j.dump(2)); }

// The __metadata__ of a safetensors file, as the JSON object it is on disk.
json metadata_of(const std::string& bytes) {
  auto file = parse_safetensors({reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()});
  if (!file) throw std::runtime_error("own safetensors output does not parse: " + file.status().to_string());
  return json(file->metadata);
}

void acks() {
  emit("update-ack", "fresh", to_json(UpdateAck{17, 2, 480.5, false}));
  emit("update-ack", "duplicate", to_json(UpdateAck{17, 0, 512, true}));
  emit("update-ack", "first_version", to_json(UpdateAck{}));
  emit("telemetry-ack", "zero", to_json(TelemetryAck{}));
  emit("telemetry-ack", "some", to_json(TelemetryAck{123456}));
}

void tasks(const ModelLayout& layout) {
  Task t;
  t.agent_id = "agent-000";
  t.layout_fingerprint = layout.fingerprint();
  emit("task", "defaults", to_json(t));
  t.agent_id = "edge.node_7-b";
  t.model_version = 42;
  t.mode = MergeMode::kSync;
  t.round = 9;
  t.epochs = 0;
  t.steps = 200;
  t.batch_size = 1;
  t.lr = 1e-4;
  t.momentum = 0;
  t.weight_decay = 5e-4;
  t.proximal_mu = 0.01;
  t.clip_norm = 10;
  t.encoding = Encoding::kTopK;
  t.topk_fraction = 1;
  t.deadline_unix_ms = 1790000000000;
  emit("task", "sync_steps_topk", to_json(t));
}

// Every preset's canonical spec, and a task that carries one.
void model_specs() {
  for (const char* name : {"mlp:784-128-10", "cnn-fmnist", "forecast-cnn1d", "autoencoder:32"}) {
    auto spec = ml::ModelSpec::preset(name);
    if (!spec) throw std::runtime_error(spec.status().to_string());
    std::string file = name;
    for (char& c : file)
      if (c == ':') c = '_';
    emit("model-spec", file, json::parse(spec->canonical_json()));
  }
  auto cnn = ml::ModelSpec::preset("cnn-fmnist");
  Task t;
  t.agent_id = "camera-12";
  t.layout_fingerprint = cnn->layout().fingerprint();
  t.model_spec = cnn->canonical_json();
  emit("task", "with_model_spec", to_json(t));
}

void telemetry() {
  TelemetryBatch b;
  b.agent_id = "agent-001";
  b.records.push_back({1, 0, "train", {}, {}});
  emit("telemetry-batch", "minimal", to_json(b));
  b.records.push_back({2, 1790000000000, "train", {{"loss", 0.31}, {"samples", 6000}, {"grad_norm", 1e-9}}, {}});
  b.records.push_back({5, 1790000000100, "link", {{"down_seconds", 12.5}}, {{"link_state", "offline"}}});
  b.records.push_back({6, 1790000000200, "system", {{"rss_bytes", 2.1e7}, {"temp_c", -4}}, {{"host", "nöde-ü"}}});
  b.records.push_back({9, 1790000000300, "dropped", {{"count", 3}}, {{"reason", std::string(256, 'x')}}});
  emit("telemetry-batch", "every_kind", to_json(b));
  TelemetryBatch full;
  full.agent_id = std::string(64, 'a');
  for (int64_t i = 1; i <= 1000; ++i) full.records.push_back({i, 1790000000000 + i, "train", {{"loss", 1.0 / i}}, {}});
  emit("telemetry-batch", "thousand_records", to_json(full));
}

void statuses() {
  ServerStatus s;
  s.mode = MergeMode::kAsync;
  s.layout = "784-128-10";
  emit("status", "fresh_server", to_json(s));
  s.model_version = 120;
  s.mode = MergeMode::kSync;
  s.updates_accepted = 1000;
  s.updates_merged = 990;
  s.telemetry_records = 50000;
  s.agents = 3;
  s.global_loss = 0.42;
  s.global_accuracy = 0.861;
  s.loss_source = "eval";
  s.gradient_variance = 0.0031;
  s.agent_list = {{"agent-000", "active", 1790000000000, 40, 1, -0.3, "aarch64"},
                  {"agent-001", "idle", 1790000000000, 38, 0, 0.1, "x86_64"},
                  {"agent-002", "quarantined", 1789999990000, 2, 5, 7.9, ""}};
  s.history = {{119, 1789999999000, 0.45, std::nullopt, 0.004, 10, std::nullopt},
               {120, 1790000000000, 0.42, 0.861, 0.0031, 10, std::nullopt}};
  emit("status", "busy_server", to_json(s));
  emit("status", "anonymous_summary", to_json(anonymous_summary(s)));
  s.loss_source = "reported";
  s.global_accuracy.reset();
  emit("status", "reported_loss", to_json(s));
  s.loss_source = "eval";
  s.task = "regression";
  s.layout = "forecast-cnn1d";
  s.global_mae = 1.93;
  s.global_rmse = 2.61;
  s.history = {{120, 1790000000000, 0.11, std::nullopt, 0.0031, 10, 1.93}};
  emit("status", "forecaster", to_json(s));
  s.task = "autoencoder";
  s.global_mae.reset();
  s.global_rmse.reset();
  s.global_anomaly_share = 0.012;
  s.history = {{120, 1790000000000, 0.031, std::nullopt, 0.0031, 10, std::nullopt}};
  emit("status", "autoencoder", to_json(s));
}

void errors() {
  for (int c = static_cast<int>(Code::kInvalidArgument); c <= static_cast<int>(Code::kIo); ++c) {
    const Code code = static_cast<Code>(c);
    const Status st(code, "update_id \"u-1\" failed: ü \xff (bad byte replaced)");
    emit("error", std::string(code_name(code)), error_body(st));  // status.hpp's writer
  }
  emit("error", "from_error_body_struct", to_json(ErrorBody{Code::kTooStale, "base version 3 is too old"}));
  emit("error", "empty_message", error_body(Status(Code::kInternal, "")));
}

void metadata(const ModelLayout& layout) {
  std::vector<float> delta(layout.size());
  for (size_t i = 0; i < delta.size(); ++i) delta[i] = 0.001f * static_cast<float>(i % 17) - 0.008f;
  UpdateMetadata m;
  m.agent_id = "agent-007";
  m.update_id = "agent-007:41";
  m.base_version = 40;
  m.num_samples = 600;
  m.train_loss = 0.2873;
  for (Encoding e : {Encoding::kF32, Encoding::kF16, Encoding::kInt8, Encoding::kTopK}) {
    auto bytes = encode_update(layout, delta, m, {e, 0.25});
    if (!bytes) throw std::runtime_error("encode_update: " + bytes.status().to_string());
    emit("update-metadata", "encoded_" + std::string(enum_name(e)), metadata_of(*bytes));
  }
  m.layout_fingerprint = layout.fingerprint();
  m.train_loss = 1e-30;
  m.base_version = 0;
  m.num_samples = 1;
  emit("update-metadata", "to_metadata_tiny_loss", json(to_metadata(m)));

  Model model(layout);
  emit("model-metadata", "version_0", metadata_of(encode_model(model, 0)));
  emit("model-metadata", "with_extras",
       metadata_of(encode_model(model, 987654321, {{"created_by", "edgefed-server"}, {"note", "ü"}})));
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: edgefed_schema_emit OUTDIR\n";
    return 2;
  }
  try {
    g_out = argv[1];
    fs::remove_all(g_out);
    auto layout = ModelLayout::mlp("6-4-3");
    if (!layout) throw std::runtime_error(layout.status().to_string());
    acks();
    tasks(*layout);
    model_specs();
    telemetry();
    statuses();
    errors();
    metadata(*layout);
  } catch (const std::exception& e) {
    std::cerr << "edgefed_schema_emit: " << e.what() << "\n";
    return 1;
  }
  std::cout << "wrote " << g_written << " bodies to " << g_out.string() << "\n";
  return 0;
}
