#include "edgefed/ml/onnx_export.hpp"

#include <string_view>
#include <vector>

#include "export/proto_writer.hpp"

namespace edgefed::ml {
namespace {

// Field numbers and enum values of onnx.proto (ONNX 1.13; stable since IR 3).
namespace onnx {
constexpr int64_t kIrVersion = 7;  // the IR version of opset 13
constexpr int64_t kOpset = 13;
constexpr int64_t kFloat = 1;  // TensorProto.DataType.FLOAT
// AttributeProto.AttributeType
constexpr int64_t kAttrInt = 2;
constexpr int64_t kAttrInts = 7;
}  // namespace onnx

// AttributeProto: name 1, i 3, ints 8, type 20.
ProtoWriter int_attr(std::string_view name, int64_t v) {
  ProtoWriter a;
  a.bytes(1, name);
  a.varint(3, v);
  a.varint(20, onnx::kAttrInt);
  return a;
}

ProtoWriter ints_attr(std::string_view name, const std::vector<int64_t>& v) {
  ProtoWriter a;
  a.bytes(1, name);
  for (int64_t x : v) a.varint(8, x);
  a.varint(20, onnx::kAttrInts);
  return a;
}

// NodeProto: input 1, output 2, name 3, op_type 4, attribute 5.
struct Node {
  std::string op;
  std::vector<std::string> inputs;
  std::string output;
  std::string name;
  std::vector<ProtoWriter> attributes;

