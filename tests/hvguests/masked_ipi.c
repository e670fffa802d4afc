/*
 * masked_ipi.c - an IPI that arrives while its target is masked, and stays
 * pending to the end (tests/board.rs, docs/guests.md).
 *
 * Two vCPUs, on two cores other than 0. vCPU 1 masks its interrupts
 * (IRQ_DISABLE) and spins for good, so it never enters the hypervisor
 * again of its own accord; vCPU 0 sends it an IPI, gives the IPI ICI
 * 200 us to arrive at vCPU 1's core, and ends the guest. The IPI is then
 * raised and pending on vCPU 1 and never delivered: what the instance
 * publishes of its pending interrupts must say so at the end of the run,
 * although the last entry on that core was a quick one (the IPI ICI's
 * quick path, which delivers nothing to a masked vCPU).
 *
 * Exits 0; an interrupt that reaches vCPU 1 ends the guest with
 * GUEST_EXIT_INTERRUPT | INTEVT.
 */
#include "guest.h"

static volatile uint32_t masked;

void guest_interrupt(uint32_t intevt)
{
	guest_fatal(GUEST_EXIT_INTERRUPT | intevt, "an interrupt got through the mask: 0x%x", (unsigned)intevt);
}

int guest_trap(uint32_t imm, struct trap_frame *f)
{
	(void)imm;
	(void)f;
	return 0;
}

void secondary_main(uint32_t arg)
{
	(void)arg;
	if (hv_set_vector(guest_vbr) < 0)
		guest_fatal(GUEST_EXIT_SETUP, "SET_VECTOR failed");
	hv_irq_disable();
	synco();
	masked = 1;
	for (;;)
		(void)masked;
}

int main(void)
{
	long r;
	unsigned long long until;

	if (hv_set_vector(guest_vbr) < 0)
		guest_fatal(GUEST_EXIT_SETUP, "SET_VECTOR failed");
	r = hv_start_vcpu(1, _start, 1);
	if (r < 0)
		guest_fatal(GUEST_EXIT_SETUP, "START_VCPU failed: %ld", r);
	while (!masked)
		;
	r = hv_send_ipi(1, 3);
	if (r < 0)
		guest_fatal(GUEST_EXIT_SETUP, "SEND_IPI failed: %ld", r);
	until = hv_time_now() + 200 * HV_CYCLES_PER_US;
	while (hv_time_now() < until)
		;
	con_printf("masked_ipi: IPI 3 sent to the masked vCPU 1\n");
	return GUEST_EXIT_OK;
}
