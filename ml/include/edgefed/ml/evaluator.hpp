// The task's metrics of a model on a held-out set: the one evaluator behind
// the server's per-version evaluation (--eval-data), the sim's learning
// curve and its exact-version check.
//   classification  loss (cross-entropy) and accuracy
//   regression      loss, MAE and RMSE; in the sensor's own units when the
//                   data were standardised (a series with norm=fit)
//   autoencoder     loss (the mean reconstruction error) and the share of
//                   samples above the anomaly threshold (given, or robust:
//                   median + 3 x 1.4826 x MAD of this set's errors)
// A series is standardised with the held-out set's own statistics (norm=fit,
// as every agent standardises its own data), or with norm=model by the
// evaluated model's normalizer (Model::normalizer: the pool of the agents'
// normalizers the server merged) when it has one whose channel count fits.
//
// Thread safety: an Evaluator is used by one thread at a time (it keeps a
// Trainer's workspaces between calls); the held-out data is immutable and
// may be shared with other Evaluators and threads.
// Memory: the held-out set (shared) plus the trainer's workspaces for the
// newest layout evaluated.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "edgefed/ml/dataset.hpp"
#include "edgefed/ml/normalizer.hpp"
#include "edgefed/ml/trainer.hpp"
#include "edgefed/model_layout.hpp"
#include "edgefed/status.hpp"

namespace edgefed::ml {

class Evaluator {
 public:
  // REQUIRES: held_out != nullptr. Every sample of the store.
  explicit Evaluator(std::shared_ptr<const DataStore> held_out);
  // `output_scale` (one per model output, or empty): multiplies each
  // output's error to report MAE and RMSE in original units.
  Evaluator(Dataset held_out, std::vector<double> output_scale);

  // The Fashion-MNIST test split (t10k-*-ubyte.gz) in `data_dir`, its first
  // `max_samples` rows (0 = all 10,000). Errors: kIo, kInvalidArgument from
  // the IDX reader.
  static Result<Evaluator> open_idx_test(const std::string& data_dir, int64_t max_samples = 0);
  // The server's --eval-data: a directory is the Fashion-MNIST test split as
  // above; anything else is an agent data spec (idx:, csv:, series:; see
  // data_spec.hpp), all of whose samples are held out (no partition, no
  // validation split); a series with norm=fit reports errors in its units.
  // Errors: the spec's and the readers' (kInvalidArgument, kIo).
  static Result<Evaluator> open(const std::string& data, int64_t max_samples = 0);

  // The task's metrics of `model` on the held-out set. Errors:
  // kInvalidArgument (a layout without a model spec the trainer knows),
  // kDimensionMismatch (input width, classes or targets differ from the data).
  Result<EvalResult> evaluate(const Model& model);

  // The threshold autoencoders are judged by (0 = robust, from each set).
  void set_anomaly_threshold(double threshold) { anomaly_threshold_ = threshold; }

  // Whether the last evaluate() scaled the data with the model's normalizer.
  bool used_model_normalizer() const { return model_scaled_; }

  // The task of the model evaluated last (classification before any).
  TaskType task() const { return trainer_ ? trainer_->spec().task() : TaskType::kClassification; }

  int64_t samples() const { return data_.size(); }
  const Dataset& data() const { return data_; }

 private:
  // Switches data_ and output_scale_ to the standardisation `normalizer`
  // (Normalizer JSON; "" or unusable = the held-out set's own).
  void scale_for(const std::string& normalizer);

  Dataset data_;
  std::vector<double> output_scale_;
  double anomaly_threshold_ = 0;
  // A standardised series: the samples as fitted on the held-out set, the
  // fitted statistics and the window shape (C channels x W, T targets x H).
  struct Standardised {
    Dataset data;
    std::vector<double> output_scale;
    Normalizer fitted;
    size_t channels = 0, targets = 0;
    int64_t window = 0, horizon = 0;
  };
  std::optional<Standardised> standardised_;
  std::string scaled_for_;  // the normalizer data_ is scaled with now
  bool model_scaled_ = false;
  // Rebuilt only when the layout changes (a server keeps one model shape).
  std::optional<Trainer> trainer_;
};

// The robust threshold over per-sample errors: median + 3 x 1.4826 x MAD
// (a robust z-score of 3). 0 for no errors.
double robust_threshold(std::vector<float> errors);

}  // namespace edgefed::ml
