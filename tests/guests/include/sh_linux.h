/*
 * System calls of a Linux process on SH without libc, for the programs
 * that run under qemu-sh4 in user mode (tests/guests/platform/qemu.c and
 * scripts/bench-peers/qemu_user.c): `trapa #0x13` with the number in r3,
 * the arguments in r4-r6 and the result in r0 (the SH Linux ABI).
 */
#ifndef SH_LINUX_H
#define SH_LINUX_H

#define SH_LINUX_NR_EXIT  1
#define SH_LINUX_NR_WRITE 4

static inline long sh_linux_syscall3(long nr, long a, long b, long c)
{
	register long r0 __asm__("r0");
	register long r3 __asm__("r3") = nr;
	register long r4 __asm__("r4") = a;
	register long r5 __asm__("r5") = b;
	register long r6 __asm__("r6") = c;
	__asm__ volatile("trapa	#0x13" : "=r"(r0) : "r"(r3), "r"(r4), "r"(r5), "r"(r6) : "memory", "t");
	return r0;
}

#endif
