/*
 * rtos_probe.c - the RTOS side of the experiments: one vCPU measuring its
 * own dispatch latency under the hypervisor (docs/guests.md).
 *
 * Owns: a two-task fixed-priority scheduler and the latency statistics.
 *
 *  - The periodic task (highest priority) is released by every virtual
 *    timer interrupt (TIMER_AT, period_us). Release k happens at
 *    start + k * period, where start is TIME_NOW read just before
 *    TIMER_AT programs the first release at start + period. When the task starts running it reads TIME_NOW and
 *    reports now - release with SAMPLE(0, cycles).
 *  - The burner (lower priority) busy-loops on TIME_NOW for the first
 *    util_percent % of every burn_window_ms window, windows counted from
 *    start; the rest of the time nothing is runnable and the probe IDLEs.
 *
 * Scheduling: tasks run to completion on the one stack. A task that
 * outranks the running one runs at once, nested: the timer handler calls
 * dispatch(), so the periodic task preempts the burner (or the idle loop)
 * from inside the interrupt, as an RTOS's interrupt exit would dispatch
 * it. Handlers may nest (guest.h): activations are counted with MOVLI/
 * MOVCO and taken one at a time, and a nested dispatch never runs a task
 * that does not outrank the one it interrupted, so a release arriving
 * while the periodic task runs is served right after it.
 *
 * Late releases: the hypervisor keeps one pending timer interrupt, so a
 * release more than a period late absorbs the ones that passed meanwhile.
 * The sample is the latency of the oldest release not yet served; the
 * releases already past when it runs are counted as lost and skipped,
 * except that the last of them may still come as a tick of its own (if it
 * fell between the hypervisor raising this tick and the task reading the
 * clock): such a tick is matched to it and the count corrected. That
 * needs the period to be long against the probe's own handling (a few
 * microseconds), hence the 100 us minimum.
 *
 * Parameters: `probe_params` in .data, patched in the ELF by the host
 * before loading (cli/src/hvguests.rs, patch_params), 32-bit words:
 *
 *   offset  name            default  range
 *   +0      samples         1000     >= 1 periodic samples, then EXIT(0)
 *   +4      util_percent    0        0-100 burner utilization
 *   +8      period_us       1000     100-1000000 periodic task and timer
 *   +12     burn_window_ms  500      1-7000 burner window
 *   +16     timer_source    0        0 the virtual timer, 1 TMU channel 4
 *
 * With timer_source = 1 the periodic task is released by a physical
 * device, TMU4 (rp1_tmu.h), which the machine description must give the
 * probe (`{ source = "tmu4", level = L }`): its interrupt reaches the
 * probe through the hypervisor's destination table. The handler
 * acknowledges the underflow; the task measures its latency on the
 * device's own clock, as a hardware latency test would: the counts TCNT
 * has gone down since it reloaded, times 48 cycles (resolution 48
 * cycles, 0.08 us, rounded down). period_us must be even. A release late
 * by a period or more is absorbed by the one after it (the device keeps
 * one underflow flag): it shows as lost, found from the gap between
 * releases, not as an overrun.
 *
 * Output: one line, then EXIT(0) (GUEST_EXIT_PARAMS / _SETUP on errors):
 *   rtos_probe: samples=N period_us=P util=U% window_ms=W lat_cycles
 *   min=a avg=b max=c lat_ns min=.. avg=.. max=.. early=E overruns=O
 *   lost=L burn_ms=B
 * early counts samples taken before their release time (reported as 0),
 * overruns samples at least a period late, lost the releases they absorbed.
 */
#include "guest.h"
#include "rp1_tmu.h"

struct probe_params {
	uint32_t samples;
	uint32_t util_percent;
	uint32_t period_us;
	uint32_t burn_window_ms;
	uint32_t timer_source;
};

/* Forced into .data so that it has file bytes to patch whatever the defaults. */
__attribute__((section(".data"), used))
struct probe_params probe_params = {
	.samples = 1000,
	.util_percent = 0,
	.period_us = 1000,
	.burn_window_ms = 500,
	.timer_source = 0,
};

#define SOURCE_VIRTUAL 0
#define SOURCE_TMU4 1

/* Priorities, 0 the highest; PRIO_IDLE is the main loop. */
enum { PRIO_PERIODIC, PRIO_BURNER, PRIO_IDLE };

