// The AVX2+FMA compute path, built with -mavx2 -mfma and called only after a
// runtime CPU check (net_compute_generic.cpp). Eigen's namespace is renamed
// here so that none of its inline functions compiled for AVX2 can be merged
// with the portable build's copies; tests check this object's weak symbols.
#define Eigen edgefed_eigen_avx2
#define EDGEFED_NET_ISA avx2
#include "trainer/net_compute.hpp"

namespace edgefed::ml {

KernelStats net_run_avx2(const NetArgs<float>& args) { return avx2::run<float>(args); }

}  // namespace edgefed::ml
