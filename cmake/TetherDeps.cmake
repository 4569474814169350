# Fetch (if needed) and describe the dependency sources: mbedTLS and cJSON.
# Sets TETHER_MBEDTLS_DIR, TETHER_CJSON_DIR and TETHER_<DEP>_{VERSION,SOURCE,FILE,SHA256}.

set(TETHER_DEPS_CACHE "${CMAKE_SOURCE_DIR}/.deps" CACHE PATH
	"Where tools/fetch-deps.sh unpacks dependency sources (shared by build trees)")

set(_deps_txt "${TETHER_DEPS_CACHE}/deps.txt")
if(NOT EXISTS "${_deps_txt}"
   OR NOT EXISTS "${TETHER_DEPS_CACHE}/mbedtls/include/mbedtls/build_info.h"
   OR NOT EXISTS "${TETHER_DEPS_CACHE}/cjson/cJSON.h")
	message(STATUS "Fetching dependency sources into ${TETHER_DEPS_CACHE}")
	execute_process(
		COMMAND bash "${CMAKE_SOURCE_DIR}/tools/fetch-deps.sh" "${TETHER_DEPS_CACHE}"
		RESULT_VARIABLE _rc)
	if(NOT _rc EQUAL 0)
		message(FATAL_ERROR "tools/fetch-deps.sh failed (${_rc}); see the messages above")
	endif()
endif()

# Reconfigure when the fetched sources change.
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS "${_deps_txt}")

file(STRINGS "${_deps_txt}" _lines REGEX "^[a-z]")
foreach(_line IN LISTS _lines)
	string(REGEX REPLACE "[ \t]+" ";" _f "${_line}")
	list(LENGTH _f _n)
	if(NOT _n EQUAL 5)
		message(FATAL_ERROR "malformed line in ${_deps_txt}: ${_line}")
	endif()
	list(GET _f 0 _name)
	string(TOUPPER "${_name}" _name)
	list(GET _f 1 TETHER_${_name}_VERSION)
	list(GET _f 2 TETHER_${_name}_SOURCE)
	list(GET _f 3 TETHER_${_name}_FILE)
	list(GET _f 4 TETHER_${_name}_SHA256)
endforeach()
foreach(_name MBEDTLS CJSON)
	if(NOT TETHER_${_name}_VERSION)
		message(FATAL_ERROR "${_deps_txt} has no ${_name} line; run tools/fetch-deps.sh --force")
	endif()
endforeach()

# The versioned directories, so that a new version means new paths.
file(REAL_PATH "${TETHER_DEPS_CACHE}/mbedtls" TETHER_MBEDTLS_DIR)
file(REAL_PATH "${TETHER_DEPS_CACHE}/cjson" TETHER_CJSON_DIR)
message(STATUS "mbedTLS ${TETHER_MBEDTLS_VERSION} (${TETHER_MBEDTLS_SOURCE}) in ${TETHER_MBEDTLS_DIR}")
message(STATUS "cJSON ${TETHER_CJSON_VERSION} (${TETHER_CJSON_SOURCE}) in ${TETHER_CJSON_DIR}")
