/*
 * Benchmark harness (not a test): the workload of `rp1 bench`
 * (include/bench_workload.h) on all four cores at once. Core 0 starts
 * cores 1-3 as Linux's smp-shx3.c does, every core runs bench_iters passes
 * on its own table and buffer (the cores share no data), core 0 waits for
 * the others and prints the four CRCs.
 *
 * Only the workload is optimised (bench_workload.h gives its functions
 * their own -O2, so the loop is the one-core harness's): GCC 12's SH
 * backend deletes the load in `while (!done[cpu]);` at -O1 and above
 * (docs/test-programs.md), so this file stays at the default -O0.
 */
#include "platform.h"
#include "rp1.h"
#include "bench_workload.h"

volatile unsigned int bench_iters = 1;
static volatile uint32_t result[NR_CPUS];
static volatile uint32_t done[NR_CPUS];
static uint32_t tables[NR_CPUS][256];
static uint8_t bufs[NR_CPUS][BENCH_BUF_BYTES];

static uint32_t work_on(unsigned cpu, unsigned iters)
{
	return bench_workload(tables[cpu], bufs[cpu], iters);
}

void secondary_main(unsigned cpu)
{
	result[cpu] = work_on(cpu, bench_iters);
	synco();
	done[cpu] = 1;
}

int main(void)
{
	for (unsigned cpu = 1; cpu < NR_CPUS; cpu++)
		rp1_start_cpu(cpu);
	result[0] = work_on(0, bench_iters);
	for (unsigned cpu = 1; cpu < NR_CPUS; cpu++)
		while (!done[cpu])
			;
	for (unsigned cpu = 0; cpu < NR_CPUS; cpu++)
		plat_printf("cpu %u crc %08x\n", cpu, result[cpu]);
	return 0;
}
