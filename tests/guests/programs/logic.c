/*
 * Differential: logic, T-bit and GBR-relative instructions.
 *
 * AND/OR/XOR/NOT/TST register forms and the #imm forms on R0 (zero-
 * extended immediate), CMP/STR (any equal byte), SETT/CLRT/MOVT, and the
 * GBR-relative group: LDC/STC GBR, MOV.B/W/L @(disp,GBR) loads and stores,
 * AND.B/OR.B/XOR.B #imm,@(R0,GBR) read-modify-write.
 *
 * TST.B #imm,@(R0,GBR) is in `mac` (GXemul 0.7 does not implement it).
 */
#include "diff.h"

DEF_OP2T(op_and, "and")
DEF_OP2T(op_or, "or")
DEF_OP2T(op_xor, "xor")
DEF_OP2T(op_cmpstr, "cmp/str")

/* The #imm forms work on R0 only. */
static void imm_ops(uint32_t v)
{
	uint32_t a, o, x, t1, t2;
	__asm__("mov %5, r0\n\tand #0xa5, r0\n\tmov r0, %0\n\t"
		"mov %5, r0\n\tor #0xa5, r0\n\tmov r0, %1\n\t"
		"mov %5, r0\n\txor #0xff, r0\n\tmov r0, %2\n\t"
		"mov %5, r0\n\ttst #0x80, r0\n\tmovt %3\n\t"
		"tst #0x01, r0\n\tmovt %4"
		: "=&r"(a), "=&r"(o), "=&r"(x), "=&r"(t1), "=&r"(t2)
		: "r"(v)
		: "r0", "t");
	plat_printf("imm %08x: and#a5 %08x or#a5 %08x xor#ff %08x tst#80 t=%u tst#01 t=%u\n",
		    v, a, o, x, t1, t2);
}

static void t_ops(void)
{
	uint32_t a, b, c;
	__asm__("sett\n\tmovt %0\n\tclrt\n\tmovt %1\n\tsett\n\tmovt %2"
		: "=&r"(a), "=&r"(b), "=&r"(c)
		:
		: "t");
	plat_printf("sett/clrt/movt -> %u %u %u\n", a, b, c);
}

/* A GBR-addressed block, big enough for the largest displacements
 * (byte 255, word 2*255, long 4*255); printed as values only. */
static union {
	uint8_t b[1024];
	uint16_t w[512];
	uint32_t l[256];
} gbuf;

static void fill(void)
{
	for (unsigned i = 0; i < sizeof(gbuf.b); i++)
		gbuf.b[i] = (uint8_t)(0x81 + 7 * i);
}

static void dump(const char *what)
{
	plat_printf("%s:", what);
	for (unsigned i = 0; i < 8; i++)
		plat_printf(" %08x", gbuf.l[i]);
	plat_printf(" .. %08x %08x\n", gbuf.l[127], gbuf.l[255]);
}

static void gbr_ops(void)
{
	uint32_t saved, readback, lb0, lb1, lw0, lw1, ll0, ll1;
	fill();
	dump("gbr initial");
	/* Loads: byte and word sign-extend; displacements are scaled. */
	__asm__ volatile("stc gbr, %0\n\t"
			 "ldc %8, gbr\n\t"
			 "stc gbr, %1\n\t"
			 "mov.b @(0, gbr), r0\n\tmov r0, %2\n\t"
			 "mov.b @(255, gbr), r0\n\tmov r0, %3\n\t"
			 "mov.w @(2, gbr), r0\n\tmov r0, %4\n\t"
			 "mov.w @(510, gbr), r0\n\tmov r0, %5\n\t"
			 "mov.l @(4, gbr), r0\n\tmov r0, %6\n\t"
			 "mov.l @(1020, gbr), r0\n\tmov r0, %7\n\t"
			 "ldc %0, gbr"
			 : "=&r"(saved), "=&r"(readback), "=&r"(lb0), "=&r"(lb1),
			   "=&r"(lw0), "=&r"(lw1), "=&r"(ll0), "=&r"(ll1)
			 : "r"(&gbuf.b[0])
			 : "r0", "memory");
	plat_printf("gbr readback ok=%u\n", readback == (uint32_t)&gbuf.b[0]);
	plat_printf("gbr loads: b0 %08x b255 %08x w2 %08x w510 %08x l4 %08x l1020 %08x\n",
		    lb0, lb1, lw0, lw1, ll0, ll1);

	/* Stores through @(disp,GBR), then the R0-indexed read-modify-write
	 * byte ops; the block is dumped after. */
	__asm__ volatile("stc gbr, r1\n\t"
			 "ldc %0, gbr\n\t"
			 "mov #-2, r0\n\tmov.b r0, @(1, gbr)\n\t"
			 "mov.l 1f, r0\n\tmov.w r0, @(10, gbr)\n\t"
			 "mov.l 2f, r0\n\tmov.l r0, @(20, gbr)\n\t"
			 "mov.l 2f, r0\n\tmov.l r0, @(1020, gbr)\n\t"
			 "mov.l 1f, r0\n\tmov.w r0, @(508, gbr)\n\t"
			 "mov #3, r0\n\tand.b #0x0f, @(r0, gbr)\n\t"
			 "mov #5, r0\n\tor.b #0xf0, @(r0, gbr)\n\t"
			 "mov #7, r0\n\txor.b #0x5a, @(r0, gbr)\n\t"
			 "mov #31, r0\n\tand.b #0x00, @(r0, gbr)\n\t"
			 "ldc r1, gbr\n\t"
			 "bra 3f\n\t"
			 " nop\n\t"
			 ".align 2\n"
			 "1:	.long 0xffff1234\n"
			 "2:	.long 0xdeadbeef\n"
			 "3:"
			 :
			 : "r"(&gbuf.b[0])
			 : "r0", "r1", "memory");
	dump("gbr after stores");
}

int main(void)
{
	plat_printf("logic start\n");

	static const struct {
		const char *name;
		uint32_t (*fn)(uint32_t, uint32_t, uint32_t *);
	} ops[] = {
		{"and", op_and}, {"or", op_or}, {"xor", op_xor},
	};
	for (unsigned o = 0; o < ARRAY_SIZE(ops); o++)
		for (unsigned i = 0; i < ARRAY_SIZE(vals_b); i++)
			for (unsigned j = 0; j < ARRAY_SIZE(vals_b); j++) {
				uint32_t t = 1; /* must be left alone */
				uint32_t r = ops[o].fn(vals_b[i], vals_b[j], &t);
				plat_printf("%s n=%08x m=%08x -> %08x t=%u\n",
					    ops[o].name, vals_b[i], vals_b[j], r, t);
			}

	/* CMP/STR: T = 1 if any byte position holds equal bytes. */
	static const uint32_t str_vals[] = {
		0x00000000, 0x41424344, 0x41000000, 0x00420000, 0x00004300,
		0x00000044, 0x44434241, 0xffffffff, 0x12345678,
	};
	for (unsigned i = 0; i < ARRAY_SIZE(str_vals); i++)
		for (unsigned j = 0; j < ARRAY_SIZE(str_vals); j++) {
			uint32_t t = 0;
			op_cmpstr(str_vals[i], str_vals[j], &t);
			plat_printf("cmp/str n=%08x m=%08x -> t=%u\n", str_vals[i],
				    str_vals[j], t);
		}

	for (unsigned i = 0; i < ARRAY_SIZE(vals_a); i++)
		imm_ops(vals_a[i]);

	t_ops();
	gbr_ops();

	plat_printf("logic end\n");
	return 0;
}
