/*
 * Differential (qemu and rp1 only): the SH-4 FPU, results as raw bits.
 *
 * Single precision (FPSCR.PR=0): FADD FSUB FMUL FDIV over all pairs of a
 * value set with zeros, infinities and extremes, FSQRT FABS FNEG,
 * FCMP/EQ FCMP/GT, FLOAT and FTRC, FMAC, FLDI0/1, FSCHG with a 64-bit
 * FMOV pair (GXemul cannot do SZ=1 moves). Double precision
 * (PR=1): FADD FSUB FMUL FDIV FSQRT FCMP FLOAT FTRC, FCNVSD and FCNVDS.
 * Both rounding modes (RM=0 nearest, RM=1 zero), always with DN=1
 * (denormals as zero: with DN=0 the SH-4 raises an FPU error on a
 * denormal input, which qemu does not model).
 *
 * Every operation runs in one asm statement that sets FPSCR, moves the
 * operands in through FPUL, operates, moves the result out and puts
 * FPSCR back, so nothing GCC generates depends on our FPSCR.
 *
 * Why not GXemul: its FPU does not round as IEEE/SH-4 does (it ignores
 * RM=0 on single-precision results, e.g. 1/3 -> 3eaaaaaa instead of
 * 3eaaaaab, and gives 0 for x/0 and ffffffff for 0*inf). The qemu
 * transcript was checked against a host IEEE model (x86, fesetround, NaN
 * as the SH-4 default qNaN 7fbfffff, results below the normal range
 * flushed to zero) for every add/sub/mul/div/sqrt/fcnvds line, and FMAC
 * against fmaf(): the SH-4 FMAC rounds once (fused).
 *
 * Not here: FIPR/FTRV (qemu 7.2 raises an illegal instruction for them
 * with PR=0, the only mode in which they are defined: they are in
 * `fpu_priv`), FTRC on NaN/out-of-range values, FPSCR cause/flag bits,
 * and FSCA/FSRRA (approximations: `sh4a` checks them with a tolerance).
 */
#include "platform.h"

#define FPSCR_DN (1u << 18)
#define FPSCR_PR (1u << 19)
#define FPSCR_FR (1u << 21)

/* r = FRn op FRm in single precision, with FPSCR = mode. */
#define DEF_F2(name, insn)                                                    \
	static uint32_t name(uint32_t mode, uint32_t n, uint32_t m)           \
	{                                                                     \
		uint32_t r, saved;                                            \
		__asm__ volatile("sts fpscr, %1\n\t"                          \
				 "lds %2, fpscr\n\t"                          \
				 "lds %3, fpul\n\tfsts fpul, fr4\n\t"         \
				 "lds %4, fpul\n\tfsts fpul, fr5\n\t"         \
				 insn " fr5, fr4\n\t"                         \
				 "flds fr4, fpul\n\tsts fpul, %0\n\t"         \
				 "lds %1, fpscr"                              \
				 : "=&r"(r), "=&r"(saved)                     \
				 : "r"(mode), "r"(n), "r"(m)                  \
				 : "fr4", "fr5", "fpul");                     \
		return r;                                                     \
	}

DEF_F2(f_add, "fadd")
DEF_F2(f_sub, "fsub")
DEF_F2(f_mul, "fmul")
DEF_F2(f_div, "fdiv")

/* One-operand single ops on FRn. */
#define DEF_F1(name, insn)                                                    \
	static uint32_t name(uint32_t mode, uint32_t n)                       \
	{                                                                     \
		uint32_t r, saved;                                            \
		__asm__ volatile("sts fpscr, %1\n\t"                          \
				 "lds %2, fpscr\n\t"                          \
				 "lds %3, fpul\n\tfsts fpul, fr4\n\t"         \
				 insn " fr4\n\t"                              \
				 "flds fr4, fpul\n\tsts fpul, %0\n\t"         \
				 "lds %1, fpscr"                              \
				 : "=&r"(r), "=&r"(saved)                     \
				 : "r"(mode), "r"(n)                          \
				 : "fr4", "fpul");                            \
		return r;                                                     \
	}

DEF_F1(f_sqrt, "fsqrt")
DEF_F1(f_abs, "fabs")
DEF_F1(f_neg, "fneg")

