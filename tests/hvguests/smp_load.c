/*
 * smp_load.c - the GPOS side of the experiments: a kernel-heavy load on
 * N vCPUs (docs/guests.md).
 *
 * Owns: the shared spinlock, the load loop and its statistics.
 *
 * vCPU 0 starts vCPUs 1..N-1 at _start (START_VCPU, r4 = their index);
 * crt0 gives each its own stack. Every vCPU registers the vector table,
 * opens its interrupts, starts its own virtual timer, and waits at a
 * start barrier so that no IPI reaches a vCPU before it can take it.
 * Then, until duration_ms of simulated time have passed, each vCPU
 * repeats one work unit:
 *
 *   user_iterations of work at "user level", then a system call (trapa
 *   #0x10, served by the guest's own VBR+0x100 handler: its "kernel").
 *   The kernel part, in Linux's spin_lock_irqsave order: IRQ_DISABLE,
 *   PREEMPT_COUNT(1), cs_iterations of work under this vCPU's own
 *   runqueue lock, one message into another vCPU's runqueue under that
 *   one's lock (round robin over the others), IRQ_RESTORE,
 *   PREEMPT_COUNT(0), KERNEL_EXIT, rte. Locks are MOVLI/MOVCO spinlocks;
 *   a waiter calls SPIN_YIELD(lock) after spin_yield_threshold failed
 *   looks. Every ipi_every units, SEND_IPI(next vCPU, 0).
 *
 * A vCPU preempted inside its kernel work holds its runqueue lock, and
 * every other vCPU stalls at its next message to it: the lock-holder
 * preemption the experiments measure.
 *
 * The timer handler counts ticks, the IPI handler counts IPIs received.
 * At the end each vCPU reports SAMPLE(1, work units) and checks in; vCPU 0
 * waits for all of them, prints the summary and returns 0 (EXIT(0)), or
 * GUEST_EXIT_CHECK if the lock let two vCPUs in at once or lost an update.
 *
 * Parameters: `load_params` in .data, patched in the ELF by the host
 * before loading (cli/src/hvguests.rs, patch_params), 32-bit words:
 *
 *   offset  name                  default  meaning (0 = off where noted)
 *   +0      nr_vcpus              4        1-4 (a single vCPU IPIs itself)
 *   +4      duration_ms           200      >= 1, simulated time
 *   +8      cs_iterations         50       kernel work inside the own runqueue lock
 *   +12     spin_yield_threshold  1000     failed looks before SPIN_YIELD; 0 = never
 *   +16     user_iterations       100      user-level work per unit
 *   +20     ipi_every             16       units per IPI; 0 = none
 *   +24     timer_period_us       4000     per-vCPU timer; 0 = none
 *   +28     device_period_us      0        vCPU 0's TMU5 period (even); 0 = none
 *
 * With device_period_us set, vCPU 0 runs TMU channel 5 (rp1_tmu.h), a
 * physical device the machine description must give it
 * (`{ source = "tmu5", level = L, vcpu = 0 }`), for the whole load, and
 * counts its interrupts; wherever vCPU 0 runs (it migrates under the
 * migration policies) the hypervisor routes them to it. It reports
 * device_ticks and device_us, the time the channel ran: with nothing lost
 * or doubled, device_ticks is device_us / device_period_us to within one.
 *
 * Output (vCPU 0):
 *   smp_load: vcpus=N duration_ms=D work=W [w0 w1 ..] syscalls=S
 *   ipis_sent=I ipis_received=R ticks=T spin_yields=Y lock_errors=0
 *   [device_ticks=K device_us=U]
 *   then one line per vCPU with its own counts.
 */
#include "guest.h"
#include "rp1_tmu.h"

struct load_params {
	uint32_t nr_vcpus;
	uint32_t duration_ms;
	uint32_t cs_iterations;
	uint32_t spin_yield_threshold;
	uint32_t user_iterations;
	uint32_t ipi_every;
	uint32_t timer_period_us;
	uint32_t device_period_us;
};

