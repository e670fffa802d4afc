/*
 * hostile.c - a hostile GPOS for the board image's robustness tests
 * (docs/guests.md, "hostile"; tests/board_hostile.rs).
 *
 * Owns: a seeded generator of hostile hypercall sequences, an oracle of
 * what each must return written from docs/hypercall-abi.md alone (not
 * from the hypervisor's code), and the mailbox scribbler.
 *
 * N vCPUs (1-4). vCPU 0 checks the parameters, sets up (vector table,
 * IRQ_RESTORE(0), its periodic timer) and starts vCPUs 1..N-1 with
 * START_VCPU(i, _start, i); each sets up the same way and checks in;
 * vCPU 0 then lets them all go. What they do depends on `mode`:
 *
 * Mode 0, hostile hypercalls. Every vCPU makes `calls` pseudo-random
 * steps (its own xorshift32 stream from `seed` and its index), each one
 * call or a few (below): every
 * `trapa` immediate 0x60-0x7f but EXIT, and a few non-hypercall traps
 * (TRAP_IMMS below), with random and deliberately bad arguments: vCPU
 * numbers out of range, addresses outside the partition, in another
 * partition, in the hypervisor's memory, in P0/P3/P4, misaligned, at the
 * partition's edges, lengths past 256 or past the partition's end, levels
 * of the RTOS's class, periods past 7,000,000 us. Each call goes through
 * hc_invoke (assembler below), which loads recognisable values into every
 * register the ABI preserves (r1-r3, r8-r13, MACH, MACL, GBR, SR.T; r4-r7
 * hold the arguments) and records them after the call; so each call is
 * checked for its r0 (against the oracle) and for every preserved
 * register. A non-hypercall trap must reach the guest's own VBR+0x100
 * with EXPEVT 0x160 and TRA = imm << 2 and come back with every register
 * as it was (r0 too).
 *
 * Calls that change the vCPU's state are modelled or undone:
 *  - IRQ_DISABLE / IRQ_RESTORE: the oracle keeps the virtual level (an
 *    interrupt handler gives its level back before it returns, so the
 *    level the main code sees only changes through its own calls); a
 *    level left masked is opened again now and then, so ticks arrive.
 *  - SET_VECTOR, TIMER_SET and TIMER_AT whose arguments are valid are made
 *    inside a masked window: IRQ_DISABLE, the call, then SET_VECTOR(own
 *    table) or TIMER_SET(own period, periodic), then IRQ_RESTORE(previous
 *    level). No interrupt or exception can use the foreign vector table
 *    or see the foreign timer meanwhile. Any valid period goes, down to
 *    1 us: a tick pending behind the mask arms nothing (mode 2).
 *  - START_VCPU with valid arguments names a vCPU that already runs (all
 *    are started first): the ABI says it is ignored; r0 is 0 or E_STATE
 *    (the message could not be queued). Its entry point is rogue_entry,
 *    which ends the guest with status 6 if a vCPU ever starts there.
 *  - IDLE only while the level lets the timer in; CONSOLE_WRITE with a
 *    valid range prints from a buffer of dots (or the partition's zeroed
 *    last bytes); SAMPLE only with kinds >= 200 (the report's kinds are
 *    below 200; the trace ring records a kind of 255 or more as 255);
 *    EXIT never.
 *
 * Where the ABI document leaves an order open, the oracle takes the one
 * percore/tests/common/world.rs (the fake-core tests' oracle) takes: a bad
 * vCPU before a bad message (SEND_IPI), a bad vCPU before a bad entry
 * (START_VCPU), a length over 256 before a bad range (CONSOLE_WRITE); and
 * TIMER_SET's period is limited to 7,000,000 us like TIMER_AT's. An
 * address is in the partition when it is a P1 or P2 address whose
 * physical range [addr, addr + len) lies inside [part_base, part_base +
 * part_size); SET_VECTOR needs [vbr, vbr + 0x604) inside and 4-byte
 * alignment, START_VCPU 2 bytes at a 2-byte aligned entry.
 *
 * Mode 1, mailbox scribbler. vCPU N-1 writes pseudo-random words into the
 * mailbox region of the CSM (P2 0xb6000000, its first `region_bytes`),
 * half of them anywhere, a quarter on the rings' index words and a
 * quarter on slot headers (layout from docs/mailbox.md), for
 * `scribble_ms`, while the other vCPUs send each other virtual IPIs
 * (messages 0-6, every `ipi_gap` loop iterations) and count those they
 * get. Then for `recover_ms` every vCPU, the scribbler too, sends message
 * 7 to every other one; each must receive at least one message 7. Then
 * 2 ms of quiet (timers stopped, nothing sent) so that nothing is in
 * flight when the counts are reported. With region_bytes = 0 the
 * scribbler only computes (a control run).
 *
 * Modes 2 and 3 try two ways a GPOS once stalled an RTOS on a shared core
 * with valid calls only (tests/board_hostile.rs checks they no longer
 * do):
 *  - mode 2, timer storm: vCPU 0 masks itself, sets its timer to
 *    storm_period_us for storm_ms (computing meanwhile), then puts its
 *    own timer back;
 *  - mode 3, IPI flood: for storm_ms, vCPUs 1..N-1 send vCPU 0 IPIs as
 *    fast as they can (ipi_gap loop iterations between two), vCPU 0
 *    computes.
 *
 * Report: a console line per vCPU and one total (vCPU 0), then SAMPLEs
 * from each vCPU of its own counts, kinds (value = the count):
 *   100 mismatches (r0 or a preserved register not as the ABI says)
 *   101-106 hypercalls that returned error code -1 .. -6
 *   107 hostile hypercalls made (through hc_invoke)
 *   108 non-hypercall traps made
 *   109 non-hypercall traps that reached the handler as expected
 *   110 START_VCPU calls answered E_STATE (allowed)
 *   111 interrupts taken (timer + IPIs)
 *   112 START_VCPU calls of a running vCPU answered 0 (ignored, counted
 *       by the hypervisor as misrouted)
 *   120 IPIs sent (SEND_IPI returned 0, mode 1)
 *   121 IPIs received (any message, mode 1)
 *   122 message-7 IPIs received (mode 1, after the scribbling)
 *   123 timer ticks received
 *   124 words scribbled (mode 1)
 *   125 work units done (mode 1)
 * and EXIT(0); EXIT(4) if any vCPU counted a mismatch or a check failed.
 *
 * Parameters: `hostile_params` in .data (32-bit words), patched by the
 * host (cli/src/hvguests.rs, patch_params):
 *
 *   offset  name             default     meaning
 *   +0      mode             0           0 hostile hypercalls, 1 scribbler,
 *                                        2 timer storm, 3 IPI flood
 *   +4      seed             1           generator seed
 *   +8      calls            2000        mode 0: calls per vCPU
 *   +12     nr_vcpus         4           1-4: the description's vCPU count
 *   +16     part_base        0x09000000  the partition (physical), as the
 *   +20     part_size        0x01000000  description gives it
 *   +24     timer_period_us  500         each vCPU's timer, 50-100000
 *   +28     scribble_ms      40          mode 1: scribbling time
 *   +32     recover_ms       10          mode 1: message-7 phase
 *   +36     region_bytes     37632       mode 1: spumone_migration::region_size(4);
 *                                        0: scribble nothing
 *   +40     ipi_gap          2000        mode 1: loop iterations between IPIs
 *   +44     scribble_gap     50          mode 1: loop iterations between scribbles
 *   +48     storm_period_us  2           mode 2: the timer period
 *   +52     storm_ms         20          modes 2, 3: how long
 *
 * (mode 3 uses ipi_gap too.) Out of range: "hostile: bad parameters",
 * EXIT(2).
 */
