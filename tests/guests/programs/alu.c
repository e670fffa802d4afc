/*
 * Differential: integer add/subtract family and compares.
 *
 * ADD, ADDC, SUB, SUBC, NEG, NEGC with both T inputs where T is an
 * input, the CMP/xx family (T out), TST, DT, ADD #imm and MOV #imm sign
 * extension. Every ordered pair of vals_b is run.
 *
 * ADDV and SUBV are not here: GXemul 0.7 does not implement them and
 * qemu 7.2 gets them wrong (ADDV writes Rm, SUBV's T is wrong), so they
 * live in the self-checking program `overflow` instead.
 */
#include "diff.h"

DEF_OP2T(op_add, "add")
DEF_OP2T(op_addc, "addc")
DEF_OP2T(op_sub, "sub")
DEF_OP2T(op_subc, "subc")
DEF_OP2T(op_negc, "negc")
DEF_OP2T(op_cmpeq, "cmp/eq")
DEF_OP2T(op_cmphs, "cmp/hs")
DEF_OP2T(op_cmpge, "cmp/ge")
DEF_OP2T(op_cmphi, "cmp/hi")
DEF_OP2T(op_cmpgt, "cmp/gt")
DEF_OP2T(op_tst, "tst")
DEF_OP1T(op_cmppz, "cmp/pz")
DEF_OP1T(op_cmppl, "cmp/pl")
DEF_OP1T(op_dt, "dt")
DEF_MOV2(op_neg, "neg")

struct op2 {
	const char *name;
	uint32_t (*fn)(uint32_t, uint32_t, uint32_t *);
	int uses_t; /* run with T=0 and T=1 */
};

static const struct op2 ops2[] = {
	{"add", op_add, 0},       {"addc", op_addc, 1},
	{"sub", op_sub, 0},       {"subc", op_subc, 1},
	{"negc", op_negc, 1},     {"cmp/eq", op_cmpeq, 0},  {"cmp/hs", op_cmphs, 0},
	{"cmp/ge", op_cmpge, 0},  {"cmp/hi", op_cmphi, 0},  {"cmp/gt", op_cmpgt, 0},
	{"tst", op_tst, 0},
};

/* ADD #imm, Rn: the 8-bit immediate is sign-extended. */
static uint32_t add_imm_set(uint32_t n, int which)
{
	switch (which) {
	case 0: __asm__("add #127, %0" : "+r"(n)); break;
	case 1: __asm__("add #-128, %0" : "+r"(n)); break;
	case 2: __asm__("add #-1, %0" : "+r"(n)); break;
	default: __asm__("add #1, %0" : "+r"(n)); break;
	}
	return n;
}

static void mov_imm(void)
{
	uint32_t a, b, c, d;
	__asm__("mov #127, %0\n\tmov #-128, %1\n\tmov #-1, %2\n\tmov #0x55, %3"
		: "=&r"(a), "=&r"(b), "=&r"(c), "=&r"(d));
	plat_printf("mov#imm %08x %08x %08x %08x\n", a, b, c, d);
}

int main(void)
{
	plat_printf("alu start\n");

	for (unsigned o = 0; o < ARRAY_SIZE(ops2); o++) {
		for (unsigned i = 0; i < ARRAY_SIZE(vals_b); i++) {
			for (unsigned j = 0; j < ARRAY_SIZE(vals_b); j++) {
				uint32_t n = vals_b[i], m = vals_b[j];
				for (uint32_t tin = 0; tin <= (uint32_t)ops2[o].uses_t; tin++) {
					/* Where T is not an input, feed T=1 anyway:
					 * the instruction must ignore it. */
					uint32_t t = ops2[o].uses_t ? tin : 1;
					uint32_t r = ops2[o].fn(n, m, &t);
					plat_printf("%s n=%08x m=%08x t=%u -> %08x t=%u\n",
						    ops2[o].name, n, m,
						    ops2[o].uses_t ? tin : 1, r, t);
				}
			}
		}
	}

	for (unsigned i = 0; i < ARRAY_SIZE(vals_a); i++) {
		uint32_t v = vals_a[i], t;
		t = 0;
		uint32_t pz = op_cmppz(v, &t);
		uint32_t tpz = t;
		t = 0;
		op_cmppl(v, &t);
		uint32_t tpl = t;
		t = 1;
		uint32_t dt = op_dt(v, &t);
		plat_printf("unary %08x: cmp/pz t=%u cmp/pl t=%u dt -> %08x t=%u neg -> %08x",
			    v, tpz, tpl, dt, t, op_neg(v));
		plat_printf(" add#127 %08x add#-128 %08x add#-1 %08x add#1 %08x\n",
			    add_imm_set(v, 0), add_imm_set(v, 1), add_imm_set(v, 2),
			    add_imm_set(v, 3));
		(void)pz;
	}

	/* CMP/EQ #imm, R0 (sign-extended immediate). */
	for (unsigned i = 0; i < ARRAY_SIZE(vals_a); i++) {
		uint32_t v = vals_a[i], t1, t2;
		__asm__("mov %2, r0\n\tcmp/eq #-1, r0\n\tmovt %0\n\t"
			"cmp/eq #127, r0\n\tmovt %1"
			: "=&r"(t1), "=&r"(t2)
			: "r"(v)
			: "r0", "t");
		plat_printf("cmp/eq#imm %08x: #-1 t=%u #127 t=%u\n", v, t1, t2);
	}

	mov_imm();

	/* A 64-bit add and subtract chained through T, as compilers emit. */
	for (unsigned i = 0; i < ARRAY_SIZE(vals_b); i++) {
		uint32_t lo = vals_b[i], hi = ~vals_b[i];
		uint32_t lo2 = 0x80000001, hi2 = 0x7fffffff;
		__asm__("clrt\n\taddc %2, %0\n\taddc %3, %1"
			: "+&r"(lo), "+&r"(hi)
			: "r"(lo2), "r"(hi2)
			: "t");
		uint32_t slo = lo, shi = hi;
		__asm__("clrt\n\tsubc %2, %0\n\tsubc %3, %1"
			: "+&r"(slo), "+&r"(shi)
			: "r"(lo2), "r"(hi2)
			: "t");
		plat_printf("add64 %08x%08x sub64 %08x%08x\n", hi, lo, shi, slo);
	}

	plat_printf("alu end\n");
	return 0;
}