/* Forced into .data so that it has file bytes to patch whatever the defaults. */
__attribute__((section(".data"), used))
struct load_params load_params = {
	.nr_vcpus = 4,
	.duration_ms = 200,
	.cs_iterations = 50,
	.spin_yield_threshold = 1000,
	.user_iterations = 100,
	.ipi_every = 16,
	.timer_period_us = 4000,
	.device_period_us = 0,
};

#define SYSCALL_TRAP 0x10

/* Written only by the vCPU it belongs to: the loop, its system calls
 * (which do not nest) and its interrupt handlers (which may: their
 * counters are updated atomically). */
struct vcpu_stats {
	uint32_t work, syscalls, user_sum, ipis_sent, ipi_errors;
	volatile uint32_t ipis_received, ticks, device_ticks;
	uint32_t spin_yields, lock_errors;
	uint32_t rotate; /* whose runqueue gets the next message */
};
static struct vcpu_stats stats[GUEST_MAX_VCPUS];

/* One "runqueue" per vCPU: a MOVLI/MOVCO spinlock and what it protects.
 * Its own vCPU holds it for the long part of every system call; the
 * others take it briefly to hand it a message. So a vCPU preempted inside
 * its kernel work stalls every vCPU that next sends to it. */
struct runqueue {
	volatile uint32_t lock;        /* 0 free, 1 held */
	volatile uint32_t owner;       /* vCPU inside, or NO_OWNER */
	volatile uint32_t data, work_done, messages;
};
#define NO_OWNER 0xffffffffu
static struct runqueue rq[GUEST_MAX_VCPUS];

/* Start barrier and end rendezvous. */
static volatile uint32_t arrived, finished, go;
static volatile uint64_t run_end;

/* One attempt: 1 if the lock was free and is now ours. */
static int try_lock(volatile uint32_t *l)
{
	uint32_t old;

	__asm__ __volatile__("1:	movli.l	@%1, %0\n"
			     "	tst	%0, %0\n"
			     "	bf	2f\n"       /* held: give up, old != 0 */
			     "	mov	#1, %0\n"
			     "	movco.l	%0, @%1\n"
			     "	bf	1b\n"       /* reservation lost: retry */
			     "	mov	#0, %0\n"   /* it was free */
			     "2:\n"
			     : "=&z"(old)
			     : "r"(l)
			     : "t", "memory");
	return old == 0;
}

static void spin_lock(volatile uint32_t *l, struct vcpu_stats *s)
{
	uint32_t looks = 0, limit = load_params.spin_yield_threshold;

	while (!try_lock(l)) {
		while (*l) { /* read-only until it looks free */
			if (limit && ++looks >= limit) {
				hv_spin_yield(l);
				s->spin_yields++;
				looks = 0;
			}
		}
	}
}

static void spin_unlock(volatile uint32_t *l)
{
	synco(); /* the critical section's stores before the release */
	*l = 0;
}

static void rq_lock(unsigned cpu, unsigned me, struct vcpu_stats *s)
{
	spin_lock(&rq[cpu].lock, s);
	if (rq[cpu].owner != NO_OWNER)
		s->lock_errors++;
	rq[cpu].owner = me;
}

static void rq_unlock(unsigned cpu, unsigned me, struct vcpu_stats *s)
{
	if (rq[cpu].owner != me)
		s->lock_errors++;
	rq[cpu].owner = NO_OWNER;
	spin_unlock(&rq[cpu].lock);
}

/* The kernel side of one work unit (Linux's spin_lock_irqsave order):
 * the long part under this vCPU's own runqueue lock, then a message to
 * another vCPU's runqueue under that one's lock. */
static void kernel_work(unsigned me, unsigned n, struct vcpu_stats *s)
{
	uint32_t i, v, iterations = load_params.cs_iterations;
	unsigned to = me;
	/* Round robin over the others, without division (no libgcc). */
	if (n > 1) {
		if (++s->rotate >= n - 1)
			s->rotate = 0;
		to = me + 1 + s->rotate;
		if (to >= n)
			to -= n;
	}
	long level = hv_irq_disable();

	hv_preempt_count(1);
	rq_lock(me, me, s);
	v = rq[me].data;
	for (i = 0; i < iterations; i++)
		v = v * 33 + i;
	rq[me].data = v;
	rq[me].work_done = rq[me].work_done + 1; /* not atomic: the lock protects it */
	rq_unlock(me, me, s);

	rq_lock(to, me, s);
	rq[to].messages = rq[to].messages + 1;
	rq_unlock(to, me, s);
	hv_irq_restore(level < 0 ? 0 : (unsigned long)level);
	hv_preempt_count(0);
}

