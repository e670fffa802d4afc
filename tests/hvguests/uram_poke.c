/*
 * uram_poke.c - a guest that reaches for the hypervisor's core-local
 * memory (tests/board.rs, docs/guests.md).
 *
 * Each core's hypervisor instance keeps all its state in that core's URAM
 * (docs/board-image.md). This guest, one vCPU on a core other than 0,
 * tries to read and write core 0's URAM directly (the RP1 refuses another
 * core's access: the CPU takes an address error, which the hypervisor
 * forwards to the guest's own handler), and passes URAM addresses, its
 * own core's and core 0's, to hypercalls that take a pointer (the
 * hypervisor refuses anything outside the guest's partition with E_ADDR).
 * It checks every outcome and exits 0 if each was refused, 4 if not.
 *
 * What it cannot be kept from, and does not try: writing its own core's
 * URAM directly. Guests run privileged (SR.MD = 1), and SH-4A privileged
 * code reaches P1/P2 untranslated (docs/board-image.md, "What a guest can
 * reach").
 */
#include "guest.h"

/* Physical bases of the cores' URAMs (sim/src/bus.rs URAM_BASE). */
static const uint32_t uram_phys[4] = { 0x145f0000u, 0x14df0000u, 0x155f0000u, 0x15df0000u };
#define P1(a) (0x80000000u | (a))
#define P2(a) (0xa0000000u | (a))

/* SH-4A EXPEVT codes of a data address error. */
#define EXPEVT_READ_ADDRESS_ERROR  0x0e0
#define EXPEVT_WRITE_ADDRESS_ERROR 0x100

static volatile uint32_t faults, last_code;

/* The poking instructions are single loads and stores: skip them. */
int guest_fault(uint32_t kind, uint32_t code, struct trap_frame *f)
{
	if (kind != VEC_GENERAL)
		return 0;
	faults++;
	last_code = code;
	f->spc += 2;
	return 1;
}

void guest_interrupt(uint32_t intevt)
{
	guest_fatal(GUEST_EXIT_INTERRUPT | intevt, "unexpected interrupt 0x%x", (unsigned)intevt);
}

int guest_trap(uint32_t imm, struct trap_frame *f)
{
	(void)imm;
	(void)f;
	return 0;
}

static unsigned failures;

static void expect(int ok, const char *what, unsigned got)
{
	con_printf("uram_poke: %s: %s (0x%x)\n", what, ok ? "refused" : "NOT REFUSED", got);
	if (!ok)
		failures++;
}

/* One access to `addr`, then what the handler saw. */
static void poke(uint32_t addr, int write, const char *what)
{
	uint32_t before = faults;

	last_code = 0;
	if (write)
		*(volatile uint32_t *)addr = 0xdeadbeefu;
	else
		(void)*(volatile uint32_t *)addr;
	expect(faults == before + 1 &&
	       last_code == (write ? EXPEVT_WRITE_ADDRESS_ERROR : EXPEVT_READ_ADDRESS_ERROR),
	       what, last_code);
}

int main(void)
{
	long r;
	unsigned me;

	r = hv_set_vector(guest_vbr);
	if (r < 0)
		guest_fatal(GUEST_EXIT_SETUP, "SET_VECTOR failed: %ld", r);
	me = (unsigned)*(volatile uint32_t *)0xff000048u & 3; /* CPIDR */
	if (me == 0)
		guest_fatal(GUEST_EXIT_PARAMS, "runs on core 0: it must sit on another core");

	/* Core 0's URAM, straight: the instance's statics, its trace ring. */
	poke(P2(uram_phys[0]) + 0x4000, 1, "write core 0's URAM (instance statics, P2)");
	poke(P1(uram_phys[0]) + 0x15fc0, 0, "read core 0's URAM (trace ring, P1)");
	poke(P2(uram_phys[0]) + 0x1fffc, 1, "write core 0's URAM (C stack, P2)");

	/* Through the hypervisor: a pointer into any URAM is not the guest's. */
	r = hv_console_write((const char *)P1(uram_phys[0]) + 0x15fc0, 16);
	expect(r == HV_E_ADDR, "CONSOLE_WRITE from core 0's URAM", (unsigned)r);
	r = hv_console_write((const char *)P1(uram_phys[me]) + 0x4000, 16);
	expect(r == HV_E_ADDR, "CONSOLE_WRITE from this core's URAM", (unsigned)r);
	r = hv_set_vector((void *)P1(uram_phys[me]));
	expect(r == HV_E_ADDR, "SET_VECTOR into this core's URAM", (unsigned)r);

	con_printf("uram_poke: %u faults taken, %u not refused\n", (unsigned)faults, failures);
	return failures ? GUEST_EXIT_CHECK : GUEST_EXIT_OK;
}