static void periodic_task(void);
static void burner_task(void);
static void (*const tasks[PRIO_IDLE])(void) = { periodic_task, burner_task };

static volatile unsigned current = PRIO_IDLE;    /* priority now running */
static volatile uint32_t activations[PRIO_IDLE]; /* releases not yet run */

/* Set up by main before the timer starts. */
static uint64_t period_cycles, start;
static uint64_t burn_end; /* the burner runs until here */

/* Periodic task state and statistics. */
static uint64_t next_release;
static uint32_t taken, early, overruns, lost;
static int skipped_last; /* the release before next_release was counted lost */
static uint64_t lat_sum, lat_min = ~0ull, lat_max;
static volatile int done;
static uint64_t burned;

/* Run every activated task that outranks the running one, highest first. */
static void dispatch(void)
{
	unsigned saved = current, p = 0;

	while (p < saved) {
		if (!atomic_take(&activations[p])) {
			p++;
			continue;
		}
		current = p;
		tasks[p]();
		current = saved;
		p = 0; /* a nested interrupt may have released a higher one */
	}
}

static void record(uint64_t lat)
{
	hv_sample(HV_SAMPLE_LATENCY, lat > 0xffffffffull ? 0xffffffffu : (uint32_t)lat);
	lat_sum += lat;
	if (lat < lat_min)
		lat_min = lat;
	if (lat > lat_max)
		lat_max = lat;
	if (++taken == probe_params.samples)
		done = 1;
}

/* TMU4 releases: the latency is on the device's clock; lost releases are
 * the whole periods between this release and the previous one, less one. */
static void periodic_task_tmu(void)
{
	uint32_t count = tmu_count(4);
	uint64_t now = hv_time_now();
	uint64_t lat = (uint64_t)(tmu_counts(probe_params.period_us) - 1 - count) * TMU_CYCLES_PER_COUNT;
	uint64_t release = now - lat;

	if (next_release != 0 && release > next_release + period_cycles / 2)
		lost += (uint32_t)udiv64(release - next_release + period_cycles / 2, period_cycles, 0);
	next_release = release + period_cycles;
	record(lat);
}

static void periodic_task(void)
{
	uint64_t now, release = next_release, lat = 0;

	if (done)
		return; /* ticks until main stops the timer */
	if (probe_params.timer_source == SOURCE_TMU4) {
		periodic_task_tmu();
		return;
	}
	now = hv_time_now();
	if (now < release && skipped_last) {
		/* The last release counted as lost had not been absorbed: the
		 * hypervisor saw it only after it raised the previous tick. */
		release -= period_cycles;
		lost--;
	} else {
		next_release += period_cycles;
	}
	skipped_last = 0;
	if (now >= release)
		lat = now - release;
	else
		early++;
	if (lat >= period_cycles)
		overruns++;
	while (next_release <= now) {
		next_release += period_cycles;
		lost++;
		skipped_last = 1;
	}
	record(lat);
}

/* Busy until burn_end, checking the clock every few hundred cycles. */
static void burner_task(void)
{
	uint64_t from = hv_time_now(), now = from;

	while (!done && now < burn_end) {
		for (volatile unsigned i = 0; i < 64; i++)
			;
		now = hv_time_now();
	}
	burned += now - from;
}

void guest_interrupt(uint32_t intevt)
{
	uint32_t expected = probe_params.timer_source == SOURCE_TMU4 ? TMU4_INTEVT : HV_INTEVT_TIMER;

	if (intevt != expected)
		guest_fatal(GUEST_EXIT_INTERRUPT | intevt,
			    "unexpected interrupt INTEVT=0x%x", (unsigned)intevt);
	if (intevt == TMU4_INTEVT)
		tmu_ack(4);
	atomic_add(&activations[PRIO_PERIODIC], 1);
}

/* Back at the interrupted level: run what the tick released. */
void guest_interrupt_exit(void)
{
	dispatch();
}

int guest_trap(uint32_t imm, struct trap_frame *f)
{
	(void)imm;
	(void)f;
	return 0; /* the probe makes no system calls */
}

static uint64_t cycles_to_ns(uint64_t c)
{
	return udiv64(c * 5, 3, 0); /* 600 MHz: 5/3 ns per cycle */
}

