/*
 * The RP1 (SH-X3 prototype, quad SH-4A) as our simulator presents it:
 * register addresses and bits used by the RP1-only test programs, and
 * small inline helpers for the privileged state (SR, VBR, banks, ...).
 *
 * Facts about the SH-X3 come from Linux 6.1; each group names the file.
 * Facts about the SH-4A core (exception codes, SR/FPSCR/MMU bits) come
 * from the SH-4A software manual and are cross-checked against Linux's
 * arch/sh headers where Linux has them.
 */
#ifndef RP1_H
#define RP1_H

#include <stdint.h>

#define REG32(a) (*(volatile uint32_t *)(uintptr_t)(a))
#define REG16(a) (*(volatile uint16_t *)(uintptr_t)(a))
#define REG8(a)  (*(volatile uint8_t *)(uintptr_t)(a))

#define NR_CPUS 4

/* ---- Memory map ------------------------------------------------------ */

/* DRAM: physical 0x08000000-0x0fffffff (CONFIG_MEMORY_START), programs
 * link in P1 at 0x88001000 (linker/rp1.ld). */
#define DRAM_PHYS    0x08000000u
#define DRAM_SIZE    0x08000000u
#define P1_BASE      0x80000000u
#define P2_BASE      0xa0000000u
#define PHYS(a)      ((uint32_t)(uintptr_t)(a) & 0x1fffffffu)
#define P1ADDR(p)    (PHYS(p) | P1_BASE)
#define P2ADDR(p)    (PHYS(p) | P2_BASE)
/* With the MMU off, a U0/P0 address is the physical address: this is the
 * alias through which user-mode (SR.MD=0) code reaches the image. */
#define P0ADDR(p)    PHYS(p)

/* ---- SIMCTL: simulator-only control device (not on the real board) ---- */
#define SIMCTL_BASE       0xbbff0000u
#define SIMCTL_EXIT       (SIMCTL_BASE + 0x0) /* write: end simulation, value = exit code */
#define SIMCTL_CYCLES_LO  (SIMCTL_BASE + 0x4) /* read: this core's cycle counter [31:0] */
#define SIMCTL_CYCLES_HI  (SIMCTL_BASE + 0x8) /* read: this core's cycle counter [63:32] */

/* ---- SCIF0 console (SH-4A SCIF register layout) ----------------------- *
 * Base and port type: arch/sh/kernel/cpu/sh4a/setup-shx3.c (scif0_resources,
 * PORT_SCIF). Offsets: drivers/tty/serial/sh-sci.c, SCIx_SH4_SCIF_REGTYPE
 * (SCFTDR 0x0c/8 bit, SCFSR 0x10/16 bit). Bits: drivers/tty/serial/sh-sci.h. */
#define SCIF0_BASE   0xffc30000u
#define SCIF_SCFTDR  (SCIF0_BASE + 0x0c)
#define SCIF_SCFSR   (SCIF0_BASE + 0x10)
#define SCIF_TDFE    (1u << 5) /* SCIF_TDFE: transmit FIFO data empty */
#define SCIF_TEND    (1u << 6) /* SCIF_TEND: transmission end */

/* ---- Core identification and secondary start --------------------------- *
 * arch/sh/kernel/cpu/sh4a/smp-shx3.c: CPIDR, STBCR_REG(), RESET_REG(),
 * STBCR_* bits, shx3_start_cpu(). */
#define CPIDR              0xff000048u
#define STBCR_REG(cpu)     (0xfe400004u | ((uint32_t)(cpu) << 12))
#define RESET_REG(cpu)     (0xfe400008u | ((uint32_t)(cpu) << 12))
#define STBCR_MSTP         0x00000001u
#define STBCR_RESET        0x00000002u
#define STBCR_SLEEP        0x00000004u
#define STBCR_LTSLP        0x80000000u

/* ---- Inter-core interrupts (ICI) --------------------------------------- *
 * Send/pending and clear: smp-shx3.c (shx3_send_ipi, ipi_interrupt_handler).
 * Message m sets bit 4*m. INTEVT 0xf00 + 0x20*m: setup-shx3.c vectors[]
 * (INTICI0..7). Priority: setup-shx3.c prio_registers, "CnICIPRI /
 * CnICIPRICLR" at 0xfe410090/0xfe4100a0 with INTC_SMP(4, 4), i.e. one
 * register per core 4 bytes apart; fields are 4 bits, listed INTICI7..0
 * from the top, so drivers/sh/intc/handle.c (bit = reg_width -
 * (n * field_width)) puts message m's priority at bits [4m+3:4m]. */
