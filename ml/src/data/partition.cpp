#include "edgefed/ml/partition.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <sstream>

#include "edgefed/ml/rng.hpp"

namespace edgefed::ml {
namespace {

using Slices = std::vector<std::vector<uint32_t>>;

// Dirichlet draws are retried until every agent holds this many samples (or
// n / count if smaller), so no agent ends up with an empty or useless slice.
constexpr int64_t kMinDirichletSlice = 10;
constexpr int kMaxDirichletAttempts = 1000;

void cut_even(std::span<const uint32_t> order, int parts, Slices& out) {
  const size_t n = order.size();
  for (int j = 0; j < parts; ++j) {
    const size_t a = n * static_cast<size_t>(j) / static_cast<size_t>(parts);
    const size_t b = n * static_cast<size_t>(j + 1) / static_cast<size_t>(parts);
    out[static_cast<size_t>(j)].insert(out[static_cast<size_t>(j)].end(), order.begin() + a, order.begin() + b);
  }
}

Slices iid(size_t n, const PartitionSpec& spec) {
  std::vector<uint32_t> order(n);
  std::iota(order.begin(), order.end(), 0u);
  Rng rng(spec.seed);
  rng.shuffle(std::span<uint32_t>(order));
  Slices out(static_cast<size_t>(spec.count));
  cut_even(order, spec.count, out);
  return out;
}

// One attempt: for each class, proportions p ~ Dir(alpha) over agents, with
// agents already holding n / count samples left out (NIID-Bench balancing).
Slices dirichlet_attempt(const std::vector<std::vector<uint32_t>>& by_class, size_t n,
                         const PartitionSpec& spec, Rng& rng) {
  const size_t k = static_cast<size_t>(spec.count);
  const double cap = static_cast<double>(n) / static_cast<double>(k);
  Slices out(k);
  std::vector<double> p(k);
  for (const auto& cls : by_class) {
    std::vector<uint32_t> idx = cls;
    rng.shuffle(std::span<uint32_t>(idx));
    double sum = 0;
    for (size_t j = 0; j < k; ++j) {
      const double g = rng.gamma(spec.alpha);
      p[j] = static_cast<double>(out[j].size()) < cap ? g : 0.0;
      sum += p[j];
    }
    if (!(sum > 0)) {  // every draw underflowed or every agent is full: share evenly
      std::fill(p.begin(), p.end(), 1.0);
      sum = static_cast<double>(k);
    }
    double acc = 0;
    size_t start = 0;
    for (size_t j = 0; j < k; ++j) {
      acc += p[j] / sum;
      size_t end = j + 1 == k ? idx.size() : static_cast<size_t>(acc * static_cast<double>(idx.size()));
      end = std::clamp(end, start, idx.size());
      out[j].insert(out[j].end(), idx.begin() + start, idx.begin() + end);
      start = end;
    }
  }
  return out;
}

Result<Slices> dirichlet(std::span<const int32_t> labels, int num_classes, const PartitionSpec& spec) {
  std::vector<std::vector<uint32_t>> by_class(static_cast<size_t>(num_classes));
  for (size_t i = 0; i < labels.size(); ++i) by_class[static_cast<size_t>(labels[i])].push_back(static_cast<uint32_t>(i));
  const size_t n = labels.size();
  const size_t min_size = std::min<size_t>(kMinDirichletSlice, n / static_cast<size_t>(spec.count));
  for (int attempt = 0; attempt < kMaxDirichletAttempts; ++attempt) {
    Rng rng = Rng::derive(spec.seed, static_cast<uint64_t>(attempt));
    Slices s = dirichlet_attempt(by_class, n, spec, rng);
    if (std::all_of(s.begin(), s.end(), [&](const auto& v) { return v.size() >= min_size; })) return s;
  }
  std::ostringstream msg;
  msg << "dirichlet:" << spec.alpha << " over " << spec.count << " agents left some agent with fewer than "
      << min_size << " samples in " << kMaxDirichletAttempts << " draws; use a larger alpha";
  return Status(Code::kInvalidArgument, msg.str());
}

Slices shards(std::span<const int32_t> labels, const PartitionSpec& spec) {
  std::vector<uint32_t> order(labels.size());
  std::iota(order.begin(), order.end(), 0u);
  Rng rng(spec.seed);
  rng.shuffle(std::span<uint32_t>(order));  // random order within each label
  std::stable_sort(order.begin(), order.end(), [&](uint32_t a, uint32_t b) { return labels[a] < labels[b]; });
  const int total = spec.count * spec.shards;
  Slices pieces(static_cast<size_t>(total));
  cut_even(order, total, pieces);
  std::vector<uint32_t> deal(static_cast<size_t>(total));
  std::iota(deal.begin(), deal.end(), 0u);
  rng.shuffle(std::span<uint32_t>(deal));
  Slices out(static_cast<size_t>(spec.count));
  for (size_t s = 0; s < deal.size(); ++s) {
    auto& dst = out[s / static_cast<size_t>(spec.shards)];
    const auto& src = pieces[deal[s]];
    dst.insert(dst.end(), src.begin(), src.end());
  }
  return out;
}

Status check(std::span<const int32_t> labels, int num_classes, const PartitionSpec& spec) {
  if (spec.count < 1) return Status(Code::kInvalidArgument, "partition: agent count must be at least 1");
  if (spec.index < 0 || spec.index >= spec.count)
    return Status(Code::kInvalidArgument, "partition: index " + std::to_string(spec.index) +
                                              " outside 0.." + std::to_string(spec.count - 1));
  if (num_classes < 1) return Status(Code::kInvalidArgument, "partition: no classes");
  if (labels.size() > UINT32_MAX) return Status(Code::kInvalidArgument, "partition: too many samples");
  const size_t pieces = static_cast<size_t>(spec.count) *
                        static_cast<size_t>(spec.scheme == PartitionScheme::kShards ? spec.shards : 1);
  if (labels.size() < pieces)
    return Status(Code::kInvalidArgument, "partition: " + std::to_string(labels.size()) + " samples cannot be split into " +
                                              std::to_string(pieces) + " non-empty parts");
  if (spec.scheme == PartitionScheme::kDirichlet && !(spec.alpha > 0 && std::isfinite(spec.alpha)))
    return Status(Code::kInvalidArgument, "partition: dirichlet alpha must be a positive number");
  if (spec.scheme == PartitionScheme::kShards && spec.shards < 1)
    return Status(Code::kInvalidArgument, "partition: shards per agent must be at least 1");
  for (size_t i = 0; i < labels.size(); ++i)
    if (labels[i] < 0 || labels[i] >= num_classes)
      return Status(Code::kInvalidArgument, "partition: label " + std::to_string(labels[i]) + " of sample " +
                                                std::to_string(i) + " outside 0.." + std::to_string(num_classes - 1));
  return Status::ok();
}

}  // namespace

std::string describe(const PartitionSpec& spec) {
  std::ostringstream o;
  switch (spec.scheme) {
    case PartitionScheme::kIid: o << "iid"; break;
    case PartitionScheme::kDirichlet: o << "dirichlet:" << spec.alpha; break;
    case PartitionScheme::kShards: o << "shards:" << spec.shards; break;
  }
  return o.str();
}

Result<Slices> partition_all(std::span<const int32_t> labels, int num_classes, const PartitionSpec& spec) {
  PartitionSpec s = spec;
  s.index = 0;
  EDGEFED_RETURN_IF_ERROR(check(labels, num_classes, s));
  Slices out;
  switch (s.scheme) {
    case PartitionScheme::kIid: out = iid(labels.size(), s); break;
    case PartitionScheme::kShards: out = shards(labels, s); break;
    case PartitionScheme::kDirichlet: {
      auto r = dirichlet(labels, num_classes, s);
      if (!r) return r.status();
      out = std::move(r).value();
      break;
    }
  }
  for (auto& v : out) std::sort(v.begin(), v.end());
  return out;
}

Result<std::vector<uint32_t>> partition_one(std::span<const int32_t> labels, int num_classes,
                                            const PartitionSpec& spec) {
  EDGEFED_RETURN_IF_ERROR(check(labels, num_classes, spec));
  auto all = partition_all(labels, num_classes, spec);
  if (!all) return all.status();
  return std::move(all->at(static_cast<size_t>(spec.index)));
}

Split split_validation(std::span<const uint32_t> rows, double fraction, uint64_t seed) {
  Split out;
  const size_t n = rows.size();
  size_t m = static_cast<size_t>(std::llround(std::clamp(fraction, 0.0, 1.0) * static_cast<double>(n)));
  if (fraction > 0 && n >= 2) m = std::max<size_t>(m, 1);
  if (m >= n) m = n > 0 ? n - 1 : 0;
  std::vector<uint32_t> order(rows.begin(), rows.end());
  Rng rng(seed);
  rng.shuffle(std::span<uint32_t>(order));
  out.validation.assign(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(m));
  out.train.assign(order.begin() + static_cast<std::ptrdiff_t>(m), order.end());
  std::sort(out.validation.begin(), out.validation.end());
  std::sort(out.train.begin(), out.train.end());
  return out;
}

}  // namespace edgefed::ml
