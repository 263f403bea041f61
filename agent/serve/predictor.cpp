#include "agent/serve/predictor.hpp"

#include <algorithm>
#include <cmath>
#include <memory>

#include "edgefed/ml/normalizer.hpp"

namespace edgefed::agent {
namespace {

// The normalizer of a forecast model: [C, W] inputs and C + T channels,
// T dividing the outputs. nullopt when the model has none or it does not fit.
std::optional<ml::Normalizer> forecast_normalizer(const ServedModel& served, int64_t& channels_in) {
  const auto& shape = served.spec.input_shape();
  if (served.model.normalizer.empty() || served.spec.task() != ml::TaskType::kRegression || shape.size() != 2)
    return std::nullopt;
  auto n = ml::Normalizer::parse(served.model.normalizer);
  if (!n) return std::nullopt;
  const int64_t c = shape[0];
  const int64_t t = static_cast<int64_t>(n->channels()) - c;
  if (t <= 0 || served.spec.output_size() % t != 0) return std::nullopt;
  channels_in = c;
  return std::move(*n);
}

}  // namespace

double PredictionBatch::signal(size_t row) const {
  const Prediction& p = rows[row];
  switch (task) {
    case ml::TaskType::kClassification: return p.confidence;
    case ml::TaskType::kRegression: return p.values.empty() ? 0.0 : p.values[0];
    case ml::TaskType::kAutoencoder: return p.score;
  }
  return 0;
}

Status Predictor::ensure_trainer(const ServedModel& served) {
  const std::string fp = served.model.layout.fingerprint();
  if (trainer_ && fp == fingerprint_) return Status::ok();
  trainer_.reset();
  trainer_.emplace(ml::Trainer::create(served.spec));
  fingerprint_ = fp;
  return Status::ok();
}

Result<PredictionBatch> Predictor::predict(const ServedModel& served, const ml::FeatureMatrix& inputs) {
  const int64_t width = served.spec.input_size();
  if (inputs.rows() == 0) return Status(Code::kInvalidArgument, "no inputs");
  if (inputs.cols() != width)
    return Status(Code::kDimensionMismatch, "inputs have " + std::to_string(inputs.cols()) +
                                              " features, the model takes " + std::to_string(width));
  for (int64_t r = 0; r < inputs.rows(); ++r)
    for (int64_t c = 0; c < width; ++c)
      if (!std::isfinite(inputs(r, c)))
        return Status(Code::kNonFinite, "input " + std::to_string(r) + ", feature " + std::to_string(c) +
                                                  " is not a finite number");
  auto store = std::make_shared<ml::DataStore>();
  store->features = inputs;
  int64_t channels_in = 0;
  const auto norm = forecast_normalizer(served, channels_in);
  if (norm) {
    const int64_t window = width / channels_in;
    for (int64_t r = 0; r < inputs.rows(); ++r)
      for (int64_t c = 0; c < width; ++c)
        store->features(r, c) = static_cast<float>(norm->apply(static_cast<size_t>(c / window), inputs(r, c)));
  }
  return predict(served, ml::Dataset(std::shared_ptr<const ml::DataStore>(store)));
}

Result<PredictionBatch> Predictor::predict(const ServedModel& served, const ml::Dataset& data) {
  EDGEFED_RETURN_IF_ERROR(ensure_trainer(served));
  PredictionBatch batch;
  batch.version = served.validation.version;
  batch.task = served.spec.task();
  batch.rows.resize(static_cast<size_t>(data.size()));
  if (batch.task == ml::TaskType::kAutoencoder) {
    auto losses = trainer_->sample_losses(served.model, data);
    if (!losses) return losses.status();
    for (size_t i = 0; i < losses->size(); ++i) {
      batch.rows[i].score = (*losses)[i];
      batch.rows[i].anomaly = served.validation.anomaly_threshold > 0 && (*losses)[i] > served.validation.anomaly_threshold;
    }
    return batch;
  }
  auto out = trainer_->predict(served.model, data);
  if (!out) return out.status();
  const int64_t k = served.spec.output_size();
  int64_t channels_in = 0;
  const auto norm = batch.task == ml::TaskType::kRegression ? forecast_normalizer(served, channels_in) : std::nullopt;
  for (size_t i = 0; i < batch.rows.size(); ++i) {
    const float* row = out->data() + i * static_cast<size_t>(k);
    Prediction& p = batch.rows[i];
    if (batch.task == ml::TaskType::kClassification) {
      const int64_t best = std::max_element(row, row + k) - row;
      double sum = 0;
      for (int64_t j = 0; j < k; ++j) sum += std::exp(static_cast<double>(row[j]) - row[best]);
      p.label = static_cast<int32_t>(best);
      p.confidence = 1.0 / sum;
    } else {
      p.values.assign(row, row + k);
      if (norm) {
        const int64_t targets = static_cast<int64_t>(norm->channels()) - channels_in;
        const int64_t horizon = k / targets;
        for (int64_t j = 0; j < k; ++j)
          p.values[j] = static_cast<float>(norm->invert(static_cast<size_t>(channels_in + j / horizon), p.values[j]));
      }
    }
  }
  return batch;
}

}  // namespace edgefed::agent
