# linux-aarch64: static ARMv8-A 64-bit Linux binary on musl, built with
# Debian's gcc-aarch64-linux-gnu; musl is built for it from source.
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(TETHER_MUSL_TRIPLE aarch64-linux-gnu)
include("${CMAKE_CURRENT_LIST_DIR}/../common/toolchain-musl.cmake")
