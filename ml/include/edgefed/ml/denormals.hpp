// Flush-to-zero / denormals-are-zero for the current thread while a scope is
// alive, restoring the previous mode on exit. On Fashion-MNIST the always-
// blank border pixels drive momentum buffers into denormal floats, which are
// many times slower on x86; training does not need them. No-op off x86.
#pragma once

namespace edgefed::ml {

class ScopedFlushDenormals {
 public:
  ScopedFlushDenormals();
  ~ScopedFlushDenormals();
  ScopedFlushDenormals(const ScopedFlushDenormals&) = delete;
  ScopedFlushDenormals& operator=(const ScopedFlushDenormals&) = delete;

 private:
  unsigned saved_ = 0;
};

}  // namespace edgefed::ml