static void system_call(void)
{
	__asm__ __volatile__("trapa #" HV_STR(SYSCALL_TRAP) : : : "memory");
}

/* The guest's own system call: the unit's kernel work, KERNEL_EXIT (the
 * return to "user level" a Linux patch would report), then rte. */
int guest_trap(uint32_t imm, struct trap_frame *f)
{
	unsigned me = this_vcpu();
	struct vcpu_stats *s = &stats[me];

	(void)f;
	if (imm != SYSCALL_TRAP)
		return 0;
	kernel_work(me, load_params.nr_vcpus, s);
	s->syscalls++;
	hv_kernel_exit();
	return 1;
}

void guest_interrupt(uint32_t intevt)
{
	struct vcpu_stats *s = &stats[this_vcpu()];

	/* Atomic: another interrupt may nest inside this handler. */
	if (intevt == HV_INTEVT_TIMER)
		atomic_add(&s->ticks, 1);
	else if (intevt == HV_INTEVT_IPI(0))
		atomic_add(&s->ipis_received, 1);
	else if (intevt == TMU5_INTEVT && load_params.device_period_us) {
		tmu_ack(5);
		atomic_add(&s->device_ticks, 1);
	}
	else
		guest_fatal(GUEST_EXIT_INTERRUPT | intevt,
			    "unexpected interrupt INTEVT=0x%x", (unsigned)intevt);
}

/* Per-vCPU start: vector table, interrupts open, own timer. */
static void vcpu_setup(void)
{
	long r = hv_set_vector(guest_vbr);

	if (r < 0)
		guest_fatal(GUEST_EXIT_SETUP, "SET_VECTOR failed: %ld", r);
	r = hv_irq_restore(0);
	if (r < 0)
		guest_fatal(GUEST_EXIT_SETUP, "IRQ_RESTORE(0) failed: %ld", r);
	if (load_params.timer_period_us) {
		r = hv_timer_set(load_params.timer_period_us, 0);
		if (r < 0)
			guest_fatal(GUEST_EXIT_SETUP, "TIMER_SET(%u) failed: %ld",
				    (unsigned)load_params.timer_period_us, r);
	}
}

static void run_load(unsigned me, unsigned n)
{
	struct vcpu_stats *s = &stats[me];
	const uint32_t user = load_params.user_iterations;
	const uint32_t ipi_every = load_params.ipi_every;
	uint32_t ipi_left = ipi_every, i, sum = 0;
	unsigned next = me + 1 == n ? 0 : me + 1;
	uint64_t end = run_end;

	while (hv_time_now() < end) {
		/* User-level work, then the system call that does the kernel
		 * part of the unit. */
		for (i = 0; i < user; i++)
			sum = (sum << 1) ^ (sum >> 31) ^ i;
		system_call();
		s->work++;
		if (ipi_every && --ipi_left == 0) {
			ipi_left = ipi_every;
			if (hv_send_ipi(next, 0) < 0)
				s->ipi_errors++;
			else
				s->ipis_sent++;
		}
	}
	s->user_sum = sum;
	hv_timer_set(0, 0);
	hv_sample(HV_SAMPLE_WORK, s->work);
	atomic_add(&finished, 1);
}

void secondary_main(uint32_t arg)
{
	unsigned me = this_vcpu();

	if (arg != me)
		guest_fatal(GUEST_EXIT_SETUP, "started with r4=%u, VCPU_ID says %u",
			    (unsigned)arg, me);
	vcpu_setup();
	atomic_add(&arrived, 1);
	while (!go)
		hv_yield();
	run_load(me, load_params.nr_vcpus);
}

