# linux-x86_64: a static musl binary (boards/common/linux-static.cmake).
set(TETHER_SIZE_BUDGET 307200) # 300 KiB, stripped
include("${CMAKE_CURRENT_LIST_DIR}/../common/linux-static.cmake")
