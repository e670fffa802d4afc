/*
 * Benchmark harness (not a test): the workload of `rp1 bench`
 * (include/bench_workload.h) on one core, `bench_iters` passes; prints the
 * CRC and exits. `rp1 bench` patches bench_iters in memory after loading,
 * so one build serves every iteration count. Built at -O2 like the peers'
 * start-up files (scripts/bench-peers/), so the inner loop is the same
 * nine-instruction loop on every machine.
 */
/* guest-cflags: -O2 */
#include "platform.h"
#include "bench_workload.h"

volatile unsigned int bench_iters = 1;
static unsigned int table[256];
static unsigned char buf[BENCH_BUF_BYTES];

int main(void)
{
	plat_printf("crc %08x\n", bench_workload(table, buf, bench_iters));
	return 0;
}
