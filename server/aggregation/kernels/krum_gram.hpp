// The Gram-matrix accumulation of pairwise_sq_distances over raw buffers.
// Included by one translation unit per instruction set (krum.cpp for the
// portable x86-64-v2 baseline, krum_gram_avx2.cpp built with -mavx2 -mfma);
// each compiles it in its own namespace EDGEFED_GRAM_ISA, and the AVX2 one
// also renames Eigen's namespace, so no inline function compiled for AVX2 can
// be shared with (and picked by the linker for) the portable code. Only raw
// pointers cross this interface.
#pragma once

#include <algorithm>
#include <cstddef>

#include <Eigen/Core>

#ifndef EDGEFED_GRAM_ISA
#error "define EDGEFED_GRAM_ISA (the namespace for this instruction set) before including krum_gram.hpp"
#endif

namespace edgefed::server::kernels::EDGEFED_GRAM_ISA {

// Coordinates per float GEMM block: its products are summed in float, then
// added into the double accumulator, so rounding stays that of a
// kGramBlock-long float dot product.
inline constexpr size_t kGramBlock = 1024;

// Lower triangle of U[:, begin:end] * U[:, begin:end]^T added into g, a k x k
// column-major double matrix. U is k rows of `stride` floats at data.
inline void gram_range(const float* data, size_t k, size_t stride, size_t begin, size_t end, double* g) {
  using RowMajorF = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  using ConstTile = Eigen::Map<const RowMajorF, 0, Eigen::OuterStride<>>;
  const auto kk = static_cast<Eigen::Index>(k);
  Eigen::Map<Eigen::MatrixXd> acc(g, kk, kk);
  Eigen::MatrixXf block(kk, kk);
  for (size_t b = begin; b < end; b += kGramBlock) {
    const auto len = static_cast<Eigen::Index>(std::min(kGramBlock, end - b));
    ConstTile tile(data + b, kk, len, Eigen::OuterStride<>(static_cast<Eigen::Index>(stride)));
    block.setZero();
    block.selfadjointView<Eigen::Lower>().rankUpdate(tile);
    acc.triangularView<Eigen::Lower>() += block.cast<double>();
  }
}

}  // namespace edgefed::server::kernels::EDGEFED_GRAM_ISA
