// The shape of a model: named tensors laid out back to back in one flat
// float32 buffer, plus the architecture that computes with them (the model
// spec's canonical JSON, which ml::ModelSpec parses; common treats it as
// opaque text). Server and agent compare layouts by fingerprint, which covers
// both, so an update computed for another model, or for the same tensors
// wired differently, is refused instead of being merged into garbage.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "edgefed/status.hpp"

namespace edgefed {

struct TensorSpec {
  std::string name;            // e.g. "layers.0.weight"
  std::vector<int64_t> shape;  // row-major, e.g. {128, 784}
  int64_t numel() const;
};

class ModelLayout {
 public:
  ModelLayout() = default;
  // Fails on duplicate or empty names, empty layouts and non-positive dims.
  // `architecture` is the model spec's canonical JSON ("" = unknown, as in a
  // plain safetensors file from elsewhere or a file written before specs).
  static Result<ModelLayout> create(std::vector<TensorSpec> tensors, std::string architecture = "");
  // A dense MLP "784-128-10": for each layer i, "layers.i.weight" [out, in]
  // then "layers.i.bias" [out]. Accepts "mlp:784-128-10" or "784-128-10";
  // two sizes give softmax regression.
  static Result<ModelLayout> mlp(const std::string& spec);

  const std::vector<TensorSpec>& tensors() const { return tensors_; }
  int64_t size() const { return total_; }          // total float count
  int64_t offset(size_t i) const { return offsets_[i]; }
  // Index of a tensor by name, or -1.
  int index_of(const std::string& name) const;
  // sha256 over the canonical "name:d0xd1;..." description (then
  // "spec:" and the architecture, when there is one), first 16 hex digits.
  // Equal fingerprints mean equal names, order, shapes and architecture.
  const std::string& fingerprint() const { return fingerprint_; }
  const std::string& architecture() const { return architecture_; }
  // The layer sizes if the tensors are those of mlp() (consecutive
  // layers.i, the naming before model specs), else empty.
  std::vector<int> mlp_sizes() const;
  // The spec's "name" when the architecture has one, "784-128-10" for an
  // mlp() layout, else the fingerprint.
  std::string describe() const;

  bool operator==(const ModelLayout& o) const { return fingerprint_ == o.fingerprint_; }

 private:
  std::vector<TensorSpec> tensors_;
  std::vector<int64_t> offsets_;
  int64_t total_ = 0;
  std::string fingerprint_;
  std::string architecture_;
  std::string name_;  // the architecture's "name", if any
};

// A model: a layout and its parameters in one flat buffer.
struct Model {
  ModelLayout layout;
  std::vector<float> params;  // size() == layout.size()
  // The input standardisation the model was trained with, as
  // ml::Normalizer's compact JSON ({"mean":[..],"std":[..]}), or "" for
  // none. A merged version carries the sample-weighted pool of its updates'
  // normalizers, so the file tells a reader how to scale inputs. Not part of
  // the layout: the same architecture may see differently scaled data.
  std::string normalizer;

  Model() = default;
  explicit Model(ModelLayout l) : layout(std::move(l)), params(layout.size(), 0.0f) {}

  std::span<float> tensor(size_t i);
  std::span<const float> tensor(size_t i) const;
};

// He-uniform weights, zero biases, deterministic in the seed.
Model init_mlp(const ModelLayout& layout, uint64_t seed);

}  // namespace edgefed
