#include "edgefed/ml/trainer.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <numeric>

#include "edgefed/ml/rng.hpp"
#include "edgefed/ml/denormals.hpp"
#include "trainer/network.hpp"
#include "trainer/sgd.hpp"

namespace edgefed::ml {
namespace {

constexpr int kEvalBatch = 64;     // rows per forward pass in evaluate(), at most
constexpr int64_t kEvalFloats = int64_t{1} << 20;  // and at most 4 MB of activations
constexpr int kMaxBatch = 1 << 16;

Status bad(const std::string& m) { return Status(Code::kInvalidArgument, "train options: " + m); }

}  // namespace

Status validate(const TrainOptions& o) {
  if (o.steps < 0) return bad("steps must be >= 0");
  if (o.steps == 0 && o.epochs < 1) return bad("epochs must be >= 1 when steps is 0");
  if (o.batch_size < 1 || o.batch_size > kMaxBatch) return bad("batch_size must be in 1..65536");
  if (o.accumulation_steps < 1 || o.accumulation_steps > kMaxBatch) return bad("accumulation_steps must be >= 1");
  if (!(std::isfinite(o.lr) && o.lr >= 0)) return bad("lr must be a finite number >= 0");
  if (!(o.momentum >= 0 && o.momentum < 1)) return bad("momentum must be in [0, 1)");
  if (!(std::isfinite(o.weight_decay) && o.weight_decay >= 0)) return bad("weight_decay must be >= 0");
  if (!(std::isfinite(o.clip_norm) && o.clip_norm >= 0)) return bad("clip_norm must be >= 0 (0 = off)");
  if (!(std::isfinite(o.proximal_mu) && o.proximal_mu >= 0)) return bad("proximal_mu must be >= 0");
  return Status::ok();
}

struct Trainer::Impl {
  ModelLayout layout;
  Network<float> net;
  AlignedVector<float> grad;  // aligned: the clipping norm is a vectorized reduction
  AlignedVector<float> velocity;
  Rng dropout_rng{0};
  bool online_started = false;

  Impl(ModelLayout l, const ModelSpec& spec) : layout(std::move(l)), net(spec) {}

  const ModelSpec& spec() const { return net.spec(); }

  Status check(const Model& model, const Dataset& data) const {
    if (!(model.layout == layout) || static_cast<int64_t>(model.params.size()) != net.num_params())
      return Status(Code::kDimensionMismatch, "model layout " + model.layout.describe() + " is not the trainer's " +
                                                  layout.describe());
    if (data.empty()) return Status::ok();
    if (data.dim() != net.input_size())
      return Status(Code::kDimensionMismatch, "data has " + std::to_string(data.dim()) + " features, model wants " +
                                                  std::to_string(net.input_size()));
    switch (spec().task()) {
      case TaskType::kClassification:
        if (data.target_dim() > 0)
          return Status(Code::kDimensionMismatch, "a classifier needs labelled data, got " +
                                                      std::to_string(data.target_dim()) + " regression targets");
        if (data.num_classes() > net.output_size())
          return Status(Code::kDimensionMismatch, "data has " + std::to_string(data.num_classes()) +
                                                      " classes, model outputs " + std::to_string(net.output_size()));
        break;
      case TaskType::kRegression:
        if (data.target_dim() != net.output_size())
          return Status(Code::kDimensionMismatch, "data has " + std::to_string(data.target_dim()) +
                                                      " targets per sample, model outputs " +
                                                      std::to_string(net.output_size()));
        break;
      case TaskType::kAutoencoder: break;  // the target is the input itself
    }
    return Status::ok();
  }

