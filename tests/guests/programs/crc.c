/*
 * Differential: the shared CRC workload (/work/shared/bench/work.c, the
 * one the simulator is timed on), with a small iteration count.
 *
 * Table-driven CRC-32 (polynomial 0xEDB88320) over a 4 KiB buffer
 * filled with (i * 7 + 3), repeated; the result after 1, 2 and 3 passes
 * is printed and compared with the values the host computes from work.c
 * (x86 GCC): 5e4e1995, b65ef7bf, 20efb9cb (10000 passes: dd98b31c).
 *
 * Built with -O2 (the directive below) so its inner loop is the same
 * nine-instruction loop the benchmark runs; the result check guards
 * against GCC 12's SH miscompilations (docs/test-programs.md).
 */
/* guest-cflags: -O2 */
#include "platform.h"

static uint32_t crc_table[256];
static uint8_t buf[4096];

static void init(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;
		for (int k = 0; k < 8; k++)
			c = (c & 1) ? 0xedb88320u ^ (c >> 1) : c >> 1;
		crc_table[i] = c;
	}
	for (int i = 0; i < 4096; i++)
		buf[i] = (uint8_t)(i * 7 + 3);
}

static uint32_t work(int iters)
{
	uint32_t crc = 0xffffffffu;
	init();
	for (int it = 0; it < iters; it++)
		for (int i = 0; i < 4096; i++)
			crc = crc_table[(crc ^ buf[i]) & 0xff] ^ (crc >> 8);
	return crc ^ 0xffffffffu;
}

int main(void)
{
	static const uint32_t want[] = {0, 0x5e4e1995, 0xb65ef7bf, 0x20efb9cb};
	int bad = 0;
	plat_printf("crc start\n");
	for (int iters = 1; iters <= 3; iters++) {
		uint32_t crc = work(iters);
		plat_printf("crc iters=%d %08x %s\n", iters, crc,
			    crc == want[iters] ? "ok" : "MISMATCH");
		bad |= crc != want[iters];
	}
	plat_printf("crc end\n");
	return bad;
}
