// The numerical core of the trainer: forward and backward passes of a dense
// ReLU MLP with a softmax cross-entropy head over one batch, on parameters in
// the ModelLayout order (W0 [out,in], b0, W1, b1, ...). A template so the
// gradient-check tests run it in double; the trainer uses float, which runs
// the AVX2+FMA code on CPUs that have it and the portable code elsewhere
// (see kernel_isa() in edgefed/ml/trainer.hpp).
//
// Workspaces are allocated by reserve() and reused: run() allocates nothing
// of its own. Not thread-safe (one kernel per thread).
#pragma once

#include <cstdint>
#include <type_traits>
#include <vector>

#include "trainer/aligned_buffer.hpp"
#include "trainer/mlp_args.hpp"

namespace edgefed::ml {

template <typename S>
class MlpKernel {
 public:
  using BatchStats = KernelStats;

  // sizes = {input, hidden..., classes}; REQUIRES: at least two positive sizes.
  explicit MlpKernel(std::vector<int> sizes) : sizes_(std::move(sizes)) {
    int64_t off = 0;
    for (size_t i = 0; i + 1 < sizes_.size(); ++i) {
      w_off_.push_back(off);
      off += int64_t{sizes_[i]} * sizes_[i + 1];
      b_off_.push_back(off);
      off += sizes_[i + 1];
    }
    num_params_ = off;
  }
  MlpKernel(const MlpKernel&) = delete;
  MlpKernel& operator=(const MlpKernel&) = delete;
  MlpKernel(MlpKernel&&) noexcept = default;
  MlpKernel& operator=(MlpKernel&&) noexcept = default;

  const std::vector<int>& sizes() const { return sizes_; }
  int64_t num_params() const { return num_params_; }
  int capacity() const { return capacity_; }

  // Makes room for batches of up to `rows` samples (no-op if already there).
  void reserve(int rows) {
    if (rows <= capacity_) return;
    capacity_ = rows;
    act_.resize(sizes_.size());
    grad_act_.resize(sizes_.size());
    act_ptr_.resize(sizes_.size());
    grad_act_ptr_.resize(sizes_.size());
    for (size_t i = 0; i < sizes_.size(); ++i) {
      act_[i].assign(static_cast<size_t>(rows) * static_cast<size_t>(sizes_[i]), S(0));
      grad_act_[i].assign(i == 0 ? 0 : static_cast<size_t>(rows) * static_cast<size_t>(sizes_[i]), S(0));
      act_ptr_[i] = act_[i].data();
      grad_act_ptr_[i] = grad_act_[i].data();
    }
    labels_.resize(static_cast<size_t>(rows));
  }

  // Where callers gather a batch: row r of the input, and its label.
  S* input_row(int r) { return act_[0].data() + static_cast<size_t>(r) * static_cast<size_t>(sizes_[0]); }
  int32_t& label(int r) { return labels_[static_cast<size_t>(r)]; }

  // Forward over the first `rows` gathered samples. If `grad` is non-null,
  // also backward: grad (+)= scale * d(sum of losses)/d(params), assigning
  // when `assign` (the first micro-batch of a step), adding otherwise.
  // REQUIRES: rows <= capacity(); labels in [0, classes).
  BatchStats run(const S* params, int rows, S* grad, S scale, bool assign, bool force_generic = false) {
    KernelArgs<S> a;
    a.layers = static_cast<int>(sizes_.size()) - 1;
    a.sizes = sizes_.data();
    a.w_off = w_off_.data();
    a.b_off = b_off_.data();
    a.params = params;
    a.grad = grad;
    a.scale = scale;
    a.assign = assign;
    a.act = act_ptr_.data();
    a.grad_act = grad_act_ptr_.data();
    a.rows = rows;
    a.labels = labels_.data();
    if constexpr (std::is_same_v<S, float>) {
      if (force_generic) return mlp_run_generic(a);
    }
    return mlp_run(a);
  }

 private:
  std::vector<int> sizes_;
  std::vector<int64_t> w_off_, b_off_;
  int64_t num_params_ = 0;
  int capacity_ = 0;
  std::vector<AlignedVector<S>> act_;       // act_[0] input, act_[i] layer i output (after ReLU)
  std::vector<AlignedVector<S>> grad_act_;  // gradient w.r.t. layer outputs (pre-ReLU)
  std::vector<S*> act_ptr_, grad_act_ptr_;
  std::vector<int32_t> labels_;
};

}  // namespace edgefed::ml