#include "guest.h"

struct hostile_params {
	uint32_t mode;
	uint32_t seed;
	uint32_t calls;
	uint32_t nr_vcpus;
	uint32_t part_base;
	uint32_t part_size;
	uint32_t timer_period_us;
	uint32_t scribble_ms;
	uint32_t recover_ms;
	uint32_t region_bytes;
	uint32_t ipi_gap;
	uint32_t scribble_gap;
	uint32_t storm_period_us;
	uint32_t storm_ms;
};

/* Forced into .data so that it has file bytes to patch whatever the defaults. */
__attribute__((section(".data"), used))
struct hostile_params hostile_params = {
	.mode = 0,
	.seed = 1,
	.calls = 2000,
	.nr_vcpus = 4,
	.part_base = 0x09000000,
	.part_size = 0x01000000,
	.timer_period_us = 500,
	.scribble_ms = 40,
	.recover_ms = 10,
	.region_bytes = 37632,
	.ipi_gap = 2000,
	.scribble_gap = 50,
	.storm_period_us = 2,
	.storm_ms = 20,
};

#define MODE_HYPERCALLS 0
#define MODE_SCRIBBLER  1
#define MODE_TIMER_STORM 2
#define MODE_IPI_FLOOD   3

#define EXIT_ROGUE_START 6 /* a vCPU started at rogue_entry */


/* The guest's levels (machine description): timer 5, IPIs 6. */
#define TIMER_LEVEL 5

/* SAMPLE kinds of the report (see the top). */
#define K_MISMATCH   100
#define K_ERROR(k)   (100 + (k)) /* k = 1..6 */
#define K_CALLS      107
#define K_TRAPS      108
#define K_TRAPS_SEEN 109
#define K_STATE      110
#define K_IRQS       111
#define K_RESTARTS   112
#define K_IPI_SENT   120
#define K_IPI_RECV   121
#define K_IPI7_RECV  122
#define K_TICKS      123
#define K_SCRIBBLES  124
#define K_WORK       125

/* ----- the call path: every hostile call goes through hc_invoke ----- */

/*
 * struct hc_req, as hc_invoke reads and writes it (offsets fixed: the
 * assembler uses them).
 */
struct hc_req {
	uint32_t stub;     /*  0: the trapa stub to call */
	uint32_t pattern;  /*  4: base of the values loaded into preserved registers */
	uint32_t args[4];  /*  8: r4-r7 */
	uint32_t r0, r1;   /* 24, 28: after the call */
	uint32_t after[16]; /* 32: r2, r3, r4-r7, r8-r13, MACH, MACL, GBR, T */
};

void hc_invoke(struct hc_req *req);
extern char hc_stubs[];      /* trapa #0x60 .. #0x7f, 8 bytes each */
extern char hc_trap_stubs[]; /* trapa #TRAP_IMMS[i], 8 bytes each */

/* Non-hypercall traps the guest makes (and tests/hvguests_build.rs allows). */
static const uint8_t TRAP_IMMS[] = { 0x00, 0x01, 0x0f, 0x10, 0x20, 0x3f, 0x40, 0x5f, 0x80, 0xa5, 0xc0, 0xff };
#define NR_TRAP_IMMS (sizeof(TRAP_IMMS) / sizeof(TRAP_IMMS[0]))

/*
 * hc_invoke(req): r1 = p+1, r2 = p+2, r3 = p+3, r8-r13 = p+8 .. p+13,
 * MACH = p+20, MACL = p+21, GBR = p+22, T = p & 1, r4-r7 = args; call the
 * stub (trapa #imm; rts); store r0, r1 and what the rest hold now.
 * Saves and restores r8-r14, PR, MACH, MACL and GBR for its caller.
 */