  // Copies the samples at `positions` of `data` into the network's input
  // rows, with their labels or targets unless `inputs_only` (prediction:
  // the loss is computed on zero labels/targets and ignored).
  Status gather(const Dataset& data, std::span<const uint32_t> positions, bool inputs_only = false) {
    const int64_t d = net.input_size();
    const int64_t outputs = net.output_size();
    const TaskType task = spec().task();
    for (size_t r = 0; r < positions.size(); ++r) {
      const int row = static_cast<int>(r);
      std::copy_n(data.features(positions[r]), d, net.input_row(row));
      if (inputs_only) {
        net.label(row) = 0;
        std::fill_n(net.target_row(row), outputs, 0.0f);
      } else if (task == TaskType::kClassification) {
        const int32_t y = data.label(positions[r]);
        if (y < 0 || y >= outputs)
          return Status(Code::kInvalidArgument,
                        "label " + std::to_string(y) + " outside 0.." + std::to_string(outputs - 1));
        net.label(row) = y;
      } else if (task == TaskType::kRegression) {
        std::copy_n(data.target(positions[r]), outputs, net.target_row(row));
      }
    }
    return Status::ok();
  }

  // One optimizer step over the samples at `positions`, in micro-batches of
  // batch_size whose gradients are summed, then the SGD update of w.
  Result<KernelStats> step(std::vector<float>& w, const Dataset& data, std::span<const uint32_t> positions,
                           const TrainOptions& o, const float* w_global) {
    KernelStats total;
    const float scale = 1.0f / static_cast<float>(positions.size());
    const size_t b = static_cast<size_t>(o.batch_size);
    for (size_t start = 0; start < positions.size(); start += b) {
      const auto micro = positions.subspan(start, std::min(b, positions.size() - start));
      EDGEFED_RETURN_IF_ERROR(gather(data, micro));
      const int rows = static_cast<int>(micro.size());
      if (net.has_dropout()) net.draw_dropout(dropout_rng, rows);
      const auto s = net.run(w.data(), rows, grad.data(), scale, start == 0, true);
      total.loss_sum += s.loss_sum;
      total.correct += s.correct;
    }
    if (!std::isfinite(total.loss_sum))
      return Status(Code::kNonFinite, "training diverged: the loss is not finite (lower lr or clip gradients)");
    const auto n = static_cast<Eigen::Index>(w.size());
    FlatMap<float> g(grad.data(), n);
    if (w_global && o.proximal_mu > 0)
      add_proximal_grad<float>(g, ConstFlatMap<float>(w.data(), n), ConstFlatMap<float>(w_global, n), o.proximal_mu);
    float clip_scale = 1.0f;
    if (o.clip_norm > 0) {
      const double norm = grad_norm<float>(ConstFlatMap<float>(grad.data(), n));
      if (norm > o.clip_norm) clip_scale = static_cast<float>(o.clip_norm / norm);
    }
    fused_sgd_update<float>(w.data(), velocity.data(), grad.data(), n, o.lr, o.momentum, o.weight_decay, clip_scale);
    return total;
  }

  void prepare(int batch) {
    net.reserve(batch, true);
    grad.resize(static_cast<size_t>(net.num_params()));
    velocity.resize(static_cast<size_t>(net.num_params()));
  }

