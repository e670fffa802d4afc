/*
 * Differential (qemu and rp1 only): SH-4A additions and cache-control
 * instructions, in user mode.
 *
 * MOVLI.L/MOVCO.L on one core (success sets T and stores; a MOVCO.L
 * without a fresh MOVLI.L fails and does not store), MOVUA.L @Rm and
 * @Rm+ at every misalignment, SYNCO, ICBI, PREFI, MOVCA.L (a store),
 * OCBWB/OCBP/PREF (no architectural effect) and FPCHG (toggles
 * FPSCR.PR).
 *
 * FSCA and FSRRA are in `fpu_vector` (qemu 7.2 only accepts them with
 * FPSCR.PR=1, the mode in which they are undefined).
 */
#include "platform.h"

static uint32_t word = 0x1000;

static void llsc(void)
{
	uint32_t t1, t2, after1, after2, r0v;
	uint32_t *p = &word;
	__asm__ volatile("movli.l @%5, r0\n\t"
			 "add #1, r0\n\t"
			 "movco.l r0, @%5\n\t"
			 "movt %0\n\t"
			 "mov.l @%5, %2\n\t"
			 "add #1, r0\n\t"
			 "movco.l r0, @%5\n\t" /* no link any more: must fail */
			 "movt %1\n\t"
			 "mov.l @%5, %3\n\t"
			 "mov r0, %4"
			 : "=&r"(t1), "=&r"(t2), "=&r"(after1), "=&r"(after2),
			   "=&r"(r0v)
			 : "r"(p)
			 : "r0", "t", "memory");
	plat_printf("movli/movco: first t=%u mem %08x; second t=%u mem %08x r0 %08x\n",
		    t1, after1, t2, after2, r0v);

	/* An atomic increment loop, as a lock-free counter would be. */
	for (int i = 0; i < 5; i++)
		__asm__ volatile("1: movli.l @%0, r0\n\t"
				 "add #3, r0\n\t"
				 "movco.l r0, @%0\n\t"
				 "bf 1b"
				 :
				 : "r"(p)
				 : "r0", "t", "memory");
	plat_printf("movli/movco loop: mem %08x\n", word);
}

static uint8_t ubytes[16] = {0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77,
			     0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff};

static void movua(void)
{
	for (unsigned off = 0; off < 8; off++) {
		uint32_t v1, v2, p = (uint32_t)&ubytes[off];
		__asm__ volatile("movua.l @%2, r0\n\tmov r0, %0\n\t"
				 "movua.l @%2+, r0\n\tmov r0, %1"
				 : "=&r"(v1), "=&r"(v2), "+r"(p)
				 :
				 : "r0", "memory");
		plat_printf("movua.l +%u: %08x %08x -> +%u\n", off, v1, v2,
			    p - (uint32_t)ubytes);
	}
}

static uint32_t cache_line[8] __attribute__((aligned(32)));

static void cache_ops(void)
{
	uint32_t v;
	__asm__ volatile("synco\n\t"
			 "icbi @%1\n\t"
			 "prefi @%1\n\t"
			 "pref @%2\n\t"
			 "mov.l 1f, r0\n\t"
			 "movca.l r0, @%2\n\t"
			 "ocbwb @%2\n\t"
			 "ocbp @%2\n\t"
			 "mov.l @%2, %0\n\t"
			 "bra 2f\n\t"
			 " nop\n\t"
			 ".align 2\n"
			 "1:	.long 0xcafef00d\n"
			 "2:"
			 : "=&r"(v)
			 : "r"(llsc), "r"(cache_line)
			 : "r0", "memory");
	plat_printf("synco/icbi/prefi/pref/movca.l/ocbwb/ocbp: %08x\n", v);
}

static void fpchg(void)
{
	uint32_t before, after, again, saved;
	__asm__ volatile("sts fpscr, %3\n\t"
			 "lds %4, fpscr\n\t"
			 "sts fpscr, %0\n\t"
			 "fpchg\n\t"
			 "sts fpscr, %1\n\t"
			 "fpchg\n\t"
			 "sts fpscr, %2\n\t"
			 "lds %3, fpscr"
			 : "=&r"(before), "=&r"(after), "=&r"(again), "=&r"(saved)
			 : "r"(0x00040001u)
			 : "memory");
	plat_printf("fpchg: %08x -> %08x -> %08x\n", before, after, again);
}

int main(void)
{
	plat_printf("sh4a start\n");
	llsc();
	movua();
	cache_ops();
	fpchg();
	plat_printf("sh4a end\n");
	return 0;
}
