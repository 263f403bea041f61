// The portable (x86-64-v2 baseline) compute path, float and double, and the
// runtime choice of path for float.
#define EDGEFED_NET_ISA generic
#include "edgefed/ml/trainer.hpp"
#include "trainer/net_compute.hpp"

#include <cstdlib>
#include <cstring>

namespace edgefed::ml {

#ifdef EDGEFED_HAVE_AVX2_KERNEL
KernelStats net_run_avx2(const NetArgs<float>& args);  // net_compute_avx2.cpp
#endif

#ifdef EDGEFED_HAVE_AVX2_KERNEL
namespace {

bool use_avx2() {
  const char* isa = std::getenv("EDGEFED_TRAINER_ISA");
  if (isa && std::strcmp(isa, "generic") == 0) return false;
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}

bool avx2_enabled() {
  static const bool enabled = use_avx2();
  return enabled;
}

}  // namespace
#endif

// The portable path is what Eigen makes of the target: NEON on AArch64 (and
// on 32-bit ARM built with -mfpu=neon), SSE up to 4.2 on x86-64-v2.
const char* kernel_isa() {
#ifdef EDGEFED_HAVE_AVX2_KERNEL
  if (avx2_enabled()) return "avx2";
#endif
#if defined(EIGEN_VECTORIZE_NEON)
  return "neon";
#else
  return "generic";
#endif
}

KernelStats net_run_generic(const NetArgs<float>& args) { return generic::run<float>(args); }

KernelStats net_run(const NetArgs<float>& args) {
#ifdef EDGEFED_HAVE_AVX2_KERNEL
  if (avx2_enabled()) return net_run_avx2(args);
#endif
  return generic::run<float>(args);
}

KernelStats net_run(const NetArgs<double>& args) { return generic::run<double>(args); }

}  // namespace edgefed::ml
