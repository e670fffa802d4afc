/*
 * Self-checking (RP1 only): user-mode instructions the references get
 * wrong or lack, checked against C models of the SH-4 manual's
 * descriptions instead of against a reference transcript.
 *
 *  - ADDV/SUBV result and T (GXemul lacks both; qemu 7.2's ADDV writes
 *    Rm and its SUBV computes T from the wrong operand).
 *  - DIV1 step by step, Q/M/T included via T, with a zero divisor among
 *    the cases (qemu 7.2 mistakes Rn - 0 for a borrow).
 *  - ROTL/ROTR T output (qemu 7.2 always clears T).
 *  - The delay slot of BSR, BSRF and JSR already sees the new PR (the
 *    manual sets PR before running the slot; GXemul sets it after).
 *  - MAC.W with S=0 (64-bit accumulate) and S=1 (MACL saturates to 32
 *    bits), MAC.L with S=1 (MACH:MACL saturates to 48 bits). GXemul has
 *    no MAC; qemu 7.2 neither saturates as the manual says nor loads
 *    MAC.W operands as 16-bit words.
 *
 * Prints "ok <group> (N cases)" per group, "FAIL ..." for each bad case,
 * and a final PASS/FAILED line; exit code 0 when everything passed.
 */
#include "diff.h"

static unsigned group_fail, group_cases;

static void group_begin(void)
{
	group_fail = 0;
	group_cases = 0;
}

static void group_end(const char *name)
{
	check_count++;
	if (group_fail == 0)
		plat_printf("ok %s (%u cases)\n", name, group_cases);
	else
		check_failures++;
}

/* Record one case; print it when it is wrong. */
static void expect(const char *what, uint32_t a, uint32_t b, uint32_t got,
		   uint32_t want)
{
	group_cases++;
	if (got != want) {
		group_fail++;
		plat_printf("FAIL %s a=%08x b=%08x got=%08x want=%08x\n", what, a,
			    b, got, want);
	}
}

/* ---- ADDV / SUBV ---- */

DEF_OP2T(op_addv, "addv")
DEF_OP2T(op_subv, "subv")

static void check_addv_subv(void)
{
	group_begin();
	for (unsigned i = 0; i < ARRAY_SIZE(vals_b); i++)
		for (unsigned j = 0; j < ARRAY_SIZE(vals_b); j++) {
			uint32_t n = vals_b[i], m = vals_b[j], t = 0;
			uint32_t r = op_addv(n, m, &t);
			uint32_t sum = n + m;
			/* overflow: operands of equal sign, result of the other */
			uint32_t v = ((~(n ^ m) & (n ^ sum)) >> 31) & 1;
			expect("addv result", n, m, r, sum);
			expect("addv t", n, m, t, v);

			t = 0;
			r = op_subv(n, m, &t);
			uint32_t diff = n - m;
			v = (((n ^ m) & (n ^ diff)) >> 31) & 1;
			expect("subv result", n, m, r, diff);
			expect("subv t", n, m, t, v);
		}
	group_end("addv/subv");
}

/* ---- DIV1 ---- */

struct divstate {
	uint32_t rn, q, m, t;
};

/* One DIV1 Rm,Rn as the manual describes it (Q, M, T live in SR). */
static void div1_model(struct divstate *s, uint32_t rm)
{
	uint32_t old_q = s->q;
	s->q = s->rn >> 31;
	uint32_t rn = (s->rn << 1) | s->t;
	uint32_t tmp0 = rn, tmp1;
	if (old_q == s->m) {
		rn -= rm;
		tmp1 = rn > tmp0; /* borrow */
	} else {
		rn += rm;
		tmp1 = rn < tmp0; /* carry */
	}
	/* The manual's nested switch on old Q, M and the shifted-out bit
	 * folds to: new Q = shifted-out bit ^ carry/borrow ^ M. */
	s->q = (s->q ^ tmp1 ^ s->m) & 1;
	s->rn = rn;
	s->t = s->q == s->m;
}

