# cortex-m4: bare-metal Cortex-M4F (Thumb-2, single-precision FPU, hard-float
# ABI) with Debian's arm-none-eabi-gcc and newlib's small variant (nano.specs).
# No OS and no C start-up files: the board brings its own (startup.c) and the
# link has no system-call stubs at all, so anything that would need an OS
# (files, sbrk for malloc) fails to link instead of failing at run time.
set(CMAKE_SYSTEM_NAME Generic)
set(CMAKE_SYSTEM_PROCESSOR arm)

find_program(_tether_cc arm-none-eabi-gcc)
if(NOT _tether_cc)
	message(FATAL_ERROR "no arm-none-eabi-gcc; run tools/setup.sh "
		"(Debian: gcc-arm-none-eabi libnewlib-arm-none-eabi)")
endif()
set(CMAKE_C_COMPILER "${_tether_cc}")
# Compiler checks cannot link a program without start-up files: archive only.
set(CMAKE_TRY_COMPILE_TARGET_TYPE STATIC_LIBRARY)

# On every compile and link line (CMake passes CMAKE_C_FLAGS to the link too).
set(CMAKE_C_FLAGS_INIT
	"-mcpu=cortex-m4 -mthumb -mfloat-abi=hard -mfpu=fpv4-sp-d16 --specs=nano.specs")
set(CMAKE_EXE_LINKER_FLAGS_INIT "-nostartfiles")

set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
