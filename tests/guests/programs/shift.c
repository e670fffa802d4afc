/*
 * Differential: shifts, rotates, extensions, SWAP and XTRCT.
 *
 * SHAD/SHLD with every shift count from -33 to 33 plus large and
 * "negative 32" counts (only the sign and the low 5 bits matter), the
 * fixed shifts SHLL/SHLR/SHAL/SHAR (T out) and SHLLn/SHLRn, the rotates
 * ROTL/ROTR/ROTCL/ROTCR with T in and out, EXTS/EXTU .B/.W, SWAP.B/.W,
 * XTRCT.
 *
 * The T output of ROTL/ROTR is not printed: qemu 7.2 always clears T
 * there (translate.c does `andi T, Rn, 0`); GXemul follows the manual
 * (T = the bit rotated round). `selfcheck` checks it against the manual.
 */
#include "diff.h"

DEF_OP1T(op_shll, "shll")
DEF_OP1T(op_shlr, "shlr")
DEF_OP1T(op_shal, "shal")
DEF_OP1T(op_shar, "shar")
DEF_OP1T(op_rotl, "rotl")
DEF_OP1T(op_rotr, "rotr")
DEF_OP1T(op_rotcl, "rotcl")
DEF_OP1T(op_rotcr, "rotcr")
DEF_OP1T(op_shll2, "shll2")
DEF_OP1T(op_shll8, "shll8")
DEF_OP1T(op_shll16, "shll16")
DEF_OP1T(op_shlr2, "shlr2")
DEF_OP1T(op_shlr8, "shlr8")
DEF_OP1T(op_shlr16, "shlr16")
DEF_MOV2(op_extsb, "exts.b")
DEF_MOV2(op_extsw, "exts.w")
DEF_MOV2(op_extub, "extu.b")
DEF_MOV2(op_extuw, "extu.w")
DEF_MOV2(op_swapb, "swap.b")
DEF_MOV2(op_swapw, "swap.w")
DEF_MOV2(op_not, "not")

static uint32_t shad(uint32_t n, uint32_t m)
{
	__asm__("shad %1, %0" : "+r"(n) : "r"(m));
	return n;
}

static uint32_t shld(uint32_t n, uint32_t m)
{
	__asm__("shld %1, %0" : "+r"(n) : "r"(m));
	return n;
}

static uint32_t xtrct(uint32_t n, uint32_t m)
{
	__asm__("xtrct %1, %0" : "+r"(n) : "r"(m));
	return n;
}

struct op1 {
	const char *name;
	uint32_t (*fn)(uint32_t, uint32_t *);
	int print_t; /* 0: see the note on ROTL/ROTR above */
};

static const struct op1 ops1[] = {
	{"shll", op_shll, 1},     {"shlr", op_shlr, 1},     {"shal", op_shal, 1},
	{"shar", op_shar, 1},     {"rotl", op_rotl, 0},     {"rotr", op_rotr, 0},
	{"rotcl", op_rotcl, 1},   {"rotcr", op_rotcr, 1},   {"shll2", op_shll2, 1},
	{"shll8", op_shll8, 1},   {"shll16", op_shll16, 1}, {"shlr2", op_shlr2, 1},
	{"shlr8", op_shlr8, 1},   {"shlr16", op_shlr16, 1},
};

static const uint32_t shift_vals[] = {
	0x00000001, 0x80000000, 0x12345678, 0x87654321, 0xffffffff, 0x7ffffffe,
};

/* Counts beyond -33..33: sign and low five bits select the shift. */
static const uint32_t odd_counts[] = {
	0x00000040, 0x00000041, 0x0000003f, 0x7fffffff, 0x80000000,
	0x80000001, 0xffffffc0, 0xffffffdf, 0xffffffe0, 0xffffffe1,
	0x12345678, 0xedcba987,
};

int main(void)
{
	plat_printf("shift start\n");

	for (unsigned o = 0; o < ARRAY_SIZE(ops1); o++)
		for (unsigned i = 0; i < ARRAY_SIZE(vals_a); i++) {
			uint32_t v = vals_a[i], t0 = 0, t1 = 1;
			uint32_t r0 = ops1[o].fn(v, &t0);
			uint32_t r1 = ops1[o].fn(v, &t1);
			if (ops1[o].print_t)
				plat_printf("%s %08x: t=0 -> %08x t=%u; t=1 -> %08x t=%u\n",
					    ops1[o].name, v, r0, t0, r1, t1);
			else
				plat_printf("%s %08x: t=0 -> %08x; t=1 -> %08x\n",
					    ops1[o].name, v, r0, r1);
		}

	/* SHAD and SHLD, eight counts per line. */
	for (unsigned i = 0; i < ARRAY_SIZE(shift_vals); i++) {
		uint32_t v = shift_vals[i];
		for (int base = -33; base <= 33; base += 8) {
			plat_printf("shad %08x n=%d..:", v, base);
			for (int c = base; c < base + 8 && c <= 33; c++)
				plat_printf(" %08x", shad(v, (uint32_t)c));
			plat_printf("\nshld %08x n=%d..:", v, base);
			for (int c = base; c < base + 8 && c <= 33; c++)
				plat_printf(" %08x", shld(v, (uint32_t)c));
			plat_printf("\n");
		}
		for (unsigned c = 0; c < ARRAY_SIZE(odd_counts); c++)
			plat_printf("shad/shld %08x n=%08x -> %08x %08x\n", v,
				    odd_counts[c], shad(v, odd_counts[c]),
				    shld(v, odd_counts[c]));
	}

	for (unsigned i = 0; i < ARRAY_SIZE(vals_a); i++) {
		uint32_t v = vals_a[i];
		plat_printf("ext %08x: exts.b %08x exts.w %08x extu.b %08x extu.w %08x\n",
			    v, op_extsb(v), op_extsw(v), op_extub(v), op_extuw(v));
		plat_printf("swap %08x: swap.b %08x swap.w %08x not %08x\n", v,
			    op_swapb(v), op_swapw(v), op_not(v));
	}

	for (unsigned i = 0; i < ARRAY_SIZE(vals_b); i++)
		for (unsigned j = 0; j < ARRAY_SIZE(vals_b); j++)
			plat_printf("xtrct n=%08x m=%08x -> %08x\n", vals_b[i],
				    vals_b[j], xtrct(vals_b[i], vals_b[j]));

	plat_printf("shift end\n");
	return 0;
}
