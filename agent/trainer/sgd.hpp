// The optimizer's arithmetic on flat parameter vectors: the FedProx and
// weight-decay terms (value and gradient), gradient-norm clipping and the
// momentum update. Templates so tests can check them in double.
#pragma once

#include <cmath>
#include <cstdint>

#include <Eigen/Core>

namespace edgefed::agent {

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

// Scales g to norm max_norm if it is longer (max_norm > 0); returns the norm
// before clipping (accumulated in double).
template <typename S>
double clip_grad_norm(FlatMap<S> g, double max_norm) {
  const double norm = std::sqrt(g.template cast<double>().square().sum());
  if (max_norm > 0 && norm > max_norm) g *= static_cast<S>(max_norm / norm);
  return norm;
}

// v = momentum v + g; w -= lr v  (plain SGD when momentum == 0).
template <typename S>
void momentum_step(FlatMap<S> w, FlatMap<S> v, ConstFlatMap<S> g, S lr, S momentum) {
  if (momentum > 0) {
    v = momentum * v + g;
    w -= lr * v;
  } else {
    w -= lr * g;
  }
}

}  // namespace edgefed::agent
