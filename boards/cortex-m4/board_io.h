/*
 * board_io.h: what the self-test needs from the machine it runs on, beyond
 * the port: a console, a way to end with a verdict, and measurements. On the
 * cortex-m4 board these are semihosting calls (semihost.c) and the start-up
 * code's stack painting (startup.c).
 */
#ifndef TETHER_BOARD_IO_H
#define TETHER_BOARD_IO_H

#include <stddef.h>

/* Write len bytes to the console (the debugger's or qemu's stdout). */
void board_write(const char *s, size_t len);

/* End the program; code 0 reports success to the host (qemu's exit status). */
void board_exit(int code) __attribute__((noreturn));

/* Bytes of the stack region, and the most of it ever used (painted at reset). */
size_t board_stack_size(void);
size_t board_stack_peak(void);

/* Calls that reached malloc, calloc, realloc or free (there is no C heap: all fail). */
unsigned long board_c_heap_calls(void);

#endif
