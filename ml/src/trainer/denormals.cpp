#include "edgefed/ml/denormals.hpp"

#if defined(__x86_64__) || defined(__SSE__)
#include <xmmintrin.h>
#endif

namespace edgefed::ml {
namespace {

#if defined(__x86_64__) || defined(__SSE__)
constexpr uint64_t kFlushBits = (1u << 15) | (1u << 6);  // MXCSR.FTZ | MXCSR.DAZ
uint64_t read_mode() { return _mm_getcsr(); }
void write_mode(uint64_t m) { _mm_setcsr(static_cast<unsigned>(m)); }
#elif defined(__aarch64__)
constexpr uint64_t kFlushBits = uint64_t{1} << 24;  // FPCR.FZ
uint64_t read_mode() {
  uint64_t m;
  asm volatile("mrs %0, fpcr" : "=r"(m));
  return m;
}
void write_mode(uint64_t m) { asm volatile("msr fpcr, %0" : : "r"(m)); }
#elif defined(__arm__) && defined(__ARM_FP)
constexpr uint64_t kFlushBits = uint64_t{1} << 24;  // FPSCR.FZ
uint64_t read_mode() {
  uint32_t m;
  asm volatile("vmrs %0, fpscr" : "=r"(m));
  return m;
}
void write_mode(uint64_t m) { asm volatile("vmsr fpscr, %0" : : "r"(static_cast<uint32_t>(m))); }
#else
constexpr uint64_t kFlushBits = 0;
uint64_t read_mode() { return 0; }
void write_mode(uint64_t) {}
#endif

}  // namespace

ScopedFlushDenormals::ScopedFlushDenormals() : saved_(read_mode()) {
  if (kFlushBits) write_mode(saved_ | kFlushBits);
}

ScopedFlushDenormals::~ScopedFlushDenormals() {
  // Only the flush bits go back: the rest of the register may carry sticky
  // exception flags raised inside the scope, which stay as they are.
  if (kFlushBits) write_mode((read_mode() & ~kFlushBits) | (saved_ & kFlushBits));
}

bool ScopedFlushDenormals::flush_to_zero_active() { return kFlushBits && (read_mode() & kFlushBits) == kFlushBits; }

}  // namespace edgefed::ml
