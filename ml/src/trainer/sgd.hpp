// The optimizer's arithmetic on flat parameter vectors: the FedProx and
// weight-decay terms (value and gradient), the gradient norm for clipping
// and the fused momentum update. Templates so tests can check them in double.
#pragma once

#include <cmath>
#include <cstdint>

#include <Eigen/Core>

namespace edgefed::ml {

template <typename S>
using FlatMap = Eigen::Map<Eigen::Array<S, Eigen::Dynamic, 1>>;
template <typename S>
using ConstFlatMap = Eigen::Map<const Eigen::Array<S, Eigen::Dynamic, 1>>;

// mu/2 ||w - w_global||^2 + wd/2 ||w||^2 (the objective's extra terms).
template <typename S>
double regularization_loss(ConstFlatMap<S> w, ConstFlatMap<S> w_global, double mu, double wd) {
  double v = 0;
  if (mu > 0) v += 0.5 * mu * static_cast<double>((w - w_global).square().sum());
  if (wd > 0) v += 0.5 * wd * static_cast<double>(w.square().sum());
  return v;
}

// g += mu (w - w_global)
template <typename S>
void add_proximal_grad(FlatMap<S> g, ConstFlatMap<S> w, ConstFlatMap<S> w_global, S mu) {
  if (mu > 0) g += mu * (w - w_global);
}

// g += wd w
template <typename S>
void add_weight_decay_grad(FlatMap<S> g, ConstFlatMap<S> w, S wd) {
  if (wd > 0) g += wd * w;
}

// ||g|| accumulated in double; clipping scales g by min(1, max_norm / ||g||).
template <typename S>
double grad_norm(ConstFlatMap<S> g) {
  return std::sqrt(g.template cast<double>().square().sum());
}

// The whole update after the proximal term is in g, in one pass over memory:
//   g' = clip_scale g + wd w;  v = momentum v + g';  w -= lr v
// (v is left untouched, and w -= lr g', when momentum == 0). Same arithmetic
// as scaling g, add_weight_decay_grad and a momentum step, fused because
// the update is a memory-bound pass over the model at every step.
// Written as Eigen array expressions, not a plain loop: the trainer is built
// at -O2 (edgefed_hot_code), where GCC 12 does not vectorise a loop over
// three pointers that may alias, and the scalar loop took 17% of a step on
// the x86-64-v2 path and more on the AVX2 one (perf, benchmarks/train/README.md).
// Blocks of kBlock floats keep w, v and g in L1 between the two statements,
// so each is still read from memory once per step.
template <typename S>
void fused_sgd_update(S* w, S* v, const S* g, int64_t n, S lr, S momentum, S wd, S clip_scale) {
  constexpr int64_t kBlock = 1024;
  for (int64_t i = 0; i < n; i += kBlock) {
    const Eigen::Index m = static_cast<Eigen::Index>(n - i < kBlock ? n - i : kBlock);
    FlatMap<S> wb(w + i, m);
    ConstFlatMap<S> gb(g + i, m);
    if (momentum > 0) {
      FlatMap<S> vb(v + i, m);
      vb = momentum * vb + (clip_scale * gb + wd * wb);
      wb -= lr * vb;
    } else {
      wb -= lr * (clip_scale * gb + wd * wb);
    }
  }
}

}  // namespace edgefed::ml