#define ICI_SEND(cpu)      (0xfe410070u + 4u * (uint32_t)(cpu)) /* CnINTICI */
#define ICI_CLR(cpu)       (0xfe410080u + 4u * (uint32_t)(cpu)) /* CnINTICICLR */
#define ICI_BIT(msg)       (1u << (4u * (uint32_t)(msg)))
#define ICI_INTEVT(msg)    (0xf00u + 0x20u * (uint32_t)(msg))
#define CnICIPRI(cpu)      (0xfe410090u + 4u * (uint32_t)(cpu))
#define CnICIPRICLR(cpu)   (0xfe4100a0u + 4u * (uint32_t)(cpu))
#define ICIPRI_FIELD(msg, level) ((uint32_t)(level) << (4u * (uint32_t)(msg)))

/* ---- INTC2 priorities and masks ---------------------------------------- *
 * setup-shx3.c prio_registers: INT2PRI0 at 0xfe410800 lists
 * { 0, HUDII, TMU5, TMU4, TMU3, TMU2, TMU1, TMU0 } in 4-bit fields from
 * the top, so TMU0 is bits [3:0], TMU1 [7:4], TMU2 [11:8].
 * setup-shx3.c mask_registers: "CnINT2MSK0 / CnINT2MSKCLR0" at 0xfe410820 /
 * 0xfe410850, 32 one-bit fields listed from bit 31 down
 * (drivers/sh/intc/handle.c: bit = reg_width - 1 - index); TMU0 is entry
 * 30, so bit 1 (TMU1 bit 2, TMU2 bit 3). A set bit masks the source;
 * writing 1 to the CLR register unmasks it. These are per-core registers
 * at one address (each core sees its own "Cn" copy; the simulator's
 * contract). Priority 0 disables a source. */
#define INT2PRI0           0xfe410800u
#define INT2PRI0_TMU0_SHIFT 0
#define INT2PRI0_TMU1_SHIFT 4
#define INT2PRI0_TMU2_SHIFT 8
#define CnINT2MSK0         0xfe410820u
#define CnINT2MSKCLR0      0xfe410850u
#define INT2MSK0_TMU0      (1u << 1)
#define INT2MSK0_TMU1      (1u << 2)
#define INT2MSK0_TMU2      (1u << 3)
/* setup-shx3.c: INT2DISTCR0 (interrupt distribution, not used here). */
#define INT2DISTCR0        0xfe4108a0u

/* ---- TMU0 -------------------------------------------------------------- *
 * Base and INTEVT: setup-shx3.c tmu0_resources (0xffc10000, 0x400/0x420/
 * 0x440). Layout: drivers/clocksource/sh_tmu.c (SH_TMU model: TSTR is the
 * 8-bit register at +4; channel n registers TCOR/TCNT/TCR at
 * +8 + 12n + 0/4/8, TCR 16 bit) and its TCR_* bits. */
#define TMU0_BASE          0xffc10000u
#define TMU_TSTR           (TMU0_BASE + 0x04) /* 8 bit, bit n starts channel n */
#define TMU_TCOR(ch)       (TMU0_BASE + 0x08 + 12u * (ch))
#define TMU_TCNT(ch)       (TMU0_BASE + 0x0c + 12u * (ch))
#define TMU_TCR(ch)        (TMU0_BASE + 0x10 + 12u * (ch))
#define TMU_TSTR_STR0      (1u << 0)
#define TCR_UNF            (1u << 8)
#define TCR_UNIE           (1u << 5)
#define TCR_TPSC_CLK4      0u
#define TMU0_INTEVT        0x400u

/* ---- Exception and MMU registers (SH-4A; cpu-sh4/cpu/mmu_context.h) ---- */
#define PTEH     0xff000000u
#define PTEL     0xff000004u
#define TTB      0xff000008u
#define TEA      0xff00000cu
#define MMUCR    0xff000010u
#define TRA      0xff000020u
#define EXPEVT   0xff000024u
#define INTEVT   0xff000028u

#define MMUCR_AT      (1u << 0)   /* address translation on */
#define MMUCR_TI      (1u << 2)   /* write 1: invalidate all TLB entries */
#define MMUCR_SV      (1u << 8)   /* single virtual memory mode */
#define MMUCR_URC_SHIFT 10        /* UTLB replace counter [15:10] */
#define MMUCR_URB_SHIFT 18        /* UTLB replace boundary [23:18] */

