/*
 * Differential: multiply and the division-step instructions.
 *
 * MUL.L, MULS.W, MULU.W (MACL), DMULS.L, DMULU.L (MACH:MACL), CLRMAC;
 * DIV0S and DIV0U (Q, M, T) and DIV1 one step at a time with T printed
 * after each step; complete 32/32 unsigned and signed divisions built
 * from DIV1 the way the SH-4 manual describes them.
 *
 * MAC.L and MAC.W are in `mac` (GXemul 0.7 does not implement them).
 * DIV1 with a zero divisor is in `selfcheck` (qemu 7.2 gets it wrong).
 */
#include "diff.h"

static uint64_t dmul(int is_signed, uint32_t n, uint32_t m)
{
	uint32_t hi, lo;
	if (is_signed)
		__asm__("dmuls.l %2, %3\n\tsts mach, %0\n\tsts macl, %1"
			: "=&r"(hi), "=&r"(lo)
			: "r"(m), "r"(n)
			: "mach", "macl");
	else
		__asm__("dmulu.l %2, %3\n\tsts mach, %0\n\tsts macl, %1"
			: "=&r"(hi), "=&r"(lo)
			: "r"(m), "r"(n)
			: "mach", "macl");
	return ((uint64_t)hi << 32) | lo;
}

/*
 * MUL.L / MULS.W / MULU.W write only MACL; MACH is preset to a marker to
 * show it is left alone.
 */
static void mul32(uint32_t n, uint32_t m, uint32_t *l, uint32_t *sw,
		  uint32_t *uw, uint32_t *mach)
{
	uint32_t marker = 0xa5a5a5a5;
	__asm__("lds %6, mach\n\t"
		"mul.l %4, %5\n\tsts macl, %0\n\t"
		"muls.w %4, %5\n\tsts macl, %1\n\t"
		"mulu.w %4, %5\n\tsts macl, %2\n\t"
		"sts mach, %3"
		: "=&r"(*l), "=&r"(*sw), "=&r"(*uw), "=&r"(*mach)
		: "r"(m), "r"(n), "r"(marker)
		: "mach", "macl");
}

/* DIV0S Rm, Rn: Q = Rn[31], M = Rm[31], T = Q ^ M. Returns T. */
static uint32_t div0s(uint32_t n, uint32_t m)
{
	uint32_t t;
	__asm__("div0s %1, %2\n\tmovt %0" : "=r"(t) : "r"(m), "r"(n) : "t");
	return t;
}

/*
 * One DIV0U then `steps` DIV1 steps with ROTCL of the dividend, as in the
 * manual's 32/16 example; records Rn and T after every step.
 */
static void div_steps(uint32_t rem, uint32_t quot, uint32_t divisor,
		      uint32_t *rems, uint32_t *quots, uint32_t *ts, int steps)
{
	uint32_t t = 0; /* DIV0U clears T */
	__asm__ volatile("div0u" : : : "t");
	for (int i = 0; i < steps; i++) {
		/* Q and M live in SR and only the DIV instructions touch
		 * them, so they carry over between asm statements; T does
		 * not (C compares clobber it), so it is passed along in t. */
		__asm__ volatile("shlr %2\n\trotcl %1\n\tdiv1 %3, %0\n\tmovt %2"
				 : "+r"(rem), "+r"(quot), "+&r"(t)
				 : "r"(divisor)
				 : "t");
		rems[i] = rem;
		quots[i] = quot;
		ts[i] = t;
	}
}

/*
 * Unsigned 32/32 division from the SH-4 manual pattern: R1 = dividend,
 * R0 = 0 (partial remainder), DIV0U, then 32 x (ROTCL R1; DIV1 R2, R0),
 * then ROTCL R1 gives the quotient. All in one asm so T flows freely.
 */
static uint32_t udiv32(uint32_t dividend, uint32_t divisor, uint32_t *rem)
{
	uint32_t q = dividend, r = 0;
	__asm__("div0u\n\t"
		".rept 32\n\t"
		"rotcl %0\n\t"
		"div1 %2, %1\n\t"
		".endr\n\t"
		"rotcl %0"
		: "+r"(q), "+r"(r)
		: "r"(divisor)
		: "t");
	*rem = r;
	return q;
}

