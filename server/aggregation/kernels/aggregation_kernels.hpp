// Numeric kernels behind the aggregation strategies: weighted sums (FedAvg,
// FedBuff), coordinate-wise median and trimmed mean, and the pairwise
// distances and selection of multi-Krum. Pure functions over caller-owned
// memory; no I/O, no allocation beyond per-call scratch.
//
// Threads: `threads <= 1` runs on the calling thread; otherwise the
// coordinates are split into contiguous ranges run by that many std::threads
// (joined before return). Results do not depend on the thread count: median,
// trimmed mean and weighted_sum are bit-identical (each coordinate is
// computed in the same order); pairwise distances agree to rounding.
//
// Preconditions are the caller's to check (the strategies validate input at
// their boundary); violating a REQUIRES is a programming error.
#pragma once

#include <cstddef>
#include <span>
#include <vector>

namespace edgefed::server::kernels {

// K updates of `dim` floats stored row after row (K*dim floats, row k at
// data + k*dim). Not owning.
struct UpdateMatrix {
  const float* data;
  size_t k;
  size_t dim;
};

// acc[i] += w * x[i]. Double accumulator so FedAvg over many clients stays
// exact to float precision. REQUIRES: acc.size() == x.size().
void accumulate(std::span<double> acc, std::span<const float> x, double w);

// acc[i] += w * x[i] with a float accumulator: half the memory traffic of the
// double form, for callers that sum few updates or tolerate float rounding.
// REQUIRES: acc.size() == x.size().
void accumulate(std::span<float> acc, std::span<const float> x, float w);

// Same as accumulate(acc, x, w) and returns ||x||^2 (in double), in one pass.
double accumulate_with_norm(std::span<double> acc, std::span<const float> x, double w);

// out[i] = sum_k w[k] * U[k][i]. Accumulates in float within a block of
// coordinates, rows in order 0..k-1: relative error about k * 2^-24 of
// sum_k |w_k U[k][i]|. REQUIRES: out.size() == u.dim, w.size() == u.k.
void weighted_sum(const UpdateMatrix& u, std::span<const double> w, std::span<float> out,
                  int threads = 1);

// Coordinate-wise median (mean of the two middle values for even k).
// NaN counts as +inf (callers should reject non-finite updates first).
// REQUIRES: u.k >= 1, out.size() == u.dim.
void coordinate_median(const UpdateMatrix& u, std::span<float> out, int threads = 1);

// Coordinate-wise trimmed mean: drops floor(beta*k) smallest and largest
// values per coordinate and averages the rest (summed in double). NaN counts
// as +inf. REQUIRES: 0 <= beta < 0.5, k - 2*floor(beta*k) >= 1,
// out.size() == u.dim.
void trimmed_mean(const UpdateMatrix& u, double beta, std::span<float> out, int threads = 1);

// d[i*k+j] = ||U_i - U_j||^2 (symmetric, zero diagonal, >= 0), computed from
// the Gram matrix: float products over blocks of 1024 coordinates summed in
// double, so the absolute error is about 1e-7 * (||U_i||^2 + ||U_j||^2) and
// results may differ in the last bits between thread counts.
// REQUIRES: d.size() == k*k.
void pairwise_sq_distances(const UpdateMatrix& u, std::span<double> d, int threads = 1);

// Multi-Krum (Blanchard et al. 2017): score_i = sum of the k-f-2 smallest
// d(i,j), j != i; returns the indices of the m lowest scores (ascending
// score, ties by index). NaN distances count as +inf.
// REQUIRES: d.size() == k*k, k > 2f+2, 1 <= m <= k.
std::vector<size_t> multi_krum_select(std::span<const double> d, size_t k, size_t f, size_t m);

}  // namespace edgefed::server::kernels
