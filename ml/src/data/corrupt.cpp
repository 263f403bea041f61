#include "edgefed/ml/corrupt.hpp"

#include "edgefed/ml/normalizer.hpp"
#include "edgefed/ml/rng.hpp"

namespace edgefed::ml {
namespace {

constexpr double kSpikeProbability = 0.02;
constexpr double kSpikeStd = 5.0;
constexpr double kDriftStd = 3.0;

}  // namespace

bool valid_corruption(const std::string& mode) { return mode.empty() || mode == "labels" || mode == "noise"; }

std::shared_ptr<const DataStore> corrupt_rows(const DataStore& store, std::span<const uint32_t> rows,
                                              const std::string& mode, uint64_t seed) {
  auto out = std::make_shared<DataStore>();
  out->num_classes = store.num_classes;
  out->class_names = store.class_names;
  const bool labelled = !store.labels.empty();
  out->features.resize(static_cast<Eigen::Index>(rows.size()), store.features.cols());
  out->targets.resize(store.targets.rows() > 0 ? static_cast<Eigen::Index>(rows.size()) : 0, store.targets.cols());
  if (labelled) out->labels.resize(rows.size());
  Rng rng = Rng::derive(seed, 0xC0FFEE);
  for (size_t i = 0; i < rows.size(); ++i) {
    const auto r = static_cast<Eigen::Index>(i);
    if (mode == "noise") {
      for (Eigen::Index c = 0; c < out->features.cols(); ++c) out->features(r, c) = static_cast<float>(rng.uniform());
    } else {
      out->features.row(r) = store.features.row(rows[i]);
    }
    if (out->targets.rows() > 0) out->targets.row(r) = store.targets.row(rows[i]);
    if (labelled)
      out->labels[i] = mode == "labels" && store.num_classes > 0
                           ? static_cast<int32_t>(rng.below(static_cast<uint64_t>(store.num_classes)))
                           : store.labels[rows[i]];
  }
  return out;
}

bool valid_fault(const std::string& mode) {
  return mode.empty() || mode == "stuck" || mode == "spikes" || mode == "drift";
}

std::vector<uint8_t> apply_series_fault(std::vector<std::vector<double>>& columns, const std::string& mode,
                                        uint64_t seed) {
  const size_t n = columns.empty() ? 0 : columns[0].size();
  std::vector<uint8_t> faulty(n, 0);
  if (n == 0 || mode.empty()) return faulty;
  // Magnitudes in units of the clean range's spread (1 for a constant column).
  const Normalizer scale = Normalizer::fit(columns);
  const size_t onset = n / 3;
  if (mode == "stuck") {
    for (auto& col : columns)
      for (size_t r = onset + 1; r < n; ++r) col[r] = col[onset];
    for (size_t r = onset + 1; r < n; ++r) faulty[r] = 1;
  } else if (mode == "spikes") {
    Rng rng = Rng::derive(seed, 0x5B1CE5);
    // Two draws per reading, spike or not, so a spike's position depends on
    // the seed and its index alone.
    for (size_t r = 0; r < n; ++r)
      for (size_t c = 0; c < columns.size(); ++c) {
        const bool spike = rng.uniform() < kSpikeProbability;
        const double sign = rng.uniform() < 0.5 ? -1.0 : 1.0;
        if (!spike) continue;
        columns[c][r] += sign * kSpikeStd * scale.std[c];
        faulty[r] = 1;
      }
  } else if (mode == "drift") {
    const double span = static_cast<double>(n - 1 - onset);
    for (size_t c = 0; c < columns.size(); ++c)
      for (size_t r = onset + 1; r < n; ++r)
        columns[c][r] += kDriftStd * scale.std[c] * static_cast<double>(r - onset) / span;
    for (size_t r = onset + 1; r < n; ++r) faulty[r] = 1;
  }
  return faulty;
}

}  // namespace edgefed::ml
