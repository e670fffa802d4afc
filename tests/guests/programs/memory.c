/*
 * Differential: data-transfer addressing modes.
 *
 * MOV.B/W/L with @Rm, @Rm+ (post-increment by the access size), @-Rn
 * (pre-decrement), @(disp,Rm) (displacement scaled by size; byte and
 * word forms go through R0), @(R0,Rm); sign extension of byte and word
 * loads; PC-relative MOV.W/MOV.L @(disp,PC) and MOVA (PC rounded down
 * to a multiple of 4 for the .L forms); LDS/STS to and from MACH, MACL
 * and PR, with the post-increment/pre-decrement variants.
 *
 * Pointers are printed as offsets from the buffer so the transcript is
 * the same on every platform.
 */
#include "diff.h"

static union {
	uint8_t b[64];
	uint16_t w[32];
	uint32_t l[16];
} buf;

static void fill(void)
{
	for (unsigned i = 0; i < sizeof(buf.b); i++)
		buf.b[i] = (uint8_t)(0x80 + 13 * i);
}

static void dump(const char *what)
{
	plat_printf("%s:", what);
	for (unsigned i = 0; i < 16; i++)
		plat_printf(" %08x", buf.l[i]);
	plat_printf("\n");
}

#define OFF(p) ((uint32_t)(p) - (uint32_t)buf.b)

static void loads(void)
{
	uint32_t b, w, l, p;
	for (unsigned off = 0; off < 16; off += 4) {
		uint8_t *base = buf.b + off;
		__asm__ volatile("mov.b @%3, %0\n\tmov.w @%3, %1\n\tmov.l @%3, %2"
				 : "=&r"(b), "=&r"(w), "=&r"(l)
				 : "r"(base)
				 : "memory");
		plat_printf("@rm +%u: b %08x w %08x l %08x\n", off, b, w, l);
	}

	/* Post-increment: the pointer advances by 1, 2, 4. */
	p = (uint32_t)buf.b;
	__asm__ volatile("mov.b @%1+, %0" : "=&r"(b), "+r"(p) : : "memory");
	plat_printf("@rm+ b %08x -> +%u\n", b, OFF(p));
	p = (uint32_t)buf.b + 2;
	__asm__ volatile("mov.w @%1+, %0" : "=&r"(w), "+r"(p) : : "memory");
	plat_printf("@rm+ w %08x -> +%u\n", w, OFF(p));
	__asm__ volatile("mov.l @%1+, %0" : "=&r"(l), "+r"(p) : : "memory");
	plat_printf("@rm+ l %08x -> +%u\n", l, OFF(p));
	__asm__ volatile("mov.l @%1+, %0" : "=&r"(l), "+r"(p) : : "memory");
	plat_printf("@rm+ l %08x -> +%u\n", l, OFF(p));

	/* @(disp,Rm): byte/word into R0, long into any register. */
	uint32_t db, dw, dl, dl2;
	__asm__ volatile("mov.b @(15, %4), r0\n\tmov r0, %0\n\t"
		"mov.w @(30, %4), r0\n\tmov r0, %1\n\t"
		"mov.l @(60, %4), %2\n\t"
		"mov.l @(4, %4), %3"
		: "=&r"(db), "=&r"(dw), "=&r"(dl), "=&r"(dl2)
		: "r"(buf.b)
		: "r0", "memory");
	plat_printf("@(disp,rm): b15 %08x w30 %08x l60 %08x l4 %08x\n", db, dw,
		    dl, dl2);

	/* @(R0,Rm) */
	for (uint32_t r0 = 0; r0 < 64; r0 += 20) {
		uint32_t wr0 = r0 & ~1u, lr0 = r0 & ~3u;
		__asm__ volatile("mov %3, r0\n\tmov.b @(r0, %6), %0\n\t"
			"mov %4, r0\n\tmov.w @(r0, %6), %1\n\t"
			"mov %5, r0\n\tmov.l @(r0, %6), %2"
			: "=&r"(b), "=&r"(w), "=&r"(l)
			: "r"(r0), "r"(wr0), "r"(lr0), "r"(buf.b)
			: "r0", "memory");
		plat_printf("@(r0,rm) r0=%u: b %08x w %08x l %08x\n", r0, b, w, l);
	}
}

