// Global operator new/delete replaced by malloc/free plus counting. Every
// variant is replaced (not just the plain one), since under ASan a pointer
// from one family freed by the other is reported as a mismatch.
#include "alloc_probe.hpp"

#include <cstdlib>
#include <new>

namespace edgefed::test {
namespace {
bool g_armed = false;
AllocStats g_stats;

void* counted_alloc(size_t n) {
  if (g_armed) {
    ++g_stats.count;
    g_stats.total += n;
    if (n > g_stats.largest) g_stats.largest = n;
  }
  return std::malloc(n ? n : 1);
}
}  // namespace

void start_alloc_probe() {
  g_stats = {};
  g_armed = true;
}
AllocStats stop_alloc_probe() {
  g_armed = false;
  return g_stats;
}

}  // namespace edgefed::test

void* operator new(size_t n) {
  if (void* p = edgefed::test::counted_alloc(n)) return p;
  throw std::bad_alloc();
}
void* operator new[](size_t n) { return operator new(n); }
void* operator new(size_t n, const std::nothrow_t&) noexcept { return edgefed::test::counted_alloc(n); }
void* operator new[](size_t n, const std::nothrow_t&) noexcept { return edgefed::test::counted_alloc(n); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, size_t) noexcept { std::free(p); }
void operator delete[](void* p, size_t) noexcept { std::free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { std::free(p); }
