// The plain-data interface between MlpKernel and its per-instruction-set
// compute functions (mlp_compute.hpp): raw pointers and sizes only.
#pragma once

#include <cstdint>

namespace edgefed::ml {

struct KernelStats {
  double loss_sum = 0;  // sum over the batch of -log p(label)
  int64_t correct = 0;  // argmax == label
};

template <typename S>
struct KernelArgs {
  int layers = 0;                  // dense layers
  const int* sizes = nullptr;      // layers + 1 sizes
  const int64_t* w_off = nullptr;  // per layer: offset of W [out, in] in params
  const int64_t* b_off = nullptr;  // per layer: offset of b [out]
  const S* params = nullptr;
  S* grad = nullptr;               // null: forward only
  S scale = 1;                     // gradient of scale * (sum of losses)
  bool assign = true;              // grad = ... (else grad += ...)
  S* const* act = nullptr;         // layers + 1 row-major buffers, act[0] = input
  S* const* grad_act = nullptr;    // layers + 1 buffers (grad_act[0] unused)
  int rows = 0;                    // samples in the batch
  const int32_t* labels = nullptr;
};

// The compute functions. Double always runs the portable code (tests only).
KernelStats mlp_run(const KernelArgs<float>& args);
KernelStats mlp_run(const KernelArgs<double>& args);
KernelStats mlp_run_generic(const KernelArgs<float>& args);  // forced baseline, for tests and benchmarks

}  // namespace edgefed::ml
