/*
 * RP1 only: inter-core interrupts (ICI) between every ordered pair of
 * cores, a core to itself included.
 *
 * All four cores install the vector table (crt0), give every ICI message
 * priority 8 in their own CnICIPRI and lower IMASK to 0. Then, one
 * sender at a time, core s raises message s at every core t by writing
 * 1 << 4s to C<t>INTICI. The receiver's handler (INTEVT 0xf00 + 0x20*m)
 * reads its pending bits from C<t>INTICI, clears message m with
 * C<t>INTICICLR and counts (t, m). Afterwards core 0 checks that every
 * pair arrived exactly once.
 *
 * Also: messages 4-7 sent to core 1 in one write arrive as four
 * interrupts with their own INTEVTs; and an ICI at priority 8 is held
 * while the receiver's IMASK is 8 and taken when it drops to 7.
 *
 * Only core 0 prints, after the others are done, so the transcript does
 * not depend on how the simulator interleaves the cores.
 */
#include "platform.h"
#include "rp1.h"

RP1_CRT0_CLEAR_BL;

#define LIMIT 20000000u

static volatile uint32_t got[NR_CPUS][8];      /* [receiver][message] */
static volatile uint32_t bad_pending[NR_CPUS]; /* pending bit not set */
static volatile uint32_t unexpected[NR_CPUS];
static volatile uint32_t ready[NR_CPUS];
static volatile uint32_t turn;                 /* whose turn to send */
static volatile uint32_t hold_test;            /* phase of the IMASK test */
static volatile uint32_t early;                /* ICI taken despite IMASK */

static void handler(struct rp1_frame *f)
{
	unsigned cpu = cpu_id();
	if (f->vector == VEC_INTERRUPT && f->event >= ICI_INTEVT(0) &&
	    f->event <= ICI_INTEVT(7)) {
		unsigned msg = (f->event - ICI_INTEVT(0)) >> 5;
		uint32_t pending = REG32(ICI_SEND(cpu));
		if (!(pending & ICI_BIT(msg)))
			bad_pending[cpu]++;
		REG32(ICI_CLR(cpu)) = pending & ICI_BIT(msg);
		got[cpu][msg]++;
		synco();
		return;
	}
	unexpected[cpu]++;
	if (f->vector == VEC_GENERAL)
		f->spc += 2;
}

static int wait_for(volatile uint32_t *p, uint32_t want)
{
	for (uint32_t i = 0; i < LIMIT; i++)
		if (*p == want)
			return 1;
	return 0;
}

/* Core `me` sends message `me` to every core and waits for delivery. */
static void send_round(unsigned me)
{
	for (unsigned t = 0; t < NR_CPUS; t++)
		REG32(ICI_SEND(t)) = ICI_BIT(me);
	for (unsigned t = 0; t < NR_CPUS; t++)
		wait_for(&got[t][me], 1);
}

static void setup_core(unsigned cpu)
{
	rp1_set_handler(handler); /* same pointer on every core */
	REG32(CnICIPRI(cpu)) = 0x88888888u; /* all eight messages at 8 */
	set_imask(0);
	synco();
	ready[cpu] = 1;
	synco();
}

void secondary_main(unsigned cpu)
{
	setup_core(cpu);
	wait_for(&turn, cpu);
	send_round(cpu);
	synco();
	turn = cpu + 1;
	synco();

	if (cpu == 2) {
		/* IMASK test: raise IMASK to the ICI's priority, tell core 0,
		 * and wait until core 0 has sent; the message must wait. */
		wait_for(&hold_test, 1);
		set_imask(8);
		synco();
		hold_test = 2;
		synco();
		wait_for(&hold_test, 3); /* core 0 sent */
		for (volatile uint32_t i = 0; i < 3000; i++)
			;
		early = got[2][6];
		set_imask(7);
		wait_for(&got[2][6], 1);
		hold_test = 4;
		synco();
	}
	for (;;)
		__asm__ volatile("sleep");
}

int main(void)
{
	plat_printf("ici start\n");
	setup_core(0);
	for (unsigned cpu = 1; cpu < NR_CPUS; cpu++) {
		rp1_start_cpu(cpu);
		wait_for(&ready[cpu], 1);
	}
	int all_ready = ready[1] && ready[2] && ready[3];

	/* Rounds: core 0 first, then 1, 2, 3 in turn. */
	send_round(0);
	synco();
	turn = 1;
	synco();
	wait_for(&turn, NR_CPUS);

	/* Messages 4-7 to core 1 in one write. */
	REG32(ICI_SEND(1)) = ICI_BIT(4) | ICI_BIT(5) | ICI_BIT(6) | ICI_BIT(7);
	for (unsigned m = 4; m < 8; m++)
		wait_for(&got[1][m], 1);

	/* Held by IMASK on core 2 (message 6). */
	hold_test = 1;
	synco();
	wait_for(&hold_test, 2);
	REG32(ICI_SEND(2)) = ICI_BIT(6);
	synco();
	hold_test = 3;
	synco();
	wait_for(&hold_test, 4);

	check_true(all_ready, "cores 1-3 started and ready");
	for (unsigned s = 0; s < NR_CPUS; s++)
		for (unsigned t = 0; t < NR_CPUS; t++)
			check_true(got[t][s] == 1, "ici %u -> %u delivered once (%u)",
				   s, t, got[t][s]);
	for (unsigned m = 4; m < 8; m++)
		check_true(got[1][m] == 1, "message %u to cpu 1 (INTEVT %03x) once",
			   m, ICI_INTEVT(m));
	check_true(early == 0, "held on cpu 2 while IMASK=8");
	check_true(got[2][6] == 1, "taken on cpu 2 at IMASK=7");
	for (unsigned c = 0; c < NR_CPUS; c++) {
		check_true(bad_pending[c] == 0, "cpu %u: pending bit set in CnINTICI", c);
		check_true(unexpected[c] == 0, "cpu %u: no unexpected exceptions", c);
	}
	check_eq("nothing left pending on cpu 0", REG32(ICI_SEND(0)), 0);
	return check_summary("ici");
}
