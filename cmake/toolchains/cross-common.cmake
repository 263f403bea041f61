# Shared part of the cross toolchain files (aarch64-linux-gnu.cmake,
# arm-linux-gnueabihf.cmake); they set EDGEFED_CROSS_TRIPLET and
# EDGEFED_CROSS_ARCH (the Debian architecture) and include this file.
#
# Compilers: Debian's cross toolchain (crossbuild-essential-ARCH), whose C
# library and libstdc++ live in /usr/TRIPLET. Target libraries (OpenSSL,
# SQLite, zlib, prometheus-cpp): Debian's packages for ARCH unpacked into
# EDGEFED_CROSS_ROOT by `deploy/install-deps.sh --cross ARCH`. Headers that
# are the same on every architecture (Boost, Eigen, nlohmann/json, Catch2)
# come from the host's /usr/include, which Debian's cross compilers search
# after their own directories. docs/cross-build.md has the whole recipe.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_C_COMPILER ${EDGEFED_CROSS_TRIPLET}-gcc)
set(CMAKE_CXX_COMPILER ${EDGEFED_CROSS_TRIPLET}-g++)
set(CMAKE_LIBRARY_ARCHITECTURE ${EDGEFED_CROSS_TRIPLET})

if(NOT EDGEFED_CROSS_ROOT)
  if(DEFINED ENV{EDGEFED_CROSS_ROOT})
    set(EDGEFED_CROSS_ROOT $ENV{EDGEFED_CROSS_ROOT})
  else()
    set(EDGEFED_CROSS_ROOT /opt/edgefed/cross/${EDGEFED_CROSS_ARCH})
  endif()
endif()
set(EDGEFED_CROSS_ROOT ${EDGEFED_CROSS_ROOT} CACHE PATH "target libraries unpacked by deploy/install-deps.sh --cross")
if(NOT EXISTS ${EDGEFED_CROSS_ROOT}/usr/include/openssl/ssl.h)
  message(FATAL_ERROR "no ${EDGEFED_CROSS_ARCH} libraries in ${EDGEFED_CROSS_ROOT}: run deploy/install-deps.sh --cross ${EDGEFED_CROSS_ARCH}")
endif()

# Libraries only from the target's prefix and the toolchain; headers and
# CMake packages from there first, then the host's (architecture-independent
# header-only packages); programs always from the host.
set(CMAKE_FIND_ROOT_PATH ${EDGEFED_CROSS_ROOT} /usr/${EDGEFED_CROSS_TRIPLET})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE BOTH)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE BOTH)

# The prefix's headers before the host's /usr/include (whose OpenSSL headers
# are the host's), and the prefix's libraries for the linker, including the
# ones a library needs (libssl -> libcrypto): -rpath-link.
set(_edgefed_lib ${EDGEFED_CROSS_ROOT}/usr/lib/${EDGEFED_CROSS_TRIPLET})
set(_edgefed_lib2 ${EDGEFED_CROSS_ROOT}/lib/${EDGEFED_CROSS_TRIPLET})
set(CMAKE_CXX_FLAGS_INIT
    "-isystem ${EDGEFED_CROSS_ROOT}/usr/include/${EDGEFED_CROSS_TRIPLET} -isystem ${EDGEFED_CROSS_ROOT}/usr/include ${EDGEFED_CROSS_EXTRA_FLAGS}")
foreach(kind EXE SHARED MODULE)
  set(CMAKE_${kind}_LINKER_FLAGS_INIT
      "-L${_edgefed_lib} -Wl,-rpath-link,${_edgefed_lib} -Wl,-rpath-link,${_edgefed_lib2}")
endforeach()

# Tests (and catch_discover_tests) run the target's executables under
# qemu-user: -L gives the target's dynamic loader and C library, -E the
# prefix's libraries.
find_program(EDGEFED_QEMU qemu-${EDGEFED_CROSS_QEMU_ARCH})
if(EDGEFED_QEMU)
  set(CMAKE_CROSSCOMPILING_EMULATOR ${EDGEFED_QEMU} -L /usr/${EDGEFED_CROSS_TRIPLET}
      -E LD_LIBRARY_PATH=${_edgefed_lib}:${_edgefed_lib2})
endif()