static void stores(void)
{
	uint32_t p;
	fill();

	/* @Rn and @-Rn (pre-decrement by 1, 2, 4) */
	__asm__ volatile("mov.b %1, @%0" : : "r"(buf.b + 1), "r"(0x11223344u) : "memory");
	__asm__ volatile("mov.w %1, @%0" : : "r"(buf.b + 2), "r"(0x55667788u) : "memory");
	__asm__ volatile("mov.l %1, @%0" : : "r"(buf.b + 4), "r"(0x99aabbccu) : "memory");
	p = (uint32_t)(buf.b + 16);
	__asm__ volatile("mov.l %1, @-%0" : "+r"(p) : "r"(0xa1a2a3a4u) : "memory");
	plat_printf("@-rn l -> +%u\n", OFF(p));
	__asm__ volatile("mov.w %1, @-%0" : "+r"(p) : "r"(0xb1b2b3b4u) : "memory");
	plat_printf("@-rn w -> +%u\n", OFF(p));
	__asm__ volatile("mov.b %1, @-%0" : "+r"(p) : "r"(0xc1c2c3c4u) : "memory");
	plat_printf("@-rn b -> +%u\n", OFF(p));

	/* @(disp,Rn): byte/word from R0. */
	__asm__ volatile("mov %1, r0\n\t"
			 "mov.b r0, @(15, %0)\n\t"
			 "mov.w r0, @(22, %0)\n\t"
			 "mov.l %2, @(60, %0)"
			 :
			 : "r"(buf.b), "r"(0xd1d2d3d4u), "r"(0xe1e2e3e4u)
			 : "r0", "memory");

	/* @(R0,Rn) */
	__asm__ volatile("mov #33, r0\n\tmov.b %1, @(r0, %0)\n\t"
			 "mov #36, r0\n\tmov.w %1, @(r0, %0)\n\t"
			 "mov #40, r0\n\tmov.l %1, @(r0, %0)"
			 :
			 : "r"(buf.b), "r"(0xf1f2f3f4u)
			 : "r0", "memory");
	dump("after stores");
}

/* MOV.W/MOV.L @(disp,PC) and MOVA, with labels at known distances. */
static void pc_relative(void)
{
	uint32_t w, l, a, here;
	__asm__("mova 3f, r0\n\t"   /* r0 = address of 3f */
		"mov r0, %3\n\t"
		"mov.w 1f, %0\n\t"
		"mov.l 2f, %1\n\t"
		"mova 2f, r0\n\t"
		"sub %3, r0\n\t"   /* offset between the two MOVA targets */
		"mov r0, %2\n\t"
		"bra 4f\n\t"
		" nop\n\t"
		".align 2\n"
		"3:	.long 0\n"
		"1:	.word 0x8765\n"
		"	.word 0\n"
		"2:	.long 0x13579bdf\n"
		"4:"
		: "=&r"(w), "=&r"(l), "=&r"(a), "=&r"(here)
		:
		: "r0");
	plat_printf("pc-relative: mov.w %08x mov.l %08x mova delta %u\n", w, l, a);

	/* MOVA from an address that is 2 mod 4: the base PC is rounded
	 * down. The nop in front of the second mova flips the alignment. */
	uint32_t a0, a1;
	__asm__(".align 2\n\t"
		"mova 5f, r0\n\t"
		"mov r0, %0\n\t"
		"nop\n\t"
		"mova 5f, r0\n\t"
		"mov r0, %1\n\t"
		"bra 6f\n\t"
		" nop\n\t"
		".align 2\n"
		"5:	.long 0\n"
		"6:"
		: "=&r"(a0), "=&r"(a1)
		:
		: "r0");
	plat_printf("mova alignment: same target %u\n", a0 == a1);
}

static void system_regs(void)
{
	uint32_t mach, macl, pr;
	uint32_t area[4] = {0x01020304, 0x05060708, 0x090a0b0c, 0};
	uint32_t p = (uint32_t)&area[0];
	/* PR is saved on the stack around the test: it holds our return
	 * address. */
	__asm__ volatile("sts.l pr, @-r15\n\t"
			 "lds.l @%3+, mach\n\t"
			 "lds.l @%3+, macl\n\t"
			 "lds.l @%3+, pr\n\t"
			 "sts mach, %0\n\t"
			 "sts macl, %1\n\t"
			 "sts pr, %2\n\t"
			 "sts.l macl, @-%3\n\t" /* overwrites area[2] */
			 "lds.l @r15+, pr"
			 : "=&r"(mach), "=&r"(macl), "=&r"(pr), "+r"(p)
			 :
			 : "mach", "macl", "memory");
	plat_printf("lds.l/sts: mach %08x macl %08x pr %08x area2 %08x p +%u\n",
		    mach, macl, pr, area[2], p - (uint32_t)&area[0]);
}

int main(void)
{
	plat_printf("memory start\n");
	fill();
	dump("initial");
	loads();
	stores();
	pc_relative();
	system_regs();
	plat_printf("memory end\n");
	return 0;
}
