/*
 * RP1 only: TMU0 as a periodic interrupt, timed with SIMCTL's cycle
 * counter.
 *
 *  1. With interrupts off, TMU0 free-runs from 0xffffffff; polling TCNT
 *     against the cycle counter gives the CPU-cycles-per-count ratio
 *     (whatever the simulator's CPG model says; printed as a "#" line,
 *     which golden comparisons ignore).
 *  2. TMU0 then runs with TCOR = PERIOD-1 and UNIE, priority 8, IMASK 0.
 *     The handler stamps each interrupt with the cycle counter and clears
 *     UNF (the counter reloads from TCOR by itself).
 *  3. Checks: the interrupts are evenly spaced (each interval within
 *     1/64 of the mean), the mean interval matches PERIOD counts at the
 *     measured ratio (within 1/32), and exactly WINDOW interrupts arrive
 *     in WINDOW + 1/2 periods of cycles.
 */
#include "platform.h"
#include "rp1.h"

RP1_CRT0_CLEAR_BL;

#define PERIOD 1000u       /* TMU counts per interrupt */
#define WINDOW 12u         /* interrupts counted in the window */
#define POLL_COUNTS 2000u  /* TMU counts watched in step 1 */
#define MAX_STAMPS 16u

static volatile uint32_t ticks, unexpected;
static volatile uint64_t stamps[MAX_STAMPS];

static void handler(struct rp1_frame *f)
{
	if (f->vector == VEC_INTERRUPT && f->event == TMU0_INTEVT) {
		uint32_t n = ticks;
		if (n < MAX_STAMPS)
			stamps[n] = cycles();
		ticks = n + 1;
		REG16(TMU_TCR(0)) = TCR_UNIE | TCR_TPSC_CLK4; /* UNF := 0 */
		return;
	}
	unexpected++;
	if (f->vector == VEC_GENERAL)
		f->spc += 2;
	else
		REG8(TMU_TSTR) = 0; /* an unknown interrupt: stop the source we own */
}

/* n / d by shift and subtract (no libgcc division anywhere). */
static uint64_t udiv64(uint64_t n, uint64_t d)
{
	uint64_t q = 0, r = 0;
	if (d == 0)
		return ~0ull;
	for (int i = 63; i >= 0; i--) {
		r = (r << 1) | ((n >> i) & 1);
		if (r >= d) {
			r -= d;
			q |= 1ull << i;
		}
	}
	return q;
}

static uint64_t absdiff(uint64_t a, uint64_t b)
{
	return a > b ? a - b : b - a;
}

int main(void)
{
	plat_printf("tmu_periodic start\n");
	rp1_set_handler(handler);
	set_imask(15);

	/* 1. Clock ratio by polling. */
	REG8(TMU_TSTR) = 0;
	REG32(TMU_TCOR(0)) = 0xffffffff;
	REG32(TMU_TCNT(0)) = 0xffffffff;
	REG16(TMU_TCR(0)) = TCR_TPSC_CLK4;
	REG8(TMU_TSTR) = TMU_TSTR_STR0;
	uint32_t n0 = REG32(TMU_TCNT(0));
	uint64_t c0 = cycles();
	uint32_t n1 = n0;
	for (uint32_t i = 0; i < 10000000u && n0 - n1 < POLL_COUNTS; i++)
		n1 = REG32(TMU_TCNT(0));
	uint64_t c1 = cycles();
	REG8(TMU_TSTR) = 0;
	uint32_t counts = n0 - n1;
	check_true(counts >= POLL_COUNTS, "TCNT counts down while TSTR.STR0=1");
	check_true(c1 > c0, "SIMCTL cycle counter advances");
	/* cycles per PERIOD counts, from the measurement */
	uint64_t predicted = udiv64((c1 - c0) * PERIOD, counts);
	uint64_t per_count_x100 = udiv64((c1 - c0) * 100, counts);
	plat_printf("# %u.%02u CPU cycles per TMU count, predicted period %u cycles\n",
		    (uint32_t)udiv64(per_count_x100, 100),
		    (uint32_t)(per_count_x100 - udiv64(per_count_x100, 100) * 100),
		    (uint32_t)predicted);

	/* 2. Periodic interrupts. */
	ticks = 0;
	REG32(INT2PRI0) = 8u << INT2PRI0_TMU0_SHIFT;
	REG32(CnINT2MSKCLR0) = INT2MSK0_TMU0;
	REG32(TMU_TCOR(0)) = PERIOD - 1; /* TCNT 999..0 then reload: 1000 counts */
	REG32(TMU_TCNT(0)) = PERIOD - 1;
	REG16(TMU_TCR(0)) = TCR_UNIE | TCR_TPSC_CLK4;
	uint64_t start = cycles();
	REG8(TMU_TSTR) = TMU_TSTR_STR0;
	set_imask(0);
	uint64_t window_end = start + predicted * WINDOW + (predicted >> 1);
	for (uint32_t i = 0; i < 50000000u && cycles() < window_end; i++)
		;
	uint32_t in_window = ticks;
	for (uint32_t i = 0; i < 50000000u && ticks < MAX_STAMPS; i++)
		;
	set_imask(15);
	REG8(TMU_TSTR) = 0;

	/* 3. Checks. */
	check_true(in_window == WINDOW, "%u interrupts in %u.5 periods (got %u)",
		   WINDOW, WINDOW, in_window);
	check_true(ticks >= MAX_STAMPS, "periodic interrupts keep coming (%u)",
		   ticks >= MAX_STAMPS ? MAX_STAMPS : ticks);
	if (ticks >= MAX_STAMPS) {
		uint64_t total = stamps[MAX_STAMPS - 1] - stamps[1];
		uint64_t mean = udiv64(total, MAX_STAMPS - 2);
		int even = 1;
		for (unsigned i = 2; i < MAX_STAMPS; i++) {
			uint64_t iv = stamps[i] - stamps[i - 1];
			if (absdiff(iv, mean) > (mean >> 6))
				even = 0;
		}
		check_true(even, "intervals within 1/64 of their mean");
		check_true(absdiff(mean, predicted) <= (predicted >> 5),
			   "mean interval matches %u TMU counts", PERIOD);
		plat_printf("# mean interval %u cycles\n", (uint32_t)mean);
	}
	check_eq("no unexpected exceptions", unexpected, 0);
	return check_summary("tmu_periodic");
}
