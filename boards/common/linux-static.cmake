# linux-static.cmake: what the static Linux boards share, included by their
# board.cmake: one static, stripped, size-optimized tether, and a size report
# after every build (tools/size-report.py, also in <build>/size-report.txt).
#
# Options (cache variables):
#   TETHER_LTO         link-time optimization (default ON: about 5% smaller)
#   TETHER_STRIP       strip the program (default ON; OFF keeps its symbols);
#                      the linked program is kept as <build>/tether.debug
#   TETHER_SIZE_BUDGET bytes the stripped program may take; the report says
#                      whether it fits (0: no budget). Set by the board.

option(TETHER_LTO "Link-time optimization" ON)
option(TETHER_STRIP "Strip the program (OFF keeps the symbols, for debugging)" ON)
if(NOT DEFINED TETHER_SIZE_BUDGET)
	set(TETHER_SIZE_BUDGET 0)
endif()

# Code and data in their own sections so that --gc-sections drops what is
# never referenced; no unwind tables (C, no exceptions, no backtraces).
set(_tether_codegen -ffunction-sections -fdata-sections
	-fno-asynchronous-unwind-tables -fno-unwind-tables)
add_compile_options(${_tether_codegen})
add_link_options(-Wl,--gc-sections -Wl,--build-id=none)
# No PT_GNU_RELRO: only musl's dynamic linker applies it, a static program
# never does; the segment alignment it asks for costs up to a page (64 KiB on
# aarch64) of padding in the file. No separate code segment (the default of
# the Arm linkers; x86's adds two pages of alignment padding): headers, code
# and read-only data share one read+execute segment.
add_link_options(-Wl,-z,norelro -Wl,-z,noseparate-code)
# A fixed-address static executable: no PIE code (smaller, and a static PIE
# would need musl's rcrt1.o, which its GCC specs file does not select).
add_compile_options(-fno-pie)
add_link_options(-static -no-pie)
if(TETHER_LTO)
	# Fat objects: the archives also hold ordinary code, so that the size
	# report can link the same objects once more without LTO and say which
	# part of the program each byte comes from (LTO's output mixes them).
	# Code generation happens at link time: it needs the section flags too.
	add_compile_options(-flto -ffat-lto-objects)
	add_link_options(-flto=2 ${_tether_codegen})
	# Archives of LTO objects need the LTO plugin's symbol index.
	foreach(_tool ar ranlib)
		string(TOUPPER "${_tool}" _var)
		find_program(TETHER_GCC_${_var} NAMES "${TETHER_MUSL_TRIPLE}-gcc-${_tool}"
			"gcc-${_tool}")
		if(TETHER_GCC_${_var})
			set(CMAKE_${_var} "${TETHER_GCC_${_var}}")
		endif()
	endforeach()
endif()

# After the top-level CMakeLists.txt has defined the program: link maps and
# the size report.
function(tether_board_size_report)
	# MIPS16e (boards/common/mips.cmake): the libraries in TETHER_MIPS16 and
	# the mbedTLS files in TETHER_MIPS16_MBEDTLS in the 16-bit encoding, the
	# rest in MIPS32 (calls between the two go through jalx, which
	# -minterlink-mips16 on every file allows).
	# Those files are compiled without LTO: an LTO link takes its code
	# generation mode from the link line, not from each file.
	foreach(_t IN LISTS TETHER_MIPS16)
		if(TARGET ${_t})
			target_compile_options(${_t} PRIVATE -mips16 -fno-lto)
		endif()
	endforeach()
	foreach(_f IN LISTS TETHER_MIPS16_SOURCES)
		set_property(SOURCE "${CMAKE_SOURCE_DIR}/${_f}" TARGET_DIRECTORY tether
			APPEND PROPERTY COMPILE_OPTIONS -mips16 -fno-lto)
	endforeach()
	foreach(_f IN LISTS TETHER_MIPS16_EXCEPT)
		set_property(SOURCE "${CMAKE_SOURCE_DIR}/${_f}" TARGET_DIRECTORY tether
			APPEND PROPERTY COMPILE_OPTIONS -mno-mips16)
	endforeach()
	foreach(_f IN LISTS TETHER_MIPS16_MBEDTLS)
		set_property(SOURCE "${TETHER_MBEDTLS_DIR}/library/${_f}" TARGET_DIRECTORY tether_mbedtls
			APPEND PROPERTY COMPILE_OPTIONS -mips16 -fno-lto)
	endforeach()
	# A board's test build (tools/boards.sh, TETHER_TESTS=ON) shares the
	# libraries; its test programs link the ordinary code of the fat objects
	# (an LTO link of mbedTLS for each of them would take minutes).
	if(TETHER_TESTS AND TETHER_LTO)
		get_property(_tests DIRECTORY "${CMAKE_SOURCE_DIR}/tests" PROPERTY BUILDSYSTEM_TARGETS)
		foreach(_t IN LISTS _tests)
			get_target_property(_type ${_t} TYPE)
			if(_type STREQUAL "EXECUTABLE")
				target_link_options(${_t} PRIVATE -fno-lto)
			endif()
		endforeach()
	endif()
	if(NOT TARGET tether)
		return()
	endif()
	find_program(TETHER_PYTHON3 python3 REQUIRED)
	get_target_property(_libs tether LINK_LIBRARIES)
	get_target_property(_opts tether LINK_OPTIONS)
	# Stripped after the link, the program with its symbols kept beside it
	# (tether.debug: for a debugger, and for tools/boards.sh, which
	# disassembles the MIPS boards' code, MIPS16e functions included, to prove
	# it holds no FPU instruction).
	if(TETHER_STRIP)
		add_custom_command(TARGET tether POST_BUILD
			COMMAND "${CMAKE_COMMAND}" -E copy "$<TARGET_FILE:tether>" "$<TARGET_FILE:tether>.debug"
			COMMAND "${CMAKE_STRIP}" --strip-all "$<TARGET_FILE:tether>"
			VERBATIM)
		list(APPEND _opts -s)
	endif()
	target_link_options(tether PRIVATE "-Wl,-Map=$<TARGET_FILE:tether>.map")
	set(_args --board "${TETHER_BOARD}" --budget "${TETHER_SIZE_BUDGET}"
		--out "${CMAKE_BINARY_DIR}/size-report.txt")
	set(_deps tether)
	if(TETHER_LTO)
		# The same objects and libraries, linked without LTO, only for the
		# breakdown by part; never installed.
		add_executable(tether_parts $<TARGET_OBJECTS:tether>)
		set_target_properties(tether_parts PROPERTIES LINKER_LANGUAGE C)
		target_link_libraries(tether_parts PRIVATE ${_libs})
		target_link_options(tether_parts PRIVATE ${_opts} -fno-lto
			"-Wl,-Map=$<TARGET_FILE:tether_parts>.map")
		list(APPEND _args --parts-map "$<TARGET_FILE:tether_parts>.map"
			--parts-binary "$<TARGET_FILE:tether_parts>")
		list(APPEND _deps tether_parts)
	endif()
	add_custom_target(size_report ALL
		COMMAND "${TETHER_PYTHON3}" "${CMAKE_SOURCE_DIR}/tools/size-report.py" ${_args}
			"$<TARGET_FILE:tether>"
		DEPENDS ${_deps}
		COMMENT "Size report"
		VERBATIM)
endfunction()
cmake_language(DEFER DIRECTORY "${CMAKE_SOURCE_DIR}" CALL tether_board_size_report)
