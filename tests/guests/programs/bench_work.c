/*
 * Benchmark harness (not a test): the shared workload
 * ../shared/bench/work.c on one core, `bench_iters` passes; prints the CRC
 * and exits. `rp1 bench` patches bench_iters in memory after loading, so
 * one build serves every iteration count. Built at -O2 so the inner loop is
 * the same nine-instruction loop the peers run.
 */
/* guest-cflags: -O2 */
#include "platform.h"
#include "../../../../shared/bench/work.c"

volatile unsigned int bench_iters = 1;

int main(void)
{
	plat_printf("crc %08x\n", work(bench_iters));
	return 0;
}
