/*
 * toppers_load.c - the papers' RTOS load as a TOPPERS/JSP 1.4.4.1
 * application, for TOPPERS as the RTOS guest of the hypervisor
 * (docs/toppers-guest.md). It does what tests/hvguests/rtos_probe.c
 * does, with the kernel's own tasks, cyclic handler and dispatcher:
 *
 *  - periodic_task (highest priority) is activated (iact_tsk) by the
 *    cyclic handler tick_handler every period_us / 1000 ticks; the tick
 *    is the kernel's 1 ms timer interrupt (the vCPU's virtual timer,
 *    started with TIMER_AT at rp1_tick_origin, config/sh3/rp1_spumone).
 *    Its first action is TIME_NOW; it reports now - release with
 *    SAMPLE(0, cycles). Tick k is released at rp1_tick_origin + k ms.
 *    The first activation's release is the last tick before it (so a
 *    first sample more than a tick late would be misread); after that
 *    the releases are tracked on the grid exactly as the probe does
 *    (lost releases, overruns, early samples).
 *  - burner_task (lowest) busy-loops on TIME_NOW for the first
 *    util_percent % of every burn_window_ms window (windows counted from
 *    the cyclic handler's start) and sleeps (dly_tsk) for the rest.
 *  - main_task checks the parameters, times a hypercall (SAMPLE(2)),
 *    starts the cyclic handler and the burner, sleeps until the samples
 *    are taken, then prints one line in the probe's format and ends the
 *    kernel (kernel_exit: the timer stops, then EXIT(0)).
 *
 * Parameters: `probe_params`, the same block at the same symbol as the
 * probe's (docs/guests.md), patched by the host the same way:
 *   +0 samples (>= 1), +4 util_percent (0-100), +8 period_us (1000-1000000,
 *   a multiple of the 1 ms tick), +12 burn_window_ms (1-7000),
 *   +16 timer_source (only 0, the virtual timer).
 * Bad parameters: a line "toppers_load: bad parameters ..." and EXIT(2).
 *
 * Output:
 *   toppers_load: samples=N period_us=P util=U% window_ms=W source=virtual
 *   lat_cycles min=a avg=b max=c lat_ns min=.. avg=.. max=.. early=E
 *   overruns=O lost=L burn_ms=B
 *
 * No division operator anywhere: udiv64 divides by shift and subtract
 * (the guest is linked without libgcc).
 */
#include <t_services.h>
#include <spumone.h>
#include "kernel_id.h"
#include "toppers_load.h"

struct probe_params {
	UW samples;
	UW util_percent;
	UW period_us;
	UW burn_window_ms;
	UW timer_source;
};

/* Forced into .data so that it has file bytes to patch, and named as the
 * probe's symbol is (without the underscore every other C name gets). */
__attribute__((section(".data"), used))
struct probe_params probe_params __asm__("probe_params") = { 1000, 0, 1000, 500, 0 };

typedef unsigned long long u64;

extern u64 rp1_tick_origin;  /* config/sh3/rp1_spumone/sys_config.c */

#define TICK_CYCLES ((u64)1000 * HV_CYCLES_PER_US)

static u64 period_cycles, window, burn, win_start;
static UW ticks_per_release, tick_count;
static u64 next_release;
static UW taken, early, overruns, lost;
static int skipped_last;
static u64 lat_sum, lat_min = ~0ull, lat_max, burned;
static volatile int done;

static u64 udiv64(u64 n, u64 d)
{
	u64 q = 0, bit = 1;

	if (d == 0)
		return 0;
	while (d < n && !(d >> 63)) {
		d <<= 1;
		bit <<= 1;
	}
	while (bit) {
		if (n >= d) {
			n -= d;
			q |= bit;
		}
		d >>= 1;
		bit >>= 1;
	}
	return q;
}

/* ----- the line printer: decimal by subtracting powers of ten ----- */

static char line[256];
static UINT len;

static void put_str(const char *s)
{
	while (*s && len < sizeof(line) - 1)
		line[len++] = *s++;
}

static void put_u64(u64 v)
{
	u64 p = 1;
	int started = 0;

	while (p <= udiv64(v, 10))
		p *= 10;
	for (; p; p = udiv64(p, 10)) {
		char c = '0';
		while (v >= p) {
			v -= p;
			c++;
		}
		if (c != '0' || started || p == 1) {
			started = 1;
			if (len < sizeof(line) - 1)
				line[len++] = c;
		}
	}
}

static void put_field(const char *name, u64 v)
{
	put_str(name);
	put_u64(v);
}

static void flush(void)
{
	hv_console_write(line, len);
	len = 0;
}

