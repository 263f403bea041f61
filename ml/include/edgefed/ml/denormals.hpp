// Flush-to-zero for the current thread while a scope is alive, restoring the
// previous mode on exit. On Fashion-MNIST the always-blank border pixels
// drive momentum buffers into denormal floats, which are many times slower
// on x86 and on ARM cores alike; training does not need them.
//   x86-64   MXCSR.FTZ and MXCSR.DAZ (denormal results and inputs are 0)
//   AArch64  FPCR.FZ (bit 24: both, for scalar and NEON arithmetic)
//   ARMv7    FPSCR.FZ (bit 24; NEON flushes anyway, this covers VFP)
// Elsewhere a no-op (flush_to_zero_active() says so).
#pragma once

#include <cstdint>

namespace edgefed::ml {

class ScopedFlushDenormals {
 public:
  ScopedFlushDenormals();
  ~ScopedFlushDenormals();
  ScopedFlushDenormals(const ScopedFlushDenormals&) = delete;
  ScopedFlushDenormals& operator=(const ScopedFlushDenormals&) = delete;

  // Whether this thread's floating-point control register flushes
  // denormals now (false on architectures this class does not handle).
  static bool flush_to_zero_active();

 private:
  uint64_t saved_ = 0;
};

}  // namespace edgefed::ml
