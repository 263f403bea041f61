// The forward/backward arithmetic of MlpKernel over raw buffers. Included by
// one translation unit per instruction set (mlp_compute_generic.cpp for the
// portable x86-64-v2 baseline, mlp_compute_avx2.cpp built with -mavx2 -mfma);
// each compiles it in its own namespace EDGEFED_MLP_ISA, and the AVX2 one also
// renames Eigen's namespace, so no inline function compiled for AVX2 can be
// shared with (and picked by the linker for) the portable code.
// Only raw pointers cross this interface: no std container is instantiated here.
#pragma once

#include <cmath>
#include <cstdint>

#include <Eigen/Core>

#include "trainer/mlp_args.hpp"

#ifndef EDGEFED_MLP_ISA
#error "define EDGEFED_MLP_ISA (the namespace for this instruction set) before including mlp_compute.hpp"
#endif

namespace edgefed::ml::EDGEFED_MLP_ISA {

template <typename S>
using RowMap = Eigen::Map<Eigen::Matrix<S, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>;
template <typename S>
using ConstRowMap = Eigen::Map<const Eigen::Matrix<S, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>;
template <typename S>
using RowVecMap = Eigen::Map<Eigen::Matrix<S, 1, Eigen::Dynamic>>;
template <typename S>
using ConstRowVecMap = Eigen::Map<const Eigen::Matrix<S, 1, Eigen::Dynamic>>;

// Loss and accuracy from the logits; leaves scale * (softmax - onehot), the
// gradient of the summed loss w.r.t. the logits, in d.
template <typename S>
KernelStats softmax_cross_entropy(RowMap<S> logits, RowMap<S> d, const int32_t* labels, S scale) {
  KernelStats s;
  for (Eigen::Index r = 0; r < logits.rows(); ++r) {
    const int y = labels[r];
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

template <typename S>
KernelStats run(const KernelArgs<S>& a) {
  const int rows = a.rows;
  auto weight = [&](const S* p, int i) { return ConstRowMap<S>(p + a.w_off[i], a.sizes[i + 1], a.sizes[i]); };
  auto act = [&](int i) { return RowMap<S>(a.act[i], rows, a.sizes[i]); };
  auto grad_act = [&](int i) { return RowMap<S>(a.grad_act[i], rows, a.sizes[i]); };
  for (int i = 0; i < a.layers; ++i) {
    auto out = act(i + 1);
    out.noalias() = act(i) * weight(a.params, i).transpose();
    out.rowwise() += ConstRowVecMap<S>(a.params + a.b_off[i], a.sizes[i + 1]);
    if (i + 1 < a.layers) out = out.cwiseMax(S(0));  // ReLU; the mask is out > 0
  }
  KernelStats stats = softmax_cross_entropy<S>(act(a.layers), grad_act(a.layers), a.labels, a.scale);
  if (!a.grad) return stats;
  for (int i = a.layers; i-- > 0;) {
    auto d_out = grad_act(i + 1);
    auto in = act(i);
    RowMap<S> gw(a.grad + a.w_off[i], a.sizes[i + 1], a.sizes[i]);
    RowVecMap<S> gb(a.grad + a.b_off[i], a.sizes[i + 1]);
    if (a.assign) {
      gw.noalias() = d_out.transpose() * in;
      gb = d_out.colwise().sum();
    } else {
      gw.noalias() += d_out.transpose() * in;
      gb += d_out.colwise().sum();
    }
    if (i > 0) {
      auto d_in = grad_act(i);
      d_in.noalias() = d_out * weight(a.params, i);
      d_in = (in.array() > S(0)).select(d_in, S(0));  // ReLU backward
    }
  }
  return stats;
}

}  // namespace edgefed::ml::EDGEFED_MLP_ISA
