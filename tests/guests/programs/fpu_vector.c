/*
 * Differential (GXemul and rp1 only): the FPU's vector and approximate
 * instructions, all defined for FPSCR.PR=0 only.
 *
 * FIPR FVm,FVn (4-element dot product into the last element of FVn) and
 * FTRV XMTRX,FVn (4x4 matrix in the back bank, loaded after FRCHG, times
 * a vector) on small integers, so every result is exact whatever the
 * internal precision; FSCA (sine and cosine of FPUL * 2pi/65536) and FSRRA (1/sqrt), which
 * the SH-4A computes approximately: those are compared with libm values
 * within 2^-20 and only "ok"/"FAIL" is printed.
 *
 * Not on qemu: qemu 7.2 accepts FIPR/FTRV/FSCA/FSRRA only with PR=1
 * (its PR check is inverted) and raises an illegal instruction with
 * PR=0. FSCA and FSRRA are SH-4A instructions that GXemul happens to
 * implement; the SH-4 assembler does not know them, hence .word.
 */
#include "platform.h"

#define FSCA_FPUL_DR4 ".word 0xf4fd" /* 1111 nnn0 1111 1101, DR4: nnn=2 */
#define FSRRA_FR4     ".word 0xf47d" /* 1111 nnnn 0111 1101, FR4 */

#define MODE_SINGLE 0x00040000u /* DN=1, PR=0, SZ=0, FR=0, RM=nearest */

static uint32_t vec_a[4] = {0x3f800000, 0x40000000, 0x40400000, 0x40800000}; /* 1 2 3 4 */
static uint32_t vec_b[4] = {0x3f000000, 0xbf800000, 0x41200000, 0x3e800000}; /* .5 -1 10 .25 */
/* XMTRX as FTRV reads it: XF0..XF15 column by column. */
static uint32_t mtrx[16] = {
	0x3f800000, 0x00000000, 0x00000000, 0x00000000, /* column 0: 1 0 0 0 */
	0x40000000, 0x3f800000, 0x00000000, 0x00000000, /* column 1: 2 1 0 0 */
	0x00000000, 0x40400000, 0x3f800000, 0x00000000, /* column 2: 0 3 1 0 */
	0x3f000000, 0x00000000, 0xbf800000, 0x3f800000, /* column 3: .5 0 -1 1 */
};

static void fipr(void)
{
	uint32_t ip, saved;
	uint32_t *ap = vec_a, *bp = vec_b;
	/* FIPR FV0,FV4: FR7 = FV0 . FV4 (FV4 = FR4..FR7). */
	__asm__ volatile("sts fpscr, %1\n\tlds %4, fpscr\n\t"
			 "fmov.s @%2+, fr0\n\tfmov.s @%2+, fr1\n\t"
			 "fmov.s @%2+, fr2\n\tfmov.s @%2+, fr3\n\t"
			 "fmov.s @%3+, fr4\n\tfmov.s @%3+, fr5\n\t"
			 "fmov.s @%3+, fr6\n\tfmov.s @%3+, fr7\n\t"
			 "fipr fv0, fv4\n\t"
			 "flds fr7, fpul\n\tsts fpul, %0\n\t"
			 "lds %1, fpscr"
			 : "=&r"(ip), "=&r"(saved), "+r"(ap), "+r"(bp)
			 : "r"(MODE_SINGLE)
			 : "fr0", "fr1", "fr2", "fr3", "fr4", "fr5", "fr6", "fr7",
			   "fpul", "memory");
	/* 1*.5 + 2*-1 + 3*10 + 4*.25 = 29.5 */
	plat_printf("fipr -> %08x\n", ip);
}

static void ftrv(void)
{
	uint32_t saved, out[4];
	uint32_t *mp = mtrx, *vp = vec_a, *op = out;
	__asm__ volatile("sts fpscr, %0\n\t"
			 "lds %4, fpscr\n\t"
			 "frchg\n\t" /* FR=1: the FR names now reach XF */
			 "fmov.s @%1+, fr0\n\tfmov.s @%1+, fr1\n\t"
			 "fmov.s @%1+, fr2\n\tfmov.s @%1+, fr3\n\t"
			 "fmov.s @%1+, fr4\n\tfmov.s @%1+, fr5\n\t"
			 "fmov.s @%1+, fr6\n\tfmov.s @%1+, fr7\n\t"
			 "fmov.s @%1+, fr8\n\tfmov.s @%1+, fr9\n\t"
			 "fmov.s @%1+, fr10\n\tfmov.s @%1+, fr11\n\t"
			 "fmov.s @%1+, fr12\n\tfmov.s @%1+, fr13\n\t"
			 "fmov.s @%1+, fr14\n\tfmov.s @%1+, fr15\n\t"
			 "frchg\n\t"
			 "fmov.s @%2+, fr8\n\tfmov.s @%2+, fr9\n\t"
			 "fmov.s @%2+, fr10\n\tfmov.s @%2+, fr11\n\t"
			 "ftrv xmtrx, fv8\n\t"
			 "add #16, %3\n\t"
			 "fmov.s fr11, @-%3\n\tfmov.s fr10, @-%3\n\t"
			 "fmov.s fr9, @-%3\n\tfmov.s fr8, @-%3\n\t"
			 "lds %0, fpscr"
			 : "=&r"(saved), "+r"(mp), "+r"(vp), "+r"(op)
			 : "r"(MODE_SINGLE)
			 : "fr0", "fr1", "fr2", "fr3", "fr4", "fr5", "fr6", "fr7",
			   "fr8", "fr9", "fr10", "fr11", "fr12", "fr13", "fr14",
			   "fr15", "memory");
	/* rows: (1,2,0,.5) (0,1,3,0) (0,0,1,-1) (0,0,0,1) times (1,2,3,4) */
	plat_printf("ftrv -> %08x %08x %08x %08x\n", out[0], out[1], out[2],
		    out[3]);
}