__asm__(
	"	.pushsection .text\n"
	"	.balign	4\n"
	"	.global	hc_invoke\n"
	"hc_invoke:\n"
	"	mov.l	r8, @-r15\n"
	"	mov.l	r9, @-r15\n"
	"	mov.l	r10, @-r15\n"
	"	mov.l	r11, @-r15\n"
	"	mov.l	r12, @-r15\n"
	"	mov.l	r13, @-r15\n"
	"	mov.l	r14, @-r15\n"
	"	sts.l	pr, @-r15\n"
	"	sts.l	mach, @-r15\n"
	"	sts.l	macl, @-r15\n"
	"	stc.l	gbr, @-r15\n"
	"	mov	r4, r14\n"
	"	mov.l	@(4,r14), r1\n"
	"	mov	r1, r2\n"
	"	add	#20, r2\n"
	"	lds	r2, mach\n"
	"	add	#1, r2\n"
	"	lds	r2, macl\n"
	"	add	#1, r2\n"
	"	ldc	r2, gbr\n"
	"	mov	r1, r8\n"
	"	add	#8, r8\n"
	"	mov	r1, r9\n"
	"	add	#9, r9\n"
	"	mov	r1, r10\n"
	"	add	#10, r10\n"
	"	mov	r1, r11\n"
	"	add	#11, r11\n"
	"	mov	r1, r12\n"
	"	add	#12, r12\n"
	"	mov	r1, r13\n"
	"	add	#13, r13\n"
	"	mov	r1, r3\n"
	"	add	#3, r3\n"
	"	mov.l	@(8,r14), r4\n"
	"	mov.l	@(12,r14), r5\n"
	"	mov.l	@(16,r14), r6\n"
	"	mov.l	@(20,r14), r7\n"
	"	mov.l	@r14, r0\n"
	"	mov	r1, r2\n"
	"	shlr	r2\n"		/* T = p & 1 */
	"	mov	r1, r2\n"
	"	add	#2, r2\n"
	"	add	#1, r1\n"
	"	jsr	@r0\n"
	"	 nop\n"
	"	mov.l	r0, @(24,r14)\n"
	"	mov.l	r1, @(28,r14)\n"
	"	movt	r1\n"
	"	mov	r14, r0\n"
	"	add	#96, r0\n"
	"	mov.l	r1, @-r0\n"	/* 92: T */
	"	stc	gbr, r1\n"
	"	mov.l	r1, @-r0\n"	/* 88: GBR */
	"	sts	macl, r1\n"
	"	mov.l	r1, @-r0\n"	/* 84: MACL */
	"	sts	mach, r1\n"
	"	mov.l	r1, @-r0\n"	/* 80: MACH */
	"	mov.l	r13, @-r0\n"
	"	mov.l	r12, @-r0\n"
	"	mov.l	r11, @-r0\n"
	"	mov.l	r10, @-r0\n"
	"	mov.l	r9, @-r0\n"
	"	mov.l	r8, @-r0\n"
	"	mov.l	r7, @-r0\n"
	"	mov.l	r6, @-r0\n"
	"	mov.l	r5, @-r0\n"
	"	mov.l	r4, @-r0\n"
	"	mov.l	r3, @-r0\n"
	"	mov.l	r2, @-r0\n"	/* 32: r2 */
	"	ldc.l	@r15+, gbr\n"
	"	lds.l	@r15+, macl\n"
	"	lds.l	@r15+, mach\n"
	"	lds.l	@r15+, pr\n"
	"	mov.l	@r15+, r14\n"
	"	mov.l	@r15+, r13\n"
	"	mov.l	@r15+, r12\n"
	"	mov.l	@r15+, r11\n"
	"	mov.l	@r15+, r10\n"
	"	mov.l	@r15+, r9\n"
	"	rts\n"
	"	 mov.l	@r15+, r8\n"
	"\n"
	"	.balign	8\n"
	"	.global	hc_stubs\n"
	"hc_stubs:\n"
	"	.irp	n, 0x60,0x61,0x62,0x63,0x64,0x65,0x66,0x67,0x68,0x69,0x6a,0x6b,0x6c,0x6d,0x6e,0x6f,"
	"0x70,0x71,0x72,0x73,0x74,0x75,0x76,0x77,0x78,0x79,0x7a,0x7b,0x7c,0x7d,0x7e,0x7f\n"
	"	trapa	#\\n\n"
	"	rts\n"
	"	 nop\n"
	"	nop\n"
	"	.endr\n"
	"\n"
	"	.balign	8\n"
	"	.global	hc_trap_stubs\n"
	"hc_trap_stubs:\n"
	"	.irp	n, 0x00,0x01,0x0f,0x10,0x20,0x3f,0x40,0x5f,0x80,0xa5,0xc0,0xff\n"
	"	trapa	#\\n\n"
	"	rts\n"
	"	 nop\n"
	"	nop\n"
	"	.endr\n"
	"	.popsection\n");

/* ----- per-vCPU state ----- */

struct vstate {
	uint32_t rng;
	uint32_t level;       /* the virtual level, as the oracle models it */
	uint32_t calls, traps, mismatches, state_errors, restarts;
	uint32_t errors[7];   /* [k]: hypercalls that returned -k */
	uint64_t last_time;
	/* Written by handlers (which may nest): atomics. */
	volatile uint32_t ticks, ipis, ipis_by_msg[HV_IPI_MESSAGES];
	volatile uint32_t traps_seen, trap_bad;
	volatile uint32_t trap_expect; /* the non-hypercall trap in progress */
	/* Mode 1. */
	uint32_t ipis_sent, ipi_errors, scribbles, work;
	uint64_t t_start, t_end; /* of its run */
};
static struct vstate vs[GUEST_MAX_VCPUS];

