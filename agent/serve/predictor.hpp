// Predictions of a served model for the device's own application:
//   classification  the class (argmax) and its softmax probability
//   regression      the model's outputs; a forecast model that carries a
//                   normalizer (series data with norm=fit) takes its input
//                   windows in sensor units and answers in sensor units
//   autoencoder     the reconstruction error (the anomaly score) and
//                   whether it is above the threshold set at validation
//
// Thread safety: one Predictor per thread (it keeps the trainer's
// workspaces); the ServedModel is shared and immutable.
// Errors: kInvalidArgument (no rows), kDimensionMismatch (a row of the
// wrong width), kNonFinite (a NaN or infinite feature).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "agent/serve/serving_model.hpp"
#include "edgefed/ml/dataset.hpp"
#include "edgefed/ml/trainer.hpp"
#include "edgefed/status.hpp"

namespace edgefed::agent {

struct Prediction {
  int32_t label = -1;          // classification
  double confidence = 0;       // classification: P(label)
  std::vector<float> values;   // regression
  double score = 0;            // autoencoder: reconstruction error
  bool anomaly = false;        // autoencoder: score above the threshold
};

struct PredictionBatch {
  int64_t version = -1;        // of the model that answered
  ml::TaskType task = ml::TaskType::kClassification;
  std::vector<Prediction> rows;
  // The one number per prediction drift is watched on (drift_monitor.hpp):
  // confidence, the first regression value, or the reconstruction error.
  double signal(size_t row) const;
};

class Predictor {
 public:
  // `inputs`: rows x spec.input_size() features.
  Result<PredictionBatch> predict(const ServedModel& served, const ml::FeatureMatrix& inputs);

  // Predictions over a whole data set's features (labels ignored).
  Result<PredictionBatch> predict(const ServedModel& served, const ml::Dataset& data);

 private:
  Status ensure_trainer(const ServedModel& served);
  std::optional<ml::Trainer> trainer_;
  std::string fingerprint_;
};

}  // namespace edgefed::agent
