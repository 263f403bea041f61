// The numerical core of the trainer: forward and backward passes of the
// sequential network a ModelSpec describes, over one batch, on parameters in
// the spec's layout order. A template so the gradient-check tests run it in
// double; the trainer uses float, which runs the AVX2+FMA code on CPUs that
// have it and the portable code elsewhere (kernel_isa() in trainer.hpp).
//
// Buffers: one activation buffer per layer output, except that flatten
// shares its input's buffer and an activation or dropout layer works in
// place on the buffer of the layer before it (when that layer does not need
// its own output to go backward), which halves a CNN's activation memory.
// Workspaces are allocated by reserve() and reused: run() allocates nothing.
// Not thread-safe (one network per thread).
#pragma once

#include <algorithm>
#include <cstdint>
#include <type_traits>
#include <vector>

#include "edgefed/ml/model_spec.hpp"
#include "edgefed/ml/rng.hpp"
#include "trainer/aligned_buffer.hpp"
#include "trainer/net_args.hpp"

namespace edgefed::ml {

template <typename S>
class Network {
 public:
  explicit Network(const ModelSpec& spec) : spec_(spec) {
    int64_t off = 0;
    buffer_of_.push_back(0);
    sizes_.push_back(spec.input_size());
    auto elementwise = [](OpKind k) {
      return k == OpKind::kRelu || k == OpKind::kTanh || k == OpKind::kSigmoid || k == OpKind::kDropout;
    };
    for (const LayerSpec& l : spec.layers()) {
      OpDesc o = describe(l);
      if (l.has_params()) {
        o.w_off = off;
        off += o.out_c * static_cast<int64_t>(o.in_c) * o.kh * o.kw;
        o.b_off = off;
        off += o.out_c;
      }
      if (o.kind == OpKind::kConv) {
        // Scratch for grouped im2col products: at least one sample of the
        // largest convolution, and up to kConvScratch floats (512 KB) so
        // several samples share one matrix product.
        const int64_t plane = int64_t{o.out_h} * o.out_w;
        const int64_t one = plane * std::max<int64_t>(int64_t{o.in_c} * o.kh * o.kw, o.out_c);
        col_size_ = std::max({col_size_, one, kConvScratch});
      }
      const int in_buf = buffer_of_.back();
      // The layer that wrote the input buffer (flatten writes nothing): an
      // activation needs its output to go backward, so none may overwrite it.
      bool prev_elementwise = false;
      for (size_t k = ops_.size(); k-- > 0;)
        if (ops_[k].kind != OpKind::kAlias) {
          prev_elementwise = elementwise(ops_[k].kind);
          break;
        }
      const bool alias = o.kind == OpKind::kAlias ||
                         (elementwise(o.kind) && in_buf != 0 && !prev_elementwise);
      if (alias) {
        buffer_of_.push_back(in_buf);
      } else {
        buffer_of_.push_back(static_cast<int>(sizes_.size()));
        sizes_.push_back(o.out_size);
      }
      if (o.kind == OpKind::kDropout) has_dropout_ = true;
      ops_.push_back(o);
    }
    num_params_ = off;
  }
  Network(const Network&) = delete;
  Network& operator=(const Network&) = delete;
  Network(Network&&) noexcept = default;
  Network& operator=(Network&&) noexcept = default;

  const ModelSpec& spec() const { return spec_; }
  int64_t num_params() const { return num_params_; }
  int64_t input_size() const { return sizes_[0]; }
  int64_t output_size() const { return ops_.back().out_size; }
  int capacity() const { return capacity_; }
  // Activation floats per sample across all buffers (for sizing batches).
  int64_t floats_per_sample() const {
    int64_t n = 0;
    for (int64_t s : sizes_) n += s;
    return n;
  }

