/*
 * imask_hog.c - a GPOS vCPU that raises its own SR.IMASK to 15 with `ldc`
 * and reads the clock over and over, beside the RTOS probe on its core
 * (tests/board.rs, docs/guests.md).
 *
 * It masks by hypercall, so its level is what the hypervisor last gave
 * it (0 after IRQ_RESTORE(0)). A `TIME_NOW` is answered by the quick exit,
 * which resumes the vCPU at that level and so lowers an IMASK the guest
 * raised itself: a GPOS cannot hold the RTOS's levels back by `ldc`. The
 * board's entry stub answers `TIME_NOW` itself only where that exit
 * would have left SR as it was (docs/board-image.md): never after this
 * guest's `ldc`.
 *
 * Phase 1, for HOG_MS: `ldc` IMASK 15, `TIME_NOW`, and check that SR.IMASK
 * came back 0 and the clock went forward. Phase 2: QUICK_CALLS
 * back-to-back `TIME_NOW`s at level 0, the ones the stub may answer, each
 * checked to go forward. Prints one line and exits 0; a check that fails
 * ends the guest with GUEST_EXIT_CHECK.
 */
#include "guest.h"

#define HOG_MS      20
#define QUICK_CALLS 1000

static inline uint32_t read_sr(void)
{
	uint32_t sr;
	__asm__ __volatile__("stc sr, %0" : "=r"(sr));
	return sr;
}

static inline void write_sr(uint32_t sr)
{
	__asm__ __volatile__("ldc %0, sr" : : "r"(sr) : "memory");
}

void guest_interrupt(uint32_t intevt)
{
	guest_fatal(GUEST_EXIT_INTERRUPT | intevt, "imask_hog: an interrupt it never opened: 0x%x", (unsigned)intevt);
}

int guest_trap(uint32_t imm, struct trap_frame *f)
{
	(void)imm;
	(void)f;
	return 0;
}

int main(void)
{
	uint64_t start, last, end, t;
	uint32_t hogs = 0, i;

	if (hv_set_vector(guest_vbr) < 0)
		guest_fatal(GUEST_EXIT_SETUP, "imask_hog: SET_VECTOR failed");
	if (hv_irq_restore(0) < 0)
		guest_fatal(GUEST_EXIT_SETUP, "imask_hog: IRQ_RESTORE(0) failed");

	start = last = hv_time_now();
	end = start + (uint64_t)HOG_MS * HV_CYCLES_PER_MS;
	while (last < end) {
		write_sr(read_sr() | 0xf0);
		t = hv_time_now();
		if ((read_sr() & 0xf0) != 0)
			guest_fatal(GUEST_EXIT_CHECK, "imask_hog: SR.IMASK still %u after TIME_NOW",
				    (unsigned)((read_sr() >> 4) & 0xf));
		if (t <= last)
			guest_fatal(GUEST_EXIT_CHECK, "imask_hog: the clock went back");
		last = t;
		hogs++;
	}
	for (i = 0; i < QUICK_CALLS; i++) {
		t = hv_time_now();
		if (t <= last)
			guest_fatal(GUEST_EXIT_CHECK, "imask_hog: the clock went back");
		last = t;
	}
	con_printf("imask_hog: %u calls at IMASK 15, each lowered to 0; %u at level 0\n", (unsigned)hogs,
		   (unsigned)QUICK_CALLS);
	return GUEST_EXIT_OK;
}
