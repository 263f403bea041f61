#include "edgefed/ml/local_data.hpp"

#include <numeric>

#include "edgefed/ml/corrupt.hpp"
#include "edgefed/ml/csv_reader.hpp"
#include "edgefed/ml/series_reader.hpp"

namespace edgefed::ml {
namespace {

// The validation hold-out is drawn from its own stream so that changing the
// fraction never changes which samples an agent holds.
uint64_t validation_seed(const PartitionSpec& p) {
  return (p.seed ^ 0x76616c6964617465ULL) + 0x9E3779B97F4A7C15ULL * static_cast<uint64_t>(p.index + 1);
}

// CSV with norm=fit: a private copy of this agent's rows (training, then
// validation) whose feature columns are standardised with the mean and std
// of its training rows; targets and labels stay as they are.
void standardise_features(LocalData& d) {
  const DataStore& src = *d.train.store();
  const int64_t n_train = d.train.size(), n = n_train + d.validation.size();
  auto dst = std::make_shared<DataStore>();
  dst->num_classes = src.num_classes;
  dst->class_names = src.class_names;
  dst->features.resize(n, src.dim());
  if (!src.labels.empty()) dst->labels.resize(static_cast<size_t>(n));
  if (src.target_dim() > 0) dst->targets.resize(n, src.target_dim());
  for (int64_t i = 0; i < n; ++i) {
    const uint32_t r = i < n_train ? d.train.rows()[static_cast<size_t>(i)]
                                   : d.validation.rows()[static_cast<size_t>(i - n_train)];
    dst->features.row(i) = src.features.row(r);
    if (!src.labels.empty()) dst->labels[static_cast<size_t>(i)] = src.labels[r];
    if (src.target_dim() > 0) dst->targets.row(i) = src.targets.row(r);
  }
  const Normalizer norm = Normalizer::fit(FeatureMatrix(dst->features.topRows(n_train)));
  for (int64_t c = 0; c < dst->features.cols(); ++c) {
    const double m = norm.mean[static_cast<size_t>(c)], sd = norm.std[static_cast<size_t>(c)];
    dst->features.col(c) = ((dst->features.col(c).cast<double>().array() - m) / sd).cast<float>().matrix();
  }
  std::vector<uint32_t> train(static_cast<size_t>(n_train)), validation(static_cast<size_t>(n - n_train));
  std::iota(train.begin(), train.end(), 0u);
  std::iota(validation.begin(), validation.end(), static_cast<uint32_t>(n_train));
  std::shared_ptr<const DataStore> shared = std::move(dst);
  d.train = Dataset(shared, std::move(train));
  d.validation = Dataset(std::move(shared), std::move(validation));
  d.normalizer = norm;
}

LocalData make(std::shared_ptr<const DataStore> store, std::span<const uint32_t> rows, const DataSpec& spec) {
  std::vector<uint32_t> positions;
  if (!spec.corrupt.empty()) {
    // A private corrupted copy of the slice: the shared store stays intact.
    store = corrupt_rows(*store, rows, spec.corrupt, spec.partition.seed + static_cast<uint64_t>(spec.partition.index));
    positions.resize(rows.size());
    std::iota(positions.begin(), positions.end(), 0u);
    rows = positions;
  }
  Split s = split_validation(rows, spec.validation_fraction, validation_seed(spec.partition));
  LocalData out;
  out.train = Dataset(store, std::move(s.train));
  out.validation = Dataset(std::move(store), std::move(s.validation));
  if (spec.kind == DataKind::kCsv && spec.normalize) standardise_features(out);
  return out;
}

Result<std::shared_ptr<const DataStore>> read_csv_store(const DataSpec& spec) {
  CsvOptions o;
  o.label = spec.label;
  o.num_classes = spec.num_classes;
  o.targets = spec.targets;
  o.columns = spec.columns;
  auto store = read_csv(spec.path, o);
  if (!store) return store.status();
  return std::shared_ptr<const DataStore>(std::make_shared<DataStore>(std::move(store).value()));
}

}  // namespace

Result<LocalData> load_local_data(const DataSpec& spec) {
  if (spec.scale_by_model)
    return Status(Code::kInvalidArgument, "--data: norm=model is for held-out sets (--eval-data, --test-data); "
                                          "training data use norm=fit or norm=none");
  if (spec.kind == DataKind::kSeries) {
    auto table = read_series(spec);
    if (!table) return table.status();
    return slice_series(*table, spec);
  }
  if (spec.kind == DataKind::kCsv) {
    auto store = read_csv_store(spec);
    if (!store) return store.status();
    return slice_local_data(std::move(store).value(), spec);
  }
  if (spec.kind != DataKind::kIdx)
    return Status(Code::kInvalidArgument, "load_local_data: a stream source is read with StreamSource");
  auto labels = read_idx_labels(spec.path, spec.split);
  if (!labels) return labels.status();
  auto rows = partition_one(*labels, 10, spec.partition);
  if (!rows) return rows.status();
  // Keep only the slice's images; the store's row k is sample rows[k].
  auto store = load_idx(spec.path, spec.split, &rows.value());
  if (!store) return store.status();
  std::vector<uint32_t> positions(rows->size());
  std::iota(positions.begin(), positions.end(), 0u);
  // Same selection as slice_local_data: split_validation picks by position.
  return make(std::make_shared<const DataStore>(std::move(store).value()), positions, spec);
}

Result<LocalData> slice_local_data(std::shared_ptr<const DataStore> full, const DataSpec& spec) {
  if (!full) return Status(Code::kInvalidArgument, "slice_local_data: no data");
  if (spec.kind == DataKind::kSeries)
    return Status(Code::kInvalidArgument, "slice_local_data: a series is sliced with slice_series");
  if (full->labels.empty()) {
    // Regression targets: no classes to skew by, so only iid applies.
    if (spec.partition.scheme != PartitionScheme::kIid)
      return Status(Code::kInvalidArgument, "--data: " + describe(spec.partition) +
                                                " partitions by class label; a store without labels is iid only");
    if (spec.corrupt == "labels")
      return Status(Code::kInvalidArgument, "--data: corrupt=labels needs class labels");
    const std::vector<int32_t> one_class(static_cast<size_t>(full->size()), 0);
    auto rows = partition_one(one_class, 1, spec.partition);
    if (!rows) return rows.status();
    return make(std::move(full), *rows, spec);
  }
  auto rows = partition_one(full->labels, full->num_classes, spec.partition);
  if (!rows) return rows.status();
  return make(std::move(full), *rows, spec);
}

}  // namespace edgefed::ml
