// Loss and accuracy of a model on a held-out set: the one evaluator behind
// the server's per-version evaluation, the sim's accuracy curve and its
// exact-version check.
//
// Thread safety: an Evaluator is used by one thread at a time (it keeps a
// Trainer's workspaces between calls); the held-out DataStore is immutable
// and may be shared with other Evaluators and threads.
// Memory: the held-out set (shared) plus the trainer's workspaces for the
// newest layout evaluated (about 2 x model size).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "edgefed/ml/dataset.hpp"
#include "edgefed/ml/trainer.hpp"
#include "edgefed/model_layout.hpp"
#include "edgefed/status.hpp"

namespace edgefed::ml {

class Evaluator {
 public:
  // REQUIRES: held_out != nullptr.
  explicit Evaluator(std::shared_ptr<const DataStore> held_out);

  // The Fashion-MNIST test split (t10k-*-ubyte.gz) in `data_dir`, its first
  // `max_samples` rows (0 = all 10,000). Errors: kIo, kInvalidArgument from
  // the IDX reader.
  static Result<Evaluator> open_idx_test(const std::string& data_dir, int64_t max_samples = 0);

  // Mean cross-entropy and accuracy of `model` on the held-out set. Errors:
  // kInvalidArgument (the layout is not one the trainer supports),
  // kDimensionMismatch (input width or classes differ from the data).
  Result<EvalResult> evaluate(const Model& model);

  int64_t samples() const { return data_->size(); }
  const std::shared_ptr<const DataStore>& data() const { return data_; }

 private:
  std::shared_ptr<const DataStore> data_;
  // Rebuilt only when the layout changes (a server keeps one model shape).
  std::optional<Trainer> trainer_;
};

}  // namespace edgefed::ml