/* Runs DIV0S/DIV0U then `steps` x DIV1 on the CPU, recording Rn and T. */
static void div1_cpu(int is_signed, uint32_t rn, uint32_t rm, uint32_t *rns,
		     uint32_t *ts, int steps)
{
	uint32_t t;
	if (is_signed)
		__asm__ volatile("div0s %1, %2\n\tmovt %0"
				 : "=r"(t)
				 : "r"(rm), "r"(rn)
				 : "t");
	else
		__asm__ volatile("div0u\n\tmovt %0" : "=r"(t) : : "t");
	for (int i = 0; i < steps; i++) {
		__asm__ volatile("shlr %1\n\tdiv1 %2, %0\n\tmovt %1"
				 : "+r"(rn), "+&r"(t)
				 : "r"(rm)
				 : "t");
		rns[i] = rn;
		ts[i] = t;
	}
}

static void check_div1(void)
{
	static const uint32_t rns[] = {0x00000000, 0x00000001, 0x7fffffff,
				       0x80000000, 0xffffffff, 0x12345678,
				       0xc0000000, 0x40000000};
	static const uint32_t rms[] = {0x00000000, 0x00000001, 0x00000003,
				       0x7fffffff, 0x80000000, 0xffffffff,
				       0xfffffffd, 0x00010000};
	group_begin();
	for (int sgn = 0; sgn < 2; sgn++)
		for (unsigned i = 0; i < ARRAY_SIZE(rns); i++)
			for (unsigned j = 0; j < ARRAY_SIZE(rms); j++) {
				uint32_t got_rn[8], got_t[8];
				div1_cpu(sgn, rns[i], rms[j], got_rn, got_t, 8);
				struct divstate s = {rns[i], 0, 0, 0};
				if (sgn) {
					s.q = rns[i] >> 31;
					s.m = rms[j] >> 31;
					s.t = s.q ^ s.m;
				}
				for (int k = 0; k < 8; k++) {
					div1_model(&s, rms[j]);
					expect(sgn ? "div0s+div1 rn" : "div0u+div1 rn",
					       rns[i], rms[j], got_rn[k], s.rn);
					expect(sgn ? "div0s+div1 t" : "div0u+div1 t",
					       rns[i], rms[j], got_t[k], s.t);
				}
			}
	group_end("div1");
}

/* ---- ROTL / ROTR T ---- */

DEF_OP1T(op_rotl, "rotl")
DEF_OP1T(op_rotr, "rotr")

static void check_rot(void)
{
	group_begin();
	for (unsigned i = 0; i < ARRAY_SIZE(vals_a); i++) {
		uint32_t v = vals_a[i];
		for (uint32_t tin = 0; tin < 2; tin++) {
			uint32_t t = tin;
			uint32_t r = op_rotl(v, &t);
			expect("rotl result", v, tin, r, (v << 1) | (v >> 31));
			expect("rotl t", v, tin, t, v >> 31);
			t = tin;
			r = op_rotr(v, &t);
			expect("rotr result", v, tin, r, (v >> 1) | (v << 31));
			expect("rotr t", v, tin, t, v & 1);
		}
	}
	group_end("rotl/rotr t");
}

/* ---- PR as seen from the delay slot ---- */