/* FCMP/EQ and FCMP/GT: T = FRn == FRm, FRn > FRm. */
static uint32_t f_cmp(uint32_t mode, uint32_t n, uint32_t m, int gt)
{
	uint32_t t, saved;
	if (gt)
		__asm__ volatile("sts fpscr, %1\n\tlds %2, fpscr\n\t"
				 "lds %3, fpul\n\tfsts fpul, fr4\n\t"
				 "lds %4, fpul\n\tfsts fpul, fr5\n\t"
				 "fcmp/gt fr5, fr4\n\tmovt %0\n\t"
				 "lds %1, fpscr"
				 : "=&r"(t), "=&r"(saved)
				 : "r"(mode), "r"(n), "r"(m)
				 : "fr4", "fr5", "fpul", "t");
	else
		__asm__ volatile("sts fpscr, %1\n\tlds %2, fpscr\n\t"
				 "lds %3, fpul\n\tfsts fpul, fr4\n\t"
				 "lds %4, fpul\n\tfsts fpul, fr5\n\t"
				 "fcmp/eq fr5, fr4\n\tmovt %0\n\t"
				 "lds %1, fpscr"
				 : "=&r"(t), "=&r"(saved)
				 : "r"(mode), "r"(n), "r"(m)
				 : "fr4", "fr5", "fpul", "t");
	return t;
}

/* FLOAT FPUL,FRn (int -> single) and FTRC FRm,FPUL (single -> int). */
static uint32_t f_float(uint32_t mode, uint32_t i)
{
	uint32_t r, saved;
	__asm__ volatile("sts fpscr, %1\n\tlds %2, fpscr\n\t"
			 "lds %3, fpul\n\tfloat fpul, fr4\n\t"
			 "flds fr4, fpul\n\tsts fpul, %0\n\t"
			 "lds %1, fpscr"
			 : "=&r"(r), "=&r"(saved)
			 : "r"(mode), "r"(i)
			 : "fr4", "fpul");
	return r;
}

static uint32_t f_trc(uint32_t mode, uint32_t f)
{
	uint32_t r, saved;
	__asm__ volatile("sts fpscr, %1\n\tlds %2, fpscr\n\t"
			 "lds %3, fpul\n\tfsts fpul, fr4\n\t"
			 "ftrc fr4, fpul\n\tsts fpul, %0\n\t"
			 "lds %1, fpscr"
			 : "=&r"(r), "=&r"(saved)
			 : "r"(mode), "r"(f)
			 : "fr4", "fpul");
	return r;
}

/* FMAC FR0,FRm,FRn: FRn = FR0 * FRm + FRn. */
static uint32_t f_mac(uint32_t mode, uint32_t a, uint32_t b, uint32_t c)
{
	uint32_t r, saved;
	__asm__ volatile("sts fpscr, %1\n\tlds %2, fpscr\n\t"
			 "lds %3, fpul\n\tfsts fpul, fr0\n\t"
			 "lds %4, fpul\n\tfsts fpul, fr5\n\t"
			 "lds %5, fpul\n\tfsts fpul, fr4\n\t"
			 "fmac fr0, fr5, fr4\n\t"
			 "flds fr4, fpul\n\tsts fpul, %0\n\t"
			 "lds %1, fpscr"
			 : "=&r"(r), "=&r"(saved)
			 : "r"(mode), "r"(a), "r"(b), "r"(c)
			 : "fr0", "fr4", "fr5", "fpul");
	return r;
}

/* ---- double precision: DRn = FR(n) (high word) : FR(n+1) (low word) ---- */

struct dbl {
	uint32_t hi, lo;
};

#define DEF_D2(name, insn)                                                    \
	static struct dbl name(uint32_t mode, struct dbl n, struct dbl m)     \
	{                                                                     \
		struct dbl r;                                                 \
		uint32_t saved;                                               \
		__asm__ volatile("sts fpscr, %2\n\t"                          \
				 "lds %3, fpscr\n\t"                          \
				 "lds %4, fpul\n\tfsts fpul, fr4\n\t"         \
				 "lds %5, fpul\n\tfsts fpul, fr5\n\t"         \
				 "lds %6, fpul\n\tfsts fpul, fr6\n\t"         \
				 "lds %7, fpul\n\tfsts fpul, fr7\n\t"         \
				 insn " dr6, dr4\n\t"                         \
				 "flds fr4, fpul\n\tsts fpul, %0\n\t"         \
				 "flds fr5, fpul\n\tsts fpul, %1\n\t"         \
				 "lds %2, fpscr"                              \
				 : "=&r"(r.hi), "=&r"(r.lo), "=&r"(saved)     \
				 : "r"(mode), "r"(n.hi), "r"(n.lo),           \
				   "r"(m.hi), "r"(m.lo)                       \
				 : "fr4", "fr5", "fr6", "fr7", "fpul");       \
		return r;                                                     \
	}

