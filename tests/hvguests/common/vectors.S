/*
 * vectors.S - the guest's own vector table (registered with SET_VECTOR)
 * and its one entry/exit path.
 *
 * The hypervisor enters it exactly as SH-4A hardware would: SPC, SSR,
 * SGR = r15, EXPEVT/TRA or INTEVT set, SR.MD = RB = BL = 1, PC = VBR +
 * 0x100 (exceptions, non-hypercall traps), +0x400 (TLB miss) or +0x600
 * (interrupts).
 *
 * The frame goes on the interrupted stack (guests always run privileged
 * on their vCPU's own stack, so r15 is always valid) and every register is
 * saved in the bank the handler runs on (bank 1). That works whichever bank the
 * interrupted code used: if it ran on bank 1, its r0-r7 are the ones
 * saved; if on bank 0, the handler never touches them. Hence the stubs
 * save r0 before using it as their only scratch register.
 *
 * Hypercalls are not allowed with SR.BL = 1 (an exception while BL is set
 * resets the core), so once SPC, SSR and the event registers are safely
 * in the frame and in r5/r6, the handler clears BL before calling C, as
 * Linux's exception entry does; it sets BL again before it reloads SPC
 * and SSR for the rte. Only BL is changed: the SR written back is the one
 * just read, so IMASK (which guests change only through IRQ_DISABLE/
 * IRQ_RESTORE) is untouched. While BL is clear another virtual interrupt
 * may nest: it pushes its own frame below this one, so the entry and exit
 * are reentrant (guest.h says what that means for the C handlers).
 *
 * guest_exception(kind, code, tra, frame) is in guest.c; kind is one of
 * the VEC_* values, code is INTEVT for interrupts, EXPEVT otherwise.
 */
#include "guest.h"

	.section .vectors, "ax"
	.balign	256
	.global	guest_vbr
guest_vbr:
	.org	0x100
	mov.l	r0, @-r15
	bra	vec_common
	 mov	#VEC_GENERAL, r0

	.org	0x400
	mov.l	r0, @-r15
	bra	vec_common
	 mov	#VEC_TLB_MISS, r0

	.org	0x600
	mov.l	r0, @-r15
	bra	vec_common
	 mov	#VEC_INTERRUPT, r0

/* r0 = kind; the interrupted r0 is at @r15. Builds struct trap_frame. */
vec_common:
	mov.l	r1, @-r15
	mov.l	r2, @-r15
	mov.l	r3, @-r15
	mov.l	r4, @-r15
	mov.l	r5, @-r15
	mov.l	r6, @-r15
	mov.l	r7, @-r15
	mov.l	r8, @-r15
	mov.l	r9, @-r15
	mov.l	r10, @-r15
	mov.l	r11, @-r15
	mov.l	r12, @-r15
	mov.l	r13, @-r15
	mov.l	r14, @-r15
	sts.l	pr, @-r15
	sts.l	mach, @-r15
	sts.l	macl, @-r15
	stc.l	gbr, @-r15
	stc.l	ssr, @-r15
	stc.l	spc, @-r15

	mov	r0, r4			/* kind */
	mov.l	.Lexpevt, r1
	cmp/eq	#VEC_INTERRUPT, r0
	bf	1f
	mov.l	.Lintevt, r1
1:	mov.l	@r1, r5			/* code */
	mov.l	.Ltra, r1
	mov.l	@r1, r6			/* tra */
	mov	r15, r7			/* frame */
	stc	sr, r0
	mov.l	.Lnot_bl, r1
	and	r1, r0
	ldc	r0, sr			/* BL = 0: hypercalls allowed */
	mov.l	.Lguest_exception, r1
	jsr	@r1
	 nop
	stc	sr, r0
	mov.l	.Lbl, r1
	or	r1, r0
	ldc	r0, sr			/* BL = 1: SPC/SSR must survive to rte */

	ldc.l	@r15+, spc
	ldc.l	@r15+, ssr
	ldc.l	@r15+, gbr
	lds.l	@r15+, macl
	lds.l	@r15+, mach
	lds.l	@r15+, pr
	mov.l	@r15+, r14
	mov.l	@r15+, r13
	mov.l	@r15+, r12
	mov.l	@r15+, r11
	mov.l	@r15+, r10
	mov.l	@r15+, r9
	mov.l	@r15+, r8
	mov.l	@r15+, r7
	mov.l	@r15+, r6
	mov.l	@r15+, r5
	mov.l	@r15+, r4
	mov.l	@r15+, r3
	mov.l	@r15+, r2
	mov.l	@r15+, r1
	mov.l	@r15+, r0
	rte
	 nop

	.align 2
.Lexpevt:	.long SH_EXPEVT
.Lintevt:	.long SH_INTEVT
.Ltra:		.long SH_TRA
.Lguest_exception: .long guest_exception
.Lbl:		.long SH_SR_BL
.Lnot_bl:	.long ~SH_SR_BL