static void check_slot_pr(void)
{
	uint32_t bsr_ok, bsrf_ok, jsr_ok;
	group_begin();
	__asm__ volatile("sts.l pr, @-r15\n\t"
			 /* BSR */
			 "bsr 2f\n\t"
			 " sts pr, r2\n"
			 "1:	mov.l 8f, r1\n\t"
			 "cmp/eq r1, r2\n\t"
			 "movt %0\n\t"
			 /* BSRF */
			 "mov.l 6f, r1\n\t"
			 "bsrf r1\n\t"
			 " sts pr, r2\n"
			 "3:	mov.l 7f, r1\n\t"
			 "cmp/eq r1, r2\n\t"
			 "movt %1\n\t"
			 /* JSR */
			 "mov.l 5f, r1\n\t"
			 "jsr @r1\n\t"
			 " sts pr, r2\n"
			 "4:	mov.l 9f, r1\n\t"
			 "cmp/eq r1, r2\n\t"
			 "movt %2\n\t"
			 "bra 10f\n\t"
			 " nop\n"
			 "2:	rts\n\t"
			 " nop\n\t"
			 ".align 2\n"
			 "5:	.long 2b\n"
			 "6:	.long 2b - 3b\n"
			 "7:	.long 3b\n"
			 "8:	.long 1b\n"
			 "9:	.long 4b\n"
			 "10:	lds.l @r15+, pr"
			 : "=&r"(bsr_ok), "=&r"(bsrf_ok), "=&r"(jsr_ok)
			 :
			 : "r1", "r2", "t", "memory");
	expect("bsr slot sees new pr", 0, 0, bsr_ok, 1);
	expect("bsrf slot sees new pr", 0, 0, bsrf_ok, 1);
	expect("jsr slot sees new pr", 0, 0, jsr_ok, 1);
	group_end("delay-slot pr");
}

/* ---- MAC.W / MAC.L ---- */

static int32_t sx16(uint16_t v)
{
	return (int32_t)(int16_t)v;
}

static const uint16_t wvals[] = {
	0x7fff, 0x7fff, 0x7fff, 0x7fff, 0x8000, 0x7fff, 0x8000, 0x8000,
	0x1234, 0xfedc, 0x0001, 0xffff, 0x4000, 0x4000, 0xc000, 0x4000,
};

/* MAC.W over `count` pairs (wvals[2k], wvals[2k+1]) starting at pair
 * `first`, from MACH:MACL = mach0:macl0. */
static void mac_w_cpu(int sat, int first, int count, uint32_t mach0,
		      uint32_t macl0, uint32_t *mach, uint32_t *macl,
		      uint32_t *adv)
{
	/* The operands of pair k go to a[k] and b[k], so that @Rm+ and @Rn+
	 * walk two separate arrays (2-byte aligned, as MAC.W allows). */
	uint16_t a[8], b[8];
	for (int k = 0; k < count; k++) {
		a[k] = wvals[2 * (first + k)];
		b[k] = wvals[2 * (first + k) + 1];
	}
	const uint16_t *pa = a, *pb = b;
	uint32_t left = (uint32_t)count;
	if (sat)
		__asm__ volatile("sets" : : : "memory");
	else
		__asm__ volatile("clrs" : : : "memory");
	__asm__ volatile("lds %5, mach\n\t"
			 "lds %6, macl\n\t"
			 "1:	mac.w @%2+, @%3+\n\t"
			 "dt %4\n\t"
			 "bf 1b\n\t"
			 "sts mach, %0\n\t"
			 "sts macl, %1\n\t"
			 "clrs"
			 : "=&r"(*mach), "=&r"(*macl), "+r"(pa), "+r"(pb),
			   "+r"(left)
			 : "r"(mach0), "r"(macl0)
			 : "mach", "macl", "t", "memory");
	*adv = (uint32_t)(pa - a) * 2 + (uint32_t)(pb - b) * 2;
}

