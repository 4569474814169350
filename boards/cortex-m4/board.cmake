# cortex-m4: core and the in-memory port (port/mem) on bare metal, linked into
# a self-test image for qemu-system-arm -M mps2-an386 (tools/cortex-m4.sh).
#
# Builds build/cortex-m4/tether-selftest.elf, its link map, and a size report
# (tools/size-mcu.py, also in <build>/size-report.txt): flash (code, read-only
# data, initial values of data) and RAM (data, bss, stack), with the pool of
# node regions and mbedTLS heap and the simulated network shown apart.
set(TETHER_PORT mem)
set(TETHER_HOSTED OFF)
# Left out (README, "Build-time switches"): no metrics endpoint nor status
# socket, no reloading, no CRL exchange; about 17 KB of flash.
set(TETHER_METRICS OFF)
set(TETHER_RELOAD OFF)
set(TETHER_CRL_MESH OFF)
set(TETHER_FAST_AEAD OFF) # the AEAD driver's fast code is x86_64 only
# No config loader, so no edge routes; and 4 KB TLS input records save RAM.
set(TETHER_EDGES OFF)
set(TETHER_RENEW OFF)
set(TETHER_HS_BACKOFF OFF) # back-off after failed handshakes: about 3.4 KB; admission still caps and evicts per source
# Flash the self-test image may take (tools/cortex-m4.sh fails the board above it).
set(TETHER_FLASH_BUDGET 196608) # 192 KiB

# Code and data in their own sections so that --gc-sections drops what is
# never referenced; no unwind tables.
add_compile_options(-ffunction-sections -fdata-sections -fno-asynchronous-unwind-tables
	-fno-unwind-tables)
add_link_options(-Wl,--gc-sections -Wl,--build-id=none
	"-T${CMAKE_CURRENT_LIST_DIR}/mps2-an386.ld")

function(tether_cortex_m4_image)
	set(_dir "${CMAKE_SOURCE_DIR}/boards/cortex-m4")
	set(_sim "${CMAKE_SOURCE_DIR}/tests/sim")
	add_executable(tether-selftest "${_dir}/selftest.c" "${_dir}/startup.c"
		"${_dir}/semihost.c" "${_dir}/platform.c" "${_sim}/sim.c" "${_sim}/sim_app.c"
		"${CMAKE_SOURCE_DIR}/config/defaults.c") # defaults only: no cJSON on this board
	target_include_directories(tether-selftest PRIVATE "${_sim}")
	# The simulation driver sized for two nodes in this board's RAM: node
	# regions (about 35 KB each) and the mbedTLS heap share a 152 KB pool.
	target_compile_definitions(tether-selftest PRIVATE SIM_MAX_NODES=2
		"SIM_POOL=(160u * 1024u)" SIM_LOG_LINES=48 SIM_LINE_MAX=256 SIM_APP_CONNS=2
		SIM_APP_MAX=4)
	set_target_properties(tether-selftest PROPERTIES SUFFIX ".elf"
		LINK_DEPENDS "${_dir}/mps2-an386.ld")
	tether_link(tether-selftest)
	target_link_libraries(tether-selftest PRIVATE tether_warnings)
	# No C heap: newlib's allocator entry points go to platform.c's failing,
	# counting stand-ins, so malloc and sbrk are not linked at all.
	target_link_options(tether-selftest PRIVATE "-Wl,-Map=$<TARGET_FILE:tether-selftest>.map"
		"-Wl,--wrap=_malloc_r,--wrap=_realloc_r,--wrap=_free_r")

	find_program(TETHER_PYTHON3 python3 REQUIRED)
	add_custom_target(size_report ALL
		COMMAND "${TETHER_PYTHON3}" "${CMAKE_SOURCE_DIR}/tools/size-mcu.py"
			--readelf "${CMAKE_READELF}" --map "$<TARGET_FILE:tether-selftest>.map"
			--budget "${TETHER_FLASH_BUDGET}"
			--out "${CMAKE_BINARY_DIR}/size-report.txt" "$<TARGET_FILE:tether-selftest>"
		DEPENDS tether-selftest
		COMMENT "Size report"
		VERBATIM)
endfunction()
cmake_language(DEFER DIRECTORY "${CMAKE_SOURCE_DIR}" CALL tether_cortex_m4_image)
