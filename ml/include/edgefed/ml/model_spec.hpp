// The model spec: a JSON document describing a sequential network (the
// public contract of schemas/model-spec.schema.json and docs/models.md):
//
//   {"input": [1, 28, 28],
//    "layers": [{"type": "conv2d", "out": 16, "kernel": 3, "padding": 1},
//               {"type": "relu"}, {"type": "maxpool2d", "kernel": 2},
//               {"type": "flatten"}, {"type": "dense", "out": 10}],
//    "loss": "softmax_cross_entropy"}
//
// Tensor names and shapes are PyTorch's for the same torch.nn.Sequential:
// layer i's parameters are "layers.{i}.weight" and "layers.{i}.bias"; dense
// weights are [out, in], conv1d [out, in, k], conv2d [out, in, k, k];
// activations are channel-major ([C, L] or [C, H, W], flattened in that
// order), so a checkpoint loads into PyTorch by stripping "layers.".
//
// Parsing validates everything a trainer relies on: known layer types and
// keys, shapes that fit (a conv whose kernel exceeds its padded input, a zero-
// sized output, a dense layer after a 2-D activation without flatten), the
// loss against the output, and size limits (text, layers, parameters,
// activations). Errors are kInvalidArgument with one line naming the layer,
// e.g. "model spec: layers[3] (conv2d): kernel 5 is larger than its input 4x4
// (padding 0)".
//
// Thread safety: a ModelSpec is an immutable value after parsing.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "edgefed/enum_names.hpp"
#include "edgefed/model_layout.hpp"
#include "edgefed/status.hpp"

namespace edgefed::ml {

enum class LayerType {
  kDense,
  kConv1d,
  kConv2d,
  kMaxPool1d,
  kMaxPool2d,
  kAvgPool2d,
  kGlobalAvgPool,
  kFlatten,
  kRelu,
  kTanh,
  kSigmoid,
  kDropout,
};

enum class LossType { kSoftmaxCrossEntropy, kMse, kHuber };

// What the model learns, from the loss and "target":
//   classification  softmax_cross_entropy on integer labels
//   regression      mse or huber on float targets (any number of outputs)
//   autoencoder     mse or huber with "target": "input"; the per-sample
//                   reconstruction error is the anomaly score
enum class TaskType { kClassification, kRegression, kAutoencoder };

inline constexpr EnumName<LayerType> kLayerTypeNames[] = {
    {LayerType::kDense, "dense"},           {LayerType::kConv1d, "conv1d"},
    {LayerType::kConv2d, "conv2d"},         {LayerType::kMaxPool1d, "maxpool1d"},
    {LayerType::kMaxPool2d, "maxpool2d"},   {LayerType::kAvgPool2d, "avgpool2d"},
    {LayerType::kGlobalAvgPool, "global_avgpool"}, {LayerType::kFlatten, "flatten"},
    {LayerType::kRelu, "relu"},             {LayerType::kTanh, "tanh"},
    {LayerType::kSigmoid, "sigmoid"},       {LayerType::kDropout, "dropout"}};
constexpr std::span<const EnumName<LayerType>> enum_names(LayerType) { return kLayerTypeNames; }

inline constexpr EnumName<LossType> kLossTypeNames[] = {
    {LossType::kSoftmaxCrossEntropy, "softmax_cross_entropy"}, {LossType::kMse, "mse"}, {LossType::kHuber, "huber"}};
constexpr std::span<const EnumName<LossType>> enum_names(LossType) { return kLossTypeNames; }

inline constexpr EnumName<TaskType> kTaskTypeNames[] = {
    {TaskType::kClassification, "classification"}, {TaskType::kRegression, "regression"},
    {TaskType::kAutoencoder, "autoencoder"}};
constexpr std::span<const EnumName<TaskType>> enum_names(TaskType) { return kTaskTypeNames; }

struct LayerSpec {
  LayerType type = LayerType::kDense;
  int out = 0;          // dense: features; conv: channels
  int kernel = 0;       // conv, pools: square kernel side (1-D: length)
  int stride = 1;       // conv (default 1), pools (default = kernel)
  int padding = 0;      // conv: zeros on each side
  double rate = 0;      // dropout: probability of zeroing, in [0, 1)
  // Derived by parse: activation shapes (channel-major, no batch dimension).
  std::vector<int64_t> in_shape;
  std::vector<int64_t> out_shape;
  bool has_params() const { return type == LayerType::kDense || type == LayerType::kConv1d || type == LayerType::kConv2d; }
};

class ModelSpec {
 public:
  // Limits (a spec arrives from admins and inside model files).
  static constexpr size_t kMaxTextBytes = 64 * 1024;
  static constexpr size_t kMaxLayers = 64;
  static constexpr int64_t kMaxParams = int64_t{1} << 26;      // 64 Mi floats (256 MB)
  static constexpr int64_t kMaxActivation = int64_t{1} << 24;  // floats per sample per layer

