// The AVX2+FMA compute path, built with -mavx2 -mfma and called only after a
// runtime CPU check (mlp_compute_generic.cpp). Eigen's namespace is renamed
// here so that none of its inline functions compiled for AVX2 can be merged
// with the portable build's copies; tests check this object's weak symbols.
#define Eigen edgefed_eigen_avx2
#define EDGEFED_MLP_ISA avx2
#include "trainer/mlp_compute.hpp"

namespace edgefed::ml {

KernelStats mlp_run_avx2(const KernelArgs<float>& args) { return avx2::run<float>(args); }

}  // namespace edgefed::ml
