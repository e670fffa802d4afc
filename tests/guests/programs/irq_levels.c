/*
 * RP1 only: interrupt priority against SR.IMASK, with TMU0 as the source.
 *
 * For several priority levels L (INT2PRI0's TMU0 field): TMU0 underflows
 * with UNIE set while IMASK=15, so the request is pending; with IMASK=L
 * it must stay pending; with IMASK=L-1 it must be taken, once, at
 * VBR+0x600 with INTEVT 0x400 and SSR.IMASK = L-1. Also: priority 0
 * never interrupts, and a source masked in CnINT2MSK0 is held until it
 * is unmasked through CnINT2MSKCLR0.
 *
 * The handler stops TMU0 and clears TCR.UNF, so each arming gives at
 * most one interrupt.
 */
#include "platform.h"
#include "rp1.h"

RP1_CRT0_CLEAR_BL;

#define SPIN_HELD 3000   /* loop iterations to show nothing happens */
#define SPIN_LIMIT 200000 /* upper bound for anything we wait for */

static volatile uint32_t irq_count, irq_intevt, irq_ssr, unexpected;

static void handler(struct rp1_frame *f)
{
	if (f->vector == VEC_INTERRUPT && f->event == TMU0_INTEVT) {
		irq_count++;
		irq_intevt = f->event;
		irq_ssr = f->ssr;
		REG8(TMU_TSTR) = REG8(TMU_TSTR) & ~TMU_TSTR_STR0;
		REG16(TMU_TCR(0)) = REG16(TMU_TCR(0)) & ~TCR_UNF;
		return;
	}
	/* Anything else is a failure; skip it so the run can report. */
	unexpected++;
	if (f->vector == VEC_GENERAL)
		f->spc += 2;
}

static void spin(uint32_t n)
{
	for (volatile uint32_t i = 0; i < n; i++)
		;
}

/* Start TMU0 with a short period and UNIE, wait for UNF, stop it: the
 * request stays pending (UNF=1, UNIE=1) until the handler clears it. */
static int make_pending(void)
{
	REG8(TMU_TSTR) = 0;
	REG32(TMU_TCOR(0)) = 20;
	REG32(TMU_TCNT(0)) = 20;
	REG16(TMU_TCR(0)) = TCR_UNIE | TCR_TPSC_CLK4;
	REG8(TMU_TSTR) = TMU_TSTR_STR0;
	for (uint32_t i = 0; i < SPIN_LIMIT; i++)
		if (REG16(TMU_TCR(0)) & TCR_UNF) {
			REG8(TMU_TSTR) = 0;
			return 1;
		}
	REG8(TMU_TSTR) = 0;
	return 0;
}

static int wait_count(uint32_t want)
{
	for (uint32_t i = 0; i < SPIN_LIMIT && irq_count < want; i++)
		;
	return irq_count >= want;
}

static void level_case(unsigned level)
{
	set_imask(15);
	irq_count = 0;
	REG32(INT2PRI0) = (uint32_t)level << INT2PRI0_TMU0_SHIFT;
	REG32(CnINT2MSKCLR0) = INT2MSK0_TMU0;

	check_true(make_pending(), "level %u: TMU0 underflow pending", level);

	set_imask(level);
	spin(SPIN_HELD);
	check_true(irq_count == 0, "level %u: held while IMASK=%u (count %u)",
		   level, level, irq_count);

	set_imask(level - 1);
	wait_count(1);
	spin(SPIN_HELD);
	set_imask(15);
	check_true(irq_count == 1, "level %u: taken once at IMASK=%u (count %u)",
		   level, level - 1, irq_count);
	check_eq("  INTEVT", irq_intevt, TMU0_INTEVT);
	check_eq("  SSR.IMASK", (irq_ssr & SR_IMASK) >> SR_IMASK_SHIFT, level - 1);
	check_eq("  UNF cleared by the handler", REG16(TMU_TCR(0)) & TCR_UNF, 0);
}

static void priority_zero_case(void)
{
	set_imask(15);
	irq_count = 0;
	REG32(INT2PRI0) = 0;
	REG32(CnINT2MSKCLR0) = INT2MSK0_TMU0;
	check_eq("priority 0: underflow pending", make_pending(), 1);
	set_imask(0);
	spin(SPIN_HELD);
	check_eq("priority 0: never taken, even at IMASK=0", irq_count, 0);
	REG32(INT2PRI0) = 3u << INT2PRI0_TMU0_SHIFT;
	wait_count(1);
	set_imask(15);
	check_eq("priority raised to 3: taken", irq_count, 1);
}

static void mask_case(void)
{
	set_imask(15);
	irq_count = 0;
	REG32(INT2PRI0) = 6u << INT2PRI0_TMU0_SHIFT;
	REG32(CnINT2MSK0) = INT2MSK0_TMU0; /* mask */
	check_eq("masked: underflow pending", make_pending(), 1);
	set_imask(0);
	spin(SPIN_HELD);
	check_eq("masked in CnINT2MSK0: held at IMASK=0", irq_count, 0);
	REG32(CnINT2MSKCLR0) = INT2MSK0_TMU0; /* unmask */
	wait_count(1);
	set_imask(15);
	check_eq("unmasked with CnINT2MSKCLR0: taken", irq_count, 1);
}

int main(void)
{
	static const unsigned levels[] = {1, 5, 8, 14, 15};
	plat_printf("irq_levels start\n");
	rp1_set_handler(handler);
	for (unsigned i = 0; i < ARRAY_SIZE(levels); i++)
		level_case(levels[i]);
	priority_zero_case();
	mask_case();
	REG32(INT2PRI0) = 0;
	check_eq("no unexpected exceptions", unexpected, 0);
	return check_summary("irq_levels");
}
