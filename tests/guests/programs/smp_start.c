/*
 * RP1 only: starting the secondary cores the way Linux's smp-shx3.c does.
 *
 * Core 0 starts cores 1, 2 and 3 one after the other (boot address in
 * RESET_REG, STBCR.MSTP until it reads back set, then STBCR.RESET|LTSLP)
 * and waits until each reports in. Each secondary checks that it came
 * up in the reset state (SR 0x700000f0, VBR 0), on its own stack, with
 * CPIDR = its number; then the cores print in order 1, 2, 3, each taking
 * its turn from a shared counter and printing under the console lock.
 * Core 0 prints nothing while the others may print, so the transcript
 * does not depend on how the simulator interleaves the cores.
 */
#include "platform.h"
#include "rp1.h"

#define LIMIT 50000000u

static volatile uint32_t arrived[NR_CPUS];
static volatile uint32_t stack_of[NR_CPUS];
static volatile uint32_t turn; /* 0: hold; then 1, 2, 3; 4 when done */
static volatile uint32_t printed;

void secondary_main(unsigned cpu)
{
	uint32_t sp;
	__asm__ volatile("mov r15, %0" : "=r"(sp));
	stack_of[cpu] = sp;
	synco();
	arrived[cpu] = 1;
	synco();

	/* Wait for our turn, so the lines come out in core order. */
	for (uint32_t i = 0; i < LIMIT && turn != cpu; i++)
		;
	rp1_printf("cpu %u: CPIDR=%u SR at reset %08x VBR %08x\n", cpu,
		   cpu_id(), rp1_boot_sr[cpu], rp1_boot_vbr[cpu]);
	synco();
	printed++;
	turn = cpu + 1;
	synco();
}

int main(void)
{
	plat_printf("smp_start start\n");
	rp1_printf("cpu 0: CPIDR=%u SR at reset %08x VBR %08x\n", cpu_id(),
		   rp1_boot_sr[0], rp1_boot_vbr[0]);

	uint32_t held[NR_CPUS], up[NR_CPUS];
	for (unsigned cpu = 1; cpu < NR_CPUS; cpu++) {
		held[cpu] = !arrived[cpu];
		rp1_start_cpu(cpu);
		for (uint32_t i = 0; i < LIMIT && !arrived[cpu]; i++)
			;
		up[cpu] = arrived[cpu];
	}

	/* Let them print, one after the other. */
	synco();
	turn = 1;
	synco();
	for (uint32_t i = 0; i < LIMIT && turn != NR_CPUS; i++)
		;
	synco();
	for (unsigned cpu = 1; cpu < NR_CPUS; cpu++) {
		check_true(held[cpu], "cpu %u held in reset until started", cpu);
		check_true(up[cpu], "cpu %u started", cpu);
	}
	check_eq("all secondaries printed", printed, NR_CPUS - 1);

	for (unsigned cpu = 1; cpu < NR_CPUS; cpu++) {
		extern char __stack_top[];
		uint32_t top = (uint32_t)__stack_top - cpu * 0x4000u;
		check_true(stack_of[cpu] <= top && stack_of[cpu] > top - 0x4000u,
			   "cpu %u runs on its own stack", cpu);
		check_eq("  reset SR", rp1_boot_sr[cpu], SR_RESET);
		check_eq("  reset VBR", rp1_boot_vbr[cpu], 0);
	}
	return check_summary("smp_start");
}
