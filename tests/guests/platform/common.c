/*
 * Platform-independent half of the platform layer: formatting on top of
 * plat_putc, the mem* functions GCC may call, and the self-check helpers.
 *
 * Nothing here divides: decimal output subtracts powers of ten, so no
 * libgcc division routine (some of which use the FPU on SH-4) is linked.
 */
#include "platform.h"

static const char hexdigits[] = "0123456789abcdef";

void plat_puts(const char *s)
{
	while (*s)
		plat_putc(*s++);
}

static void putx_width(uint32_t v, int digits)
{
	for (int i = digits - 1; i >= 0; i--)
		plat_putc(hexdigits[(v >> (4 * i)) & 15]);
}

void plat_putx(uint32_t v)
{
	putx_width(v, 8);
}

void plat_putx64(uint64_t v)
{
	putx_width((uint32_t)(v >> 32), 8);
	putx_width((uint32_t)v, 8);
}

void plat_putu(uint32_t v)
{
	static const uint32_t pow10[10] = {
		1000000000u, 100000000u, 10000000u, 1000000u, 100000u,
		10000u, 1000u, 100u, 10u, 1u,
	};
	char digits[10];
	for (unsigned i = 0; i < 10; i++) {
		char d = '0';
		while (v >= pow10[i]) {
			v -= pow10[i];
			d++;
		}
		digits[i] = d;
	}
	unsigned first = 0;
	while (first < 9 && digits[first] == '0')
		first++;
	for (unsigned i = first; i < 10; i++)
		plat_putc(digits[i]);
}

/*
 * Number of hex digits needed for v (at least one). Written with an
 * explicit compare on purpose: GCC 12 for SH miscompiles
 * `while (x >>= 4) n++;` (the loop branches on a T bit that nothing sets;
 * see docs/test-programs.md).
 */
static int hex_len(uint64_t v)
{
	uint32_t hi = (uint32_t)(v >> 32), x = hi ? hi : (uint32_t)v;
	int n = hi ? 9 : 1;
	while (x >= 16) {
		x >>= 4;
		n++;
	}
	return n;
}

void plat_vprintf(const char *fmt, va_list ap)
{
	for (; *fmt; fmt++) {
		if (*fmt != '%') {
			plat_putc(*fmt);
			continue;
		}
		fmt++;
		char pad = ' ';
		int width = 0, longlong = 0;
		if (*fmt == '0') {
			pad = '0';
			fmt++;
		}
		while (*fmt >= '0' && *fmt <= '9')
			width = width * 10 + (*fmt++ - '0');
		while (*fmt == 'l') {
			longlong++;
			fmt++;
		}
		switch (*fmt) {
		case 'x': {
			uint64_t v = longlong >= 2 ? va_arg(ap, uint64_t)
						   : va_arg(ap, uint32_t);
			int n = hex_len(v);
			for (int i = n; i < width; i++)
				plat_putc(pad);
			for (int i = n - 1; i >= 0; i--)
				plat_putc(hexdigits[(v >> (4 * i)) & 15]);
			break;
		}
		case 'd': {
			int32_t v = va_arg(ap, int32_t);
			if (v < 0) {
				plat_putc('-');
				plat_putu(-(uint32_t)v);
			} else {
				plat_putu((uint32_t)v);
			}
			break;
		}
		case 'u':
			plat_putu(va_arg(ap, uint32_t));
			break;
		case 's': {
			const char *s = va_arg(ap, const char *);
			int n = 0;
			while (s[n])
				n++;
			for (int i = n; i < width; i++)
				plat_putc(' ');
			plat_puts(s);
			break;
		}
		case 'c':
			plat_putc((char)va_arg(ap, int));
			break;
		case '%':
			plat_putc('%');
			break;
		default: /* unknown conversion: show it rather than guess */
			plat_putc('%');
			plat_putc(*fmt);
			break;
		}
	}
}

void plat_printf(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	plat_vprintf(fmt, ap);
	va_end(ap);
}

void *memset(void *d, int c, unsigned long n)
{
	unsigned char *p = d;
	while (n--)
		*p++ = (unsigned char)c;
	return d;
}

void *memcpy(void *d, const void *s, unsigned long n)
{
	unsigned char *p = d;
	const unsigned char *q = s;
	while (n--)
		*p++ = *q++;
	return d;
}

int memcmp(const void *a, const void *b, unsigned long n)
{
	const unsigned char *p = a, *q = b;
	for (; n; n--, p++, q++)
		if (*p != *q)
			return *p < *q ? -1 : 1;
	return 0;
}

unsigned check_failures;
unsigned check_count;

int check_eq(const char *what, uint32_t got, uint32_t want)
{
	check_count++;
	if (got == want) {
		plat_printf("ok %s\n", what);
		return 1;
	}
	check_failures++;
	plat_printf("FAIL %s got=%08x want=%08x\n", what, got, want);
	return 0;
}

int check_true(int ok, const char *fmt, ...)
{
	va_list ap;
	check_count++;
	if (!ok)
		check_failures++;
	plat_puts(ok ? "ok " : "FAIL ");
	va_start(ap, fmt);
	plat_vprintf(fmt, ap);
	va_end(ap);
	plat_putc('\n');
	return ok;
}

int check_summary(const char *program)
{
	if (check_failures == 0) {
		plat_printf("PASS %s: %u checks\n", program, check_count);
		return 0;
	}
	plat_printf("FAILED %s: %u of %u checks failed\n", program,
		    check_failures, check_count);
	return 1;
}
