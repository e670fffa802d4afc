/*
 * guest.c - the C half of the guest runtime (guest.h): exception
 * dispatch, console printf over CONSOLE_WRITE, division, atomics,
 * memset/memcpy.
 *
 * Nothing here divides with '/' or '%': that needs a libgcc helper, and
 * the guests link without libgcc, whose SH-4 helpers use the FPU
 * (docs/guests.md). Decimal output subtracts powers of ten instead.
 */
#include "guest.h"

extern char __stacks_end[];

unsigned this_vcpu(void)
{
	uint32_t sp;

	__asm__("mov r15, %0" : "=r"(sp));
	/* Inside any function r15 is strictly below its vCPU's stack top. */
	return ((uint32_t)__stacks_end - 1 - sp) >> GUEST_STACK_SHIFT;
}

/* Default: nothing to run on the way out of an interrupt. */
__attribute__((weak)) void guest_interrupt_exit(void)
{
}

/* Default for single-vCPU guests: a vCPU they never start has started. */
__attribute__((weak)) int guest_fault(uint32_t kind, uint32_t code,
				      struct trap_frame *f)
{
	(void)kind;
	(void)code;
	(void)f;
	return 0;
}

__attribute__((weak)) void secondary_main(uint32_t arg)
{
	guest_fatal(GUEST_EXIT_SETUP, "unexpected secondary vCPU (r4=%u)",
		    (unsigned)arg);
}

/* Per vCPU: an interrupt handler is running (between its entry and the
 * end of its IRQ_RESTORE), and another interrupt came in meanwhile. */
static volatile uint8_t handling[GUEST_MAX_VCPUS], nested[GUEST_MAX_VCPUS];

/* Called by vectors.S with SR.BL = 0 and everything saved. */
void guest_exception(uint32_t kind, uint32_t code, uint32_t tra,
		     struct trap_frame *f)
{
	if (kind == VEC_INTERRUPT) {
		/* The hypervisor raised our level to this interrupt's (SH-4A
		 * INTMU semantics); SSR.IMASK holds the level we had. The
		 * handler runs masked at its own level, then the level goes
		 * back before whatever the interrupt made ready runs.
		 *
		 * The level goes back by a hypercall, before this frame is
		 * unwound, and an interrupt pending then is delivered at once,
		 * on top of it: under a flood of IPIs every handler's
		 * IRQ_RESTORE took the next one, and the stack grew until it
		 * overflowed into the next vCPU's (120 handlers deep, 30 ms
		 * into tests/board_hostile.rs's IPI flood, once the hypervisor
		 * delivered a little faster). So a handler that finds another
		 * lowering the level on its vCPU returns at its own level, and
		 * the other lowers it again; one that came in after that
		 * handler's last look (between the loop's test and the clear
		 * of `handling`) is caught by the look after the clear, and
		 * from the clear on a newcomer lowers the level itself. At
		 * most three frames deep. */
		unsigned me = this_vcpu();
		uint32_t level = (f->ssr >> 4) & 0xf;

		guest_interrupt(code);
		if (handling[me]) {
			nested[me] = 1;
			return;
		}
		handling[me] = 1;
		do {
			nested[me] = 0;
			hv_irq_restore(level);
		} while (nested[me]);
		handling[me] = 0;
		if (nested[me])
			hv_irq_restore(level);
		guest_interrupt_exit();
		return;
	}
	if (kind == VEC_GENERAL && code == SH_EXPEVT_TRAPA &&
	    guest_trap(tra >> 2, f))
		return;
	if (code != SH_EXPEVT_TRAPA && guest_fault(kind, code, f))
		return;
	guest_fatal(GUEST_EXIT_EXCEPTION | (code & 0xfff),
		    "%s EXPEVT=0x%x TRA=0x%x TEA=0x%x SPC=0x%08x SSR=0x%08x PR=0x%08x",
		    kind == VEC_TLB_MISS ? "TLB miss" : "exception",
		    (unsigned)code, (unsigned)tra,
		    (unsigned)*(volatile uint32_t *)SH_TEA, (unsigned)f->spc,
		    (unsigned)f->ssr, (unsigned)f->pr);
}

static unsigned str_vprintf(char *buf, unsigned size, const char *fmt,
			    va_list ap);

void guest_fatal(unsigned status, const char *fmt, ...)
{
	char msg[200];
	va_list ap;

	va_start(ap, fmt);
	str_vprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	con_printf("FATAL vcpu %u: %s\n", this_vcpu(), msg);
	hv_exit(status);
}

uint64_t udiv64(uint64_t n, uint32_t d, uint32_t *rem)
{
	uint64_t q = 0, r = 0;
	int bit;

	if (d == 0) {
		if (rem)
			*rem = 0;
		return 0;
	}
	for (bit = 63; bit >= 0; bit--) {
		r = (r << 1) | ((n >> bit) & 1);
		if (r >= d) {
			r -= d;
			q |= (uint64_t)1 << bit;
		}
	}
	if (rem)
		*rem = (uint32_t)r;
	return q;
}

uint32_t atomic_add(volatile uint32_t *p, uint32_t v)
{
	uint32_t n;

	/* MOVLI.L/MOVCO.L only take r0 ("z"); retry until the store sticks. */
	__asm__ __volatile__("1:	movli.l	@%1, %0\n"
			     "	add	%2, %0\n"
			     "	movco.l	%0, @%1\n"
			     "	bf	1b\n"
			     : "=&z"(n)
			     : "r"(p), "r"(v)
			     : "t", "memory");
	return n;
}