int main(void)
{
	const struct load_params p = load_params;
	struct vcpu_stats total;
	char per_vcpu[48], device[64] = "";
	uint64_t device_from = 0, device_cycles = 0;
	unsigned i, k;

	if (p.nr_vcpus == 0 || p.nr_vcpus > GUEST_MAX_VCPUS || p.duration_ms == 0 ||
	    p.device_period_us % 2 != 0 || p.device_period_us > 1000000) {
		con_printf("smp_load: bad parameters nr_vcpus=%u duration_ms=%u device_period_us=%u\n",
			   (unsigned)p.nr_vcpus, (unsigned)p.duration_ms,
			   (unsigned)p.device_period_us);
		return GUEST_EXIT_PARAMS;
	}
	for (i = 0; i < GUEST_MAX_VCPUS; i++)
		rq[i].owner = NO_OWNER;
	vcpu_setup();
	for (i = 1; i < p.nr_vcpus; i++) {
		long r = hv_start_vcpu(i, _start, i);

		if (r < 0)
			guest_fatal(GUEST_EXIT_SETUP, "START_VCPU(%u) failed: %ld", i, r);
	}
	while (arrived < p.nr_vcpus - 1)
		hv_yield();
	run_end = hv_time_now() + (uint64_t)p.duration_ms * HV_CYCLES_PER_MS;
	synco();
	go = 1;
	if (p.device_period_us) {
		device_from = hv_time_now();
		tmu_start_periodic(5, tmu_counts(p.device_period_us));
	}

	run_load(0, p.nr_vcpus);
	if (p.device_period_us) {
		tmu_stop(5);
		device_cycles = hv_time_now() - device_from;
		str_printf(device, sizeof(device), " device_ticks=%u device_us=%llu",
			   (unsigned)stats[0].device_ticks,
			   (unsigned long long)udiv64(device_cycles, HV_CYCLES_PER_US, 0));
	}
	while (finished < p.nr_vcpus)
		hv_yield();
	synco();

	memset(&total, 0, sizeof(total));
	for (i = 0; i < p.nr_vcpus; i++) {
		const uint32_t *from = (const uint32_t *)&stats[i];
		uint32_t *to = (uint32_t *)&total;

		for (k = 0; k < sizeof(total) / sizeof(uint32_t); k++)
			to[k] += from[k];
	}
	for (i = 0, k = 0; i < p.nr_vcpus; i++)
		k += str_printf(per_vcpu + k, sizeof(per_vcpu) - k, "%s%u",
				i ? " " : "", (unsigned)stats[i].work);
	con_printf("smp_load: vcpus=%u duration_ms=%u work=%u [%s] syscalls=%u"
		   " ipis_sent=%u ipis_received=%u ticks=%u spin_yields=%u lock_errors=%u%s\n",
		   (unsigned)p.nr_vcpus, (unsigned)p.duration_ms, (unsigned)total.work,
		   per_vcpu, (unsigned)total.syscalls, (unsigned)total.ipis_sent,
		   (unsigned)total.ipis_received, (unsigned)total.ticks,
		   (unsigned)total.spin_yields, (unsigned)total.lock_errors, device);
	for (i = 0; i < p.nr_vcpus; i++)
		con_printf("smp_load: vcpu %u work=%u syscalls=%u ipis_sent=%u ipi_errors=%u"
			   " ipis_received=%u ticks=%u spin_yields=%u\n",
			   i, (unsigned)stats[i].work, (unsigned)stats[i].syscalls,
			   (unsigned)stats[i].ipis_sent, (unsigned)stats[i].ipi_errors,
			   (unsigned)stats[i].ipis_received, (unsigned)stats[i].ticks,
			   (unsigned)stats[i].spin_yields);
	/* Every unit did its kernel work under its own lock and left one
	 * message under another's: the counts must match exactly. */
	for (i = 0, k = 0; i < p.nr_vcpus; i++)
		k += rq[i].messages;
	for (i = 0; i < p.nr_vcpus; i++)
		if (rq[i].work_done != stats[i].work)
			total.lock_errors++;
	if (total.lock_errors || k != total.work) {
		con_printf("smp_load: FAIL lock_errors=%u messages=%u work=%u\n",
			   (unsigned)total.lock_errors, k, (unsigned)total.work);
		return GUEST_EXIT_CHECK;
	}
	return GUEST_EXIT_OK;
}
