/*
 * qemu-sh4 user mode: a Linux process without libc. System calls are
 * `trapa #0x13` with the number in r3 and arguments in r4..r6 (the
 * SH Linux ABI); only write(2) and exit(2) are used.
 *
 * Output is buffered per line so a transcript is a few hundred
 * syscalls rather than one per byte.
 */
#include "platform.h"

#define SYS_exit  1
#define SYS_write 4

static long sys3(long n, long a, long b, long c)
{
	register long r0 __asm__("r0");
	register long r3 __asm__("r3") = n;
	register long r4 __asm__("r4") = a;
	register long r5 __asm__("r5") = b;
	register long r6 __asm__("r6") = c;
	/* The kernel returns the result in r0. */
	__asm__ volatile("trapa #0x13"
			 : "=r"(r0)
			 : "r"(r3), "r"(r4), "r"(r5), "r"(r6)
			 : "memory", "t");
	return r0;
}

static char line[256];
static unsigned len;

static void flush(void)
{
	unsigned off = 0;
	while (off < len) {
		long n = sys3(SYS_write, 1, (long)(line + off), len - off);
		if (n <= 0)
			break;
		off += n;
	}
	len = 0;
}

void plat_putc(char c)
{
	line[len++] = c;
	if (c == '\n' || len == sizeof(line))
		flush();
}

void plat_exit(int code)
{
	flush();
	sys3(SYS_exit, code, 0, 0);
	for (;;)
		;
}