  ProtoWriter proto() const {
    ProtoWriter n;
    for (const auto& i : inputs) n.bytes(1, i);
    n.bytes(2, output);
    n.bytes(3, name);
    n.bytes(4, op);
    for (const auto& a : attributes) n.message(5, a);
    return n;
  }
};

// TensorProto: dims 1, data_type 2, name 8, raw_data 9 (little-endian).
ProtoWriter initializer(const std::string& name, const std::vector<int64_t>& shape, std::span<const float> values) {
  ProtoWriter t;
  for (int64_t d : shape) t.varint(1, d);
  t.varint(2, onnx::kFloat);
  t.bytes(8, name);
  t.bytes(9, std::string_view(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(float)));
  return t;
}

// ValueInfoProto{name 1, type 2: TypeProto{tensor_type 1: {elem_type 1,
// shape 2: TensorShapeProto{dim 1: {dim_value 1 | dim_param 2}}}}}; the
// first dimension is the symbolic "batch".
ProtoWriter value_info(const std::string& name, const std::vector<int64_t>& sample_shape) {
  ProtoWriter shape;
  ProtoWriter batch;
  batch.bytes(2, "batch");
  shape.message(1, batch);
  for (int64_t d : sample_shape) {
    ProtoWriter dim;
    dim.varint(1, d);
    shape.message(1, dim);
  }
  ProtoWriter tensor;
  tensor.varint(1, onnx::kFloat);
  tensor.message(2, shape);
  ProtoWriter type;
  type.message(1, tensor);
  ProtoWriter v;
  v.bytes(1, name);
  v.message(2, type);
  return v;
}

// StringStringEntryProto: key 1, value 2.
ProtoWriter metadata(std::string_view key, std::string_view value) {
  ProtoWriter m;
  m.bytes(1, key);
  m.bytes(2, value);
  return m;
}

std::vector<int64_t> repeat(int64_t v, size_t n) { return std::vector<int64_t>(n, v); }

}  // namespace

Result<std::string> export_onnx(const ModelSpec& spec, const Model& model, const OnnxExportOptions& options) {
  const ModelLayout expected = spec.layout();
  if (!(model.layout == expected) || static_cast<int64_t>(model.params.size()) != expected.size())
    return Status(Code::kInvalidArgument, "onnx export: the model's tensors (" + model.layout.describe() +
                                              ") are not those of its spec (" + spec.describe() + ")");

  std::vector<Node> nodes;
  std::vector<ProtoWriter> initializers;
  std::string x = "input";
  size_t rank = spec.input_shape().size();  // without the batch dimension
  const auto& layers = spec.layers();
  for (size_t i = 0; i < layers.size(); ++i) {
    const LayerSpec& l = layers[i];
    const std::string prefix = "layers." + std::to_string(i);
    auto add = [&](std::string op, std::vector<std::string> inputs, std::vector<ProtoWriter> attrs = {},
                   std::string suffix = "") {
      Node n{std::move(op), std::move(inputs), prefix + suffix + ".out", prefix + suffix, std::move(attrs)};
      x = n.output;
      nodes.push_back(std::move(n));
    };
    std::vector<std::string> params;
    if (l.has_params()) {
      for (const char* kind : {".weight", ".bias"}) {
        const std::string name = prefix + kind;
        const int t = model.layout.index_of(name);
        if (t < 0) return Status(Code::kInternal, "onnx export: no tensor " + name + " in the spec's layout");
        initializers.push_back(initializer(name, model.layout.tensors()[t].shape, model.tensor(t)));
        params.push_back(name);
      }
    }
    const size_t spatial = l.in_shape.size() > 0 ? l.in_shape.size() - 1 : 0;  // [C, L] or [C, H, W]
    // Convolutions and pools: a square window sliding with one stride.
    auto window = [&] {
      return std::vector<ProtoWriter>{ints_attr("kernel_shape", repeat(l.kernel, spatial)),
                                      ints_attr("strides", repeat(l.stride, spatial))};
    };
    switch (l.type) {
      case LayerType::kDense:
        if (rank > 1) add("Flatten", {x}, {int_attr("axis", 1)}, ".flatten");
        add("Gemm", {x, params[0], params[1]}, {int_attr("transB", 1)});
        break;
      case LayerType::kConv1d:
      case LayerType::kConv2d: {
        auto attrs = window();
        attrs.push_back(ints_attr("pads", repeat(l.padding, 2 * spatial)));
        add("Conv", {x, params[0], params[1]}, std::move(attrs));
        break;
      }
      case LayerType::kMaxPool1d:
      case LayerType::kMaxPool2d:
        add("MaxPool", {x}, window());
        break;
      case LayerType::kAvgPool2d:
        add("AveragePool", {x}, window());
        break;
      case LayerType::kGlobalAvgPool:
        add("GlobalAveragePool", {x});
        add("Flatten", {x}, {int_attr("axis", 1)}, ".flatten");
        break;
      case LayerType::kFlatten:
        add("Flatten", {x}, {int_attr("axis", 1)});
        break;
      case LayerType::kRelu:
        add("Relu", {x});
        break;
      case LayerType::kTanh:
        add("Tanh", {x});
        break;
      case LayerType::kSigmoid:
        add("Sigmoid", {x});
        break;
      case LayerType::kDropout:
        break;  // the identity at inference
    }
    rank = l.out_shape.size();
  }
  // The graph's output is "output": the last node's, renamed (an Identity
  // when no layer emitted a node).
  if (nodes.empty()) {
    nodes.push_back(Node{"Identity", {x}, "output", "output", {}});
  } else {
    nodes.back().output = "output";
  }
  const std::vector<int64_t> out_shape = layers.empty() ? spec.input_shape() : layers.back().out_shape;
  const bool classifier = spec.task() == TaskType::kClassification;
  if (classifier) nodes.push_back(Node{"Softmax", {"output"}, "probabilities", "probabilities", {int_attr("axis", 1)}});

  // GraphProto: node 1, name 2, initializer 5, input 11, output 12.
  ProtoWriter graph;
  for (const auto& n : nodes) graph.message(1, n.proto());
  graph.bytes(2, options.graph_name);
  for (const auto& t : initializers) graph.message(5, t);
  graph.message(11, value_info("input", spec.input_shape()));
  graph.message(12, value_info("output", out_shape));
  if (classifier) graph.message(12, value_info("probabilities", out_shape));

  // ModelProto: ir_version 1, producer_name 2, producer_version 3,
  // model_version 5, doc_string 6, graph 7, opset_import 8, metadata_props 14.
  ProtoWriter m;
  m.varint(1, onnx::kIrVersion);
  m.bytes(2, "edgefed");
  m.bytes(3, options.producer_version);
  m.varint(5, options.model_version);
  m.bytes(6, spec.describe());
  m.message(7, graph);
  ProtoWriter opset;
  opset.bytes(1, "");
  opset.varint(2, onnx::kOpset);
  m.message(8, opset);
  m.message(14, metadata("edgefed.model_spec", spec.canonical_json()));
  m.message(14, metadata("edgefed.task", enum_name(spec.task())));
  if (!model.normalizer.empty()) m.message(14, metadata("edgefed.normalizer", model.normalizer));
  return m.data();
}

}  // namespace edgefed::ml
