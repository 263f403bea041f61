#include "edgefed/ml/denormals.hpp"

#include <catch2/catch.hpp>
#include <cfloat>

using edgefed::ml::ScopedFlushDenormals;

// x86-64 (MXCSR), AArch64 (FPCR) and ARMv7 (FPSCR) all flush: the same
// arithmetic checks on each (the ARM builds run this under qemu-user, which
// emulates the control register's flush-to-zero bit).
TEST_CASE("denormals are flushed to zero inside the scope and the old mode is restored", "[unit][denormals]") {
  volatile float tiny = FLT_MIN;  // smallest normal float
  volatile float half = 0.5f;
  volatile double tiny_d = DBL_MIN;
  REQUIRE_FALSE(ScopedFlushDenormals::flush_to_zero_active());
  CHECK(tiny * half != 0.0f);  // a denormal result normally
  CHECK(tiny_d * 0.5 != 0.0);
  {
    ScopedFlushDenormals ftz;
    CHECK(ScopedFlushDenormals::flush_to_zero_active());
    CHECK(tiny * half == 0.0f);
    CHECK(tiny_d * 0.5 == 0.0);
    {
      ScopedFlushDenormals nested;  // nesting keeps the mode on exit
    }
    CHECK(ScopedFlushDenormals::flush_to_zero_active());
  }
  CHECK_FALSE(ScopedFlushDenormals::flush_to_zero_active());
  CHECK(tiny * half != 0.0f);
}
