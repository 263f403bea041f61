// edgefed_model_outputs: the C++ half of the test that a checkpoint means
// the same network to numpy (tests/python/numpy_forward.py) as to edgefed.
//
//   edgefed_model_outputs SPEC OUTDIR [SAMPLES]
//
// SPEC is a preset or a model spec FILE.json. Writes into OUTDIR:
//   model.safetensors  the model after a few training steps on random data
//                      (so that no bias is still zero), as encode_model, the
//                      function behind every server checkpoint, writes it
//   inputs.f32         SAMPLES (default 32) random samples, raw
//                      little-endian float32
//   outputs.f32        edgefed's outputs for them (Trainer::predict, the
//                      forward pass of evaluation)
//   model.onnx         the same model as ml::export_onnx writes it, for the
//                      ONNX checker and ONNX Runtime tests
//   meta.json          {"input_shape": [...], "output_shape": [...],
//                      "samples": N, "task": "..."}
// Exit status 0, or 1 with one line on stderr.
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <random>

#include "edgefed/ml/model_spec.hpp"
#include "edgefed/ml/onnx_export.hpp"
#include "edgefed/ml/trainer.hpp"
#include "edgefed/model_io.hpp"

using namespace edgefed;
using namespace edgefed::ml;

namespace {

bool write_file(const std::string& path, const void* data, size_t bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(static_cast<const char*>(data), static_cast<std::streamsize>(bytes));
  return static_cast<bool>(out);
}

Dataset make_samples(const ModelSpec& spec, int n, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> g(0.0f, 1.0f);
  DataStore s;
  s.features.resize(n, spec.input_size());
  for (int i = 0; i < n; ++i)
    for (int64_t j = 0; j < spec.input_size(); ++j) s.features(i, j) = g(rng);
  if (spec.task() == TaskType::kClassification) {
    s.num_classes = static_cast<int>(spec.output_size());
    for (int i = 0; i < n; ++i) s.labels.push_back(static_cast<int32_t>(rng() % static_cast<unsigned>(s.num_classes)));
  } else if (spec.task() == TaskType::kRegression) {
    s.targets.resize(n, spec.output_size());
    for (int i = 0; i < n; ++i)
      for (int64_t j = 0; j < spec.output_size(); ++j) s.targets(i, j) = g(rng);
  }
  return Dataset::own(std::move(s));
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3 && argc != 4) {
    std::cerr << "usage: edgefed_model_outputs SPEC OUTDIR [SAMPLES]\n";
    return 2;
  }
  const int samples = argc == 4 ? std::atoi(argv[3]) : 32;
  if (samples < 1 || samples > 100000) {
    std::cerr << "edgefed_model_outputs: SAMPLES must be 1..100000\n";
    return 2;
  }
  auto spec = ModelSpec::load(argv[1]);
  if (!spec) {
    std::cerr << "edgefed_model_outputs: " << spec.status().to_string() << "\n";
    return 1;
  }
  const std::string dir = argv[2];
  Trainer trainer = Trainer::create(*spec);
  Model model = spec->init(3);
  TrainOptions o;
  o.steps = 3;
  o.batch_size = 8;
  o.lr = 0.01f;
  auto trained = trainer.train(model, make_samples(*spec, 24, 1), o);
  if (!trained) {
    std::cerr << "edgefed_model_outputs: " << trained.status().to_string() << "\n";
    return 1;
  }
  for (size_t i = 0; i < model.params.size(); ++i) model.params[i] += trained->delta[i];
  const Dataset inputs = make_samples(*spec, samples, 2);
  auto outputs = trainer.predict(model, inputs);
  if (!outputs) {
    std::cerr << "edgefed_model_outputs: " << outputs.status().to_string() << "\n";
    return 1;
  }
  const std::string file = encode_model(model, 1);
  auto onnx = export_onnx(*spec, model, {"test", 1, "edgefed"});
  if (!onnx) {
    std::cerr << "edgefed_model_outputs: " << onnx.status().to_string() << "\n";
    return 1;
  }
  const std::string meta = nlohmann::json{{"input_shape", spec->input_shape()},
                                          {"output_shape", spec->layers().empty() ? spec->input_shape() : spec->layers().back().out_shape},
                                          {"samples", samples},
                                          {"task", enum_name(spec->task())}}
                               .dump();
  const auto& x = inputs.store()->features;
  if (!write_file(dir + "/model.safetensors", file.data(), file.size()) ||
      !write_file(dir + "/model.onnx", onnx->data(), onnx->size()) ||
      !write_file(dir + "/meta.json", meta.data(), meta.size()) ||
      !write_file(dir + "/inputs.f32", x.data(), static_cast<size_t>(x.size()) * sizeof(float)) ||
      !write_file(dir + "/outputs.f32", outputs->data(), outputs->size() * sizeof(float))) {
    std::cerr << "edgefed_model_outputs: cannot write into " << dir << "\n";
    return 1;
  }
  return 0;
}