static volatile uint32_t arrived, finished, go;
static volatile uint64_t t_scribble_end, t_recover_end, t_quiet_end;

/* Dots for CONSOLE_WRITE with a valid range. */
static const char noise[512] = {
#define D8 '.', '.', '.', '.', '.', '.', '.', '.'
#define D64 D8, D8, D8, D8, D8, D8, D8, D8
	D64, D64, D64, D64, D64, D64, D64, D64
#undef D64
#undef D8
};

/* ----- the generator ----- */

static uint32_t rnd(struct vstate *s)
{
	uint32_t x = s->rng;

	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	s->rng = x;
	return x;
}

/* 0 .. n-1, without division. */
static uint32_t below(struct vstate *s, uint32_t n)
{
	return (uint32_t)(((uint64_t)rnd(s) * n) >> 32);
}

static uint32_t part_end(void)
{
	return hostile_params.part_base + hostile_params.part_size;
}

/* An argument: mostly the kind a hostile guest would try. */
static uint32_t arg(struct vstate *s)
{
	static const uint32_t interesting[] = {
		0, 1, 2, 3, 4, 7, 8, 14, 15, 16, 255, 256, 257, 7000000, 7000001,
		0x7fffffff, 0x80000000, 0xffffffff, 0xfffffffc, 0xfffffffa,
		0x88000000, 0x88800000, 0x88801000, 0xa8000000, 0xb6000000,
		0x16000000, 0xe5000000, 0xff000020, 0xc0000000, 0x145f0000,
		0x945f0000, 0x7c000000,
	};
	uint32_t base = hostile_params.part_base, size = hostile_params.part_size;
	uint32_t end = part_end(), r = below(s, 100);

	if (r < 22)
		return below(s, 20);
	if (r < 34)
		return rnd(s);
	if (r < 52) /* in the partition (P1), aligned */
		return (0x80000000u | (base + below(s, size))) & ~3u;
	if (r < 57) /* in the partition, misaligned */
		return (0x80000000u | (base + below(s, size))) | 1u;
	if (r < 63) /* in the partition through P2 */
		return (0xa0000000u | (base + below(s, size))) & ~1u;
	if (r < 66) /* its physical address (P0/U0: not the partition) */
		return (base + below(s, size)) & ~3u;
	if (r < 80) { /* the edges */
		static const int32_t from_end[] = {
			-0x604, -0x603, -0x600, -0x400, -0x100, -16, -4, -2, -1, 0, 1, 4,
		};
		uint32_t seg = below(s, 4) == 0 ? 0xa0000000u : 0x80000000u;

		if (below(s, 4) == 0) {
			static const int32_t from_base[] = { -4, -2, -1, 0, 1, 2, 4 };
			return seg | (uint32_t)(base + from_base[below(s, 7)]);
		}
		return seg | (uint32_t)(end + from_end[below(s, 12)]);
	}
	return interesting[below(s, sizeof(interesting) / sizeof(interesting[0]))];
}

/* ----- the oracle ----- */

/* Whether [addr, addr + len) is in the partition, as the ABI means it. */
static int in_partition(uint32_t addr, uint32_t len, uint32_t align)
{
	uint32_t seg = addr >> 29, phys = addr & 0x1fffffffu;
	uint64_t end;

	if (align > 1 && (addr & (align - 1)) != 0)
		return 0;
	if (seg != 4 && seg != 5) /* P1, P2 */
		return 0;
	end = (uint64_t)phys + len;
	return phys >= hostile_params.part_base &&
	       end <= (uint64_t)hostile_params.part_base + hostile_params.part_size;
}

#define ANY_TIME 0x100000000ull /* expect: TIME_NOW */
#define OK_OR_STATE 0x200000000ull /* expect: 0 or E_STATE */

/* What hypercall imm with args a[] returns, for this vCPU now. Updates
 * the modelled level for the level calls. */
static uint64_t oracle(struct vstate *s, unsigned me, uint32_t imm, const uint32_t *a)
{
	uint32_t n = hostile_params.nr_vcpus, old;

	switch (imm) {
	case HV_SET_VECTOR:
		return in_partition(a[0], 0x604, 4) ? 0 : (uint32_t)HV_E_ADDR;
	case HV_IRQ_DISABLE:
		old = s->level;
		s->level = 15;
		return old;
	case HV_IRQ_RESTORE:
		if (a[0] > 7 && a[0] != 15) /* a GPOS: 0-7 or 15 */
			return (uint32_t)HV_E_LEVEL;
		old = s->level;
		s->level = a[0];
		return old;
	case HV_IDLE:
	case HV_YIELD:
	case HV_SPIN_YIELD:
	case HV_PREEMPT_COUNT:
	case HV_SAMPLE:
	case HV_KERNEL_EXIT:
		return 0;
	case HV_SEND_IPI:
		if (a[0] >= n)
			return (uint32_t)HV_E_VCPU;
		if (a[1] >= HV_IPI_MESSAGES)
			return (uint32_t)HV_E_ARG;
		return 0;
	case HV_VCPU_ID:
		return me;
	case HV_START_VCPU:
		if (a[0] == 0 || a[0] >= n)
			return (uint32_t)HV_E_VCPU;
		if (!in_partition(a[1], 2, 2))
			return (uint32_t)HV_E_ADDR;
		return OK_OR_STATE;
	case HV_CONSOLE_WRITE:
		if (a[1] > HV_CONSOLE_MAX)
			return (uint32_t)HV_E_ARG;
		if (!in_partition(a[0], a[1], 1))
			return (uint32_t)HV_E_ADDR;
		return a[1];
	case HV_TIMER_SET:
		return a[0] > 7000000 ? (uint32_t)HV_E_ARG : 0;
	case HV_TIMER_AT:
		return a[2] > 7000000 ? (uint32_t)HV_E_ARG : 0;
	case HV_TIME_NOW:
		return ANY_TIME;
	default: /* 0x71-0x7f (EXIT is never called) */
		return (uint32_t)HV_E_NOSYS;
	}
}

