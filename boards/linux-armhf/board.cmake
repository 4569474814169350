# linux-armhf: a static musl binary (boards/common/linux-static.cmake).
# Without `tether demo` (README, "Build-time switches"): about 6 KB, which
# keeps the board within its budget since the reload, CRL exchange and expiry
# code came in.
set(TETHER_DEMO OFF)
set(TETHER_FAST_AEAD OFF) # the AEAD driver's fast code is x86_64 only (docs/DESIGN.md, AEAD driver)
# Without edge routes (README, "Build-time switches"): their code (about 16 KB on
# x86_64) does not fit the headroom left under the budget.
set(TETHER_EDGES OFF)
set(TETHER_RENEW OFF) # renewal through the mesh: no room under the size budget
set(TETHER_HS_BACKOFF OFF) # back-off after failed handshakes: about 3.4 KB; admission still caps and evicts per source
set(TETHER_SIZE_BUDGET 270336) # 264 KiB, stripped; tools/boards.sh fails the board above it
include("${CMAKE_CURRENT_LIST_DIR}/../common/linux-static.cmake")
