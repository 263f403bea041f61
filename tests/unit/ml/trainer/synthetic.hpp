// Small synthetic classification sets for trainer tests: Gaussian blobs, one
// per class, separable enough that a few epochs reach high accuracy.
#pragma once

#include <random>

#include "edgefed/ml/dataset.hpp"

namespace edgefed::test {

inline ml::Dataset blobs(int n, int dim, int classes, unsigned seed, float spread = 0.5f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> noise(0.0f, spread);
  std::normal_distribution<float> centre(0.0f, 1.5f);
  ml::FeatureMatrix centres(classes, dim);
  std::mt19937 crng(1234);  // the same class centres for every seed
  for (int c = 0; c < classes; ++c)
    for (int j = 0; j < dim; ++j) centres(c, j) = centre(crng);
  ml::DataStore s;
  s.num_classes = classes;
  s.features.resize(n, dim);
  s.labels.resize(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) {
    const int y = i % classes;
    s.labels[static_cast<size_t>(i)] = y;
    for (int j = 0; j < dim; ++j) s.features(i, j) = centres(y, j) + noise(rng);
  }
  return ml::Dataset::own(std::move(s));
}

}  // namespace edgefed::test
