# 32-bit ARM with hardware floating point (armhf: ARMv7 + VFPv3-D16, the
# 32-bit Raspberry Pi OS and older gateways).
# cmake -DCMAKE_TOOLCHAIN_FILE=cmake/toolchains/arm-linux-gnueabihf.cmake
# after deploy/install-deps.sh --cross armhf; deploy/build-cross.sh does both.
set(CMAKE_SYSTEM_PROCESSOR armv7l)
set(EDGEFED_CROSS_TRIPLET arm-linux-gnueabihf)
set(EDGEFED_CROSS_ARCH armhf)
set(EDGEFED_CROSS_QEMU_ARCH arm)
# GCC's note that passing some std::map iterators changed ABI in GCC 7.1
# concerns code mixed with objects of GCC < 7; everything here is GCC 12.
set(EDGEFED_CROSS_EXTRA_FLAGS -Wno-psabi)
include(${CMAKE_CURRENT_LIST_DIR}/cross-common.cmake)
