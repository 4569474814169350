# linux-armhf: a static musl binary (boards/common/linux-static.cmake).
set(TETHER_SIZE_BUDGET 204800) # 200 KiB, stripped
include("${CMAKE_CURRENT_LIST_DIR}/../common/linux-static.cmake")
