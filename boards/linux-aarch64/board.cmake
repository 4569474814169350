# linux-aarch64: a static musl binary (boards/common/linux-static.cmake).
include("${CMAKE_CURRENT_LIST_DIR}/../common/linux-static.cmake")
