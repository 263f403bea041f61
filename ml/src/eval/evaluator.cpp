#include "edgefed/ml/evaluator.hpp"

#include <algorithm>
#include <cmath>
#include <utility>
#include <vector>

#include "edgefed/ml/data_spec.hpp"
#include "edgefed/ml/idx_reader.hpp"
#include "edgefed/ml/local_data.hpp"

namespace edgefed::ml {

Evaluator::Evaluator(std::shared_ptr<const DataStore> held_out) : data_(std::move(held_out)) {}

Evaluator::Evaluator(Dataset held_out, std::vector<double> output_scale)
    : data_(std::move(held_out)), output_scale_(std::move(output_scale)) {}

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

Result<Evaluator> Evaluator::open(const std::string& data, int64_t max_samples) {
  const bool spec_form = data.rfind("idx:", 0) == 0 || data.rfind("csv:", 0) == 0 || data.rfind("series:", 0) == 0 ||
                         data.rfind("stream:", 0) == 0;
  if (!spec_form) return open_idx_test(data, max_samples);
  auto spec = parse_data_spec(data);
  if (!spec) return spec.status();
  if (spec->kind == DataKind::kStream)
    return Status(Code::kInvalidArgument, "a held-out set cannot be a stream: use idx:, csv: or series:");
  spec->validation_fraction = 0;  // every sample is held out
  spec->partition = PartitionSpec{};
  const bool by_model = std::exchange(spec->scale_by_model, false);
  auto local = load_local_data(*spec);
  if (!local) return local.status();
  Dataset held_out = std::move(local->train);
  if (max_samples > 0 && held_out.size() > max_samples) {
    std::vector<uint32_t> first(static_cast<size_t>(max_samples));
    for (size_t i = 0; i < first.size(); ++i) first[i] = static_cast<uint32_t>(i);
    held_out = held_out.subset(first);
  }
  std::vector<double> scale;
  if (local->normalizer && local->series) {
    // Output j forecasts target column j / H, normalizer channel C + j / H.
    const auto& s = *local->series;
    const size_t c = s.channels.size();
    for (size_t t = 0; t < s.targets.size(); ++t)
      for (int h = 0; h < s.horizon; ++h) scale.push_back(local->normalizer->std[c + t]);
  }
  Evaluator out(held_out, scale);
  if (by_model && local->normalizer && local->series) {
    const auto& s = *local->series;
    out.standardised_ = Standardised{std::move(held_out), std::move(scale), std::move(*local->normalizer),
                                     s.channels.size(), s.targets.size(), s.window, s.horizon};
  }
  return out;
}

void Evaluator::scale_for(const std::string& normalizer) {
  if (!standardised_ || normalizer == scaled_for_) return;
  const Standardised& st = *standardised_;
  scaled_for_ = normalizer;
  data_ = st.data;
  output_scale_ = st.output_scale;
  model_scaled_ = false;
  if (normalizer.empty()) return;
  auto n = Normalizer::parse(normalizer);
  if (!n.is_ok() || n->channels() != st.channels + st.targets) return;
  // z' = (v - m') / s' with v = z s + m: an affine map per column.
  const DataStore& src = *st.data.store();
  DataStore dst;
  dst.features = src.features;
  dst.targets = src.targets;
  auto remap = [&](FeatureMatrix& m, size_t first_channel, int64_t per_channel) {
    for (int64_t col = 0; col < m.cols(); ++col) {
      const size_t ch = first_channel + static_cast<size_t>(col / per_channel);
      if (ch >= n->channels()) return;
      const double a = st.fitted.std[ch] / n->std[ch];
      const double b = (st.fitted.mean[ch] - n->mean[ch]) / n->std[ch];
      m.col(col) = (m.col(col).cast<double>().array() * a + b).cast<float>().matrix();
    }
  };
  remap(dst.features, 0, st.window);
  if (st.horizon > 0) remap(dst.targets, st.channels, st.horizon);
  const std::vector<uint32_t> rows(st.data.rows().begin(), st.data.rows().end());
  data_ = Dataset(std::make_shared<const DataStore>(std::move(dst)), rows);
  output_scale_.clear();
  for (size_t t = 0; t < st.targets; ++t)
    for (int64_t h = 0; h < st.horizon; ++h) output_scale_.push_back(n->std[st.channels + t]);
  model_scaled_ = true;
}

double robust_threshold(std::vector<float> errors) {
  if (errors.empty()) return 0;
  auto median = [](std::vector<float>& v) {
    const size_t mid = v.size() / 2;
    std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(mid), v.end());
    return static_cast<double>(v[mid]);
  };
  const double m = median(errors);
  for (float& e : errors) e = static_cast<float>(std::abs(e - m));
  return m + 3.0 * 1.4826 * median(errors);
}

Result<EvalResult> Evaluator::evaluate(const Model& model) {
  scale_for(model.normalizer);
  if (!trainer_ || !(trainer_->layout() == model.layout)) {
    trainer_.reset();
    auto t = Trainer::create(model.layout);
    if (!t.is_ok()) return t.status();
    trainer_.emplace(std::move(t).value());
  }
  auto r = trainer_->evaluate(model, data_);
  if (!r.is_ok() || data_.empty()) return r;
  const TaskType task = trainer_->spec().task();
  const int64_t width = trainer_->spec().output_size();
  if (task == TaskType::kRegression && static_cast<int64_t>(output_scale_.size()) == width) {
    // Errors in the data's own units: each output's error times its scale.
    auto out = trainer_->predict(model, data_);
    if (!out.is_ok()) return out.status();
    double abs_sum = 0, sq_sum = 0;
    for (int64_t i = 0; i < data_.size(); ++i) {
      const float* y = data_.target(i);
      for (int64_t j = 0; j < width; ++j) {
        const double e = (static_cast<double>((*out)[static_cast<size_t>(i * width + j)]) - y[j]) *
                         output_scale_[static_cast<size_t>(j)];
        abs_sum += std::abs(e);
        sq_sum += e * e;
      }
    }
    const double values = static_cast<double>(data_.size() * width);
    r->mae = abs_sum / values;
    r->rmse = std::sqrt(sq_sum / values);
  }
  if (task == TaskType::kAutoencoder) {
    auto errors = trainer_->sample_losses(model, data_);
    if (!errors.is_ok()) return errors.status();
    const double threshold = anomaly_threshold_ > 0 ? anomaly_threshold_ : robust_threshold(*errors);
    const auto above = std::count_if(errors->begin(), errors->end(), [&](float e) { return e > threshold; });
    r->anomaly_threshold = threshold;
    r->anomaly_share = static_cast<double>(above) / static_cast<double>(errors->size());
  }
  return r;
}

}  // namespace edgefed::ml
