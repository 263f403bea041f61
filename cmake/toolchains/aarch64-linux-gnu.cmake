# 64-bit ARM (arm64: Jetson, Raspberry Pi OS 64-bit, ARM v8 gateways and
# servers). cmake -DCMAKE_TOOLCHAIN_FILE=cmake/toolchains/aarch64-linux-gnu.cmake
# after deploy/install-deps.sh --cross arm64; deploy/build-cross.sh does both.
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(EDGEFED_CROSS_TRIPLET aarch64-linux-gnu)
set(EDGEFED_CROSS_ARCH arm64)
set(EDGEFED_CROSS_QEMU_ARCH aarch64)
include(${CMAKE_CURRENT_LIST_DIR}/cross-common.cmake)
