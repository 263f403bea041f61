// The numerical core of the trainer: forward and backward passes of a dense
// ReLU MLP with a softmax cross-entropy head over one batch, on parameters in
// the ModelLayout order (W0 [out,in], b0, W1, b1, ...). A template so the
// gradient-check tests run it in double; the trainer uses float.
//
// Workspaces are allocated by reserve() and reused: run() allocates nothing.
// Not thread-safe (one kernel per thread).
#pragma once

#include <cmath>
#include <cstdint>
#include <vector>

#include <Eigen/Core>

namespace edgefed::agent {

template <typename S>
class MlpKernel {
 public:
  using Mat = Eigen::Matrix<S, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  using RowVec = Eigen::Matrix<S, 1, Eigen::Dynamic>;

  struct BatchStats {
    double loss_sum = 0;  // sum over the batch of -log p(label)
    int64_t correct = 0;  // argmax == label
  };

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

  const std::vector<int>& sizes() const { return sizes_; }
  int64_t num_params() const { return num_params_; }
  int capacity() const { return static_cast<int>(act_.empty() ? 0 : act_[0].rows()); }

  // Makes room for batches of up to `rows` samples (no-op if already there).
  void reserve(int rows) {
    if (rows <= capacity()) return;
    act_.resize(sizes_.size());
    grad_act_.resize(sizes_.size());
    for (size_t i = 0; i < sizes_.size(); ++i) {
      act_[i].resize(rows, sizes_[i]);
      grad_act_[i].resize(i == 0 ? 0 : rows, sizes_[i]);  // no gradient w.r.t. the input
    }
    labels_.resize(static_cast<size_t>(rows));
  }

  // Where callers gather a batch: row r of the input, and its label.
  S* input_row(int r) { return act_[0].row(r).data(); }
  int32_t& label(int r) { return labels_[static_cast<size_t>(r)]; }

  // Forward over the first `rows` gathered samples. If `grad` is non-null,
  // also backward: grad (+)= scale * d(sum of losses)/d(params), assigning
  // when `assign` (the first micro-batch of a step), adding otherwise.
  // REQUIRES: rows <= capacity(); labels in [0, classes).
  BatchStats run(const S* params, int rows, S* grad, S scale, bool assign) {
    const size_t layers = sizes_.size() - 1;
    for (size_t i = 0; i < layers; ++i) {
      auto in = act_[i].topRows(rows);
      auto out = act_[i + 1].topRows(rows);
      out.noalias() = in * weight(params, i).transpose();
      out.rowwise() += bias(params, i);
      if (i + 1 < layers) out = out.cwiseMax(S(0));  // ReLU; the mask is out > 0
    }
    BatchStats stats = softmax_cross_entropy(rows, scale);
    if (!grad) return stats;
    for (size_t i = layers; i-- > 0;) {
      auto d_out = grad_act_[i + 1].topRows(rows);
      auto in = act_[i].topRows(rows);
      auto gw = weight(grad, i);
      auto gb = bias(grad, i);
      if (assign) {
        gw.noalias() = d_out.transpose() * in;
        gb = d_out.colwise().sum();
      } else {
        gw.noalias() += d_out.transpose() * in;
        gb += d_out.colwise().sum();
      }
      if (i > 0) {
        auto d_in = grad_act_[i].topRows(rows);
        d_in.noalias() = d_out * weight(params, i);
        d_in = (in.array() > S(0)).select(d_in, S(0));  // ReLU backward
      }
    }
    return stats;
  }

 private:
  using WeightMap = Eigen::Map<Eigen::Matrix<S, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>;
  using ConstWeightMap = Eigen::Map<const Eigen::Matrix<S, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>;

  ConstWeightMap weight(const S* p, size_t i) const { return {p + w_off_[i], sizes_[i + 1], sizes_[i]}; }
  WeightMap weight(S* p, size_t i) const { return {p + w_off_[i], sizes_[i + 1], sizes_[i]}; }
  Eigen::Map<const RowVec> bias(const S* p, size_t i) const { return {p + b_off_[i], sizes_[i + 1]}; }
  Eigen::Map<RowVec> bias(S* p, size_t i) const { return {p + b_off_[i], sizes_[i + 1]}; }

  // Loss and accuracy from the logits; leaves scale * (softmax - onehot), the
  // gradient of the summed loss w.r.t. the logits, in grad_act_.back().
  BatchStats softmax_cross_entropy(int rows, S scale) {
    BatchStats s;
    const Mat& logits = act_.back();
    Mat& d = grad_act_.back();
    for (int r = 0; r < rows; ++r) {
      const int y = labels_[static_cast<size_t>(r)];
      Eigen::Index arg = 0;
      const S m = logits.row(r).maxCoeff(&arg);
      d.row(r) = (logits.row(r).array() - m).exp().matrix();
      const S sum = d.row(r).sum();
      s.loss_sum += static_cast<double>(std::log(sum) - (logits(r, y) - m));
      s.correct += arg == y;
      d.row(r) *= scale / sum;
      d(r, y) -= scale;
    }
    return s;
  }

  std::vector<int> sizes_;
  std::vector<int64_t> w_off_, b_off_;
  int64_t num_params_ = 0;
  std::vector<Mat> act_;       // act_[0] input, act_[i] layer i output (after ReLU)
  std::vector<Mat> grad_act_;  // gradient w.r.t. layer outputs (pre-ReLU)
  std::vector<int32_t> labels_;
};

}  // namespace edgefed::agent
