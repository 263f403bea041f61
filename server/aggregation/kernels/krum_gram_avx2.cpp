// The AVX2+FMA Gram accumulation for multi-Krum, built with -mavx2 -mfma and
// called only after a runtime CPU check (krum.cpp). Eigen's namespace is
// renamed here so that none of its inline functions compiled for AVX2 can be
// merged with the portable build's copies; a test checks this object's weak
// symbols.
#define Eigen edgefed_eigen_gram_avx2
#define EDGEFED_GRAM_ISA gram_avx2
#include "server/aggregation/kernels/krum_gram.hpp"

namespace edgefed::server::kernels::detail {

void gram_range_avx2(const float* data, size_t k, size_t stride, size_t begin, size_t end, double* g) {
  gram_avx2::gram_range(data, k, stride, begin, end, g);
}

}  // namespace edgefed::server::kernels::detail
