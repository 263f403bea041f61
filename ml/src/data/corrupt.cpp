#include "edgefed/ml/corrupt.hpp"

#include "edgefed/ml/rng.hpp"

namespace edgefed::ml {

bool valid_corruption(const std::string& mode) { return mode.empty() || mode == "labels" || mode == "noise"; }

std::shared_ptr<const DataStore> corrupt_rows(const DataStore& store, std::span<const uint32_t> rows,
                                              const std::string& mode, uint64_t seed) {
  auto out = std::make_shared<DataStore>();
  out->num_classes = store.num_classes;
  out->features.resize(static_cast<Eigen::Index>(rows.size()), store.features.cols());
  out->labels.resize(rows.size());
  Rng rng = Rng::derive(seed, 0xC0FFEE);
  for (size_t i = 0; i < rows.size(); ++i) {
    const auto r = static_cast<Eigen::Index>(i);
    if (mode == "noise") {
      for (Eigen::Index c = 0; c < out->features.cols(); ++c) out->features(r, c) = static_cast<float>(rng.uniform());
    } else {
      out->features.row(r) = store.features.row(rows[i]);
    }
    out->labels[i] = mode == "labels" && store.num_classes > 0
                         ? static_cast<int32_t>(rng.below(static_cast<uint64_t>(store.num_classes)))
                         : store.labels[rows[i]];
  }
  return out;
}

}  // namespace edgefed::ml
