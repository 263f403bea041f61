// Multi-Krum: pairwise squared distances through the Gram matrix
// (||a-b||^2 = ||a||^2 + ||b||^2 - 2 a.b), then score and select.
// The Gram matrix is built from float GEMMs over blocks of coordinates
// (Eigen, krum_gram.hpp), each block's result added into a double
// accumulator, so the rounding error stays that of a kGramBlock-long float
// dot product. On x86-64 the portable build also carries an AVX2+FMA copy
// (krum_gram_avx2.cpp), chosen at run time: 1e10 multiply-adds for 100 x 1M,
// and SSE without FMA runs them at a quarter of the rate.
#define EDGEFED_GRAM_ISA gram_generic
#include "server/aggregation/kernels/krum_gram.hpp"

#include <Eigen/Dense>
#include <algorithm>
#include <cassert>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <numeric>
#include <vector>

#include "server/aggregation/kernels/aggregation_kernels.hpp"
#include "server/aggregation/kernels/parallel_blocks.hpp"

namespace edgefed::server::kernels {
namespace detail {
#ifdef EDGEFED_HAVE_AVX2_GRAM
void gram_range_avx2(const float* data, size_t k, size_t stride, size_t begin, size_t end, double* g);  // krum_gram_avx2.cpp
#endif
}  // namespace detail
namespace {

constexpr size_t kGramBlock = gram_generic::kGramBlock;

#ifdef EDGEFED_HAVE_AVX2_GRAM
// EDGEFED_KERNEL_ISA=generic forces the portable path (for comparisons).
bool use_avx2_gram() {
  const char* isa = std::getenv("EDGEFED_KERNEL_ISA");
  if (isa && std::strcmp(isa, "generic") == 0) return false;
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}
#endif

void gram_range(const UpdateMatrix& u, size_t begin, size_t end, Eigen::MatrixXd& g) {
#ifdef EDGEFED_HAVE_AVX2_GRAM
  static const bool avx2 = use_avx2_gram();
  if (avx2) return detail::gram_range_avx2(u.data, u.k, u.dim, begin, end, g.data());
#endif
  gram_generic::gram_range(u.data, u.k, u.dim, begin, end, g.data());
}

}  // namespace

void pairwise_sq_distances(const UpdateMatrix& u, std::span<double> d, int threads) {
  const size_t k = u.k;
  assert(d.size() == k * k);
  if (k == 0) return;
  const int parts = std::max(1, threads);
  std::vector<Eigen::MatrixXd> partial(static_cast<size_t>(parts),
                                       Eigen::MatrixXd::Zero(static_cast<Eigen::Index>(k),
                                                             static_cast<Eigen::Index>(k)));
  // One Gram accumulator per range; ranges are summed in order afterwards.
  detail::parallel_parts(u.dim, kGramBlock, parts,
                         [&](size_t p, size_t b, size_t e) { gram_range(u, b, e, partial[p]); });
  Eigen::MatrixXd g = partial[0];
  for (size_t p = 1; p < partial.size(); ++p) g += partial[p];
  for (size_t i = 0; i < k; ++i) {
    d[i * k + i] = 0.0;
    const auto ii = static_cast<Eigen::Index>(i);
    for (size_t j = 0; j < i; ++j) {
      const auto jj = static_cast<Eigen::Index>(j);
      const double v = std::max(0.0, g(ii, ii) + g(jj, jj) - 2.0 * g(ii, jj));
      d[i * k + j] = d[j * k + i] = v;
    }
  }
}

std::vector<size_t> multi_krum_select(std::span<const double> d, size_t k, size_t f, size_t m) {
  assert(d.size() == k * k && k > 2 * f + 2 && m >= 1 && m <= k);
  constexpr double kInf = std::numeric_limits<double>::infinity();
  const size_t nearest = k - f - 2;
  std::vector<double> score(k), row;
  row.reserve(k);
  for (size_t i = 0; i < k; ++i) {
    row.clear();
    for (size_t j = 0; j < k; ++j)
      if (j != i) row.push_back(std::isnan(d[i * k + j]) ? kInf : d[i * k + j]);
    std::nth_element(row.begin(), row.begin() + static_cast<std::ptrdiff_t>(nearest), row.end());
    std::sort(row.begin(), row.begin() + static_cast<std::ptrdiff_t>(nearest));
    const double s = std::accumulate(row.begin(), row.begin() + static_cast<std::ptrdiff_t>(nearest), 0.0);
    // NaN (inf - inf) would break the ordering: rank it last.
    score[i] = std::isnan(s) ? kInf : s;
  }
  std::vector<size_t> idx(k);
  std::iota(idx.begin(), idx.end(), size_t{0});
  std::stable_sort(idx.begin(), idx.end(), [&](size_t a, size_t b) { return score[a] < score[b]; });
  idx.resize(m);
  return idx;
}

}  // namespace edgefed::server::kernels
