# linux-armhf: static ARMv7-A hard-float Linux binary on musl. Debian's
# gcc-arm-linux-gnueabihf defaults to -march=armv7-a+fp -mfloat-abi=hard
# -mthumb (Thumb-2: the smaller code); musl is built for it from source.
set(CMAKE_SYSTEM_PROCESSOR arm)
set(TETHER_MUSL_TRIPLE arm-linux-gnueabihf)
include("${CMAKE_CURRENT_LIST_DIR}/../common/toolchain-musl.cmake")