DEF_D2(d_add, "fadd")
DEF_D2(d_sub, "fsub")
DEF_D2(d_mul, "fmul")
DEF_D2(d_div, "fdiv")

/* FLDS/FSTS move one 32-bit FR register whatever FPSCR.PR says, so the
 * two halves of a DR go in and out through FPUL one at a time. */
static struct dbl d_sqrt(uint32_t mode, struct dbl n)
{
	struct dbl r;
	uint32_t saved;
	__asm__ volatile("sts fpscr, %2\n\tlds %3, fpscr\n\t"
			 "lds %4, fpul\n\tfsts fpul, fr4\n\t"
			 "lds %5, fpul\n\tfsts fpul, fr5\n\t"
			 "fsqrt dr4\n\t"
			 "flds fr4, fpul\n\tsts fpul, %0\n\t"
			 "flds fr5, fpul\n\tsts fpul, %1\n\t"
			 "lds %2, fpscr"
			 : "=&r"(r.hi), "=&r"(r.lo), "=&r"(saved)
			 : "r"(mode), "r"(n.hi), "r"(n.lo)
			 : "fr4", "fr5", "fpul");
	return r;
}

static uint32_t d_cmp(uint32_t mode, struct dbl n, struct dbl m, int gt)
{
	uint32_t t, saved;
	if (gt)
		__asm__ volatile("sts fpscr, %1\n\tlds %2, fpscr\n\t"
				 "lds %3, fpul\n\tfsts fpul, fr4\n\t"
				 "lds %4, fpul\n\tfsts fpul, fr5\n\t"
				 "lds %5, fpul\n\tfsts fpul, fr6\n\t"
				 "lds %6, fpul\n\tfsts fpul, fr7\n\t"
				 "fcmp/gt dr6, dr4\n\tmovt %0\n\t"
				 "lds %1, fpscr"
				 : "=&r"(t), "=&r"(saved)
				 : "r"(mode), "r"(n.hi), "r"(n.lo), "r"(m.hi), "r"(m.lo)
				 : "fr4", "fr5", "fr6", "fr7", "fpul", "t");
	else
		__asm__ volatile("sts fpscr, %1\n\tlds %2, fpscr\n\t"
				 "lds %3, fpul\n\tfsts fpul, fr4\n\t"
				 "lds %4, fpul\n\tfsts fpul, fr5\n\t"
				 "lds %5, fpul\n\tfsts fpul, fr6\n\t"
				 "lds %6, fpul\n\tfsts fpul, fr7\n\t"
				 "fcmp/eq dr6, dr4\n\tmovt %0\n\t"
				 "lds %1, fpscr"
				 : "=&r"(t), "=&r"(saved)
				 : "r"(mode), "r"(n.hi), "r"(n.lo), "r"(m.hi), "r"(m.lo)
				 : "fr4", "fr5", "fr6", "fr7", "fpul", "t");
	return t;
}

static struct dbl d_float(uint32_t mode, uint32_t i)
{
	struct dbl r;
	uint32_t saved;
	__asm__ volatile("sts fpscr, %2\n\tlds %3, fpscr\n\t"
			 "lds %4, fpul\n\tfloat fpul, dr4\n\t"
			 "flds fr4, fpul\n\tsts fpul, %0\n\t"
			 "flds fr5, fpul\n\tsts fpul, %1\n\t"
			 "lds %2, fpscr"
			 : "=&r"(r.hi), "=&r"(r.lo), "=&r"(saved)
			 : "r"(mode), "r"(i)
			 : "fr4", "fr5", "fpul");
	return r;
}

static uint32_t d_trc(uint32_t mode, struct dbl n)
{
	uint32_t r, saved;
	__asm__ volatile("sts fpscr, %1\n\tlds %2, fpscr\n\t"
			 "lds %3, fpul\n\tfsts fpul, fr4\n\t"
			 "lds %4, fpul\n\tfsts fpul, fr5\n\t"
			 "ftrc dr4, fpul\n\tsts fpul, %0\n\t"
			 "lds %1, fpscr"
			 : "=&r"(r), "=&r"(saved)
			 : "r"(mode), "r"(n.hi), "r"(n.lo)
			 : "fr4", "fr5", "fpul");
	return r;
}