  // Makes room for batches of up to `rows` samples, with gradient buffers
  // when `backward` (no-op if already there).
  void reserve(int rows, bool backward) {
    if (rows > capacity_) {
      capacity_ = rows;
      act_.resize(sizes_.size());
      for (size_t b = 0; b < sizes_.size(); ++b) act_[b].assign(static_cast<size_t>(rows * sizes_[b]), S(0));
      labels_.assign(static_cast<size_t>(rows), 0);
      targets_.assign(static_cast<size_t>(rows * output_size()), S(0));
      sample_loss_.assign(static_cast<size_t>(rows), S(0));
      grad_capacity_ = 0;
    }
    if (backward && grad_capacity_ < capacity_) {
      grad_capacity_ = capacity_;
      grad_act_.resize(sizes_.size());
      for (size_t b = 1; b < sizes_.size(); ++b)
        grad_act_[b].assign(static_cast<size_t>(capacity_ * sizes_[b]), S(0));
      masks_.assign(ops_.size(), {});
      for (size_t i = 0; i < ops_.size(); ++i)
        if (ops_[i].kind == OpKind::kDropout) masks_[i].assign(static_cast<size_t>(capacity_ * ops_[i].out_size), S(1));
      dcol_.assign(static_cast<size_t>(col_size_), S(0));
    }
    if (col_.size() < static_cast<size_t>(col_size_)) {
      col_.assign(static_cast<size_t>(col_size_), S(0));
      ybuf_.assign(static_cast<size_t>(col_size_), S(0));
    }
  }

  // Where callers gather a batch: row r of the input, its label
  // (classification) or its targets (regression).
  S* input_row(int r) { return act_[0].data() + static_cast<size_t>(r) * static_cast<size_t>(sizes_[0]); }
  int32_t& label(int r) { return labels_[static_cast<size_t>(r)]; }
  S* target_row(int r) { return targets_.data() + static_cast<size_t>(r) * static_cast<size_t>(output_size()); }

  // Draws fresh dropout masks (keep with probability 1 - rate, scaled by
  // 1 / (1 - rate), as PyTorch's training mode) for the next `rows` rows.
  void draw_dropout(Rng& rng, int rows) {
    for (size_t i = 0; i < ops_.size(); ++i) {
      if (ops_[i].kind != OpKind::kDropout) continue;
      const double rate = spec_.layers()[i].rate;
      const S keep = S(1) / static_cast<S>(1.0 - rate);
      const size_t n = static_cast<size_t>(rows * ops_[i].out_size);
      for (size_t k = 0; k < n; ++k) masks_[i][k] = rng.uniform() < rate ? S(0) : keep;
    }
  }

  // Forward over the first `rows` gathered samples. If `grad` is non-null,
  // also backward: grad (+)= scale * d(sum of losses)/d(params), assigning
  // when `assign` (the first micro-batch of a step), adding otherwise.
  // `dropout`: apply the masks of draw_dropout (training); else dropout is
  // the identity (evaluation). REQUIRES: rows <= capacity() (and reserved
  // with backward when grad is set or dropout is on); labels in [0, outputs).
  KernelStats run(const S* params, int rows, S* grad, S scale, bool assign, bool dropout = false,
                  bool force_generic = false) {
    std::vector<S*>& act = act_ptr_;
    std::vector<S*>& gact = grad_act_ptr_;
    act.assign(ops_.size() + 1, nullptr);
    gact.assign(ops_.size() + 1, nullptr);
    mask_ptr_.assign(ops_.size(), nullptr);
    for (size_t i = 0; i <= ops_.size(); ++i) {
      const size_t b = static_cast<size_t>(buffer_of_[i]);
      act[i] = act_[b].data();
      if (grad && b > 0) gact[i] = grad_act_[b].data();
    }
    if (dropout && !masks_.empty())
      for (size_t i = 0; i < ops_.size(); ++i)
        if (ops_[i].kind == OpKind::kDropout) mask_ptr_[i] = masks_[i].data();
    NetArgs<S> a;
    a.ops = static_cast<int>(ops_.size());
    a.op = ops_.data();
    a.params = params;
    a.grad = grad;
    a.scale = scale;
    a.assign = assign;
    a.act = act.data();
    a.grad_act = grad ? gact.data() : nullptr;
    a.mask = mask_ptr_.data();
    a.col = col_.data();
    a.dcol = dcol_.data();
    a.ybuf = ybuf_.data();
    a.conv_scratch = col_size_;
    a.rows = rows;
    a.sample_loss = sample_loss_.data();
    switch (spec_.loss()) {
      case LossType::kSoftmaxCrossEntropy: a.loss = LossKind::kSoftmaxCrossEntropy; break;
      case LossType::kMse: a.loss = LossKind::kMse; break;
      case LossType::kHuber: a.loss = LossKind::kHuber; break;
    }
    a.huber_delta = static_cast<S>(spec_.huber_delta());
    a.labels = labels_.data();
    if (spec_.task() == TaskType::kAutoencoder) {
      a.targets = act_[0].data();  // never overwritten: nothing works in place on the input
      a.target_stride = sizes_[0];
    } else {
      a.targets = targets_.data();
      a.target_stride = output_size();
    }
    if constexpr (std::is_same_v<S, float>) {
      if (force_generic) return net_run_generic(a);
    }
    return net_run(a);
  }

