# linux-mips: static big-endian MIPS32r2 soft-float Linux binary on musl, built
# with Debian's gcc-mips-linux-gnu. Routers of this kind (OpenWrt's ath79 (Atheros/Qualcomm QCA 24Kc/74Kc)) have no FPU and
# OpenWrt's kernels no FPU emulator: one FPU instruction would kill the
# process, so everything is soft-float: musl built -msoft-float, and glibc's
# soft-fp routines in place of Debian's hard-float libgcc ones
# (tools/musl-build.sh --soft-float).
set(CMAKE_SYSTEM_PROCESSOR mips)
set(TETHER_MUSL_TRIPLE mips-linux-gnu)
set(TETHER_MUSL_SOFT_FLOAT ON)
set(TETHER_MUSL_CFLAGS "-march=mips32r2 -msoft-float")
include("${CMAKE_CURRENT_LIST_DIR}/../common/toolchain-musl.cmake")