int atomic_take(volatile uint32_t *p)
{
	uint32_t n;

	__asm__ __volatile__("1:	movli.l	@%1, %0\n"
			     "	tst	%0, %0\n"
			     "	bt	2f\n"       /* zero: nothing to take */
			     "	add	#-1, %0\n"
			     "	movco.l	%0, @%1\n"
			     "	bf	1b\n"
			     "	mov	#1, %0\n"
			     "2:\n"
			     : "=&z"(n)
			     : "r"(p)
			     : "t", "memory");
	return n != 0;
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

void con_write(const char *s, unsigned long len)
{
	while (len) {
		unsigned long chunk = len > HV_CONSOLE_MAX ? HV_CONSOLE_MAX : len;
		long done = hv_console_write(s, chunk);

		if (done <= 0)
			return; /* nowhere to report it: drop the rest */
		s += done;
		len -= (unsigned long)done;
	}
}

/* Where formatted output goes: flushed to the console when full, or
 * kept in a caller's buffer and truncated (console == 0). */
struct outbuf {
	char *b;
	unsigned n, cap;
	int console;
};

static void out_char(struct outbuf *o, char c)
{
	if (o->n == o->cap) {
		if (!o->console)
			return;
		con_write(o->b, o->n);
		o->n = 0;
	}
	o->b[o->n++] = c;
}

static void out_pad(struct outbuf *o, const char *digits, unsigned len,
		    unsigned width, char pad)
{
	while (width > len) {
		out_char(o, pad);
		width--;
	}
	while (len--)
		out_char(o, *digits++);
}

/* Decimal without division: count subtractions of each power of ten. */
static unsigned fmt_dec(char *buf, uint64_t v)
{
	static const uint64_t pow10[] = {
		10000000000000000000ull, 1000000000000000000ull,
		100000000000000000ull, 10000000000000000ull,
		1000000000000000ull, 100000000000000ull, 10000000000000ull,
		1000000000000ull, 100000000000ull, 10000000000ull,
		1000000000ull, 100000000ull, 10000000ull, 1000000ull,
		100000ull, 10000ull, 1000ull, 100ull, 10ull,
	};
	unsigned i, n = 0;

	for (i = 0; i < sizeof(pow10) / sizeof(pow10[0]); i++) {
		char d = '0';

		while (v >= pow10[i]) {
			v -= pow10[i];
			d++;
		}
		if (d != '0' || n)
			buf[n++] = d;
	}
	buf[n++] = (char)('0' + v);
	return n;
}

static unsigned fmt_hex(char *buf, uint64_t v)
{
	unsigned n = 0;
	int shift;

	for (shift = 60; shift >= 0; shift -= 4) {
		unsigned d = (unsigned)(v >> shift) & 0xf;

		if (d || n || shift == 0)
			buf[n++] = (char)(d < 10 ? '0' + d : 'a' + d - 10);
	}
	return n;
}

static void format(struct outbuf *o, const char *fmt, va_list ap)
{
	char num[24];

	for (; *fmt; fmt++) {
		unsigned width = 0, longs = 0, len;
		char pad = ' ';
		uint64_t v;
		int neg = 0;

		if (*fmt != '%') {
			out_char(o, *fmt);
			continue;
		}
		fmt++;
		if (*fmt == '0') {
			pad = '0';
			fmt++;
		}
		while (*fmt >= '0' && *fmt <= '9')
			width = width * 10 + (unsigned)(*fmt++ - '0');
		while (*fmt == 'l') {
			longs++;
			fmt++;
		}
		switch (*fmt) {
		case 'd':
		case 'u':
		case 'x':
			if (longs >= 2)
				v = va_arg(ap, uint64_t);
			else if (*fmt == 'd')
				v = (uint64_t)(int64_t)va_arg(ap, long);
			else
				v = va_arg(ap, unsigned long);
			if (*fmt == 'd' && (int64_t)v < 0) {
				neg = 1;
				v = -v;
			}
			if (*fmt == 'x') {
				len = fmt_hex(num, v);
			} else {
				num[0] = '-';
				len = fmt_dec(num + neg, v) + neg;
			}
			out_pad(o, num, len, width, pad);
			break;
		case 's': {
			const char *s = va_arg(ap, const char *);
			const char *e = s;

			while (*e)
				e++;
			out_pad(o, s, (unsigned)(e - s), width, ' ');
			break;
		}
		case 'c':
			out_char(o, (char)va_arg(ap, int));
			break;
		case '%':
			out_char(o, '%');
			break;
		case '\0':
			fmt--; /* a lone '%' at the end: stop at the NUL */
			break;
		default:
			out_char(o, '%');
			out_char(o, *fmt);
			break;
		}
	}
}

void con_vprintf(const char *fmt, va_list ap)
{
	char buf[HV_CONSOLE_MAX];
	struct outbuf o = { buf, 0, sizeof(buf), 1 };

	format(&o, fmt, ap);
	if (o.n)
		con_write(o.b, o.n);
}

void con_printf(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	con_vprintf(fmt, ap);
	va_end(ap);
}

static unsigned str_vprintf(char *buf, unsigned size, const char *fmt,
			    va_list ap)
{
	struct outbuf o = { buf, 0, size ? size - 1 : 0, 0 };

	format(&o, fmt, ap);
	if (size)
		buf[o.n] = '\0';
	return o.n;
}

unsigned str_printf(char *buf, unsigned size, const char *fmt, ...)
{
	va_list ap;
	unsigned n;

	va_start(ap, fmt);
	n = str_vprintf(buf, size, fmt, ap);
	va_end(ap);
	return n;
}
