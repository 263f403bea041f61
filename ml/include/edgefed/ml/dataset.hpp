// In-memory training data. A DataStore holds samples once (row-major float
// features, and int32 class labels or float regression targets); a Dataset is a cheap view of it (a shared_ptr to
// the store plus a list of row indices), so 100 agents in one process share
// one copy of Fashion-MNIST and each holds only its index list.
//
// Thread safety: a DataStore is immutable once shared; Datasets are values
// that may be read from many threads at once.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include <Eigen/Core>

namespace edgefed::ml {

using FeatureMatrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

struct DataStore {
  FeatureMatrix features;       // n x d; images are scaled to [0, 1]
  std::vector<int32_t> labels;  // classification: n labels in [0, num_classes); else empty
  int num_classes = 0;
  // Categorical labels (a CSV label column of strings): the name of class k,
  // the distinct strings sorted by byte order. Empty for integer labels.
  std::vector<std::string> class_names;
  FeatureMatrix targets;        // regression: n x target_dim float targets; else 0 x 0

  int64_t size() const { return features.rows(); }
  int64_t dim() const { return features.cols(); }
  int64_t target_dim() const { return targets.cols(); }
  bool has_labels() const { return !labels.empty() || features.rows() == 0; }
};

class Dataset {
 public:
  Dataset() = default;
  // A view of every row of `store`.
  explicit Dataset(std::shared_ptr<const DataStore> store);
  // A view of the given rows. REQUIRES: every index < store->size().
  Dataset(std::shared_ptr<const DataStore> store, std::vector<uint32_t> rows);
  // Takes ownership of a freshly built store (e.g. a stream batch).
  static Dataset own(DataStore store);

  int64_t size() const { return static_cast<int64_t>(rows_.size()); }
  bool empty() const { return rows_.empty(); }
  int64_t dim() const { return store_ ? store_->dim() : 0; }
  int num_classes() const { return store_ ? store_->num_classes : 0; }
  // Regression targets per sample (0 when the store has labels instead).
  int64_t target_dim() const { return store_ ? store_->target_dim() : 0; }

  // Row i of the view (0 <= i < size()).
  const float* features(int64_t i) const { return store_->features.row(rows_[i]).data(); }
  // REQUIRES: the store has labels.
  int32_t label(int64_t i) const { return store_->labels[rows_[i]]; }
  // REQUIRES: target_dim() > 0.
  const float* target(int64_t i) const { return store_->targets.row(rows_[i]).data(); }
  // Indices into the store, in view order.
  std::span<const uint32_t> rows() const { return rows_; }
  const std::shared_ptr<const DataStore>& store() const { return store_; }

  // A view of a subset of this view's positions (not store indices).
  Dataset subset(std::span<const uint32_t> positions) const;
  // Samples per class, num_classes() entries.
  std::vector<int64_t> class_counts() const;

 private:
  std::shared_ptr<const DataStore> store_;
  std::vector<uint32_t> rows_;
};

}  // namespace edgefed::ml