/* ----- making calls ----- */

static void mismatch(struct vstate *s, unsigned me, const char *what, uint32_t imm,
		     const uint32_t *a, uint32_t got, uint32_t want)
{
	if (s->mismatches++ < 8)
		con_printf("\nhostile: vcpu %u MISMATCH %s imm=0x%x args=0x%x,0x%x,0x%x,0x%x got=0x%x want=0x%x call=%u\n",
			   me, what, (unsigned)imm, (unsigned)a[0], (unsigned)a[1],
			   (unsigned)a[2], (unsigned)a[3], (unsigned)got, (unsigned)want,
			   (unsigned)s->calls);
}

/* The registers hc_invoke loaded and must find again. */
static void check_registers(struct vstate *s, unsigned me, const struct hc_req *q, uint32_t imm,
			    int r1_is_result)
{
	static const char *const names[16] = {
		"r2", "r3", "r4", "r5", "r6", "r7", "r8", "r9", "r10", "r11", "r12",
		"r13", "MACH", "MACL", "GBR", "T",
	};
	uint32_t p = q->pattern, want[16];
	unsigned i;

	want[0] = p + 2;
	want[1] = p + 3;
	for (i = 0; i < 4; i++)
		want[2 + i] = q->args[i];
	for (i = 0; i < 6; i++)
		want[6 + i] = p + 8 + i;
	want[12] = p + 20;
	want[13] = p + 21;
	want[14] = p + 22;
	want[15] = p & 1;
	for (i = 0; i < 16; i++)
		if (q->after[i] != want[i])
			mismatch(s, me, names[i], imm, q->args, q->after[i], want[i]);
	if (!r1_is_result && q->r1 != p + 1)
		mismatch(s, me, "r1", imm, q->args, q->r1, p + 1);
}

/* Make hypercall imm (0x60-0x7f) with a[], check it, count it; returns r0. */
static uint32_t call(struct vstate *s, unsigned me, uint32_t imm, uint32_t a0, uint32_t a1,
		     uint32_t a2, uint32_t a3)
{
	struct hc_req q;
	uint64_t want;
	uint32_t got;

	q.stub = (uint32_t)hc_stubs + 8 * (imm - 0x60);
	q.pattern = rnd(s);
	q.args[0] = a0;
	q.args[1] = a1;
	q.args[2] = a2;
	q.args[3] = a3;
	want = oracle(s, me, imm, q.args);
	hc_invoke(&q);
	s->calls++;
	got = q.r0;
	if (imm != HV_TIME_NOW && (int32_t)got < 0 && (int32_t)got >= -6)
		s->errors[-(int32_t)got]++;
	if (want == ANY_TIME) {
		uint64_t t = (uint64_t)q.r1 << 32 | got;

		/* Cores' clocks may differ by a little (a vCPU may move). */
		if (t + 600000 < s->last_time || t > s->last_time + 600000000ull * 10)
			mismatch(s, me, "TIME_NOW", imm, q.args, got, (uint32_t)s->last_time);
		if (t > s->last_time)
			s->last_time = t;
	} else if (want == OK_OR_STATE) {
		if (got == (uint32_t)HV_E_STATE)
			s->state_errors++;
		else if (got == 0)
			s->restarts++;
		else
			mismatch(s, me, "r0", imm, q.args, got, 0);
	} else if (got != (uint32_t)want) {
		mismatch(s, me, "r0", imm, q.args, got, (uint32_t)want);
	}
	check_registers(s, me, &q, imm, imm == HV_TIME_NOW);
	return got;
}

/* A non-hypercall trap: forwarded to our VBR+0x100, every register kept. */
static void guest_owned_trap(struct vstate *s, unsigned me)
{
	unsigned i = below(s, NR_TRAP_IMMS);
	struct hc_req q;
	uint32_t seen = s->traps_seen;

	q.stub = (uint32_t)hc_trap_stubs + 8 * i;
	q.pattern = rnd(s);
	q.args[0] = arg(s);
	q.args[1] = arg(s);
	q.args[2] = arg(s);
	q.args[3] = arg(s);
	s->trap_expect = TRAP_IMMS[i];
	hc_invoke(&q);
	s->traps++;
	if (s->traps_seen != seen + 1)
		mismatch(s, me, "trap not forwarded", TRAP_IMMS[i], q.args, s->traps_seen - seen, 1);
	/* r0 held the stub's address at the trapa. */
	if (q.r0 != q.stub)
		mismatch(s, me, "r0 after trap", TRAP_IMMS[i], q.args, q.r0, q.stub);
	check_registers(s, me, &q, TRAP_IMMS[i], 0);
}

int guest_trap(uint32_t imm, struct trap_frame *f)
{
	struct vstate *s = &vs[this_vcpu()];

	(void)f;
	if (imm != s->trap_expect)
		atomic_add(&s->trap_bad, 1);
	atomic_add(&s->traps_seen, 1);
	return 1;
}

void guest_interrupt(uint32_t intevt)
{
	struct vstate *s = &vs[this_vcpu()];

	if (intevt == HV_INTEVT_TIMER) {
		atomic_add(&s->ticks, 1);
	} else if (intevt >= HV_INTEVT_IPI(0) && intevt <= HV_INTEVT_IPI(7) &&
		   (intevt & 0x1f) == 0) {
		atomic_add(&s->ipis, 1);
		atomic_add(&s->ipis_by_msg[(intevt - HV_INTEVT_IPI(0)) >> 5], 1);
	} else {
		guest_fatal(GUEST_EXIT_INTERRUPT | intevt, "unexpected interrupt INTEVT=0x%x",
			    (unsigned)intevt);
	}
}

