# toolchain-musl.cmake: the common part of the Linux boards' toolchain files:
# a GCC for TETHER_MUSL_TRIPLE pointed at musl (instead of glibc) by musl's GCC
# specs file, the same mechanism as Debian's musl-gcc wrapper.
#
# The board's toolchain.cmake sets, then includes this file:
#   CMAKE_SYSTEM_PROCESSOR   x86_64, arm, aarch64
#   TETHER_MUSL_TRIPLE       the GCC prefix: x86_64-linux-gnu, arm-linux-gnueabihf, ...
#   TETHER_MUSL_SPECS        optional: an installed musl-gcc.specs (Debian's
#                            musl-tools on x86_64). Without it, musl is built
#                            from source by tools/musl-build.sh into the
#                            dependency cache (about a minute, once).
#   TETHER_MUSL_SOFT_FLOAT   optional, MIPS: musl built -msoft-float with
#                            glibc's soft-fp routines (tools/musl-build.sh
#                            --soft-float), in .deps/musl-<triple>-sfnp
#   TETHER_MUSL_CFLAGS       optional: code-generation flags for the board
#                            (-march=..., -msoft-float), on every compile and
#                            link line

set(CMAKE_SYSTEM_NAME Linux)

get_filename_component(_tether_root "${CMAKE_CURRENT_LIST_DIR}/../.." ABSOLUTE)
if(NOT TETHER_DEPS_CACHE)
	set(TETHER_DEPS_CACHE "${_tether_root}/.deps")
endif()
# try_compile() projects read this file again: give them the same cache.
list(APPEND CMAKE_TRY_COMPILE_PLATFORM_VARIABLES TETHER_DEPS_CACHE TETHER_MUSL_SPECS)

if(NOT TETHER_MUSL_SPECS)
	set(_name "${TETHER_MUSL_TRIPLE}")
	set(_opt "")
	if(TETHER_MUSL_SOFT_FLOAT)
		set(_name "${TETHER_MUSL_TRIPLE}-sfnp")
		set(_opt "--soft-float")
	endif()
	set(_musl "${TETHER_DEPS_CACHE}/musl-${_name}")
	if(NOT EXISTS "${_musl}/lib/musl-gcc.specs" OR NOT EXISTS "${_musl}/lib/libc.a")
		message(STATUS "Building musl for ${_name} into ${TETHER_DEPS_CACHE}")
		execute_process(
			COMMAND bash "${_tether_root}/tools/musl-build.sh" ${_opt} "${TETHER_MUSL_TRIPLE}"
				"${TETHER_DEPS_CACHE}"
			RESULT_VARIABLE _rc)
		if(NOT _rc EQUAL 0)
			message(FATAL_ERROR "tools/musl-build.sh failed (${_rc}); see the messages above")
		endif()
	endif()
	# musl's install writes its own absolute prefix into the specs file. A
	# cache that was moved or copied (another work tree's .deps) still names
	# the old place: use a copy that names where the cache is now.
	file(REAL_PATH "${_musl}" _prefix)
	file(READ "${_prefix}/lib/musl-gcc.specs" _specs)
	string(REGEX MATCH "-isystem ([^ \n]+)/include" _m "${_specs}")
	set(_old "${CMAKE_MATCH_1}")
	if(_old AND NOT _old STREQUAL _prefix)
		string(REPLACE "${_old}/" "${_prefix}/" _specs "${_specs}")
		set(TETHER_MUSL_SPECS "${CMAKE_BINARY_DIR}/musl-${_name}.specs")
		file(WRITE "${TETHER_MUSL_SPECS}" "${_specs}")
	else()
		set(TETHER_MUSL_SPECS "${_prefix}/lib/musl-gcc.specs")
	endif()
endif()
if(NOT EXISTS "${TETHER_MUSL_SPECS}")
	message(FATAL_ERROR "no musl specs file ${TETHER_MUSL_SPECS}; run tools/setup.sh")
endif()

find_program(_cc "${TETHER_MUSL_TRIPLE}-gcc")
if(NOT _cc)
	message(FATAL_ERROR "no ${TETHER_MUSL_TRIPLE}-gcc; run tools/setup.sh")
endif()
set(CMAKE_C_COMPILER "${_cc}")
# -specs goes on every compile and link line (CMake passes CMAKE_C_FLAGS to
# the link too): musl's headers, crt files and libc.a, no glibc.
set(CMAKE_C_FLAGS_INIT "-specs=${TETHER_MUSL_SPECS} ${TETHER_MUSL_CFLAGS}")

# Every program is static, CMake's compiler checks included (a non-PIC libc,
# as the MIPS boards' musl is, cannot go into a dynamic program).
set(CMAKE_EXE_LINKER_FLAGS_INIT "-static")
