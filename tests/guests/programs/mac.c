/*
 * Differential (qemu and rp1 only): SH-4 base instructions GXemul 0.7
 * does not implement.
 *
 * MAC.L @Rm+,@Rn+ with SR.S=0 (64-bit accumulate into MACH:MACL, both
 * pointers advance by 4), chained over an array, and
 * TST.B #imm,@(R0,GBR).
 *
 * MAC.W and the saturating forms (S=1, set with the unprivileged SETS)
 * are in `selfcheck`, against a model of the manual: qemu 7.2 does not
 * saturate as the SH-4 does, and its MAC.W does 32-bit loads (a bus
 * error on the second step, whose operands are only 2-byte aligned).
 */
#include "diff.h"

static const uint32_t lvals[] = {
	0x00000001, 0xffffffff, 0x7fffffff, 0x80000000, 0x12345678,
	0xfedcba98, 0x00010000, 0x7ffffffe,
};

static void mac_l(uint32_t mach0, uint32_t macl0, int count)
{
	uint32_t mach, macl;
	const uint32_t *m = lvals, *n = lvals + 1;
	uint32_t left = (uint32_t)count;
	__asm__ volatile("clrs\n\t"
			 "lds %5, mach\n\t"
			 "lds %6, macl\n\t"
			 "1:\n\t"
			 "mac.l @%2+, @%3+\n\t"
			 "dt %4\n\t"
			 "bf 1b\n\t"
			 "sts mach, %0\n\t"
			 "sts macl, %1"
			 : "=&r"(mach), "=&r"(macl), "+r"(m), "+r"(n), "+r"(left)
			 : "r"(mach0), "r"(macl0)
			 : "mach", "macl", "t", "memory");
	plat_printf("mac.l x%d from %08x%08x -> %08x%08x m+%u n+%u\n", count,
		    mach0, macl0, mach, macl, (uint32_t)(m - lvals) * 4,
		    (uint32_t)(n - lvals - 1) * 4);
}

static uint8_t tbuf[16] = {0x00, 0x01, 0x80, 0xff, 0x5a, 0xa5, 0x0f, 0xf0};

static void tst_b(void)
{
	for (uint32_t i = 0; i < 8; i++) {
		uint32_t t1, t2, t3, saved;
		__asm__ volatile("stc gbr, %3\n\t"
				 "ldc %5, gbr\n\t"
				 "mov %4, r0\n\t"
				 "tst.b #0x01, @(r0, gbr)\n\tmovt %0\n\t"
				 "tst.b #0x80, @(r0, gbr)\n\tmovt %1\n\t"
				 "tst.b #0xff, @(r0, gbr)\n\tmovt %2\n\t"
				 "ldc %3, gbr"
				 : "=&r"(t1), "=&r"(t2), "=&r"(t3), "=&r"(saved)
				 : "r"(i), "r"(tbuf)
				 : "r0", "t", "memory");
		plat_printf("tst.b byte %02x: #01 t=%u #80 t=%u #ff t=%u\n",
			    tbuf[i], t1, t2, t3);
	}
}

int main(void)
{
	plat_printf("mac start\n");
	for (int count = 1; count <= 7; count++) {
		mac_l(0, 0, count);
		mac_l(0x7fffffff, 0xffffffff, count);
		mac_l(0x80000000, 0x00000000, count);
	}
	tst_b();
	plat_printf("mac end\n");
	return 0;
}