/* START_VCPU with valid arguments names a running vCPU: never started here. */
static void rogue_entry(void)
{
	guest_fatal(EXIT_ROGUE_START, "a running vCPU was started again");
}

/* Mask, make a state-changing call with valid arguments, undo it, unmask. */
static void masked_window(struct vstate *s, unsigned me, uint32_t imm, const uint32_t *a)
{
	uint32_t before = s->level;
	uint32_t prev = call(s, me, HV_IRQ_DISABLE, arg(s), arg(s), arg(s), arg(s));

	(void)prev;
	call(s, me, imm, a[0], a[1], a[2], a[3]);
	if (imm == HV_SET_VECTOR)
		call(s, me, HV_SET_VECTOR, (uint32_t)guest_vbr, arg(s), arg(s), arg(s));
	else
		call(s, me, HV_TIMER_SET, hostile_params.timer_period_us, 0, arg(s), arg(s));
	call(s, me, HV_IRQ_RESTORE, before, arg(s), arg(s), arg(s));
}

/* One hostile step. */
static void hostile_step(struct vstate *s, unsigned me)
{
	uint32_t a[4], imm, r = below(s, 1000);

	a[0] = arg(s);
	a[1] = arg(s);
	a[2] = arg(s);
	a[3] = arg(s);
	if (r < 40) {
		guest_owned_trap(s, me);
		return;
	}
	/* Mostly defined numbers; the reserved ones (E_NOSYS) a fifth of the time. */
	imm = below(s, 5) ? 0x60 + below(s, 17) : 0x60 + below(s, 32);
	switch (imm) {
	case HV_EXIT:
		imm = HV_YIELD;
		break;
	case HV_IDLE:
		if (s->level >= TIMER_LEVEL)
			imm = HV_SPIN_YIELD;
		break;
	case HV_IRQ_RESTORE:
		if (below(s, 2))
			a[0] = below(s, 17); /* mostly levels, some of the RTOS's */
		break;
	case HV_SEND_IPI:
		if (below(s, 2)) {
			a[0] = below(s, hostile_params.nr_vcpus + 2);
			a[1] = below(s, 10);
		}
		break;
	case HV_START_VCPU:
		if (below(s, 2))
			a[0] = below(s, hostile_params.nr_vcpus + 1);
		if (a[0] != 0 && a[0] < hostile_params.nr_vcpus && in_partition(a[1], 2, 2))
			a[1] = (uint32_t)rogue_entry;
		break;
	case HV_CONSOLE_WRITE:
		if (below(s, 2))
			a[1] = below(s, 4) ? below(s, 8) : 250 + below(s, 10);
		if (a[1] <= HV_CONSOLE_MAX && in_partition(a[0], a[1], 1) &&
		    (a[0] & 0x1fffffffu) + 0x100 <= part_end())
			a[0] = (uint32_t)noise + below(s, 256);
		if (a[1] <= HV_CONSOLE_MAX && in_partition(a[0], a[1], 1) && a[1] > 16 &&
		    (a[0] & 0x1fffffffu) + 0x100 > part_end())
			a[1] = 16; /* the partition's last bytes: zeros, few */
		break;
	case HV_SAMPLE:
		if (a[0] < 200)
			a[0] += 200;
		break;
	case HV_TIMER_SET:
		if (below(s, 2))
			a[0] = below(s, 3) ? 7000000 + below(s, 3) - 1 : below(s, 3000);
		if (a[0] <= 7000000) {
			masked_window(s, me, imm, a);
			return;
		}
		break;
	case HV_TIMER_AT:
		if (below(s, 2)) {
			uint64_t t = hv_time_now() + below(s, 600000);

			a[0] = (uint32_t)t;
			a[1] = (uint32_t)(t >> 32);
			a[2] = below(s, 3) ? 7000000 + below(s, 3) - 1 : below(s, 3000);
		}
		if (a[2] <= 7000000) {
			masked_window(s, me, imm, a);
			return;
		}
		break;
	case HV_SET_VECTOR:
		if (in_partition(a[0], 0x604, 4)) {
			masked_window(s, me, imm, a);
			return;
		}
		break;
	default:
		break;
	}
	call(s, me, imm, a[0], a[1], a[2], a[3]);
	/* A level left masked is opened again now and then, so ticks come. */
	if (s->level != 0 && below(s, 8) == 0)
		call(s, me, HV_IRQ_RESTORE, 0, arg(s), arg(s), arg(s));
}

/* ----- mode 1: the scribbler and the talkers ----- */

#define CSM_P2        0xb6000000u
#define RING_BYTES    0xc40u
#define RING_HEADER   0x40u
#define SLOT_BYTES    384u
#define SLOTS         8u

static void delay(uint32_t n)
{
	for (volatile uint32_t i = 0; i < n; i++)
		;
}

static void scribble(struct vstate *s)
{
	uint32_t size = hostile_params.region_bytes, rings = size / RING_BYTES, off, r = below(s, 4);
	volatile uint32_t *w;

	if (size == 0) { /* a control run: the scribbler only computes */
		delay(20);
		return;
	}
	if (r < 2 || rings == 0) {
		off = below(s, size) & ~3u;
	} else if (r == 2) { /* an index word: head (+0, +4) or tail (+0x20, +0x24) */
		static const uint32_t idx[] = { 0x00, 0x04, 0x20, 0x24 };
		off = below(s, rings) * RING_BYTES + idx[below(s, 4)];
	} else { /* a slot header word (magic, sequence, routing, CRC) or the first payload word */
		off = below(s, rings) * RING_BYTES + RING_HEADER + below(s, SLOTS) * SLOT_BYTES +
		      4 * below(s, 5);
	}
	if (off + 4 > size)
		return;
	w = (volatile uint32_t *)(CSM_P2 + off);
	if (below(s, 2))
		*w = rnd(s);
	else
		*w ^= 1u << below(s, 32);
	s->scribbles++;
}