/* ----- the tasks ----- */

void tick_handler(VP_INT exinf)
{
	(void)exinf;
	if (++tick_count >= ticks_per_release) {
		tick_count = 0;
		iact_tsk(PERIODIC_TASK);
	}
}

static void record(u64 lat)
{
	hv_sample(HV_SAMPLE_LATENCY, lat > 0xffffffffull ? 0xffffffffu : (UW)lat);
	lat_sum += lat;
	if (lat < lat_min)
		lat_min = lat;
	if (lat > lat_max)
		lat_max = lat;
	if (++taken == probe_params.samples) {
		done = 1;
		wup_tsk(MAIN_TASK);
	}
}

void periodic_task(VP_INT exinf)
{
	u64 now = hv_time_now(), release, lat = 0;

	(void)exinf;
	if (done)
		return;
	if (next_release == 0) {
		/* The first: released by the last tick before now. */
		release = rp1_tick_origin +
			udiv64(now - rp1_tick_origin, TICK_CYCLES) * TICK_CYCLES;
		next_release = release + period_cycles;
	} else {
		release = next_release;
		if (now < release && skipped_last) {
			/* The last release counted lost came as a tick of its own. */
			release -= period_cycles;
			lost--;
		} else {
			next_release += period_cycles;
		}
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

void burner_task(VP_INT exinf)
{
	(void)exinf;
	while (!done) {
		u64 now = hv_time_now();

		while (now >= win_start + window)
			win_start += window;
		if (now < win_start + burn) {
			u64 end = win_start + burn;

			/* Counted as it goes: main may end the kernel
			 * while the burner is preempted mid-window. */
			while (!done && now < end) {
				u64 before = now;

				for (volatile UINT i = 0; i < 64; i++)
					;
				now = hv_time_now();
				burned += now - before;
			}
		} else {
			/* Sleep to the next window (the tick after its start). */
			dly_tsk((RELTIM)udiv64(win_start + window - now, TICK_CYCLES) + 1);
		}
	}
}

void main_task(VP_INT exinf)
{
	const struct probe_params p = probe_params;
	u64 least = ~0ull, avg;
	int i;

	(void)exinf;
	if (p.samples == 0 || p.util_percent > 100 || p.period_us < 1000 ||
	    p.period_us > 1000000 ||
	    udiv64(p.period_us, 1000) * 1000 != p.period_us ||
	    p.burn_window_ms == 0 || p.burn_window_ms > 7000 ||
	    p.timer_source != 0) {
		put_field("toppers_load: bad parameters samples=", p.samples);
		put_field(" util=", p.util_percent);
		put_field(" period_us=", p.period_us);
		put_field(" window_ms=", p.burn_window_ms);
		put_field(" timer_source=", p.timer_source);
		put_str(" (period_us a multiple of 1000 up to 1000000, timer_source 0)\n");
		flush();
		hv_exit(2);
	}
	period_cycles = (u64)p.period_us * HV_CYCLES_PER_US;
	ticks_per_release = (UW)udiv64(p.period_us, 1000);
	window = (u64)p.burn_window_ms * HV_CYCLES_PER_MS;
	burn = udiv64(window * p.util_percent, 100);

	/* What a hypercall costs the guest, whole (as the probe reports it). */
	for (i = 0; i < 8; i++) {
		u64 a = hv_time_now();
		u64 b = hv_time_now();
		if (b - a < least)
			least = b - a;
	}
	hv_sample(HV_SAMPLE_ROUND_TRIP, (UW)least);

	win_start = hv_time_now();
	sta_cyc(TICK_CYC);
	if (burn != 0)
		act_tsk(BURNER_TASK);
	while (!done)
		slp_tsk();
	stp_cyc(TICK_CYC);

	avg = udiv64(lat_sum, taken);
	put_field("toppers_load: samples=", taken);
	put_field(" period_us=", p.period_us);
	put_field(" util=", p.util_percent);
	put_field("% window_ms=", p.burn_window_ms);
	put_str(" source=virtual");
	put_field(" lat_cycles min=", lat_min);
	put_field(" avg=", avg);
	put_field(" max=", lat_max);
	put_field(" lat_ns min=", udiv64(lat_min * 5, 3));
	put_field(" avg=", udiv64(avg * 5, 3));
	put_field(" max=", udiv64(lat_max * 5, 3));
	put_field(" early=", early);
	put_field(" overruns=", overruns);
	put_field(" lost=", lost);
	put_field(" burn_ms=", udiv64(burned, HV_CYCLES_PER_MS));
	put_str("\n");
	flush();
	kernel_exit();
}