int main(void)
{
	const struct probe_params p = probe_params;
	uint64_t window, burn, win_start;
	uint64_t avg;
	long r;

	if (p.samples == 0 || p.util_percent > 100 || p.period_us < 100 ||
	    p.period_us > 1000000 || p.burn_window_ms == 0 ||
	    p.burn_window_ms > 7000 || p.timer_source > SOURCE_TMU4 ||
	    (p.timer_source == SOURCE_TMU4 && p.period_us % 2 != 0)) {
		con_printf("rtos_probe: bad parameters samples=%u util=%u period_us=%u window_ms=%u timer_source=%u\n",
			   (unsigned)p.samples, (unsigned)p.util_percent,
			   (unsigned)p.period_us, (unsigned)p.burn_window_ms,
			   (unsigned)p.timer_source);
		return GUEST_EXIT_PARAMS;
	}
	period_cycles = (uint64_t)p.period_us * HV_CYCLES_PER_US;
	window = (uint64_t)p.burn_window_ms * HV_CYCLES_PER_MS;
	burn = udiv64(window * p.util_percent, 100, 0);

	r = hv_set_vector(guest_vbr);
	if (r < 0)
		guest_fatal(GUEST_EXIT_SETUP, "SET_VECTOR failed: %ld", r);
	r = hv_irq_restore(0);
	if (r < 0)
		guest_fatal(GUEST_EXIT_SETUP, "IRQ_RESTORE(0) failed: %ld", r);

	/* What a hypercall costs the guest, whole: the least of a few
	 * back-to-back TIME_NOWs (the first warms nothing up: there are no
	 * caches in the model, but a timer may interrupt one pair). */
	{
		uint64_t least = ~0ull;
		for (int i = 0; i < 8; i++) {
			uint64_t a = hv_time_now();
			uint64_t b = hv_time_now();
			if (b - a < least)
				least = b - a;
		}
		hv_sample(HV_SAMPLE_ROUND_TRIP, (uint32_t)least);
	}

	start = hv_time_now();
	if (p.timer_source == SOURCE_TMU4) {
		next_release = 0; /* found from the first release */
		tmu_start_periodic(4, tmu_counts(p.period_us));
	} else {
		/* The first release is a time the probe chose: TIMER_SET would
		 * start the period when the hypervisor handles the call, a
		 * moment the probe cannot see, and every sample would carry
		 * that offset. */
		next_release = start + period_cycles;
		r = hv_timer_at(next_release, p.period_us);
		if (r < 0)
			guest_fatal(GUEST_EXIT_SETUP, "TIMER_AT(%u) failed: %ld",
				    (unsigned)p.period_us, r);
	}

	/* The idle loop: the burner when its share of the window is not used up. */
	win_start = start;
	while (!done) {
		uint64_t now = hv_time_now();

		while (now >= win_start + window)
			win_start += window;
		if (now < win_start + burn) {
			burn_end = win_start + burn;
			activations[PRIO_BURNER] = 1;
			dispatch();
		} else {
			hv_idle();
		}
	}
	if (p.timer_source == SOURCE_TMU4)
		tmu_stop(4);
	else
		hv_timer_set(0, 0);

	avg = udiv64(lat_sum, taken, 0);
	con_printf("rtos_probe: samples=%u period_us=%u util=%u%% window_ms=%u source=%s"
		   " lat_cycles min=%llu avg=%llu max=%llu"
		   " lat_ns min=%llu avg=%llu max=%llu"
		   " early=%u overruns=%u lost=%u burn_ms=%llu\n",
		   (unsigned)taken, (unsigned)p.period_us,
		   (unsigned)p.util_percent, (unsigned)p.burn_window_ms,
		   p.timer_source == SOURCE_TMU4 ? "tmu4" : "virtual",
		   (unsigned long long)lat_min, (unsigned long long)avg,
		   (unsigned long long)lat_max,
		   (unsigned long long)cycles_to_ns(lat_min),
		   (unsigned long long)cycles_to_ns(avg),
		   (unsigned long long)cycles_to_ns(lat_max),
		   (unsigned)early, (unsigned)overruns, (unsigned)lost,
		   (unsigned long long)udiv64(burned, HV_CYCLES_PER_MS, 0));
	return GUEST_EXIT_OK;
}