static void check_mac_w(void)
{
	static const uint32_t starts[][2] = {
		{0x00000000, 0x00000000}, {0x00000000, 0x7fff0000},
		{0xffffffff, 0x80010000}, {0x12345678, 0x7ffffff0},
		{0x00000001, 0xfffffffe},
	};
	group_begin();
	for (int sat = 0; sat < 2; sat++)
		for (unsigned s0 = 0; s0 < ARRAY_SIZE(starts); s0++)
			for (int first = 0; first < 8; first++)
				for (int count = 1; first + count <= 8; count += 3) {
					uint32_t mach, macl, adv;
					mac_w_cpu(sat, first, count, starts[s0][0],
						  starts[s0][1], &mach, &macl, &adv);
					uint64_t acc = ((uint64_t)starts[s0][0] << 32) |
						       starts[s0][1];
					int32_t l = (int32_t)starts[s0][1];
					for (int k = 0; k < count; k++) {
						int32_t prod = sx16(wvals[2 * (first + k)]) *
							       sx16(wvals[2 * (first + k) + 1]);
						acc += (uint64_t)(int64_t)prod;
						/* 32-bit saturating MACL for S=1 */
						int64_t wide = (int64_t)l + prod;
						if (wide > 0x7fffffff)
							wide = 0x7fffffff;
						if (wide < -0x7fffffff - 1)
							wide = -0x7fffffff - 1;
						l = (int32_t)wide;
					}
					const char *what = sat ? "mac.w s=1 macl" : "mac.w s=0 macl";
					expect(what, (uint32_t)first << 16 | (uint32_t)count,
					       starts[s0][1], macl,
					       sat ? (uint32_t)l : (uint32_t)acc);
					if (!sat)
						expect("mac.w s=0 mach",
						       (uint32_t)first << 16 | (uint32_t)count,
						       starts[s0][0], mach,
						       (uint32_t)(acc >> 32));
					expect("mac.w pointer advance", first, count,
					       adv, 4 * (uint32_t)count);
				}
	group_end("mac.w");
}

static const uint32_t lvals[] = {
	0x7fffffff, 0x7fffffff, 0x80000000, 0x80000000, 0x80000000,
	0x7fffffff, 0x00010000, 0x00010000, 0xffffffff, 0x00000001,
	0x12345678, 0x87654321,
};

static void check_mac_l_sat(void)
{
	/* Accumulators inside the 48-bit range. */
	static const uint32_t starts[][2] = {
		{0x00000000, 0x00000000}, {0x00007fff, 0xffffff00},
		{0xffff8000, 0x00000100}, {0x00003fff, 0x00000000},
		{0xffffc000, 0x00000000},
	};
	group_begin();
	for (unsigned s0 = 0; s0 < ARRAY_SIZE(starts); s0++)
		for (int first = 0; first < 6; first++) {
			uint32_t mach, macl;
			uint32_t a = lvals[2 * first], b = lvals[2 * first + 1];
			const uint32_t *qa = &a, *qb = &b;
			__asm__ volatile("sets\n\t"
					 "lds %4, mach\n\t"
					 "lds %5, macl\n\t"
					 "mac.l @%2+, @%3+\n\t"
					 "sts mach, %0\n\t"
					 "sts macl, %1\n\t"
					 "clrs"
					 : "=&r"(mach), "=&r"(macl), "+r"(qa), "+r"(qb)
					 : "r"(starts[s0][0]), "r"(starts[s0][1])
					 : "mach", "macl", "memory");
			int64_t acc = (int64_t)(((uint64_t)starts[s0][0] << 32) |
						starts[s0][1]);
			acc += (int64_t)(int32_t)a * (int64_t)(int32_t)b;
			const int64_t max48 = 0x00007fffffffffffLL;
			if (acc > max48)
				acc = max48;
			if (acc < -max48 - 1)
				acc = -max48 - 1;
			expect("mac.l s=1 mach", (uint32_t)s0, (uint32_t)first, mach,
			       (uint32_t)((uint64_t)acc >> 32));
			expect("mac.l s=1 macl", (uint32_t)s0, (uint32_t)first, macl,
			       (uint32_t)acc);
		}
	group_end("mac.l s=1");
}

int main(void)
{
	plat_printf("selfcheck start\n");
	check_addv_subv();
	check_div1();
	check_rot();
	check_slot_pr();
	check_mac_w();
	check_mac_l_sat();
	return check_summary("selfcheck");
}
