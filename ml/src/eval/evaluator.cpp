#include "edgefed/ml/evaluator.hpp"

#include <algorithm>
#include <utility>
#include <vector>

#include "edgefed/ml/idx_reader.hpp"

namespace edgefed::ml {

Evaluator::Evaluator(std::shared_ptr<const DataStore> held_out) : data_(std::move(held_out)) {}

Result<Evaluator> Evaluator::open_idx_test(const std::string& data_dir, int64_t max_samples) {
  // Only the first max_samples rows are decoded: the reader streams past the
  // rest instead of holding all 10,000 images.
  std::vector<uint32_t> rows;
  if (max_samples > 0) {
    auto labels = read_idx_labels(data_dir, IdxSplit::kTest);
    if (!labels.is_ok()) return labels.status();
    rows.resize(std::min<size_t>(labels->size(), static_cast<size_t>(max_samples)));
    for (size_t i = 0; i < rows.size(); ++i) rows[i] = static_cast<uint32_t>(i);
  }
  auto store = load_idx(data_dir, IdxSplit::kTest, max_samples > 0 ? &rows : nullptr);
  if (!store.is_ok()) return store.status();
  return Evaluator(std::make_shared<const DataStore>(std::move(store).value()));
}

Result<EvalResult> Evaluator::evaluate(const Model& model) {
  if (!trainer_ || !(trainer_->layout() == model.layout)) {
    trainer_.reset();
    auto t = Trainer::create(model.layout);
    if (!t.is_ok()) return t.status();
    trainer_.emplace(std::move(t).value());
  }
  return trainer_->evaluate(model, Dataset(data_));
}

}  // namespace edgefed::ml
