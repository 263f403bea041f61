#include "edgefed/ml/denormals.hpp"

#include <catch2/catch.hpp>
#include <cfloat>

#if defined(__x86_64__)
#include <xmmintrin.h>
#endif

using edgefed::ml::ScopedFlushDenormals;

TEST_CASE("denormals are flushed to zero inside the scope and the old mode is restored", "[unit][denormals]") {
#if defined(__x86_64__)
  const unsigned before = _mm_getcsr();
  volatile float tiny = FLT_MIN;  // smallest normal float
  volatile float half = 0.5f;
  CHECK(tiny * half != 0.0f);  // a denormal result normally
  {
    ScopedFlushDenormals ftz;
    CHECK(tiny * half == 0.0f);
    CHECK((_mm_getcsr() & 0x8040u) == 0x8040u);
  }
  constexpr unsigned kControlBits = ~0x3fu;  // the low six bits are sticky exception flags
  CHECK((_mm_getcsr() & kControlBits) == (before & kControlBits));
  CHECK(tiny * half != 0.0f);
#else
  ScopedFlushDenormals ftz;
  SUCCEED("no MXCSR on this architecture");
#endif
}
