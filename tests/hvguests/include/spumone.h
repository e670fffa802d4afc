/*
 * spumone.h - the guest side of the hypercall ABI (docs/hypercall-abi.md).
 *
 * Owns: the hypercall numbers, error codes, virtual INTEVT codes and
 * SAMPLE kinds as C/assembler constants, and one inline wrapper per
 * hypercall. kernel/src/hypercall.rs is the other side of this contract:
 * change one, change the other in the same commit.
 *
 * A hypercall is `trapa #imm` (imm 0x60-0x7f), arguments in r4-r7, result
 * in r0 (TIME_NOW: high word in r1); never with SR.BL = 1, so exception
 * handlers clear BL first (common/vectors.S). The hypervisor preserves
 * every other register, T/S/Q/M, GBR, MACH/MACL, PR and the FPU, so the
 * wrappers tell GCC only about r0 (and r1 for TIME_NOW). Each wrapper
 * clobbers "memory": the hypervisor reads and writes guest memory
 * (CONSOLE_WRITE, START_VCPU), and an interrupt handler may run on the way
 * back (IDLE, IRQ_RESTORE), so no value may be cached in a register across
 * a call.
 *
 * The header is also included by assembler sources (crt0, vectors): only
 * the #defines are visible there.
 */
#ifndef SPUMONE_H
#define SPUMONE_H

/* Hypercall numbers: the `trapa` immediates. */
#define HV_SET_VECTOR    0x60
#define HV_IRQ_DISABLE   0x61
#define HV_IRQ_RESTORE   0x62
#define HV_IDLE          0x63
#define HV_YIELD         0x64
#define HV_SPIN_YIELD    0x65
#define HV_PREEMPT_COUNT 0x66
#define HV_SEND_IPI      0x67
#define HV_VCPU_ID       0x68
#define HV_START_VCPU    0x69
#define HV_CONSOLE_WRITE 0x6a
#define HV_TIMER_SET     0x6b
#define HV_TIME_NOW      0x6c
#define HV_SAMPLE        0x6d
#define HV_EXIT          0x6e
#define HV_KERNEL_EXIT   0x6f
#define HV_TIMER_AT      0x70

/* Error codes (r0 < 0). */
#define HV_E_NOSYS (-1) /* no such hypercall number */
#define HV_E_VCPU  (-2) /* no such vCPU in the calling guest */
#define HV_E_ADDR  (-3) /* address outside the partition, or misaligned */
#define HV_E_LEVEL (-4) /* interrupt level outside the guest's class */
#define HV_E_STATE (-5) /* request does not fit the target's state */
#define HV_E_ARG   (-6) /* any other argument out of range */

/* Virtual interrupt codes, as read from INTEVT at the guest's VBR+0x600. */
#define HV_INTEVT_TIMER  0x400
#define HV_INTEVT_IPI0   0xf00
#define HV_INTEVT_IPI(m) (HV_INTEVT_IPI0 + 0x20 * (m))
#define HV_IPI_MESSAGES  8 /* messages 0-7 */

/* SAMPLE kinds. */
#define HV_SAMPLE_LATENCY 0 /* RTOS dispatch latency, in cycles */
#define HV_SAMPLE_WORK    1 /* work units done */
#define HV_SAMPLE_ROUND_TRIP 2 /* cycles between back-to-back TIME_NOWs */

/* CONSOLE_WRITE's per-call limit. */
#define HV_CONSOLE_MAX 256

/* TIME_NOW counts cycles of the 600 MHz CPU clock. */
#define HV_CYCLES_PER_US 600u
#define HV_CYCLES_PER_MS 600000u

/* SH-4A exception registers (P4), read by the guest's own handlers. */
#define SH_TRA    0xff000020
#define SH_EXPEVT 0xff000024
#define SH_INTEVT 0xff000028
#define SH_TEA    0xff00000c

/* EXPEVT of an unconditional trap (TRAPA); TRA holds imm << 2. */
#define SH_EXPEVT_TRAPA 0x160

/* SR.BL: no hypercall may be made while it is set (the core would reset). */
#define SH_SR_BL 0x10000000

#ifndef __ASSEMBLER__

#define HV__STR(x) #x
#define HV_STR(x) HV__STR(x)

/*
 * The call itself. Register-bound locals are the documented way to pin
 * asm operands to r0/r4-r7; they are only used as operands.
 */
#define HV_CALL0(nr) ({                                                  \
	register long hv_r0 __asm__("r0");                               \
	__asm__ __volatile__("trapa #" HV_STR(nr)                        \
			     : "=r"(hv_r0) : : "memory");                \
	hv_r0; })

#define HV_CALL1(nr, a1) ({                                              \
	register long hv_r0 __asm__("r0");                               \
	register long hv_r4 __asm__("r4") = (long)(a1);                  \
	__asm__ __volatile__("trapa #" HV_STR(nr)                        \
			     : "=r"(hv_r0) : "r"(hv_r4) : "memory");     \
	hv_r0; })