  // Forward passes over all of `data` in chunks; `each(stats, first, k)`
  // sees every chunk's statistics (per-row losses in net.sample_loss(),
  // outputs in net.output_row()).
  template <typename F>
  Status forward_all(const Model& model, const Dataset& data, F&& each, bool inputs_only = false) {
    const int64_t per_sample = std::max<int64_t>(1, net.floats_per_sample());
    const int chunk_rows = static_cast<int>(std::clamp<int64_t>(kEvalFloats / per_sample, 1, kEvalBatch));
    net.reserve(chunk_rows, false);
    const size_t chunk = static_cast<size_t>(std::min(chunk_rows, net.capacity()));
    std::vector<uint32_t> positions(chunk);
    const size_t n = static_cast<size_t>(data.size());
    for (size_t start = 0; start < n; start += chunk) {
      const size_t k = std::min(chunk, n - start);
      std::iota(positions.begin(), positions.begin() + static_cast<std::ptrdiff_t>(k), static_cast<uint32_t>(start));
      EDGEFED_RETURN_IF_ERROR(gather(data, std::span<const uint32_t>(positions).first(k), inputs_only));
      each(net.run(model.params.data(), static_cast<int>(k), nullptr, 1.0f, true), start, k);
    }
    return Status::ok();
  }
};

Result<Trainer> Trainer::create(const ModelLayout& layout) {
  auto spec = ModelSpec::of_layout(layout);
  if (!spec) return Status(Code::kInvalidArgument, "trainer: " + spec.status().message());
  Eigen::setNbThreads(1);
  return Trainer(std::make_unique<Impl>(layout, *spec));
}

Trainer Trainer::create(const ModelSpec& spec) {
  Eigen::setNbThreads(1);
  return Trainer(std::make_unique<Impl>(spec.layout(), spec));
}

Trainer::Trainer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Trainer::Trainer(Trainer&&) noexcept = default;
Trainer& Trainer::operator=(Trainer&&) noexcept = default;
Trainer::~Trainer() = default;
const ModelLayout& Trainer::layout() const { return impl_->layout; }
const ModelSpec& Trainer::spec() const { return impl_->spec(); }

Result<TrainResult> Trainer::train(const Model& global, const Dataset& data, const TrainOptions& o) {
  EDGEFED_RETURN_IF_ERROR(validate(o));
  EDGEFED_RETURN_IF_ERROR(impl_->check(global, data));
  if (data.empty()) return Status(Code::kInvalidArgument, "train: no training data");
  ScopedFlushDenormals ftz;
  const auto t0 = std::chrono::steady_clock::now();
  Impl& im = *impl_;
  im.prepare(o.batch_size);
  std::fill(im.velocity.begin(), im.velocity.end(), 0.0f);
  im.online_started = false;
  im.dropout_rng = Rng::derive(o.seed, 1);
  std::vector<float> w = global.params;

  const size_t n = static_cast<size_t>(data.size());
  const size_t per_step = static_cast<size_t>(o.batch_size) * static_cast<size_t>(o.accumulation_steps);
  const int64_t steps_per_epoch = static_cast<int64_t>((n + per_step - 1) / per_step);
  const int64_t target = o.steps > 0 ? o.steps : steps_per_epoch * o.epochs;
  std::vector<uint32_t> order(n);
  std::iota(order.begin(), order.end(), 0u);
  Rng rng(o.seed);
  TrainResult res;
  double loss_sum = 0;
  int64_t correct = 0;
  size_t pos = n;  // forces a shuffle before the first step
  for (int64_t s = 0; s < target; ++s) {
    if (pos >= n) {  // a new epoch: a new order (never a step across the boundary)
      rng.shuffle(std::span<uint32_t>(order));
      pos = 0;
    }
    const size_t end = std::min(n, pos + per_step);
    auto st = im.step(w, data, std::span<const uint32_t>(order).subspan(pos, end - pos), o, global.params.data());
    if (!st) return st.status();
    loss_sum += st->loss_sum;
    correct += st->correct;
    res.samples_seen += static_cast<int64_t>(end - pos);
    pos = end;
  }
  for (size_t i = 0; i < w.size(); ++i) w[i] -= global.params[i];
  if (!std::all_of(w.begin(), w.end(), [](float x) { return std::isfinite(x); }))
    return Status(Code::kNonFinite, "training diverged: parameters are not finite");
  res.delta = std::move(w);
  res.num_samples = static_cast<int64_t>(n);
  res.steps = target;
  res.train_loss = loss_sum / static_cast<double>(res.samples_seen);
  res.train_accuracy = static_cast<double>(correct) / static_cast<double>(res.samples_seen);
  res.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  res.samples_per_s = res.seconds > 0 ? static_cast<double>(res.samples_seen) / res.seconds : 0;
  return res;
}

Result<EvalResult> Trainer::evaluate(const Model& model, const Dataset& data) {
  EDGEFED_RETURN_IF_ERROR(impl_->check(model, data));
  EvalResult r;
  if (data.empty()) return r;
  ScopedFlushDenormals ftz;
  KernelStats total;
  EDGEFED_RETURN_IF_ERROR(impl_->forward_all(model, data, [&](const KernelStats& s, size_t, size_t) {
    total.loss_sum += s.loss_sum;
    total.correct += s.correct;
    total.abs_err_sum += s.abs_err_sum;
    total.sq_err_sum += s.sq_err_sum;
  }));
  const double n = static_cast<double>(data.size());
  r.num_samples = data.size();
  r.loss = total.loss_sum / n;
  if (impl_->spec().task() == TaskType::kClassification) {
    r.accuracy = static_cast<double>(total.correct) / n;
  } else {
    const double values = n * static_cast<double>(impl_->net.output_size());
    r.mae = total.abs_err_sum / values;
    r.rmse = std::sqrt(total.sq_err_sum / values);
  }
  return r;
}

Result<std::vector<float>> Trainer::sample_losses(const Model& model, const Dataset& data) {
  EDGEFED_RETURN_IF_ERROR(impl_->check(model, data));
  ScopedFlushDenormals ftz;
  std::vector<float> out(static_cast<size_t>(data.size()));
  EDGEFED_RETURN_IF_ERROR(impl_->forward_all(model, data, [&](const KernelStats&, size_t first, size_t k) {
    std::copy_n(impl_->net.sample_loss(), k, out.begin() + static_cast<std::ptrdiff_t>(first));
  }));
  return out;
}

Result<std::vector<float>> Trainer::predict(const Model& model, const Dataset& data) {
  Impl& im = *impl_;
  if (!(model.layout == im.layout)) return im.check(model, Dataset());
  if (!data.empty() && data.dim() != im.net.input_size())
    return Status(Code::kDimensionMismatch, "data has " + std::to_string(data.dim()) + " features, model wants " +
                                                std::to_string(im.net.input_size()));
  ScopedFlushDenormals ftz;
  const size_t width = static_cast<size_t>(im.net.output_size());
  std::vector<float> out(static_cast<size_t>(data.size()) * width);
  // Forward only: labels and targets are not read, so any data fits.
  EDGEFED_RETURN_IF_ERROR(im.forward_all(
      model, data,
      [&](const KernelStats&, size_t first, size_t k) {
        for (size_t r = 0; r < k; ++r)
          std::copy_n(im.net.output_row(static_cast<int>(r)), width,
                      out.begin() + static_cast<std::ptrdiff_t>((first + r) * width));
      },
      true));
  return out;
}

Result<StepResult> Trainer::online_step(Model& model, const Dataset& batch, const TrainOptions& o, const Model* anchor) {
  EDGEFED_RETURN_IF_ERROR(validate(o));
  EDGEFED_RETURN_IF_ERROR(impl_->check(model, batch));
  if (anchor) EDGEFED_RETURN_IF_ERROR(impl_->check(*anchor, batch));
  StepResult r;
  if (batch.empty()) return r;
  ScopedFlushDenormals ftz;
  Impl& im = *impl_;
  im.prepare(o.batch_size);
  if (!im.online_started) {
    std::fill(im.velocity.begin(), im.velocity.end(), 0.0f);
    im.dropout_rng = Rng::derive(o.seed, 1);
  }
  im.online_started = true;
  std::vector<uint32_t> positions(static_cast<size_t>(batch.size()));
  std::iota(positions.begin(), positions.end(), 0u);
  auto st = im.step(model.params, batch, positions, o, anchor ? anchor->params.data() : nullptr);
  if (!st) return st.status();
  r.num_samples = batch.size();
  r.loss = st->loss_sum / static_cast<double>(r.num_samples);
  r.accuracy = static_cast<double>(st->correct) / static_cast<double>(r.num_samples);
  return r;
}

void Trainer::reset_online() { impl_->online_started = false; }

}  // namespace edgefed::ml
