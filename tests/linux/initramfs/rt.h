/*
 * A freestanding runtime for the initramfs programs: process entry,
 * Linux/SH system calls and a few output helpers.
 *
 * Why not glibc: Debian's static libc.a for sh4 (libc6-dev-sh4-cross) is
 * built with the same GCC 12 cross compiler whose sh_treg_combine pass
 * deletes compares before branches (scripts/fix-sh4-cc1.sh). Its
 * __libc_start_main is hit: the loop that skips the environment to find
 * the aux vector lost its load and test and spins forever
 * (`bf.s .; add #4,r4`), which is also why qemu-sh4 hangs in glibc start-up.
 * These programs need a dozen system calls, so they make them directly.
 *
 * System calls: `trapa #0x1f` (the unified SH ABI), number in r3,
 * arguments in r4-r7 then r0, r1; the result, or -errno, in r0.
 */
#ifndef RP1_RT_H
#define RP1_RT_H

#include <asm/unistd.h>

typedef unsigned long size_t;
typedef long ssize_t;

#define EINTR 4
#define O_RDONLY 0

/* struct __kernel_timespec: 64-bit seconds (the 32-bit time calls are
 * compiled out unless CONFIG_COMPAT_32BIT_TIME). */
struct rt_timespec {
	long long tv_sec;
	long long tv_nsec;
};

static inline long syscall6(long nr, long a, long b, long c, long d, long e,
			    long f)
{
	register long r3 __asm__("r3") = nr;
	register long r4 __asm__("r4") = a;
	register long r5 __asm__("r5") = b;
	register long r6 __asm__("r6") = c;
	register long r7 __asm__("r7") = d;
	register long r0 __asm__("r0") = e;
	register long r1 __asm__("r1") = f;

	__asm__ volatile("trapa #0x1f"
			 : "+r"(r0)
			 : "r"(r3), "r"(r4), "r"(r5), "r"(r6), "r"(r7), "r"(r1)
			 : "memory", "t");
	return r0;
}

#define syscall3(nr, a, b, c) syscall6(nr, (long)(a), (long)(b), (long)(c), 0, 0, 0)

static inline ssize_t sys_read(int fd, void *buf, size_t n) { return syscall3(__NR_read, fd, buf, n); }
static inline ssize_t sys_write(int fd, const void *buf, size_t n) { return syscall3(__NR_write, fd, buf, n); }
static inline int sys_open(const char *path, int flags) { return syscall3(__NR_open, path, flags, 0); }
static inline int sys_close(int fd) { return syscall3(__NR_close, fd, 0, 0); }
static inline int sys_pipe(int fds[2]) { return syscall3(__NR_pipe2, fds, 0, 0); }
static inline int sys_fork(void) { return syscall3(__NR_fork, 0, 0, 0); }
static inline int sys_wait(int *status) { return syscall6(__NR_wait4, -1, (long)status, 0, 0, 0, 0); }
static inline int sys_waitpid(int pid, int *status) { return syscall6(__NR_wait4, pid, (long)status, 0, 0, 0, 0); }
static inline int sys_execve(const char *path, char *const argv[], char *const envp[]) { return syscall3(__NR_execve, path, argv, envp); }
static inline int sys_mount(const char *src, const char *dst, const char *type) { return syscall6(__NR_mount, (long)src, (long)dst, (long)type, 0, 0, 0); }
static inline void sys_sync(void) { syscall3(__NR_sync, 0, 0, 0); }
static inline int sys_clock_monotonic(struct rt_timespec *ts) { return syscall3(__NR_clock_gettime64, 1 /* CLOCK_MONOTONIC */, ts, 0); }
static inline int sys_reboot_halt(void) { return syscall6(__NR_reboot, 0xfee1dead, 672274793, 0xcdef0123 /* HALT */, 0, 0, 0); }
static inline void sys_pause(void) { syscall3(__NR_pause, 0, 0, 0); }
static inline __attribute__((noreturn)) void sys_exit(int code)
{
	for (;;)
		syscall3(__NR_exit_group, code, 0, 0);
}

/* Entry: the kernel leaves argc at @r15, then argv[], NULL, envp[]. */
int main(int argc, char **argv, char **envp);

__attribute__((used)) static void rt_start_c(long *sp)
{
	int argc = (int)sp[0];
	char **argv = (char **)(sp + 1);

	sys_exit(main(argc, argv, argv + argc + 1));
}

__asm__(".text\n"
	".global _start\n"
	"_start:\n"
	"	mov r15, r4\n"
	"	mov.l 1f, r1\n"
	"	jmp @r1\n"
	"	nop\n"
	"	.align 2\n"
	"1:	.long rt_start_c\n");

/* --- memory and strings (GCC may also call memset/memcpy itself) --- */
void *memset(void *d, int c, size_t n)
{
	unsigned char *p = d;

	while (n--)
		*p++ = (unsigned char)c;
	return d;
}

void *memcpy(void *d, const void *s, size_t n)
{
	unsigned char *p = d;
	const unsigned char *q = s;

	while (n--)
		*p++ = *q++;
	return d;
}

static inline size_t rt_strlen(const char *s)
{
	size_t n = 0;

	while (s[n])
		n++;
	return n;
}

static inline int rt_strncmp(const char *a, const char *b, size_t n)
{
	for (; n; n--, a++, b++) {
		if (*a != *b)
			return (unsigned char)*a - (unsigned char)*b;
		if (!*a)
			return 0;
	}
	return 0;
}

/* --- output: whole lines go to fd 1 in one write, so lines from
 *     different processes do not interleave mid-line --- */
struct line {
	char buf[256];
	size_t len;
};

static inline void put_str(struct line *l, const char *s)
{
	while (*s && l->len < sizeof(l->buf))
		l->buf[l->len++] = *s++;
}

static inline void put_long(struct line *l, long v)
{
	char digits[12];
	int n = 0;
	unsigned long u = v < 0 ? -(unsigned long)v : (unsigned long)v;

	do {
		digits[n++] = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	if (v < 0)
		put_str(l, "-");
	while (n--) {
		char c[2] = { digits[n], 0 };
		put_str(l, c);
	}
}

/* value as "<v / 10^decimals>.<remainder padded to decimals digits>" */
static inline void put_fixed(struct line *l, long v, int decimals)
{
	long scale = 1;
	long frac;
	int i;

	for (i = 0; i < decimals; i++)
		scale *= 10;
	put_long(l, v / scale);
	put_str(l, ".");
	frac = v % scale;
	for (scale /= 10; scale > 1 && frac < scale; scale /= 10)
		put_str(l, "0");
	put_long(l, frac);
}

static inline void flush_line(struct line *l)
{
	put_str(l, "\n");
	sys_write(1, l->buf, l->len);
	l->len = 0;
}

/* Parse a decimal number; -1 if s is not one. */
static inline long parse_decimal(const char *s, const char **end)
{
	long v = 0;

	if (*s < '0' || *s > '9')
		return -1;
	while (*s >= '0' && *s <= '9' && v < 100000000)
		v = v * 10 + (*s++ - '0');
	if (end)
		*end = s;
	return v;
}

#endif
