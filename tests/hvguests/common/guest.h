/*
 * guest.h - the runtime every hypervisor test guest is written against
 * (docs/guests.md).
 *
 * Owns: the per-vCPU stack layout shared by crt0.S and C, the guest's exit
 * statuses, the trap frame the vectors build, and the small C runtime
 * (console printf, memset/memcpy, 64-bit division, atomics) in guest.c.
 *
 * A guest provides:
 *   int  main(void)                      vCPU 0, after crt0 cleared .bss
 *   void secondary_main(uint32_t arg)    other vCPUs (r4 from START_VCPU);
 *                                        optional, the default exits
 *   void guest_interrupt(uint32_t intevt)          from VBR+0x600
 *   int  guest_trap(uint32_t imm, struct trap_frame *f)
 *                                        a non-hypercall TRAPA; return 0
 *                                        if it is not one the guest uses
 *   int  guest_fault(uint32_t kind, uint32_t code, struct trap_frame *f)
 *                                        any other exception; optional,
 *                                        the default ends the guest
 * Handlers run on the interrupted stack with SR.BL = 0 (vectors.S clears
 * it once SPC/SSR are saved, so hypercalls are allowed). The hypervisor
 * delivers interrupts as an SH-4A with CPUOPM.INTMU = 1 does: the vCPU's
 * level rises to the interrupt's, so guest_interrupt() runs masked at its
 * own level (only higher levels nest), and SSR.IMASK keeps the level the
 * interrupted code had. guest_exception() restores that level with
 * IRQ_RESTORE after guest_interrupt() (an interrupt that comes in while it
 * does returns at its own level and leaves the restoring to it, so
 * handlers nest at most three deep) and then calls
 * guest_interrupt_exit() (weak, empty by default): the place for work the
 * interrupt made ready, such as an RTOS's task dispatch, which must not
 * run at the interrupt's level. Handlers never execute a guest trap
 * (trapa #0x10) themselves.
 */
#ifndef GUEST_H
#define GUEST_H

#include "spumone.h"

/* Stacks: vCPU i owns [__stacks_end - (i+1) * size, __stacks_end - i * size). */
#define GUEST_MAX_VCPUS   4
#define GUEST_STACK_SHIFT 14 /* 16 KiB each */

/* EXIT statuses (docs/guests.md). */
#define GUEST_EXIT_OK        0
#define GUEST_EXIT_PARAMS    2      /* the parameter block is out of range */
#define GUEST_EXIT_SETUP     3      /* a hypercall failed while starting */
#define GUEST_EXIT_CHECK     4      /* a self-check failed at the end */
#define GUEST_EXIT_BAD_VCPU  5      /* VCPU_ID gave no usable stack */
#define GUEST_EXIT_EXCEPTION 0x1000 /* | EXPEVT: unexpected exception */
#define GUEST_EXIT_INTERRUPT 0x2000 /* | INTEVT: unexpected interrupt */

/* Vector kinds, as vectors.S passes them to guest_exception. */
#define VEC_GENERAL   1 /* VBR+0x100 */
#define VEC_TLB_MISS  2 /* VBR+0x400 */
#define VEC_INTERRUPT 3 /* VBR+0x600 */

#ifndef __ASSEMBLER__

#include <stdint.h>
#include <stdarg.h>

/*
 * What vectors.S pushes on the interrupted stack, lowest address first.
 * r0 is pushed first by the vector stub, then r1..r14, so the general
 * registers sit in reverse: frame_reg() hides that.
 */
struct trap_frame {
	uint32_t spc, ssr, gbr, macl, mach, pr;
	uint32_t r14_down_to_r0[15];
};

static inline uint32_t frame_reg(const struct trap_frame *f, unsigned n)
{
	return f->r14_down_to_r0[14 - n];
}

/* The vector table (vectors.S): pass to hv_set_vector. */
extern char guest_vbr[];

/* The entry of every vCPU (crt0.S): pass to hv_start_vcpu. */
void _start(void);

/* vectors.S calls this with SR.BL = 0; it dispatches to the two below. */
void guest_exception(uint32_t kind, uint32_t code, uint32_t tra,
		     struct trap_frame *f);

/* Provided by each guest (see the top of this file). */
int main(void);
void secondary_main(uint32_t arg);
void guest_interrupt(uint32_t intevt);
void guest_interrupt_exit(void);
int guest_trap(uint32_t imm, struct trap_frame *f);
/* Any other exception (an address error, a TLB miss): return 1 if the
 * guest handled it (f->spc is where it resumes), 0 to end the guest
 * (weak: the default ends it). */
int guest_fault(uint32_t kind, uint32_t code, struct trap_frame *f);

/* This vCPU's index, from which stack r15 is in (no hypercall needed). */
unsigned this_vcpu(void);

/* Console: one CONSOLE_WRITE per call while the text fits 256 bytes, so
 * lines from different vCPUs do not interleave. %s %c %d %u %x with
 * optional zero-pad width, l and ll length modifiers, %%. */
void con_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void con_vprintf(const char *fmt, va_list ap);
void con_write(const char *s, unsigned long len);

/* The same formats into buf (always NUL-terminated, truncated to fit);
 * returns the length written. */
unsigned str_printf(char *buf, unsigned size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Print "FATAL vcpu N: ..." and EXIT(status). */
void guest_fatal(unsigned status, const char *fmt, ...)
	__attribute__((noreturn, format(printf, 2, 3)));

/* Unsigned 64-by-32 division by shift and subtract: '/' would need a
 * libgcc helper, and the guests link without libgcc (docs/guests.md). */
uint64_t udiv64(uint64_t n, uint32_t d, uint32_t *rem);

/* *p += v, atomically across vCPUs and nested handlers (MOVLI.L/MOVCO.L,
 * whose reservation any exception or interrupt entry clears); returns the
 * new value. */
uint32_t atomic_add(volatile uint32_t *p, uint32_t v);

/* Atomically decrement *p unless it is 0; returns whether it did. */
int atomic_take(volatile uint32_t *p);

/* SH-4A SYNCO: order this vCPU's memory accesses before the next ones. */
static inline void synco(void)
{
	__asm__ __volatile__("synco" : : : "memory");
}

/* GCC may emit calls to these for structure copies and clears. */
void *memset(void *d, int c, unsigned long n);
void *memcpy(void *d, const void *s, unsigned long n);

#endif /* __ASSEMBLER__ */
#endif /* GUEST_H */
