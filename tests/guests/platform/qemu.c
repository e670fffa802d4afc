/*
 * qemu-sh4 user mode: a Linux process without libc (system calls:
 * sh_linux.h); only write(2) and exit(2) are used.
 *
 * Output is buffered per line so a transcript is a few hundred
 * syscalls rather than one per byte.
 */
#include "platform.h"
#include "sh_linux.h"

static char line[256];
static unsigned len;

static void flush(void)
{
	unsigned off = 0;
	while (off < len) {
		long n = sh_linux_syscall3(SH_LINUX_NR_WRITE, 1, (long)(line + off), len - off);
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
	sh_linux_syscall3(SH_LINUX_NR_EXIT, code, 0, 0);
	for (;;)
		;
}
