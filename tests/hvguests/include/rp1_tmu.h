/*
 * rp1_tmu.h - the RP1's TMU channels 4 and 5, which a guest may own as a
 * physical device (docs/machine-description.md, `interrupts`): the
 * hypervisor routes their interrupts to the owning vCPU wherever it runs.
 *
 * Owns: the register addresses of TMU1 (channels 3-5; channel 3 is the
 * hypervisor's timer of core 3 and is never touched here) and helpers to
 * run a channel as a periodic interrupt source.
 *
 * The counter runs at P-phi/4 = 12.5 MHz: one count every 48 CPU cycles,
 * so a period of P us is 12.5 P counts (P must be even). TSTR holds the
 * start bits of the unit's three channels and is shared with core 3's
 * hypervisor timer, which the hypervisor starts once at boot and never
 * writes again; a guest's read-modify-write of it at start and stop is
 * therefore safe.
 */
#ifndef RP1_TMU_H
#define RP1_TMU_H

#include <stdint.h>

#define TMU1_BASE      0xffc20000u
#define TMU1_TSTR      (TMU1_BASE + 0x04)          /* 8 bits: ch3 bit 0 .. ch5 bit 2 */
#define TMU_CH_REGS(n) (TMU1_BASE + 0x08 + 12 * ((n) - 3))
#define TMU_TCOR(n)    (TMU_CH_REGS(n) + 0)        /* 32 bits: reload value */
#define TMU_TCNT(n)    (TMU_CH_REGS(n) + 4)        /* 32 bits: counts down */
#define TMU_TCR(n)     (TMU_CH_REGS(n) + 8)        /* 16 bits */
#define TMU_TCR_UNF    0x0100                      /* underflowed; write 0 to clear */
#define TMU_TCR_UNIE   0x0020                      /* interrupt on underflow */
#define TMU_CYCLES_PER_COUNT 48u

/* INTEVT codes of the two channels. */
#define TMU4_INTEVT 0x480
#define TMU5_INTEVT 0x4a0

#define TMU_REG8(a)  (*(volatile uint8_t *)(a))
#define TMU_REG16(a) (*(volatile uint16_t *)(a))
#define TMU_REG32(a) (*(volatile uint32_t *)(a))

/* Counts per period of `period_us` (even) microseconds: 12.5 per us. */
static inline uint32_t tmu_counts(uint32_t period_us)
{
	return (period_us * 25u) >> 1;
}

/* Channel `n` (4 or 5) interrupts every `counts` counts from now on. */
static inline void tmu_start_periodic(unsigned n, uint32_t counts)
{
	TMU_REG16(TMU_TCR(n)) = TMU_TCR_UNIE; /* P-phi/4, UNF clear */
	TMU_REG32(TMU_TCOR(n)) = counts - 1;
	TMU_REG32(TMU_TCNT(n)) = counts - 1;
	TMU_REG8(TMU1_TSTR) |= (uint8_t)(1u << (n - 3));
}

/* Stop channel `n` and drop its request. */
static inline void tmu_stop(unsigned n)
{
	TMU_REG8(TMU1_TSTR) &= (uint8_t)~(1u << (n - 3));
	TMU_REG16(TMU_TCR(n)) = 0;
}

/* Acknowledge an underflow (the interrupt request drops). */
static inline void tmu_ack(unsigned n)
{
	TMU_REG16(TMU_TCR(n)) = TMU_TCR_UNIE;
}

static inline uint32_t tmu_count(unsigned n)
{
	return TMU_REG32(TMU_TCNT(n));
}

#endif