  // Parses and validates a JSON spec (see the file comment).
  static Result<ModelSpec> parse(std::string_view json_text);
  // A named preset (model_presets.cpp): "mlp:784-128-10" (dense/relu/.../
  // dense, softmax cross-entropy), "cnn-fmnist", "forecast-cnn1d[:W]",
  // "autoencoder[:N]". kInvalidArgument lists the presets on an unknown name.
  static Result<ModelSpec> preset(const std::string& name);
  // The flags' form: a FILE ending in ".json" is read and parsed, anything
  // else is a preset name. kIo if the file cannot be read.
  static Result<ModelSpec> load(const std::string& preset_or_file);
  // The spec of a model file: its architecture when it has one, else the
  // MLP its tensors make (files written before model specs, or a plain
  // safetensors MLP). kInvalidArgument if neither.
  static Result<ModelSpec> of_layout(const ModelLayout& layout);

  // The names presets() accepts, for help and error texts.
  static std::string preset_names();

  const std::vector<int64_t>& input_shape() const { return input_; }
  int64_t input_size() const;                   // product of input_shape
  int64_t output_size() const;                  // the last layer's output, flat
  const std::vector<LayerSpec>& layers() const { return layers_; }
  LossType loss() const { return loss_; }
  TaskType task() const { return task_; }
  double huber_delta() const { return huber_delta_; }
  const std::string& name() const { return name_; }  // may be empty
  int64_t num_params() const;

  // The canonical JSON text: every default filled in, keys sorted, no
  // whitespace. Two specs of the same network give the same text; it is
  // what model files carry under "model_spec" and the layout fingerprints.
  const std::string& canonical_json() const { return canonical_; }
  // The tensors (PyTorch names and shapes) with this spec as architecture.
  ModelLayout layout() const;
  // Weights He-uniform (fan-in), biases zero; deterministic in the seed.
  Model init(uint64_t seed) const;

  // One line for logs, e.g. "cnn-fmnist (conv2d 16, relu, maxpool2d, ...)".
  std::string describe() const;

 private:
  std::vector<int64_t> input_;
  std::vector<LayerSpec> layers_;
  LossType loss_ = LossType::kSoftmaxCrossEntropy;
  TaskType task_ = TaskType::kClassification;
  double huber_delta_ = 1.0;
  std::string name_;
  std::string canonical_;
};

// Files written before model specs named an MLP's tensors layers.0, layers.1,
// ... (one index per dense layer); the spec numbers every layer, ReLUs
// included (layers.0, layers.2, ...). If `model` has no architecture and is
// such an MLP, renames its tensors and attaches the MLP spec (the values are
// unchanged); returns whether it did. Any other model is left as it is.
bool upgrade_legacy_mlp(Model& model);

// The layout such a file had, for a layout whose spec is a plain MLP
// (dense/relu/.../dense, softmax cross-entropy): updates acknowledged
// before the upgrade still carry it. nullopt for any other layout.
std::optional<ModelLayout> legacy_mlp_layout(const ModelLayout& layout);

}  // namespace edgefed::ml