/* FCNVSD FPUL,DRn (single -> double) and FCNVDS DRm,FPUL. PR=1. */
static struct dbl d_cnvsd(uint32_t mode, uint32_t f)
{
	struct dbl r;
	uint32_t saved;
	__asm__ volatile("sts fpscr, %2\n\tlds %3, fpscr\n\t"
			 "lds %4, fpul\n\tfcnvsd fpul, dr4\n\t"
			 "flds fr4, fpul\n\tsts fpul, %0\n\t"
			 "flds fr5, fpul\n\tsts fpul, %1\n\t"
			 "lds %2, fpscr"
			 : "=&r"(r.hi), "=&r"(r.lo), "=&r"(saved)
			 : "r"(mode), "r"(f)
			 : "fr4", "fr5", "fpul");
	return r;
}

static uint32_t d_cnvds(uint32_t mode, struct dbl n)
{
	uint32_t r, saved;
	__asm__ volatile("sts fpscr, %1\n\tlds %2, fpscr\n\t"
			 "lds %3, fpul\n\tfsts fpul, fr4\n\t"
			 "lds %4, fpul\n\tfsts fpul, fr5\n\t"
			 "fcnvds dr4, fpul\n\tsts fpul, %0\n\t"
			 "lds %1, fpscr"
			 : "=&r"(r), "=&r"(saved)
			 : "r"(mode), "r"(n.hi), "r"(n.lo)
			 : "fr4", "fr5", "fpul");
	return r;
}

/* FSCHG: with SZ=1 an FMOV moves a register pair (DRn) as 64 bits. */
static void fschg(void)
{
	uint32_t in[2] = {0x11111111, 0x22222222}, out[2] = {0, 0};
	uint32_t saved, a, b;
	uint32_t *ip = in, *op = out;
	__asm__ volatile("sts fpscr, %0\n\t"
			 "lds %5, fpscr\n\t"
			 "fschg\n\t"
			 "fmov @%3, dr2\n\t"
			 "fmov dr2, @%4\n\t"
			 "fschg\n\t"
			 "flds fr2, fpul\n\tsts fpul, %1\n\t"
			 "flds fr3, fpul\n\tsts fpul, %2\n\t"
			 "lds %0, fpscr"
			 : "=&r"(saved), "=&r"(a), "=&r"(b), "+r"(ip), "+r"(op)
			 : "r"(FPSCR_DN)
			 : "fr2", "fr3", "fpul", "memory");
	plat_printf("fschg fmov pair: fr2 %08x fr3 %08x copy %08x %08x\n", a, b,
		    out[0], out[1]);
}

static void fldi(void)
{
	uint32_t z, o, saved;
	__asm__ volatile("sts fpscr, %2\n\tlds %3, fpscr\n\t"
			 "fldi0 fr4\n\tfldi1 fr5\n\t"
			 "flds fr4, fpul\n\tsts fpul, %0\n\t"
			 "flds fr5, fpul\n\tsts fpul, %1\n\t"
			 "lds %2, fpscr"
			 : "=&r"(z), "=&r"(o), "=&r"(saved)
			 : "r"(FPSCR_DN)
			 : "fr4", "fr5", "fpul");
	plat_printf("fldi0 %08x fldi1 %08x\n", z, o);
}

/* Ordinary values: normal numbers, zeros, infinities (no NaN, no
 * denormal: see the header). */
static const uint32_t svals[] = {
	0x00000000, /* 0 */
	0x80000000, /* -0 */
	0x3f800000, /* 1 */
	0xc0200000, /* -2.5 */
	0x40400000, /* 3 */
	0x3dcccccd, /* 0.1 */
	0x4b7fffff, /* 16777215 */
	0x7f7fffff, /* max float */
	0x00800000, /* min normal */
	0x7f800000, /* +inf */
};

static const struct dbl dvals[] = {
	{0x00000000, 0x00000000}, /* 0 */
	{0x3ff00000, 0x00000000}, /* 1 */
	{0xc0040000, 0x00000000}, /* -2.5 */
	{0x40080000, 0x00000000}, /* 3 */
	{0x3fb99999, 0x9999999a}, /* 0.1 */
	{0x41dfffff, 0xffc00000}, /* 2147483647 */
	{0x7fefffff, 0xffffffff}, /* max double */
	{0x7ff00000, 0x00000000}, /* +inf */
};

