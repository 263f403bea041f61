// Multi-Krum: pairwise squared distances through the Gram matrix
// (||a-b||^2 = ||a||^2 + ||b||^2 - 2 a.b), then score and select.
// The Gram matrix is built from float GEMMs over blocks of coordinates
// (Eigen), each block's result added into a double accumulator, so the
// rounding error stays that of a kGramBlock-long float dot product.
#include <Eigen/Dense>
#include <algorithm>
#include <cassert>
#include <cmath>
#include <limits>
#include <numeric>
#include <vector>

#include "server/aggregation/kernels/aggregation_kernels.hpp"
#include "server/aggregation/kernels/parallel_blocks.hpp"

namespace edgefed::server::kernels {
namespace {

constexpr size_t kGramBlock = 1024;

using RowMajorF = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using ConstTile = Eigen::Map<const RowMajorF, 0, Eigen::OuterStride<>>;

// Lower triangle of U[:, begin:end] * U[:, begin:end]^T, added into g (double).
void gram_range(const UpdateMatrix& u, size_t begin, size_t end, Eigen::MatrixXd& g) {
  const auto k = static_cast<Eigen::Index>(u.k);
  Eigen::MatrixXf block(k, k);
  for (size_t b = begin; b < end; b += kGramBlock) {
    const auto len = static_cast<Eigen::Index>(std::min(kGramBlock, end - b));
    ConstTile tile(u.data + b, k, len, Eigen::OuterStride<>(static_cast<Eigen::Index>(u.dim)));
    block.setZero();
    block.selfadjointView<Eigen::Lower>().rankUpdate(tile);
    g.triangularView<Eigen::Lower>() += block.cast<double>();
  }
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
