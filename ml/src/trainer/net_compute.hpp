// The forward/backward arithmetic of Network over raw buffers: every layer
// type and loss. Included by one translation unit per instruction set
// (net_compute_generic.cpp for the portable x86-64-v2 baseline,
// net_compute_avx2.cpp built with -mavx2 -mfma); each compiles it in its own
// namespace EDGEFED_NET_ISA, and the AVX2 one also renames Eigen's
// namespace, so no inline function compiled for AVX2 can be shared with (and
// picked by the linker for) the portable code. Only raw pointers cross this
// interface, and no std template is instantiated here.
//
// Layouts: a batch of activations is row-major [rows, C*H*W], each row
// channel-major (PyTorch's NCHW). Convolutions are im2col per sample into
// Eigen matrix products: out_s[O, Ho*Wo] = W[O, C*kh*kw] * col[C*kh*kw, Ho*Wo].
#pragma once

#include <cmath>
#include <cstdint>

#include <Eigen/Core>

#include "trainer/net_args.hpp"

#ifndef EDGEFED_NET_ISA
#error "define EDGEFED_NET_ISA (the namespace for this instruction set) before including net_compute.hpp"
#endif

namespace edgefed::ml::EDGEFED_NET_ISA {

template <typename S>
using RowMap = Eigen::Map<Eigen::Matrix<S, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>;
template <typename S>
using ConstRowMap = Eigen::Map<const Eigen::Matrix<S, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>;
template <typename S>
using RowVecMap = Eigen::Map<Eigen::Matrix<S, 1, Eigen::Dynamic>>;
template <typename S>
using ConstRowVecMap = Eigen::Map<const Eigen::Matrix<S, 1, Eigen::Dynamic>>;
template <typename S>
using ColVecMap = Eigen::Map<Eigen::Matrix<S, Eigen::Dynamic, 1>>;
template <typename S>
using ConstColVecMap = Eigen::Map<const Eigen::Matrix<S, Eigen::Dynamic, 1>>;
template <typename S>
using ArrMap = Eigen::Map<Eigen::Array<S, Eigen::Dynamic, 1>>;

// ---- losses: each leaves scale * d(loss)/d(output) in d (when d is set) ----

template <typename S>
KernelStats softmax_cross_entropy(const NetArgs<S>& a, RowMap<S> logits, S* d_ptr) {
  KernelStats s;
  for (Eigen::Index r = 0; r < logits.rows(); ++r) {
    const int y = a.labels[r];
    Eigen::Index arg = 0;
    const S m = logits.row(r).maxCoeff(&arg);
    const S sum = (logits.row(r).array() - m).exp().sum();
    const double loss = static_cast<double>(std::log(sum) - (logits(r, y) - m));
    s.loss_sum += loss;
    if (a.sample_loss) a.sample_loss[r] = static_cast<S>(loss);
    s.correct += arg == y;
    if (d_ptr) {
      RowMap<S> d(d_ptr, logits.rows(), logits.cols());
      d.row(r) = (logits.row(r).array() - m).exp().matrix() * (a.scale / sum);
      d(r, y) -= a.scale;
    }
  }
  return s;
}

// Mean over the outputs of the squared error (mse) or Huber loss per sample.
template <typename S>
KernelStats regression_loss(const NetArgs<S>& a, RowMap<S> out, S* d_ptr) {
  KernelStats s;
  const Eigen::Index width = out.cols();
  const S inv = S(1) / static_cast<S>(width);
  const S delta = a.huber_delta;
  for (Eigen::Index r = 0; r < out.rows(); ++r) {
    const S* t = a.targets + r * a.target_stride;
    S* d = d_ptr ? d_ptr + r * width : nullptr;
    double row = 0;
    for (Eigen::Index j = 0; j < width; ++j) {
      const S e = out(r, j) - t[j];
      const S ae = e < S(0) ? -e : e;
      s.abs_err_sum += static_cast<double>(ae);
      s.sq_err_sum += static_cast<double>(e) * static_cast<double>(e);
      S l, g;
      if (a.loss == LossKind::kMse) {
        l = e * e;
        g = S(2) * e;
      } else if (ae <= delta) {
        l = S(0.5) * e * e;
        g = e;
      } else {
        l = delta * (ae - S(0.5) * delta);
        g = e > S(0) ? delta : -delta;
      }
      row += static_cast<double>(l);
      if (d) d[j] = a.scale * g * inv;
    }
    row *= static_cast<double>(inv);
    s.loss_sum += row;
    if (a.sample_loss) a.sample_loss[r] = static_cast<S>(row);
  }
  return s;
}

// ---- convolution by im2col ----

// col[(c*kh + ki)*kw + kj][oh*Wo + ow] = in[c][oh*sh - ph + ki][ow*sw - pw + kj] (0 outside);
// `ld` floats between the rows of col (several samples side by side).
template <typename S>
void im2col(const OpDesc& o, const S* in, S* col, int64_t ld) {
  for (int c = 0; c < o.in_c; ++c)
    for (int ki = 0; ki < o.kh; ++ki)
      for (int kj = 0; kj < o.kw; ++kj) {
        S* dst = col + static_cast<int64_t>((c * o.kh + ki) * o.kw + kj) * ld;
        for (int oh = 0; oh < o.out_h; ++oh) {
          const int ih = oh * o.stride_h - o.pad_h + ki;
          S* row = dst + oh * o.out_w;
          if (ih < 0 || ih >= o.in_h) {
            for (int ow = 0; ow < o.out_w; ++ow) row[ow] = S(0);
            continue;
          }
          const S* src = in + (static_cast<int64_t>(c) * o.in_h + ih) * o.in_w;
          if (o.stride_w == 1) {
            // The common case: a contiguous run with zeros at the padded ends.
            for (int ow = 0; ow < o.out_w; ++ow) {
              const int iw = ow - o.pad_w + kj;
              row[ow] = (iw >= 0 && iw < o.in_w) ? src[iw] : S(0);
            }
          } else {
            for (int ow = 0; ow < o.out_w; ++ow) {
              const int iw = ow * o.stride_w - o.pad_w + kj;
              row[ow] = (iw >= 0 && iw < o.in_w) ? src[iw] : S(0);
            }
          }
        }
      }
}

// The adjoint of im2col: d_in += the column gradients, at the positions they came from.
template <typename S>
void col2im_add(const OpDesc& o, const S* col, int64_t ld, S* d_in) {
  for (int c = 0; c < o.in_c; ++c)
    for (int ki = 0; ki < o.kh; ++ki)
      for (int kj = 0; kj < o.kw; ++kj) {
        const S* src = col + static_cast<int64_t>((c * o.kh + ki) * o.kw + kj) * ld;
        for (int oh = 0; oh < o.out_h; ++oh) {
          const int ih = oh * o.stride_h - o.pad_h + ki;
          if (ih < 0 || ih >= o.in_h) continue;
          S* dst = d_in + (static_cast<int64_t>(c) * o.in_h + ih) * o.in_w;
          const S* row = src + oh * o.out_w;
          for (int ow = 0; ow < o.out_w; ++ow) {
            const int iw = ow * o.stride_w - o.pad_w + kj;
            if (iw >= 0 && iw < o.in_w) dst[iw] += row[ow];
          }
        }
      }
}

// A 1x1 convolution with stride 1 needs no im2col: the input is the column matrix.
inline bool pointwise(const OpDesc& o) {
  return o.kh == 1 && o.kw == 1 && o.stride_h == 1 && o.stride_w == 1 && o.pad_h == 0 && o.pad_w == 0;
}

// Samples per matrix product: as many as the scratch holds (their columns
// side by side make one product with a long inner dimension, which Eigen
// runs far faster than many small ones), at least one.
template <typename S>
int conv_group(const NetArgs<S>& a, const OpDesc& o) {
  const int64_t plane = int64_t{o.out_h} * o.out_w;
  const int64_t per_sample = plane * (o.in_c * o.kh * o.kw > o.out_c ? o.in_c * o.kh * o.kw : o.out_c);
  const int64_t g = a.conv_scratch / per_sample;
  return static_cast<int>(g < 1 ? 1 : (g > a.rows ? a.rows : g));
}

template <typename S>
void conv_forward(const NetArgs<S>& a, const OpDesc& o, const S* in, S* out) {
  const int ckk = o.in_c * o.kh * o.kw, plane = o.out_h * o.out_w;
  ConstRowMap<S> w(a.params + o.w_off, o.out_c, ckk);
  ConstColVecMap<S> b(a.params + o.b_off, o.out_c);
  if (pointwise(o)) {
    for (int r = 0; r < a.rows; ++r) {
      RowMap<S> y(out + r * o.out_size, o.out_c, plane);
      y.noalias() = w * ConstRowMap<S>(in + r * o.in_size, ckk, plane);
      y.colwise() += b;
    }
    return;
  }
  const int group = conv_group(a, o);
  for (int r0 = 0; r0 < a.rows; r0 += group) {
    const int g = r0 + group <= a.rows ? group : a.rows - r0;
    const int64_t ld = int64_t{g} * plane;
    for (int k = 0; k < g; ++k) im2col(o, in + (r0 + k) * o.in_size, a.col + k * plane, ld);
    RowMap<S> y(a.ybuf, o.out_c, ld);
    y.noalias() = w * ConstRowMap<S>(a.col, ckk, ld);
    // Back to one [out_c, plane] block per sample, with the bias.
    for (int k = 0; k < g; ++k)
      RowMap<S>(out + (r0 + k) * o.out_size, o.out_c, plane) =
          y.middleCols(int64_t{k} * plane, plane).colwise() + b;
  }
}

template <typename S>
void conv_backward(const NetArgs<S>& a, const OpDesc& o, const S* in, const S* d_out, S* d_in) {
  const int ckk = o.in_c * o.kh * o.kw, plane = o.out_h * o.out_w;
  ConstRowMap<S> w(a.params + o.w_off, o.out_c, ckk);
  RowMap<S> gw(a.grad + o.w_off, o.out_c, ckk);
  ColVecMap<S> gb(a.grad + o.b_off, o.out_c);
  if (a.assign) {
    gw.setZero();
    gb.setZero();
  }
  if (pointwise(o)) {
    for (int r = 0; r < a.rows; ++r) {
      ConstRowMap<S> dy(d_out + r * o.out_size, o.out_c, plane);
      gw.noalias() += dy * ConstRowMap<S>(in + r * o.in_size, ckk, plane).transpose();
      gb += dy.rowwise().sum();
      if (d_in) RowMap<S>(d_in + r * o.in_size, ckk, plane).noalias() = w.transpose() * dy;
    }
    return;
  }
  const int group = conv_group(a, o);
  for (int r0 = 0; r0 < a.rows; r0 += group) {
    const int g = r0 + group <= a.rows ? group : a.rows - r0;
    const int64_t ld = int64_t{g} * plane;
    RowMap<S> dy(a.ybuf, o.out_c, ld);
    for (int k = 0; k < g; ++k) {
      im2col(o, in + (r0 + k) * o.in_size, a.col + k * plane, ld);
      dy.middleCols(int64_t{k} * plane, plane) = ConstRowMap<S>(d_out + (r0 + k) * o.out_size, o.out_c, plane);
    }
    gw.noalias() += dy * ConstRowMap<S>(a.col, ckk, ld).transpose();
    gb += dy.rowwise().sum();
    if (!d_in) continue;
    RowMap<S>(a.dcol, ckk, ld).noalias() = w.transpose() * dy;
    for (int k = 0; k < g; ++k) {
      S* d_in_r = d_in + (r0 + k) * o.in_size;
      ArrMap<S>(d_in_r, o.in_size).setZero();
      col2im_add(o, a.dcol + k * plane, ld, d_in_r);
    }
  }
}

// ---- pooling (no padding; a window starts every stride) ----

template <typename S>
void pool_forward(const NetArgs<S>& a, const OpDesc& o, const S* in, S* out) {
  const bool max = o.kind == OpKind::kMaxPool;
  const S inv = S(1) / static_cast<S>(o.kh * o.kw);
  for (int r = 0; r < a.rows; ++r)
    for (int c = 0; c < o.in_c; ++c) {
      const S* x = in + r * o.in_size + static_cast<int64_t>(c) * o.in_h * o.in_w;
      S* y = out + r * o.out_size + static_cast<int64_t>(c) * o.out_h * o.out_w;
      for (int oh = 0; oh < o.out_h; ++oh)
        for (int ow = 0; ow < o.out_w; ++ow) {
          const S* win = x + static_cast<int64_t>(oh * o.stride_h) * o.in_w + ow * o.stride_w;
          S acc = max ? win[0] : S(0);
          for (int ki = 0; ki < o.kh; ++ki)
            for (int kj = 0; kj < o.kw; ++kj) {
              const S v = win[ki * o.in_w + kj];
              if (max) acc = v > acc ? v : acc;
              else acc += v;
            }
          y[oh * o.out_w + ow] = max ? acc : acc * inv;
        }
    }
}

// Max pooling sends each output's gradient to the first maximum of its
// window (recomputed from the input, so no index buffer is kept).
template <typename S>
void pool_backward(const NetArgs<S>& a, const OpDesc& o, const S* in, const S* d_out, S* d_in) {
  const bool max = o.kind == OpKind::kMaxPool;
  const S inv = S(1) / static_cast<S>(o.kh * o.kw);
  ArrMap<S>(d_in, static_cast<Eigen::Index>(a.rows) * o.in_size).setZero();
  for (int r = 0; r < a.rows; ++r)
    for (int c = 0; c < o.in_c; ++c) {
      const int64_t in_base = r * o.in_size + static_cast<int64_t>(c) * o.in_h * o.in_w;
      const S* dy = d_out + r * o.out_size + static_cast<int64_t>(c) * o.out_h * o.out_w;
      for (int oh = 0; oh < o.out_h; ++oh)
        for (int ow = 0; ow < o.out_w; ++ow) {
          const int64_t start = in_base + static_cast<int64_t>(oh * o.stride_h) * o.in_w + ow * o.stride_w;
          const S g = dy[oh * o.out_w + ow];
          if (max) {
            int64_t best = start;
            for (int ki = 0; ki < o.kh; ++ki)
              for (int kj = 0; kj < o.kw; ++kj) {
                const int64_t p = start + ki * o.in_w + kj;
                if (in[p] > in[best]) best = p;
              }
            d_in[best] += g;
          } else {
            for (int ki = 0; ki < o.kh; ++ki)
              for (int kj = 0; kj < o.kw; ++kj) d_in[start + ki * o.in_w + kj] += g * inv;
          }
        }
    }
}

// ---- the network ----

template <typename S>
KernelStats run(const NetArgs<S>& a) {
  const Eigen::Index rows = a.rows;
  for (int i = 0; i < a.ops; ++i) {
    const OpDesc& o = a.op[i];
    const S* in = a.act[i];
    S* out = a.act[i + 1];
    const Eigen::Index n = rows * o.out_size;
    switch (o.kind) {
      case OpKind::kDense: {
        RowMap<S> y(out, rows, o.out_w);
        y.noalias() = ConstRowMap<S>(in, rows, o.in_w) * ConstRowMap<S>(a.params + o.w_off, o.out_w, o.in_w).transpose();
        y.rowwise() += ConstRowVecMap<S>(a.params + o.b_off, o.out_w);
        break;
      }
      case OpKind::kConv: conv_forward(a, o, in, out); break;
      case OpKind::kMaxPool:
      case OpKind::kAvgPool: pool_forward(a, o, in, out); break;
      case OpKind::kGlobalAvgPool: {
        const int plane = o.in_h * o.in_w;
        RowMap<S>(out, rows * o.in_c, 1) = ConstRowMap<S>(in, rows * o.in_c, plane).rowwise().mean();
        break;
      }
      case OpKind::kAlias: break;
      case OpKind::kRelu: ArrMap<S>(out, n) = ArrMap<S>(const_cast<S*>(in), n).max(S(0)); break;
      case OpKind::kTanh: ArrMap<S>(out, n) = ArrMap<S>(const_cast<S*>(in), n).tanh(); break;
      case OpKind::kSigmoid:
        ArrMap<S>(out, n) = (S(1) + (-ArrMap<S>(const_cast<S*>(in), n)).exp()).inverse();
        break;
      case OpKind::kDropout:
        if (a.mask && a.mask[i]) {
          ArrMap<S>(out, n) = ArrMap<S>(const_cast<S*>(in), n) * ArrMap<S>(const_cast<S*>(a.mask[i]), n);
        } else if (out != in) {
          ArrMap<S>(out, n) = ArrMap<S>(const_cast<S*>(in), n);
        }
        break;
    }
  }

  const OpDesc& last = a.op[a.ops - 1];
  RowMap<S> output(a.act[a.ops], rows, last.out_size);
  S* d_output = a.grad_act ? a.grad_act[a.ops] : nullptr;
  const KernelStats stats = a.loss == LossKind::kSoftmaxCrossEntropy ? softmax_cross_entropy<S>(a, output, d_output)
                                                                      : regression_loss<S>(a, output, d_output);
  if (!a.grad) return stats;

  // Below the first layer with parameters no gradient is needed.
  int first = 0;
  while (first < a.ops && a.op[first].w_off < 0) ++first;
  for (int i = a.ops - 1; i >= first; --i) {
    const OpDesc& o = a.op[i];
    const S* in = a.act[i];
    const S* out = a.act[i + 1];
    const S* dy = a.grad_act[i + 1];
    S* dx = i > first ? a.grad_act[i] : nullptr;
    const Eigen::Index n = rows * o.out_size;
    switch (o.kind) {
      case OpKind::kDense: {
        ConstRowMap<S> d(dy, rows, o.out_w);
        ConstRowMap<S> x(in, rows, o.in_w);
        RowMap<S> gw(a.grad + o.w_off, o.out_w, o.in_w);
        RowVecMap<S> gb(a.grad + o.b_off, o.out_w);
        if (a.assign) {
          gw.noalias() = d.transpose() * x;
          gb = d.colwise().sum();
        } else {
          gw.noalias() += d.transpose() * x;
          gb += d.colwise().sum();
        }
        if (dx) RowMap<S>(dx, rows, o.in_w).noalias() = d * ConstRowMap<S>(a.params + o.w_off, o.out_w, o.in_w);
        break;
      }
      case OpKind::kConv: conv_backward(a, o, in, dy, dx); break;
      case OpKind::kMaxPool:
      case OpKind::kAvgPool:
        if (dx) pool_backward(a, o, in, dy, dx);
        break;
      case OpKind::kGlobalAvgPool:
        if (dx) {
          const int plane = o.in_h * o.in_w;
          const S inv = S(1) / static_cast<S>(plane);
          RowMap<S>(dx, rows * o.in_c, plane).colwise() = ConstColVecMap<S>(dy, rows * o.in_c) * inv;
        }
        break;
      case OpKind::kAlias: break;
      case OpKind::kRelu:
        if (dx) {
          ArrMap<S> g(dx, n);
          g = (ArrMap<S>(const_cast<S*>(out), n) > S(0)).select(ArrMap<S>(const_cast<S*>(dy), n), S(0));
        }
        break;
      case OpKind::kTanh:
        if (dx) {
          ArrMap<S> y(const_cast<S*>(out), n);
          ArrMap<S>(dx, n) = ArrMap<S>(const_cast<S*>(dy), n) * (S(1) - y.square());
        }
        break;
      case OpKind::kSigmoid:
        if (dx) {
          ArrMap<S> y(const_cast<S*>(out), n);
          ArrMap<S>(dx, n) = ArrMap<S>(const_cast<S*>(dy), n) * y * (S(1) - y);
        }
        break;
      case OpKind::kDropout:
        if (!dx) break;
        if (a.mask && a.mask[i]) {
          ArrMap<S>(dx, n) = ArrMap<S>(const_cast<S*>(dy), n) * ArrMap<S>(const_cast<S*>(a.mask[i]), n);
        } else if (dx != dy) {
          ArrMap<S>(dx, n) = ArrMap<S>(const_cast<S*>(dy), n);
        }
        break;
    }
  }
  return stats;
}

}  // namespace edgefed::ml::EDGEFED_NET_ISA