static void send(struct vstate *s, unsigned to, unsigned msg)
{
	if (hv_send_ipi(to, msg) == 0)
		s->ipis_sent++;
	else
		s->ipi_errors++;
}

/* Another vCPU than me (n >= 2). */
static unsigned other(struct vstate *s, unsigned me, unsigned n)
{
	unsigned to = below(s, n - 1);

	return to >= me ? to + 1 : to;
}

static void run_scribbler_mode(struct vstate *s, unsigned me)
{
	unsigned n = hostile_params.nr_vcpus, scribbler = n - 1, talkers = n - 1, i;
	uint32_t k = 0;

	/* Phase 1: scribbling; the others talk among themselves. */
	while (hv_time_now() < t_scribble_end) {
		if (me == scribbler) {
			for (i = 0; i < 64; i++) {
				scribble(s);
				delay(hostile_params.scribble_gap);
			}
			s->work++;
			continue;
		}
		delay(hostile_params.ipi_gap);
		s->work++;
		if (talkers >= 2) {
			unsigned to = below(s, talkers - 1);

			if (to >= me)
				to++;
			send(s, to, below(s, 7));
		}
		if ((++k & 15) == 0)
			hv_yield();
	}
	/* Phase 2: every vCPU to every other, message 7. */
	while (hv_time_now() < t_recover_end) {
		delay(hostile_params.ipi_gap);
		s->work++;
		if (n >= 2)
			send(s, other(s, me, n), 7);
	}
	hv_timer_set(0, 0);
	/* Phase 3: quiet, so that nothing is in flight at the report. */
	while (hv_time_now() < t_quiet_end)
		hv_yield();
}

/* ----- mode 2: a timer faster than the hypervisor can serve ----- */

/*
 * Masked (IRQ_DISABLE), the vCPU sets its timer to storm_period_us and
 * computes for storm_ms by TIME_NOW, then puts its own timer back and
 * opens its level again. Every call is valid. Each expiry is a
 * hypervisor timer interrupt on the vCPU's core, whether or not the tick
 * is already pending (it only coalesces).
 */
static void run_timer_storm(struct vstate *s, unsigned me)
{
	uint64_t end;

	call(s, me, HV_IRQ_DISABLE, 0, 0, 0, 0);
	call(s, me, HV_TIMER_SET, hostile_params.storm_period_us, 0, 0, 0);
	end = hv_time_now() + (uint64_t)hostile_params.storm_ms * HV_CYCLES_PER_MS;
	while (hv_time_now() < end) {
		delay(100);
		s->work++;
	}
	call(s, me, HV_TIMER_SET, hostile_params.timer_period_us, 0, 0, 0);
	call(s, me, HV_IRQ_RESTORE, 0, 0, 0, 0);
	hv_timer_set(0, 0);
}

/* ----- mode 3: IPIs to vCPU 0 as fast as the other vCPUs can send ----- */

static void run_ipi_flood(struct vstate *s, unsigned me)
{
	uint64_t end = hv_time_now() + (uint64_t)hostile_params.storm_ms * HV_CYCLES_PER_MS;

	while (hv_time_now() < end) {
		if (me != 0) {
			send(s, 0, below(s, HV_IPI_MESSAGES));
			delay(hostile_params.ipi_gap);
		} else
			delay(100);
		s->work++;
	}
	hv_timer_set(0, 0);
}

/* ----- start, report ----- */

static void vcpu_setup(void)
{
	long r = hv_set_vector(guest_vbr);

	if (r < 0)
		guest_fatal(GUEST_EXIT_SETUP, "SET_VECTOR failed: %ld", r);
	r = hv_irq_restore(0);
	if (r < 0)
		guest_fatal(GUEST_EXIT_SETUP, "IRQ_RESTORE(0) failed: %ld", r);
	r = hv_timer_set(hostile_params.timer_period_us, 0);
	if (r < 0)
		guest_fatal(GUEST_EXIT_SETUP, "TIMER_SET failed: %ld", r);
}

static void report(struct vstate *s, unsigned me)
{
	unsigned k;

	hv_sample(K_MISMATCH, s->mismatches);
	for (k = 1; k <= 6; k++)
		hv_sample(K_ERROR(k), s->errors[k]);
	hv_sample(K_CALLS, s->calls);
	hv_sample(K_TRAPS, s->traps);
	hv_sample(K_TRAPS_SEEN, s->traps_seen);
	hv_sample(K_STATE, s->state_errors);
	hv_sample(K_IRQS, s->ticks + s->ipis);
	hv_sample(K_RESTARTS, s->restarts);
	hv_sample(K_IPI_SENT, s->ipis_sent);
	hv_sample(K_IPI_RECV, s->ipis);
	hv_sample(K_IPI7_RECV, s->ipis_by_msg[7]);
	hv_sample(K_TICKS, s->ticks);
	hv_sample(K_SCRIBBLES, s->scribbles);
	hv_sample(K_WORK, s->work);
	con_printf("\nhostile: vcpu %u calls=%u traps=%u traps_seen=%u trap_bad=%u mismatches=%u"
		   " errors=%u,%u,%u,%u,%u,%u e_state=%u ticks=%u ipis=%u ipi7=%u"
		   " ipis_sent=%u ipi_errors=%u scribbles=%u work=%u run_us=%u\n",
		   me, (unsigned)s->calls, (unsigned)s->traps, (unsigned)s->traps_seen,
		   (unsigned)s->trap_bad, (unsigned)s->mismatches, (unsigned)s->errors[1],
		   (unsigned)s->errors[2], (unsigned)s->errors[3], (unsigned)s->errors[4],
		   (unsigned)s->errors[5], (unsigned)s->errors[6], (unsigned)s->state_errors,
		   (unsigned)s->ticks, (unsigned)s->ipis, (unsigned)s->ipis_by_msg[7],
		   (unsigned)s->ipis_sent, (unsigned)s->ipi_errors, (unsigned)s->scribbles,
		   (unsigned)s->work,
		   (unsigned)udiv64(s->t_end - s->t_start, HV_CYCLES_PER_US, 0));
}

