// ONNX export: a model spec and its parameters as an ONNX ModelProto that
// inference runtimes (ONNX Runtime, TensorRT, OpenVINO, TFLite converters)
// load. Our own writer of the few protobuf messages ONNX needs
// (export/proto_writer.hpp); no protobuf library.
//
// The graph, opset 13 (IR version 7):
//   input   "input"  float [batch, ...spec input shape]
//   dense   Gemm(x, layers.i.weight, layers.i.bias, transB=1)
//   conv    Conv (kernel_shape, strides, pads as the spec's)
//   pools   MaxPool / AveragePool (floor, no padding, as the trainer's);
//           global_avgpool is GlobalAveragePool then Flatten
//   flatten Flatten(axis=1); relu, tanh, sigmoid as themselves; dropout is
//           the identity at inference and emits no node
//   output  "output" float [batch, ...last layer's shape]: logits for a
//           classifier, the prediction for a regression model, the
//           reconstruction for an autoencoder; a classifier also has
//           "probabilities" (Softmax over axis 1)
// Initializers carry PyTorch's tensor names ("layers.0.weight"). Metadata
// properties: edgefed.model_spec (canonical JSON), edgefed.task, and when
// the model has one edgefed.normalizer (the input standardisation the model
// was trained with: a reader applies (v - mean) / std per channel first).
//
// Errors: kInvalidArgument when the model's layout is not the spec's.
// Thread safety: a pure function.
#pragma once

#include <cstdint>
#include <string>

#include "edgefed/ml/model_spec.hpp"
#include "edgefed/model_layout.hpp"
#include "edgefed/status.hpp"

namespace edgefed::ml {

struct OnnxExportOptions {
  std::string producer_version;  // ModelProto.producer_version, e.g. "0.1.0"
  int64_t model_version = 0;     // ModelProto.model_version: the edgefed version
  std::string graph_name = "edgefed";
};

// The serialized ModelProto.
Result<std::string> export_onnx(const ModelSpec& spec, const Model& model, const OnnxExportOptions& options = {});

}  // namespace edgefed::ml