/* |a - b| > tol, single precision, on the FPU. */
static int differs(uint32_t a, uint32_t b, uint32_t tol)
{
	uint32_t t, saved;
	__asm__ volatile("sts fpscr, %1\n\t"
			 "lds %2, fpscr\n\t"
			 "lds %3, fpul\n\tfsts fpul, fr4\n\t"
			 "lds %4, fpul\n\tfsts fpul, fr5\n\t"
			 "lds %5, fpul\n\tfsts fpul, fr6\n\t"
			 "fsub fr5, fr4\n\t"
			 "fabs fr4\n\t"
			 "fcmp/gt fr6, fr4\n\t"
			 "movt %0\n\t"
			 "lds %1, fpscr"
			 : "=&r"(t), "=&r"(saved)
			 : "r"(MODE_SINGLE), "r"(a), "r"(b), "r"(tol)
			 : "fr4", "fr5", "fr6", "fpul", "t");
	return t;
}

/* Angle (FPUL; 2^16 is one turn, upper bits ignored) -> sin, cos, from
 * libm on the host, rounded to single. */
static const uint32_t fsca_cases[][3] = {
	{0x00000, 0x00000000, 0x3f800000}, /* 0 */
	{0x01000, 0x3ec3ef15, 0x3f6c835e}, /* pi/8 */
	{0x02000, 0x3f3504f3, 0x3f3504f3}, /* pi/4 */
	{0x04000, 0x3f800000, 0x248d3132}, /* pi/2 */
	{0x06000, 0x3f3504f3, 0xbf3504f3}, /* 3pi/4 */
	{0x08000, 0x250d3132, 0xbf800000}, /* pi */
	{0x0c000, 0xbf800000, 0xa553c9ca}, /* 3pi/2 */
	{0x01234, 0x3edd3684, 0x3f66df6a},
	{0x0fedc, 0xbce54e6a, 0x3f7fe652},
	{0x12345, 0x3f42f287, 0x3f25ed1f}, /* same as 0x2345 */
};

/* x -> 1/sqrt(x), from the host. */
static const uint32_t fsrra_cases[][2] = {
	{0x3f800000, 0x3f800000}, /* 1 */
	{0x40800000, 0x3f000000}, /* 4 */
	{0x40000000, 0x3f3504f3}, /* 2 */
	{0x3e800000, 0x40000000}, /* 0.25 */
	{0x42c80000, 0x3dcccccd}, /* 100 */
	{0x40400000, 0x3f13cd3a}, /* 3 */
	{0x2edbe6ff, 0x47c35000}, /* 1e-10 */
	{0x47800000, 0x3b800000}, /* 65536 */
};

static void approx(void)
{
	const uint32_t abs_tol = 0x35800000; /* 2^-20 */
	for (unsigned i = 0; i < ARRAY_SIZE(fsca_cases); i++) {
		uint32_t s, c, saved;
		__asm__ volatile("sts fpscr, %2\n\t"
				 "lds %3, fpscr\n\t"
				 "lds %4, fpul\n\t"
				 FSCA_FPUL_DR4 "\n\t"
				 "flds fr4, fpul\n\tsts fpul, %0\n\t"
				 "flds fr5, fpul\n\tsts fpul, %1\n\t"
				 "lds %2, fpscr"
				 : "=&r"(s), "=&r"(c), "=&r"(saved)
				 : "r"(MODE_SINGLE), "r"(fsca_cases[i][0])
				 : "fr4", "fr5", "fpul");
		if (differs(s, fsca_cases[i][1], abs_tol) ||
		    differs(c, fsca_cases[i][2], abs_tol))
			plat_printf("FAIL fsca %05x got=%08x,%08x want=%08x,%08x\n",
				    fsca_cases[i][0], s, c, fsca_cases[i][1],
				    fsca_cases[i][2]);
		else
			plat_printf("ok fsca %05x\n", fsca_cases[i][0]);
	}
	for (unsigned i = 0; i < ARRAY_SIZE(fsrra_cases); i++) {
		uint32_t r, saved, want = fsrra_cases[i][1];
		__asm__ volatile("sts fpscr, %1\n\t"
				 "lds %2, fpscr\n\t"
				 "lds %3, fpul\n\tfsts fpul, fr4\n\t"
				 FSRRA_FR4 "\n\t"
				 "flds fr4, fpul\n\tsts fpul, %0\n\t"
				 "lds %1, fpscr"
				 : "=&r"(r), "=&r"(saved)
				 : "r"(MODE_SINGLE), "r"(fsrra_cases[i][0])
				 : "fr4", "fpul");
		/* relative tolerance 2^-20: want's exponent minus 20 */
		uint32_t rel_tol = (want & 0x7f800000) - (20u << 23);
		if (differs(r, want, rel_tol))
			plat_printf("FAIL fsrra %08x got=%08x want=%08x\n",
				    fsrra_cases[i][0], r, want);
		else
			plat_printf("ok fsrra %08x\n", fsrra_cases[i][0]);
	}
}

int main(void)
{
	plat_printf("fpu_vector start\n");
	fipr();
	ftrv();
	approx();
	plat_printf("fpu_vector end\n");
	return 0;
}
