// The plain-data interface between Network and its per-instruction-set
// compute functions (net_compute.hpp): raw pointers, sizes and a flat list
// of operations, so no std container crosses into the AVX2 object.
#pragma once

#include <cstdint>

namespace edgefed::ml {

// One layer as the compute code sees it. 1-D layers (conv1d, maxpool1d) are
// 2-D ones with height 1; flatten is kAlias (its buffers are its input's).
enum class OpKind : int32_t {
  kDense,
  kConv,
  kMaxPool,
  kAvgPool,
  kGlobalAvgPool,
  kAlias,
  kRelu,
  kTanh,
  kSigmoid,
  kDropout,
};

enum class LossKind : int32_t { kSoftmaxCrossEntropy, kMse, kHuber };

struct OpDesc {
  OpKind kind = OpKind::kAlias;
  int in_c = 0, in_h = 1, in_w = 0;     // input [C, H, W] (dense: [in_w])
  int out_c = 0, out_h = 1, out_w = 0;  // output
  int kh = 1, kw = 1;                   // kernel (conv, pools)
  int stride_h = 1, stride_w = 1;
  int pad_h = 0, pad_w = 0;             // conv only
  int64_t w_off = -1, b_off = -1;       // dense, conv: offsets in params
  int64_t in_size = 0, out_size = 0;    // floats per sample
};

struct KernelStats {
  double loss_sum = 0;     // sum over the batch of per-sample losses
  int64_t correct = 0;     // classification: argmax == label
  double abs_err_sum = 0;  // regression, autoencoder: sum of |output - target| over all outputs
  double sq_err_sum = 0;   //   and of squares
};

template <typename S>
struct NetArgs {
  int ops = 0;
  const OpDesc* op = nullptr;
  const S* params = nullptr;
  S* grad = nullptr;         // null: forward only
  S scale = 1;               // gradient of scale * (sum of losses)
  bool assign = true;        // grad = ... (else grad += ...)
  S* const* act = nullptr;   // ops + 1 row-major buffers, act[0] = input
  S* const* grad_act = nullptr;  // ops + 1 (grad_act[0] unused)
  const S* const* mask = nullptr;  // per op: dropout multipliers (rows x out_size), null = identity
  // Convolution scratch, conv_scratch floats each (>= one sample's
  // in_c*kh*kw x out_h*out_w of every convolution): im2col columns, their
  // gradient, and the output (or output gradient) of a group of samples.
  S* col = nullptr;
  S* dcol = nullptr;
  S* ybuf = nullptr;
  int64_t conv_scratch = 0;
  int rows = 0;              // samples in the batch
  LossKind loss = LossKind::kSoftmaxCrossEntropy;
  S huber_delta = 1;
  const int32_t* labels = nullptr;  // softmax cross-entropy
  const S* targets = nullptr;       // mse, huber: rows x output size
  int64_t target_stride = 0;        // floats between target rows
  S* sample_loss = nullptr;         // optional: each row's loss
};

// The compute functions. Double always runs the portable code (tests only).
KernelStats net_run(const NetArgs<float>& args);
KernelStats net_run(const NetArgs<double>& args);
KernelStats net_run_generic(const NetArgs<float>& args);  // forced baseline, for tests and benchmarks

}  // namespace edgefed::ml