#define HV_CALL2(nr, a1, a2) ({                                          \
	register long hv_r0 __asm__("r0");                               \
	register long hv_r4 __asm__("r4") = (long)(a1);                  \
	register long hv_r5 __asm__("r5") = (long)(a2);                  \
	__asm__ __volatile__("trapa #" HV_STR(nr)                        \
			     : "=r"(hv_r0) : "r"(hv_r4), "r"(hv_r5)      \
			     : "memory");                                \
	hv_r0; })

#define HV_CALL3(nr, a1, a2, a3) ({                                      \
	register long hv_r0 __asm__("r0");                               \
	register long hv_r4 __asm__("r4") = (long)(a1);                  \
	register long hv_r5 __asm__("r5") = (long)(a2);                  \
	register long hv_r6 __asm__("r6") = (long)(a3);                  \
	__asm__ __volatile__("trapa #" HV_STR(nr)                        \
			     : "=r"(hv_r0)                               \
			     : "r"(hv_r4), "r"(hv_r5), "r"(hv_r6)        \
			     : "memory");                                \
	hv_r0; })

/* Register this vCPU's vector table (handlers at vbr+0x100/0x400/0x600). */
static inline long hv_set_vector(const void *vbr)
{
	return HV_CALL1(HV_SET_VECTOR, vbr);
}

/* Mask every level of the guest's class; returns the previous level. */
static inline long hv_irq_disable(void)
{
	return HV_CALL0(HV_IRQ_DISABLE);
}

/* Mask at `level` (0 = everything open); returns the previous level. */
static inline long hv_irq_restore(unsigned long level)
{
	return HV_CALL1(HV_IRQ_RESTORE, level);
}

/* Sleep until an interrupt for this vCPU is pending. */
static inline long hv_idle(void)
{
	return HV_CALL0(HV_IDLE);
}

static inline long hv_yield(void)
{
	return HV_CALL0(HV_YIELD);
}

/* Give up the core after spinning too long on `lock` (named for the report). */
static inline long hv_spin_yield(const volatile void *lock)
{
	return HV_CALL1(HV_SPIN_YIELD, lock);
}

/* Report the guest's preempt count (0 = preemptible). */
static inline long hv_preempt_count(unsigned long count)
{
	return HV_CALL1(HV_PREEMPT_COUNT, count);
}

/* Raise virtual interrupt HV_INTEVT_IPI(msg) on vCPU `vcpu` of this guest. */
static inline long hv_send_ipi(unsigned long vcpu, unsigned long msg)
{
	return HV_CALL2(HV_SEND_IPI, vcpu, msg);
}

/* This vCPU's number in its guest. */
static inline long hv_vcpu_id(void)
{
	return HV_CALL0(HV_VCPU_ID);
}

/* Start vCPU `vcpu` at `entry` with r4 = `arg`. */
static inline long hv_start_vcpu(unsigned long vcpu, void (*entry)(void),
				 unsigned long arg)
{
	return HV_CALL3(HV_START_VCPU, vcpu, entry, arg);
}

/* Write up to HV_CONSOLE_MAX bytes; returns the number written. */
static inline long hv_console_write(const void *buf, unsigned long len)
{
	return HV_CALL2(HV_CONSOLE_WRITE, buf, len);
}

/* Periodic (oneshot = 0) or one-shot virtual timer; period 0 stops it. */
static inline long hv_timer_set(unsigned long period_us, unsigned long oneshot)
{
	return HV_CALL2(HV_TIMER_SET, period_us, oneshot);
}

/* A timer whose first expiry is the absolute time `first` (cycles, as
 * TIME_NOW counts them), then every period_us (0: once). */
static inline long hv_timer_at(unsigned long long first, unsigned long period_us)
{
	return HV_CALL3(HV_TIMER_AT, (unsigned long)first, (unsigned long)(first >> 32), period_us);
}

/* Simulated time in 600 MHz cycles. */
static inline unsigned long long hv_time_now(void)
{
	register unsigned long lo __asm__("r0");
	register unsigned long hi __asm__("r1");
	__asm__ __volatile__("trapa #" HV_STR(HV_TIME_NOW)
			     : "=r"(lo), "=r"(hi) : : "memory");
	return ((unsigned long long)hi << 32) | lo;
}

/* Record one value of `kind` (HV_SAMPLE_*) for the experiment report. */
static inline long hv_sample(unsigned long kind, unsigned long value)
{
	return HV_CALL2(HV_SAMPLE, kind, value);
}

/* Leaving the guest's kernel: under trap-based migration a vCPU that left
 * its home core for a kernel entry goes back now. */
static inline long hv_kernel_exit(void)
{
	return HV_CALL0(HV_KERNEL_EXIT);
}

/* Stop every vCPU of this guest. */
static inline __attribute__((noreturn)) void hv_exit(unsigned long status)
{
	HV_CALL1(HV_EXIT, status);
	for (;;)
		; /* EXIT never returns; this only tells GCC so */
}

#endif /* __ASSEMBLER__ */
#endif /* SPUMONE_H */
