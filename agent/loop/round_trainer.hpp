// One local training round on the agent's data: a copy of the global model
// trained per the server's task (the colleague's ml::Trainer), returning the
// delta and figures for telemetry. Two kinds of data:
//   idx / csv  a fixed local data set (possibly a view of a data set shared
//              by many simulated agents) with a local validation split
//   stream     records arriving on a FIFO / stdin: online steps on small
//              batches as they arrive, for at most the task's steps (or
//              stream_steps) or max_round_ms, whichever comes first
//
// Thread safety: one round at a time; many RoundTrainers may run in parallel
// (they share only immutable data). `stop` is polled between stream batches.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "edgefed/ml/local_data.hpp"
#include "edgefed/ml/stream_source.hpp"
#include "edgefed/ml/trainer.hpp"
#include "edgefed/model_layout.hpp"
#include "edgefed/protocol.hpp"
#include "edgefed/status.hpp"

namespace edgefed::agent {

struct RoundOptions {
  int accumulation_steps = 1;     // micro-batches per optimizer step (memory bound)
  int64_t stream_steps = 20;      // stream: steps per round when the task says 0
  int64_t max_round_ms = 30000;   // stream: longest wait for records in one round
};

struct RoundResult {
  std::vector<float> delta;       // local - global
  int64_t num_samples = 0;        // samples the update is worth (>= 1)
  int64_t steps = 0;
  double train_loss = 0;
  double train_accuracy = 0;
  double samples_per_s = 0;
  double seconds = 0;             // wall time of the training itself
  std::optional<ml::EvalResult> validation;  // of the trained model, if there is a split
  // The local data's standardisation (ml::Normalizer JSON), "" = none; sent
  // in the update metadata so the server knows the scale the delta saw.
  std::string normalizer;
};

class RoundTrainer {
 public:
  // Fixed data (idx, csv).
  static std::unique_ptr<RoundTrainer> with_data(ml::LocalData data, RoundOptions options = {});
  // Streamed data.
  static std::unique_ptr<RoundTrainer> with_stream(std::unique_ptr<ml::StreamSource> stream,
                                                   RoundOptions options = {});

  // kUnavailable when a stream had no records this round (nothing to send);
  // the ml::Trainer's errors otherwise (kDimensionMismatch: model and data
  // disagree; kNonFinite: diverged).
  Result<RoundResult> train(const Model& global, const Task& task, uint64_t seed,
                            const std::atomic<bool>& stop);

  int64_t local_samples() const { return data_ ? data_->train.size() : 0; }
  // Samples of the holdout (the local validation split, never trained on).
  int64_t holdout_samples() const { return data_ ? data_->validation.size() : 0; }
  // The holdout itself (null for a stream).
  const ml::Dataset* holdout() const { return data_ ? &data_->validation : nullptr; }

  // `model` on the holdout: its metrics and, for an autoencoder, each
  // sample's reconstruction error. nullopt without a holdout (a stream, or
  // val=0). Errors: the trainer's (kDimensionMismatch: model and data
  // disagree; kInvalidArgument: a layout without a known architecture).
  struct Holdout {
    ml::EvalResult eval;
    ml::TaskType task = ml::TaskType::kClassification;
    std::vector<float> sample_losses;  // autoencoder only
  };
  Result<std::optional<Holdout>> evaluate_holdout(const Model& model);

 private:
  RoundTrainer(std::optional<ml::LocalData> data, std::unique_ptr<ml::StreamSource> stream,
               RoundOptions options);
  Status ensure_trainer(const ModelLayout& layout);
  Result<RoundResult> train_stream(const Model& global, const ml::TrainOptions& o,
                                   const std::atomic<bool>& stop);

  std::optional<ml::LocalData> data_;
  std::unique_ptr<ml::StreamSource> stream_;
  RoundOptions options_;
  std::optional<ml::Trainer> trainer_;
};

// The task's plan as trainer options.
ml::TrainOptions train_options_for(const Task& task, int accumulation_steps, uint64_t seed);

}  // namespace edgefed::agent
