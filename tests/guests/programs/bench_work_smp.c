/*
 * Benchmark harness (not a test): the shared workload on all four cores at
 * once. Core 0 starts cores 1-3 as Linux's smp-shx3.c does, every core runs
 * work(bench_iters) on its own copy of the buffers (the workload's tables
 * are per core here, so the cores do not share data), core 0 waits for the
 * others and prints the four CRCs.
 *
 * Only the workload is optimised (-O2, like work.c for the peers): GCC 12's
 * SH backend deletes the load in `while (!done[cpu]);` at -O1 and above
 * (docs/test-programs.md), so the rest stays at the default -O0.
 */
#include "platform.h"
#include "rp1.h"

volatile unsigned int bench_iters = 1;
static volatile uint32_t result[NR_CPUS];
static volatile uint32_t done[NR_CPUS];
static uint32_t tables[NR_CPUS][256];
static uint8_t bufs[NR_CPUS][4096];

__attribute__((optimize("O2"))) static uint32_t work_on(unsigned cpu, unsigned iters)
{
	uint32_t *table = tables[cpu];
	uint8_t *buf = bufs[cpu];
	for (unsigned i = 0; i < 256; i++) {
		uint32_t c = i;
		for (int k = 0; k < 8; k++)
			c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
		table[i] = c;
	}
	for (int i = 0; i < 4096; i++)
		buf[i] = (uint8_t)(i * 7 + 3);
	uint32_t crc = 0xffffffffu;
	for (unsigned it = 0; it < iters; it++)
		for (int i = 0; i < 4096; i++)
			crc = table[(crc ^ buf[i]) & 0xff] ^ (crc >> 8);
	return crc ^ 0xffffffffu;
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