static void run(unsigned me)
{
	struct vstate *s = &vs[me];
	uint32_t i;

	s->rng = hostile_params.seed ^ (0x9e3779b9u * (me + 1));
	if (s->rng == 0)
		s->rng = 1;
	s->level = 0;
	s->last_time = s->t_start = hv_time_now();
	if (hostile_params.mode == MODE_HYPERCALLS) {
		for (i = 0; i < hostile_params.calls; i++)
			hostile_step(s, me);
		/* Back to a plain state. */
		call(s, me, HV_PREEMPT_COUNT, 0, 0, 0, 0);
		call(s, me, HV_IRQ_RESTORE, 0, 0, 0, 0);
		hv_timer_set(0, 0);
	} else if (hostile_params.mode == MODE_SCRIBBLER) {
		run_scribbler_mode(s, me);
	} else if (hostile_params.mode == MODE_TIMER_STORM) {
		run_timer_storm(s, me);
	} else {
		run_ipi_flood(s, me);
	}
	s->t_end = hv_time_now();
	report(s, me);
	atomic_add(&finished, 1);
}

void secondary_main(uint32_t arg_r4)
{
	unsigned me = this_vcpu();

	if (arg_r4 != me)
		guest_fatal(GUEST_EXIT_SETUP, "started with r4=%u, VCPU_ID says %u",
			    (unsigned)arg_r4, me);
	vcpu_setup();
	atomic_add(&arrived, 1);
	while (!go)
		hv_yield();
	run(me);
}

int main(void)
{
	const struct hostile_params p = hostile_params;
	uint32_t total[7], calls = 0, traps = 0, seen = 0, bad = 0, mism = 0, work_min = ~0u;
	unsigned i, k;
	int fail = 0;

	if (p.mode > MODE_IPI_FLOOD || p.nr_vcpus == 0 || p.nr_vcpus > GUEST_MAX_VCPUS ||
	    p.part_size == 0 || p.timer_period_us < 50 || p.timer_period_us > 100000 ||
	    (p.mode == MODE_SCRIBBLER && p.nr_vcpus < 2)) {
		con_printf("hostile: bad parameters mode=%u nr_vcpus=%u part_size=0x%x timer_period_us=%u\n",
			   (unsigned)p.mode, (unsigned)p.nr_vcpus, (unsigned)p.part_size,
			   (unsigned)p.timer_period_us);
		return GUEST_EXIT_PARAMS;
	}
	vcpu_setup();
	for (i = 1; i < p.nr_vcpus; i++) {
		long r = hv_start_vcpu(i, _start, i);

		if (r < 0)
			guest_fatal(GUEST_EXIT_SETUP, "START_VCPU(%u) failed: %ld", i, r);
	}
	while (arrived < p.nr_vcpus - 1)
		hv_yield();
	if (p.mode == MODE_SCRIBBLER) {
		uint64_t now = hv_time_now();

		t_scribble_end = now + (uint64_t)p.scribble_ms * HV_CYCLES_PER_MS;
		t_recover_end = t_scribble_end + (uint64_t)p.recover_ms * HV_CYCLES_PER_MS;
		t_quiet_end = t_recover_end + 2 * HV_CYCLES_PER_MS;
	}
	synco();
	go = 1;
	run(0);
	while (finished < p.nr_vcpus)
		hv_yield();
	synco();

	for (k = 0; k < 7; k++)
		total[k] = 0;
	for (i = 0; i < p.nr_vcpus; i++) {
		for (k = 1; k <= 6; k++)
			total[k] += vs[i].errors[k];
		calls += vs[i].calls;
		traps += vs[i].traps;
		seen += vs[i].traps_seen;
		bad += vs[i].trap_bad;
		mism += vs[i].mismatches;
		if (vs[i].work < work_min)
			work_min = vs[i].work;
		if (p.mode == MODE_SCRIBBLER && (vs[i].ipis_by_msg[7] == 0 || vs[i].ipi_errors))
			fail = 1;
	}
	if (mism || bad || seen != traps)
		fail = 1;
	con_printf("\nhostile: summary mode=%u vcpus=%u calls=%u traps=%u traps_seen=%u trap_bad=%u"
		   " mismatches=%u errors=%u,%u,%u,%u,%u,%u work_min=%u %s\n",
		   (unsigned)p.mode, (unsigned)p.nr_vcpus, (unsigned)calls, (unsigned)traps,
		   (unsigned)seen, (unsigned)bad, (unsigned)mism, (unsigned)total[1],
		   (unsigned)total[2], (unsigned)total[3], (unsigned)total[4], (unsigned)total[5],
		   (unsigned)total[6], (unsigned)(p.mode == MODE_SCRIBBLER ? work_min : 0),
		   fail ? "FAIL" : "ok");
	return fail ? GUEST_EXIT_CHECK : GUEST_EXIT_OK;
}