  // Each row's loss in the last run (the autoencoder's anomaly score).
  const S* sample_loss() const { return sample_loss_.data(); }
  // The network's output for row r of the last run.
  const S* output_row(int r) const {
    return act_[static_cast<size_t>(buffer_of_.back())].data() + static_cast<size_t>(r) * static_cast<size_t>(output_size());
  }
  bool has_dropout() const { return has_dropout_; }

 private:
  static OpDesc describe(const LayerSpec& l) {
    OpDesc o;
    const auto& in = l.in_shape;
    const auto& out = l.out_shape;
    auto set_shape = [](const std::vector<int64_t>& s, int& c, int& h, int& w) {
      c = static_cast<int>(s[0]);
      h = s.size() == 3 ? static_cast<int>(s[1]) : 1;
      w = s.size() == 1 ? 1 : static_cast<int>(s.back());
    };
    set_shape(in, o.in_c, o.in_h, o.in_w);
    set_shape(out, o.out_c, o.out_h, o.out_w);
    o.in_size = o.in_c * int64_t{o.in_h} * o.in_w;
    o.out_size = o.out_c * int64_t{o.out_h} * o.out_w;
    const bool two_d = l.type == LayerType::kConv2d || l.type == LayerType::kMaxPool2d || l.type == LayerType::kAvgPool2d;
    switch (l.type) {
      case LayerType::kDense:
        o.kind = OpKind::kDense;
        // Dense sees flat vectors: [in] -> [out] as in_w -> out_w, and the
        // weight count out_c * in_c * kh * kw = out * in.
        o.in_w = static_cast<int>(in[0]);
        o.out_w = l.out;
        o.in_c = static_cast<int>(in[0]);
        o.out_c = l.out;
        o.in_h = o.out_h = 1;
        break;
      case LayerType::kConv1d:
      case LayerType::kConv2d: o.kind = OpKind::kConv; break;
      case LayerType::kMaxPool1d:
      case LayerType::kMaxPool2d: o.kind = OpKind::kMaxPool; break;
      case LayerType::kAvgPool2d: o.kind = OpKind::kAvgPool; break;
      case LayerType::kGlobalAvgPool: o.kind = OpKind::kGlobalAvgPool; break;
      case LayerType::kFlatten: o.kind = OpKind::kAlias; break;
      case LayerType::kRelu: o.kind = OpKind::kRelu; break;
      case LayerType::kTanh: o.kind = OpKind::kTanh; break;
      case LayerType::kSigmoid: o.kind = OpKind::kSigmoid; break;
      case LayerType::kDropout: o.kind = OpKind::kDropout; break;
    }
    if (o.kind == OpKind::kConv || o.kind == OpKind::kMaxPool || o.kind == OpKind::kAvgPool) {
      o.kw = l.kernel;
      o.kh = two_d ? l.kernel : 1;
      o.stride_w = l.stride;
      o.stride_h = two_d ? l.stride : 1;
      o.pad_w = l.padding;
      o.pad_h = two_d ? l.padding : 0;
    }
    return o;
  }

  ModelSpec spec_;
  std::vector<OpDesc> ops_;
  std::vector<int> buffer_of_;   // ops + 1: which buffer holds activation i
  std::vector<int64_t> sizes_;   // per buffer: floats per sample
  int64_t num_params_ = 0;
  static constexpr int64_t kConvScratch = int64_t{1} << 17;
  int64_t col_size_ = 0;  // floats of each convolution scratch buffer (0: no convolution)
  bool has_dropout_ = false;
  int capacity_ = 0;
  int grad_capacity_ = 0;
  std::vector<AlignedVector<S>> act_, grad_act_, masks_;
  AlignedVector<S> col_, dcol_, ybuf_, targets_, sample_loss_;
  std::vector<int32_t> labels_;
  std::vector<S*> act_ptr_, grad_act_ptr_;
  std::vector<const S*> mask_ptr_;
};

}  // namespace edgefed::ml