/* PTEL bits: arch/sh/include/asm/pgtable_32.h (_PAGE_*). PR = bits 6:5. */
#define PTEL_WT   0x001u
#define PTEL_SH   0x002u
#define PTEL_D    0x004u  /* dirty: a write to a clean page raises 0x080 */
#define PTEL_C    0x008u
#define PTEL_SZ0  0x010u
#define PTEL_PR_PRIV_RO 0x000u /* PR=00 privileged read only, user none */
#define PTEL_PR_PRIV_RW 0x020u /* PR=01 privileged read/write, user none */
#define PTEL_PR_USER_RO 0x040u /* PR=10 read only in both modes */
#define PTEL_PR_USER_RW 0x060u /* PR=11 read/write in both modes */
#define PTEL_SZ1  0x080u
#define PTEL_V    0x100u
#define PTEL_SZ_4K PTEL_SZ0 /* SZ1:SZ0 = 01 */
#define PAGE_SIZE 4096u

/* EXPEVT / INTEVT codes (SH-4A software manual, exception table). */
#define EXP_TLB_MISS_READ     0x040u
#define EXP_TLB_MISS_WRITE    0x060u
#define EXP_INITIAL_PAGE_WRITE 0x080u
#define EXP_TLB_PROT_READ     0x0a0u
#define EXP_TLB_PROT_WRITE    0x0c0u
#define EXP_ADDR_ERR_READ     0x0e0u
#define EXP_ADDR_ERR_WRITE    0x100u
#define EXP_FPU               0x120u
#define EXP_TRAPA             0x160u
#define EXP_ILLEGAL           0x180u
#define EXP_SLOT_ILLEGAL      0x1a0u
#define EXP_FPU_DISABLE       0x800u
#define EXP_SLOT_FPU_DISABLE  0x820u

/* Vector offsets from VBR. */
#define VEC_GENERAL   0x100u
#define VEC_TLB_MISS  0x400u
#define VEC_INTERRUPT 0x600u

/* SR bits (arch/sh/include/asm/processor_32.h for FD/MD/IMASK). */
#define SR_T      0x00000001u
#define SR_S      0x00000002u
#define SR_IMASK  0x000000f0u
#define SR_IMASK_SHIFT 4
#define SR_Q      0x00000100u
#define SR_M      0x00000200u
#define SR_FD     0x00008000u
#define SR_BL     0x10000000u
#define SR_RB     0x20000000u
#define SR_MD     0x40000000u
#define SR_RESET  0x700000f0u /* MD=1 RB=1 BL=1 IMASK=15 */

/* FPSCR bits (SH-4A software manual). */
#define FPSCR_RM_NEAREST 0x0u
#define FPSCR_RM_ZERO    0x1u
#define FPSCR_FLAG_SHIFT   2
#define FPSCR_ENABLE_SHIFT 7
#define FPSCR_CAUSE_SHIFT  12
#define FPSCR_I   0x1u /* inexact, within a flag/enable/cause field */
#define FPSCR_U   0x2u
#define FPSCR_O   0x4u
#define FPSCR_Z   0x8u
#define FPSCR_V   0x10u
#define FPSCR_DN  (1u << 18)
#define FPSCR_PR  (1u << 19)
#define FPSCR_SZ  (1u << 20)
#define FPSCR_FR  (1u << 21)

/* ---- Privileged-state helpers ------------------------------------------ */

static inline uint32_t get_sr(void)
{
	uint32_t v;
	__asm__ volatile("stc sr, %0" : "=r"(v));
	return v;
}

static inline void set_sr(uint32_t v)
{
	__asm__ volatile("ldc %0, sr" : : "r"(v) : "memory", "t");
}

static inline void set_imask(unsigned level)
{
	set_sr((get_sr() & ~SR_IMASK) | ((uint32_t)level << SR_IMASK_SHIFT));
}

static inline uint32_t get_vbr(void)
{
	uint32_t v;
	__asm__ volatile("stc vbr, %0" : "=r"(v));
	return v;
}

static inline void set_vbr(uint32_t v)
{
	__asm__ volatile("ldc %0, vbr" : : "r"(v) : "memory");
}

static inline uint32_t get_fpscr(void)
{
	uint32_t v;
	__asm__ volatile("sts fpscr, %0" : "=r"(v));
	return v;
}

static inline void set_fpscr(uint32_t v)
{
	__asm__ volatile("lds %0, fpscr" : : "r"(v) : "memory");
}

