/*
 * The tiny per-platform layer every test program is written against.
 *
 * A program provides `int main(void)`; the platform's crt0 sets up a
 * stack, clears .bss, calls main and then plat_exit(main's return value).
 * The same source builds for three platforms (see docs/test-programs.md):
 *
 *   PLATFORM_RP1     our simulated RP1 (console on SCIF0, exit via SIMCTL)
 *   PLATFORM_GXEMUL  GXemul's bare `testsh` machine (SH-4 only)
 *   PLATFORM_QEMU    qemu-sh4 user mode (-nostdlib, Linux syscalls)
 *
 * Output is the only thing compared between platforms, so everything a
 * program wants checked must be printed.
 */
#ifndef PLATFORM_H
#define PLATFORM_H

#include <stdint.h>
#include <stdarg.h>

#if defined(PLATFORM_RP1)
#define PLATFORM_NAME "rp1"
#elif defined(PLATFORM_GXEMUL)
#define PLATFORM_NAME "gxemul"
#elif defined(PLATFORM_QEMU)
#define PLATFORM_NAME "qemu"
#else
#error "build with -DPLATFORM_RP1, -DPLATFORM_GXEMUL or -DPLATFORM_QEMU"
#endif

/* Provided by each platform (platform/<name>.c). */
void plat_putc(char c);
void plat_exit(int code) __attribute__((noreturn));

/* Provided once for all platforms (platform/common.c). */
void plat_puts(const char *s);          /* no newline added */
void plat_putx(uint32_t v);             /* exactly 8 lower-case hex digits */
void plat_putx64(uint64_t v);           /* exactly 16 hex digits */
void plat_putu(uint32_t v);             /* decimal, no padding */

/*
 * A deliberately small printf: %s %c %d %u %x %% with an optional
 * zero-pad width (%08x) and %llx for 64-bit values. No floating point.
 * It never divides (libgcc's division helpers are avoided everywhere so
 * that the FPU-disabled tests cannot trip over them).
 */
void plat_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void plat_vprintf(const char *fmt, va_list ap);

/* GCC may emit calls to these even in freestanding code. */
void *memset(void *d, int c, unsigned long n);
void *memcpy(void *d, const void *s, unsigned long n);
int memcmp(const void *a, const void *b, unsigned long n);

/*
 * Self-checking helpers used by the RP1-only programs (also usable by any
 * program): CHECK prints "ok <what>" or "FAIL <what> got=.. want=..", and
 * check_summary() prints the final line and returns the exit code.
 */
extern unsigned check_failures;
extern unsigned check_count;
int check_eq(const char *what, uint32_t got, uint32_t want);
/* "ok <formatted>" or "FAIL <formatted>" (no newline needed). */
int check_true(int ok, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int check_summary(const char *program);

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#endif
