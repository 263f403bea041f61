#include "edgefed/ml/trainer.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <numeric>

#include "edgefed/ml/rng.hpp"
#include "edgefed/ml/denormals.hpp"
#include "trainer/mlp_kernel.hpp"
#include "trainer/sgd.hpp"

namespace edgefed::ml {
namespace {

constexpr int kEvalBatch = 64;     // rows per forward pass in evaluate()
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
  MlpKernel<float> kernel;
  AlignedVector<float> grad;  // aligned: the clipping norm is a vectorized reduction
  AlignedVector<float> velocity;
  bool online_started = false;

  Impl(ModelLayout l, std::vector<int> sizes) : layout(std::move(l)), kernel(std::move(sizes)) {}

  Status check(const Model& model, const Dataset& data) const {
    if (!(model.layout == layout) || static_cast<int64_t>(model.params.size()) != kernel.num_params())
      return Status(Code::kDimensionMismatch, "model layout " + model.layout.describe() + " is not the trainer's " +
                                                  layout.describe());
    if (!data.empty() && data.dim() != kernel.sizes().front())
      return Status(Code::kDimensionMismatch, "data has " + std::to_string(data.dim()) + " features, model wants " +
                                                  std::to_string(kernel.sizes().front()));
    if (data.num_classes() > kernel.sizes().back())
      return Status(Code::kDimensionMismatch, "data has " + std::to_string(data.num_classes()) +
                                                  " classes, model outputs " + std::to_string(kernel.sizes().back()));
    return Status::ok();
  }

  // Copies the samples at `positions` of `data` into the kernel's input rows.
  Status gather(const Dataset& data, std::span<const uint32_t> positions) {
    const int d = kernel.sizes().front();
    const int classes = kernel.sizes().back();
    for (size_t r = 0; r < positions.size(); ++r) {
      const int32_t y = data.label(positions[r]);
      if (y < 0 || y >= classes)
        return Status(Code::kInvalidArgument, "label " + std::to_string(y) + " outside 0.." + std::to_string(classes - 1));
      std::copy_n(data.features(positions[r]), d, kernel.input_row(static_cast<int>(r)));
      kernel.label(static_cast<int>(r)) = y;
    }
    return Status::ok();
  }

  // One optimizer step over the samples at `positions`, in micro-batches of
  // batch_size whose gradients are summed, then the SGD update of w.
  Result<MlpKernel<float>::BatchStats> step(std::vector<float>& w, const Dataset& data,
                                            std::span<const uint32_t> positions, const TrainOptions& o,
                                            const float* w_global) {
    MlpKernel<float>::BatchStats total;
    const float scale = 1.0f / static_cast<float>(positions.size());
    const size_t b = static_cast<size_t>(o.batch_size);
    for (size_t start = 0; start < positions.size(); start += b) {
      const auto micro = positions.subspan(start, std::min(b, positions.size() - start));
      EDGEFED_RETURN_IF_ERROR(gather(data, micro));
      const auto s = kernel.run(w.data(), static_cast<int>(micro.size()), grad.data(), scale, start == 0);
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
    kernel.reserve(batch);
    grad.resize(static_cast<size_t>(kernel.num_params()));
    velocity.resize(static_cast<size_t>(kernel.num_params()));
  }
};

Result<Trainer> Trainer::create(const ModelLayout& layout) {
  std::vector<int> sizes = layout.mlp_sizes();
  if (sizes.size() < 2)
    return Status(Code::kInvalidArgument, "trainer: layout " + layout.describe() +
                                              " is not a dense MLP (layers.i.weight [out,in], layers.i.bias [out])");
  Eigen::setNbThreads(1);
  return Trainer(std::make_unique<Impl>(layout, std::move(sizes)));
}

Trainer::Trainer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Trainer::Trainer(Trainer&&) noexcept = default;
Trainer& Trainer::operator=(Trainer&&) noexcept = default;
Trainer::~Trainer() = default;
const ModelLayout& Trainer::layout() const { return impl_->layout; }

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
  Impl& im = *impl_;
  im.kernel.reserve(kEvalBatch);
  const size_t chunk = static_cast<size_t>(im.kernel.capacity());
  std::vector<uint32_t> positions(chunk);
  double loss = 0;
  int64_t correct = 0;
  const size_t n = static_cast<size_t>(data.size());
  for (size_t start = 0; start < n; start += chunk) {
    const size_t k = std::min(chunk, n - start);
    std::iota(positions.begin(), positions.begin() + static_cast<std::ptrdiff_t>(k), static_cast<uint32_t>(start));
    EDGEFED_RETURN_IF_ERROR(im.gather(data, std::span<const uint32_t>(positions).first(k)));
    const auto s = im.kernel.run(model.params.data(), static_cast<int>(k), nullptr, 1.0f, true);
    loss += s.loss_sum;
    correct += s.correct;
  }
  r.num_samples = static_cast<int64_t>(n);
  r.loss = loss / static_cast<double>(n);
  r.accuracy = static_cast<double>(correct) / static_cast<double>(n);
  return r;
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
  if (!im.online_started) std::fill(im.velocity.begin(), im.velocity.end(), 0.0f);
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
