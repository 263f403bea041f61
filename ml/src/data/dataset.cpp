#include "edgefed/ml/dataset.hpp"

#include <numeric>

namespace edgefed::ml {

Dataset::Dataset(std::shared_ptr<const DataStore> store) : store_(std::move(store)) {
  rows_.resize(static_cast<size_t>(store_ ? store_->size() : 0));
  std::iota(rows_.begin(), rows_.end(), 0u);
}

Dataset::Dataset(std::shared_ptr<const DataStore> store, std::vector<uint32_t> rows)
    : store_(std::move(store)), rows_(std::move(rows)) {}

Dataset Dataset::own(DataStore store) {
  return Dataset(std::make_shared<const DataStore>(std::move(store)));
}

Dataset Dataset::subset(std::span<const uint32_t> positions) const {
  std::vector<uint32_t> rows;
  rows.reserve(positions.size());
  for (uint32_t p : positions) rows.push_back(rows_[p]);
  return Dataset(store_, std::move(rows));
}

std::vector<int64_t> Dataset::class_counts() const {
  std::vector<int64_t> counts(static_cast<size_t>(num_classes()), 0);
  if (!store_ || store_->labels.empty()) return counts;
  for (uint32_t r : rows_) {
    const int32_t y = store_->labels[r];
    if (y >= 0 && y < num_classes()) ++counts[static_cast<size_t>(y)];
  }
  return counts;
}

}  // namespace edgefed::ml
