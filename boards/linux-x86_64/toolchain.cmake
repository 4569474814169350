# linux-x86_64: static x86-64 Linux binary on musl, built like the Arm boards:
# musl 1.2.x from Debian's source package, compiled -Os by tools/musl-build.sh
# (cached in the dependency cache), and the native GCC pointed at it by musl's
# specs file.
#
# Debian's own musl (musl-tools, /usr/bin/musl-gcc) works too:
#   -DTETHER_MUSL_SPECS=/usr/lib/x86_64-linux-musl/musl-gcc.specs
# but Debian compiles it -O2, which makes tether 16 KiB larger (over the
# board's 300 KiB budget).
set(CMAKE_SYSTEM_PROCESSOR x86_64)
set(TETHER_MUSL_TRIPLE x86_64-linux-gnu)
include("${CMAKE_CURRENT_LIST_DIR}/../common/toolchain-musl.cmake")
