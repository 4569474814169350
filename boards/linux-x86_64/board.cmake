# linux-x86_64: a static musl binary (boards/common/linux-static.cmake).
# The server-class board: everything built in (edge routes, renewal through the
# mesh, the AEAD driver, batched I/O), so its budget is the largest; the small
# boards leave those out to stay within theirs (README, "Build-time switches").
set(TETHER_SIZE_BUDGET 458752) # 448 KiB, stripped; tools/boards.sh fails the board above it
include("${CMAKE_CURRENT_LIST_DIR}/../common/linux-static.cmake")
