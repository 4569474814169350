# cmocka for a board's test build (tools/boards.sh runs the unit and sim tests
# of linux-mips under qemu-mips: a big-endian host): no packaged cmocka exists
# for a cross target, so its one source file is compiled for the board, from
# the source tools/fetch-deps.sh --cmocka fetches (Debian's, for this
# machine's release: the version the host tests link). Defines the same
# target name as the host's pkg-config module: PkgConfig::CMOCKA.

set(_rec "${TETHER_DEPS_CACHE}/cmocka.txt")
if(NOT EXISTS "${_rec}" OR NOT EXISTS "${TETHER_DEPS_CACHE}/cmocka/src/cmocka.c")
	message(STATUS "Fetching cmocka's source into ${TETHER_DEPS_CACHE}")
	execute_process(
		COMMAND bash "${CMAKE_SOURCE_DIR}/tools/fetch-deps.sh" --cmocka "${TETHER_DEPS_CACHE}"
		RESULT_VARIABLE _rc)
	if(NOT _rc EQUAL 0)
		message(FATAL_ERROR "tools/fetch-deps.sh --cmocka failed (${_rc}); see the messages above")
	endif()
endif()
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS "${_rec}")
file(STRINGS "${_rec}" _line LIMIT_COUNT 1 REGEX "^cmocka ")
string(REGEX REPLACE "^cmocka ([^ ]+) ([^ ]+).*" "\\1 (\\2)" _what "${_line}")
file(REAL_PATH "${TETHER_DEPS_CACHE}/cmocka" TETHER_CMOCKA_DIR)
message(STATUS "cmocka ${_what} in ${TETHER_CMOCKA_DIR}, compiled for the board")

add_library(tether_cmocka STATIC "${TETHER_CMOCKA_DIR}/src/cmocka.c")
target_include_directories(tether_cmocka SYSTEM PUBLIC "${TETHER_CMOCKA_DIR}/include")
# What cmocka's own configure finds on Linux with musl.
target_compile_definitions(tether_cmocka PRIVATE HAVE_INTTYPES_H HAVE_SIGNAL_H HAVE_STRINGS_H
	HAVE_SIGLONGJMP HAVE_STRSIGNAL HAVE_CLOCK_REALTIME HAVE_STRUCT_TIMESPEC
	HAVE_GCC_THREAD_LOCAL_STORAGE)
set_target_properties(tether_cmocka PROPERTIES C_EXTENSIONS ON)
add_library(PkgConfig::CMOCKA ALIAS tether_cmocka)
