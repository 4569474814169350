/*
 * startup.c: what runs before main() on the Cortex-M4: the vector table, the
 * reset handler (FPU on, .data copied, .bss zeroed, stack painted), and one
 * handler for every fault, which reports where it happened and ends the run.
 *
 * No C library start-up is used (-nostartfiles): newlib needs no
 * initialization for the functions tether calls (string and snprintf).
 */
#include <stdint.h>
#include <stdio.h>

#include "boards/cortex-m4/board_io.h"

#define STACK_PAINT 0x5a5aa5a5u
#define SCB_CPACR (*(volatile uint32_t *)0xe000ed88u)
#define SCB_CFSR (*(volatile uint32_t *)0xe000ed28u)
#define SCB_HFSR (*(volatile uint32_t *)0xe000ed2cu)
#define SCB_BFAR (*(volatile uint32_t *)0xe000ed38u)

/* Defined by the linker script. */
extern uint32_t __data_start[], __data_end[], __data_load[];
extern uint32_t __bss_start[], __bss_end[];
extern uint32_t __stack_bottom[], __stack_top[];

int main(void);
void reset_handler(void) __attribute__((noreturn));
void fault_handler(void);
void fault_report(const uint32_t *frame, uint32_t exc_return);

size_t board_stack_size(void)
{
	return (size_t)((uintptr_t)__stack_top - (uintptr_t)__stack_bottom);
}

size_t board_stack_peak(void)
{
	const uint32_t *p = __stack_bottom;

	while (p < __stack_top && *p == STACK_PAINT)
		p++;
	return (size_t)((uintptr_t)__stack_top - (uintptr_t)p);
}

void reset_handler(void)
{
	uint32_t *dst, *src, *sp;

	/* CP10 and CP11 full access: the hard-float ABI may use the FPU anywhere after this. */
	SCB_CPACR |= 0xfu << 20;
	__asm__ volatile("dsb\n\tisb" ::: "memory");
	for (dst = __data_start, src = __data_load; dst < __data_end;)
		*dst++ = *src++;
	for (dst = __bss_start; dst < __bss_end;)
		*dst++ = 0;
	/* Paint the stack below this frame (keeping a margin) to measure its peak later. */
	__asm__ volatile("mov %0, sp" : "=r"(sp));
	for (dst = __stack_bottom; dst < sp - 16;)
		*dst++ = STACK_PAINT;
	board_exit(main());
}

/* Find the stacked frame (MSP or PSP, from EXC_RETURN) and report it. */
__attribute__((naked)) void fault_handler(void)
{
	__asm__ volatile("tst lr, #4\n\t"
			 "ite eq\n\t"
			 "mrseq r0, msp\n\t"
			 "mrsne r0, psp\n\t"
			 "mov r1, lr\n\t"
			 "b fault_report\n\t");
}

void fault_report(const uint32_t *frame, uint32_t exc_return)
{
	uint32_t ipsr;
	char buf[160];
	int n;

	__asm__ volatile("mrs %0, ipsr" : "=r"(ipsr));
	n = snprintf(buf, sizeof(buf),
		     "fault: exception %lu at pc=0x%08lx lr=0x%08lx cfsr=0x%08lx hfsr=0x%08lx "
		     "bfar=0x%08lx exc_return=0x%08lx\n",
		     (unsigned long)(ipsr & 0x1ffu), (unsigned long)frame[6],
		     (unsigned long)frame[5], (unsigned long)SCB_CFSR, (unsigned long)SCB_HFSR,
		     (unsigned long)SCB_BFAR, (unsigned long)exc_return);
	if (n > 0)
		board_write(buf, (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1);
	board_exit(5);
}

/* The Cortex-M vector table: initial stack pointer, then the handlers. */
__attribute__((section(".isr_vector"), used)) static void (*const vectors[16])(void) = {
	(void (*)(void))__stack_top,
	reset_handler,
	fault_handler, /* NMI */
	fault_handler, /* HardFault */
	fault_handler, /* MemManage */
	fault_handler, /* BusFault */
	fault_handler, /* UsageFault */
	0,
	0,
	0,
	0,
	fault_handler, /* SVCall */
	fault_handler, /* DebugMonitor */
	0,
	fault_handler, /* PendSV */
	fault_handler, /* SysTick */
};