static inline unsigned cpu_id(void)
{
	return REG32(CPIDR);
}

/* SYNCO: SH-4A data barrier; orders this core's memory accesses. */
static inline void synco(void)
{
	__asm__ volatile("synco" : : : "memory");
}

/* 64-bit cycle counter of this core, read consistently across a carry. */
static inline uint64_t cycles(void)
{
	uint32_t hi, lo, hi2;
	do {
		hi = REG32(SIMCTL_CYCLES_HI);
		lo = REG32(SIMCTL_CYCLES_LO);
		hi2 = REG32(SIMCTL_CYCLES_HI);
	} while (hi != hi2);
	return ((uint64_t)hi << 32) | lo;
}

/* ---- The RP1 runtime (platform/rp1.c, rp1_vectors.S) -------------------- */

/*
 * Register state saved by the common exception entry (rp1_vectors.S).
 * r[0..7] are the interrupted context's bank-0 R0-R7, r[15] its R15 (the
 * entry does not switch stacks before saving it; SGR should hold the same
 * value and is saved for checking). A handler may change r[], spc, ssr,
 * pr, gbr, mach, macl; the exit path writes them back before RTE.
 * Offsets are fixed: rp1_vectors.S uses them.
 */
struct rp1_frame {
	uint32_t r[16];   /* 0x00 */
	uint32_t spc;     /* 0x40 */
	uint32_t ssr;     /* 0x44 */
	uint32_t pr;      /* 0x48 */
	uint32_t gbr;     /* 0x4c */
	uint32_t mach;    /* 0x50 */
	uint32_t macl;    /* 0x54 */
	uint32_t event;   /* 0x58 EXPEVT, or INTEVT for interrupts */
	uint32_t vector;  /* 0x5c 0x100, 0x400 or 0x600 */
	uint32_t sgr;     /* 0x60 SGR as found (read only: r[15] is restored) */
	uint32_t pad;     /* 0x64 keeps the frame 8-byte aligned */
};

/*
 * The handler a program installs with rp1_set_handler(); it is called
 * for every exception, TLB miss and interrupt on every core, with
 * SR.BL=1 (so it must not fault) on the per-core exception stack.
 * Without a handler, the runtime prints the frame and ends the run.
 */
typedef void (*rp1_handler_t)(struct rp1_frame *f);
void rp1_set_handler(rp1_handler_t h);

/* Install the runtime's vector table in VBR and clear SR.BL. */
void rp1_enable_exceptions(void);

/* A program that defines this symbol as nonzero gets
 * rp1_enable_exceptions() done by crt0 before main / secondary_main. */
extern const int rp1_crt0_clear_bl;
#define RP1_CRT0_CLEAR_BL const int rp1_crt0_clear_bl = 1

/* SR and VBR each core had when it entered _start (crt0_rp1.S). */
extern volatile uint32_t rp1_boot_sr[NR_CPUS];
extern volatile uint32_t rp1_boot_vbr[NR_CPUS];

/* Entry for cores 1-3 after crt0 (weak default: sleep forever). */
void secondary_main(unsigned cpu);

/* Start `cpu` at crt0's _start the way shx3_start_cpu() does. */
void rp1_start_cpu(unsigned cpu);

/*
 * Run fn(arg) in user mode (SR.MD=0, bank 0, same IMASK, BL=0) on the
 * given user stack; return to the caller when fn returns. fn must be a
 * leaf function that reaches memory only through its argument (all
 * addresses user-visible: P0 aliases, see P0ADDR) because GCC's literal
 * pools hold P1 addresses that user mode may not touch.
 * Returns fn's return value (r0).
 */
uint32_t rp1_run_user(uint32_t (*fn)(uint32_t), uint32_t arg, uint32_t user_sp);

/* TRAPA number the user-mode trampoline uses to come back (reserved). */
#define RP1_TRAPA_USER_EXIT 0xfe

/* Exception-stack and user-stack areas (linker/rp1.ld). */
uint32_t rp1_user_stack_top(unsigned cpu);

/* Spinlock on MOVLI.L/MOVCO.L (0 = free). */
typedef struct {
	volatile uint32_t v;
} rp1_lock_t;
void rp1_lock(rp1_lock_t *l);
void rp1_unlock(rp1_lock_t *l);
/* Atomic add via MOVLI.L/MOVCO.L; returns the new value. */
uint32_t rp1_atomic_add(volatile uint32_t *p, uint32_t v);

/* printf under one console lock shared by all cores. */
void rp1_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
