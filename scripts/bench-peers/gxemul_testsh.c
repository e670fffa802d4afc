/*
 * Start-up for the benchmark workload on GXemul's `testsh` machine
 * (scripts/bench-peers.sh): runs bench_workload() for BENCH_PASSES passes,
 * prints the CRC as eight hex digits and a newline on the machine's
 * console, and halts the emulator.
 *
 * testsh is a bare SH-4 with RAM at physical 0; the ELF is linked at
 * 0x80010000 (P1) and entered at _start with no stack, so _start sets one
 * up. Its console is two magic words in P2: a byte stored at 0xb0000000
 * is printed, any store to 0xb0000010 stops the emulator. Nothing here
 * relies on .bss being cleared: the workload writes its table and buffer
 * before it reads them.
 */
#include "bench_workload.h"

#ifndef BENCH_PASSES
#error "build with -DBENCH_PASSES=<passes>"
#endif

#define TESTSH_PUTCHAR ((volatile unsigned char *)0xb0000000)
#define TESTSH_HALT    ((volatile unsigned char *)0xb0000010)

#define STACK_BYTES 8192
#define STRING(x) #x
#define EXPAND(x) STRING(x)

unsigned char bench_stack[STACK_BYTES] __attribute__((aligned(8)));
static unsigned int table[256];
static unsigned char buf[BENCH_BUF_BYTES];

void bench_main(void) __attribute__((noreturn));

__asm__(".text\n"
	".global _start\n"
	"_start:\n"
	"	mov.l	1f, r15\n"
	"	mov.l	2f, r0\n"
	"	jmp	@r0\n"
	"	 nop\n"
	"	.align 2\n"
	"1:	.long	bench_stack + " EXPAND(STACK_BYTES) "\n"
	"2:	.long	bench_main\n");

void bench_main(void)
{
	unsigned int crc = bench_workload(table, buf, BENCH_PASSES);
	for (int shift = 28; shift >= 0; shift -= 4) {
		unsigned int digit = (crc >> shift) & 0xF;
		*TESTSH_PUTCHAR = (unsigned char)(digit < 10 ? '0' + digit : 'a' + digit - 10);
	}
	*TESTSH_PUTCHAR = '\n';
	*TESTSH_HALT = 0;
	for (;;)
		;
}
