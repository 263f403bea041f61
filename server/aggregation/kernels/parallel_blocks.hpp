// Internal: runs fn(part, begin, end) over [0, n) split into at most
// `threads` contiguous ranges (part = 0, 1, ... in order) whose boundaries
// are multiples of `align`. The calling thread runs part 0; the others run
// on std::threads joined before return. threads <= 1 or n <= align: one call
// on the calling thread. parallel_blocks is the same without the part index.
#pragma once

#include <algorithm>
#include <cstddef>
#include <thread>
#include <vector>

namespace edgefed::server::kernels::detail {

template <class Fn>
void parallel_parts(size_t n, size_t align, int threads, Fn&& fn) {
  const size_t blocks = (n + align - 1) / align;
  const size_t parts = std::min<size_t>(threads < 1 ? 1 : static_cast<size_t>(threads), blocks);
  if (parts <= 1) {
    if (n > 0) fn(size_t{0}, size_t{0}, n);
    return;
  }
  auto range = [&](size_t p) {
    const size_t b0 = blocks * p / parts, b1 = blocks * (p + 1) / parts;
    return std::pair<size_t, size_t>{b0 * align, std::min(n, b1 * align)};
  };
  std::vector<std::thread> pool;
  pool.reserve(parts - 1);
  for (size_t p = 1; p < parts; ++p) {
    // Not a structured binding: clang (the fuzz build) cannot capture those.
    const std::pair<size_t, size_t> r = range(p);
    pool.emplace_back([&fn, p, r] { fn(p, r.first, r.second); });
  }
  const auto [b, e] = range(0);
  fn(size_t{0}, b, e);
  for (auto& t : pool) t.join();
}

template <class Fn>
void parallel_blocks(size_t n, size_t align, int threads, Fn&& fn) {
  parallel_parts(n, align, threads, [&fn](size_t, size_t b, size_t e) { fn(b, e); });
}

}  // namespace edgefed::server::kernels::detail