static const uint32_t ivals[] = {
	0, 1, 0xffffffff, 16777217, 0x7fffffff, 0x80000000, 123456789,
	0xfffe0001,
};

/* In-range values for FTRC (out-of-range and NaN are implementation
 * details the references disagree on). */
static const uint32_t trc_vals[] = {
	0x00000000, 0x3f800000, 0xbfc00000, 0x40490fdb, 0xc2f6e979,
	0x4effffff, 0xcf000000, 0x3effffff,
};

int main(void)
{
	static const uint32_t modes[] = {FPSCR_DN, FPSCR_DN | 1}; /* RM=0, RM=1 */
	plat_printf("fpu start\n");
	fldi();
	fschg();

	for (unsigned mi = 0; mi < 2; mi++) {
		uint32_t mode = modes[mi];
		plat_printf("single mode %08x\n", mode);
		for (unsigned i = 0; i < ARRAY_SIZE(svals); i++)
			for (unsigned j = 0; j < ARRAY_SIZE(svals); j++) {
				uint32_t a = svals[i], b = svals[j];
				plat_printf("s %08x %08x: add %08x sub %08x mul %08x div %08x eq %u gt %u\n",
					    a, b, f_add(mode, a, b), f_sub(mode, a, b),
					    f_mul(mode, a, b), f_div(mode, a, b),
					    f_cmp(mode, a, b, 0), f_cmp(mode, a, b, 1));
			}
		for (unsigned i = 0; i < ARRAY_SIZE(svals); i++) {
			uint32_t a = svals[i];
			/* sqrt of negatives is NaN: left out (see header) */
			uint32_t sq = (a & 0x80000000) && a != 0x80000000 ? 0 : f_sqrt(mode, a);
			plat_printf("s1 %08x: sqrt %08x abs %08x neg %08x mac(a,3,0.1) %08x\n",
				    a, sq, f_abs(mode, a), f_neg(mode, a),
				    f_mac(mode, a, 0x40400000, 0x3dcccccd));
		}
		for (unsigned i = 0; i < ARRAY_SIZE(ivals); i++)
			plat_printf("float %08x -> %08x\n", ivals[i],
				    f_float(mode, ivals[i]));
		for (unsigned i = 0; i < ARRAY_SIZE(trc_vals); i++)
			plat_printf("ftrc %08x -> %08x\n", trc_vals[i],
				    f_trc(mode, trc_vals[i]));

		uint32_t dmode = mode | FPSCR_PR;
		plat_printf("double mode %08x\n", dmode);
		for (unsigned i = 0; i < ARRAY_SIZE(dvals); i++)
			for (unsigned j = 0; j < ARRAY_SIZE(dvals); j++) {
				struct dbl a = dvals[i], b = dvals[j];
				struct dbl s = d_add(dmode, a, b), d = d_sub(dmode, a, b);
				struct dbl m = d_mul(dmode, a, b), q = d_div(dmode, a, b);
				plat_printf("d %08x%08x %08x%08x: add %08x%08x sub %08x%08x mul %08x%08x div %08x%08x eq %u gt %u\n",
					    a.hi, a.lo, b.hi, b.lo, s.hi, s.lo, d.hi, d.lo,
					    m.hi, m.lo, q.hi, q.lo, d_cmp(dmode, a, b, 0),
					    d_cmp(dmode, a, b, 1));
			}
		for (unsigned i = 0; i < ARRAY_SIZE(dvals); i++) {
			struct dbl a = dvals[i], sq = d_sqrt(dmode, a);
			plat_printf("d1 %08x%08x: sqrt %08x%08x cnvds %08x\n", a.hi,
				    a.lo, sq.hi, sq.lo, d_cnvds(dmode, a));
		}
		for (unsigned i = 0; i < ARRAY_SIZE(ivals); i++) {
			struct dbl f = d_float(dmode, ivals[i]);
			plat_printf("dfloat %08x -> %08x%08x\n", ivals[i], f.hi, f.lo);
		}
		for (unsigned i = 0; i < ARRAY_SIZE(trc_vals); i++) {
			struct dbl d = d_cnvsd(dmode, trc_vals[i]);
			plat_printf("cnvsd %08x -> %08x%08x dftrc %08x\n", trc_vals[i],
				    d.hi, d.lo, d_trc(dmode, d));
		}
	}
	plat_printf("fpu end\n");
	return 0;
}
