/*
 * Differential: the workload `rp1 bench` times (include/bench_workload.h)
 * with a small iteration count.
 *
 * Table-driven CRC-32 (polynomial 0xEDB88320) over a 4 KiB buffer
 * filled with (i * 7 + 3), repeated; the result after 1, 2 and 3 passes
 * is printed and compared with the values the host computes (bench.rs's
 * host_crc, or zlib's crc32): 5e4e1995, b65ef7bf, 20efb9cb (10000
 * passes: dd98b31c).
 *
 * Built with -O2 (the directive below) like the benchmark harness, so the
 * workload is the same nine-instruction loop the benchmark runs; the
 * result check guards against GCC 12's SH miscompilations
 * (docs/test-programs.md).
 */
/* guest-cflags: -O2 */
#include "platform.h"
#include "bench_workload.h"

static unsigned int table[256];
static unsigned char buf[BENCH_BUF_BYTES];

int main(void)
{
	static const uint32_t want[] = {0, 0x5e4e1995, 0xb65ef7bf, 0x20efb9cb};
	int bad = 0;
	plat_printf("crc start\n");
	for (int iters = 1; iters <= 3; iters++) {
		uint32_t crc = bench_workload(table, buf, iters);
		plat_printf("crc iters=%d %08x %s\n", iters, crc,
			    crc == want[iters] ? "ok" : "MISMATCH");
		bad |= crc != want[iters];
	}
	plat_printf("crc end\n");
	return bad;
}