/*
 * Signed 32/32 division (manual pattern): R2 = divisor, R1 = dividend,
 * R3 = sign extension of the dividend: ROTCL R1 / DIV1 R2, R3 x 32, then
 * ROTCL and ADDC to fix up a negative quotient.
 */
static uint32_t sdiv32(uint32_t dividend, uint32_t divisor)
{
	uint32_t q = dividend, r, zero = 0;
	__asm__("mov %0, %1\n\t"
		"rotcl %1\n\t"
		"subc %1, %1\n\t" /* r = dividend < 0 ? -1 : 0 (T from ROTCL) */
		"subc %3, %0\n\t" /* q -= T: one's complement fix for negatives */
		"div0s %2, %1\n\t"
		".rept 32\n\t"
		"rotcl %0\n\t"
		"div1 %2, %1\n\t"
		".endr\n\t"
		"rotcl %0\n\t"
		"addc %3, %0"
		: "+&r"(q), "=&r"(r)
		: "r"(divisor), "r"(zero)
		: "t");
	return q;
}

int main(void)
{
	plat_printf("muldiv start\n");

	for (unsigned i = 0; i < ARRAY_SIZE(vals_b); i++)
		for (unsigned j = 0; j < ARRAY_SIZE(vals_b); j++) {
			uint32_t n = vals_b[i], m = vals_b[j];
			uint32_t l, sw, uw, mach;
			mul32(n, m, &l, &sw, &uw, &mach);
			plat_printf("mul n=%08x m=%08x -> mul.l %08x muls.w %08x mulu.w %08x mach %08x\n",
				    n, m, l, sw, uw, mach);
			plat_printf("dmul n=%08x m=%08x -> dmuls %016llx dmulu %016llx\n",
				    n, m, dmul(1, n, m), dmul(0, n, m));
			plat_printf("div0s n=%08x m=%08x -> t=%u\n", n, m,
				    div0s(n, m));
		}

	{
		uint32_t mach, macl;
		__asm__("dmulu.l %2, %2\n\tclrmac\n\tsts mach, %0\n\tsts macl, %1"
			: "=&r"(mach), "=&r"(macl)
			: "r"(0xffffffffu)
			: "mach", "macl");
		plat_printf("clrmac -> %08x %08x\n", mach, macl);
	}

	/* Step-by-step DIV1 for a few 64/32-style partial divisions. */
	static const uint32_t cases[][3] = {
		/* rem (high word), quot (low word), divisor */
		{0x00000000, 0x0000ffff, 0x00000007},
		{0x00000003, 0x12345678, 0x00000005},
		{0x7fffffff, 0xffffffff, 0x80000000},
		{0x00001234, 0x56789abc, 0x0000ffff},
		{0x00000000, 0x80000000, 0xffffffff},
	};
	for (unsigned c = 0; c < ARRAY_SIZE(cases); c++) {
		uint32_t rems[16], quots[16], ts[16];
		div_steps(cases[c][0], cases[c][1], cases[c][2], rems, quots,
			  ts, 16);
		for (int s = 0; s < 16; s++)
			plat_printf("div1 case %u step %u -> rn=%08x quot=%08x t=%u\n",
				    c, s, rems[s], quots[s], ts[s]);
	}

	/* Whole divisions. Divisor 0 is left out: qemu 7.2's DIV1 is wrong
	 * when Rm = 0 (it computes Rn - Rm as Rn + -Rm and takes the missing
	 * carry for a borrow); `selfcheck` covers it against the manual. */
	static const uint32_t dividends[] = {
		0, 1, 7, 100, 0x7fffffff, 0x80000000, 0xffffffff, 0x12345678,
		0xfffffff9, 0xffffff9c,
	};
	static const uint32_t divisors[] = {1, 2, 3, 7, 10, 0x10000, 0x7fffffff,
					    0xffffffff, 0xfffffffd};
	for (unsigned i = 0; i < ARRAY_SIZE(dividends); i++)
		for (unsigned j = 0; j < ARRAY_SIZE(divisors); j++) {
			uint32_t rem;
			uint32_t uq = udiv32(dividends[i], divisors[j], &rem);
			uint32_t sq = sdiv32(dividends[i], divisors[j]);
			plat_printf("div %08x / %08x -> udiv %08x (r %08x) sdiv %08x\n",
				    dividends[i], divisors[j], uq, rem, sq);
		}

	plat_printf("muldiv end\n");
	return 0;
}
