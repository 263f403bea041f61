#include "edgefed/ml/denormals.hpp"

#if defined(__x86_64__) || defined(__SSE__)
#include <xmmintrin.h>
#define EDGEFED_HAVE_MXCSR 1
#endif

namespace edgefed::ml {

#ifdef EDGEFED_HAVE_MXCSR
namespace {
constexpr unsigned kFlushToZero = 1u << 15;     // MXCSR.FTZ: denormal results become 0
constexpr unsigned kDenormalsAreZero = 1u << 6; // MXCSR.DAZ: denormal inputs read as 0
}  // namespace

ScopedFlushDenormals::ScopedFlushDenormals() : saved_(_mm_getcsr()) {
  _mm_setcsr(saved_ | kFlushToZero | kDenormalsAreZero);
}
ScopedFlushDenormals::~ScopedFlushDenormals() { _mm_setcsr(saved_); }
#else
ScopedFlushDenormals::ScopedFlushDenormals() = default;
ScopedFlushDenormals::~ScopedFlushDenormals() = default;
#endif

}  // namespace edgefed::ml
