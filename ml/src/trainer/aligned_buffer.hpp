// std::vector with 64-byte aligned storage for trainer workspaces. Eigen's
// vectorized reductions (e.g. a softmax row sum) peel elements up to the
// first aligned address, so their rounding depends on where a buffer starts;
// fixed alignment makes results bit-identical wherever the heap puts it.
#pragma once

#include <cstddef>
#include <new>
#include <vector>

namespace edgefed::ml {

template <typename T>
struct Aligned64Allocator {
  using value_type = T;
  static constexpr std::align_val_t kAlign{64};

  Aligned64Allocator() = default;
  template <typename U>
  Aligned64Allocator(const Aligned64Allocator<U>&) {}  // NOLINT: rebind

  T* allocate(size_t n) { return static_cast<T*>(::operator new(n * sizeof(T), kAlign)); }
  void deallocate(T* p, size_t) { ::operator delete(p, kAlign); }
  template <typename U>
  bool operator==(const Aligned64Allocator<U>&) const {
    return true;
  }
};

template <typename T>
using AlignedVector = std::vector<T, Aligned64Allocator<T>>;

}  // namespace edgefed::ml
