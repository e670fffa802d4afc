/*
 * entry.S - the hypervisor's SH-4A entry and exit paths, its reset entry
 * and its MMIO accessors: only what Rust cannot do (docs/board-image.md).
 *
 * Owns: the vector table (VBR+0x100 general exceptions, +0x400 TLB
 * misses, +0x600 interrupts), saving every register the interrupted code
 * had into this core's register frame (board/src/frame.rs has its layout
 * and checks these offsets), calling the Rust entry through the C runtime
 * on this core's C stack, and leaving into the frame (RTE, or a jump into
 * a guest handler with SR.BL set so that it sees its own SSR/SPC), or
 * sleeping. Must not touch: decisions; another core's memory.
 *
 * Per-core data is reached through `percore`, a structure at the start of
 * the core's OL memory (0xe5000000: the same address on every core, each
 * core seeing its own): +0 the frame's base, +4 its end (URAM addresses).
 *
 * On entry the hardware has set SR.MD, RB and BL (so every interrupt is
 * held until the exit) and saved PC, SR and R15 in SPC, SSR and SGR; R15
 * is therefore free, and registers R0-R7 are bank 1's.
 */
	.set	PERCORE_FRAME_BASE, 0	/* struct percore in runtime.c */
	.set	PERCORE_FRAME_END, 4
	.set	PERCORE_DIRECT, 16	/* direct_general, direct_count, scratch0, scratch1 */
	.set	KIND_GENERAL, 1
	.set	KIND_TLB_MISS, 2
	.set	KIND_INTERRUPT, 3
	.set	ACTION_IDLE, 1
	.set	ACTION_HALT, 2
	.set	HC_TIME_NOW, 0x6c	/* spumone_kernel::hypercall (board/src/lib.rs asserts) */
	.set	HC_SEND_IPI, 0x67
	.set	HC_IDLE, 0x63
	/* struct percore past direct_general (r15 points there), runtime.c */
	.set	PD_QUICK_WINDOW, 16
	.set	PD_SCRATCH2, 20
	.set	PD_SCRATCH3, 24
	.set	PD_IPI_COALESCED, 28
	.set	PD_QUICK_COUNT, 32
	.set	PD_SCRATCH4, 36
	.set	PD_SCRATCH5, 40
	.set	PD_IPI_COUNT, 44
	.set	PD_ICI_COUNT, 48
	.set	PD_SCRATCH6, 52
	.set	PD_VECTOR, 56
	.set	PD_IDLE_COUNT, 60
	/* Past the reach of @(disp, r15): indexed (mov #PD_*, r0). */
	.set	PD_IDLE_SPC, 64
	.set	PD_IDLE_SSR, 68
	.set	PD_IDLE_SGR, 72
	.set	PD_IDLE_R0, 76
	.set	PD_IDLE_R1, 80
	/* VcpuContext (kernel/src/vcpu.rs; board/src/lib.rs asserts these) */
	.set	CTX_INTEVT, 4
	.set	CTX_VBR, 204
	.set	CTX_VIRTUAL_IMASK, 208
	/* The trace ring's header words (percore/src/tracebuf.rs) */
	.set	TRACE_CAPACITY, 8
	.set	TRACE_HEAD, 12
	.set	TRACE_TAIL, 16
	.set	TRACE_DROPPED, 20
	.set	TRACE_RECORDS, 64
	/* board_core.rs, QuickWindow */
	.set	QW_IMASKS, 0
	.set	QW_FROM_HI, 4
	.set	QW_FROM_LO, 8
	.set	QW_UNTIL_HI, 12
	.set	QW_UNTIL_LO, 16
	.set	QW_IPI_ROUTES, 20
	.set	QW_IPI_LOCATIONS, 24
	.set	QW_IPI_WORDS, 28
	.set	QW_CORES, 32
	.set	QW_CORE, 36
	.set	QW_IPI_ICI, 40
	.set	QW_UNCLOCKED_SEND_IPI, 44
	.set	QW_ICI_LEVEL, 48
	.set	QW_ICI_CTX, 52
	.set	QW_ICI_PENDING, 56
	.set	QW_ICI_WORD, 60
	.set	QW_ICI_RECORD, 64
	.set	QW_TRACE, 68
	.set	QW_IDLE, 72
	.set	QW_UNDISPATCH_RECORD, 76
	.set	QW_DISPATCH_RECORD, 80

/* Add one to the stub's own 32-bit count at \base + \off (by default
 * PD_* off r15 = &direct_general), through \tmp. hosting/src/runner.rs
 * adds these into the instance's Stats as the instance would have
 * counted the same work. */
	.macro	COUNT off, base=r15, tmp=r1
	mov.l	@(\off, \base), \tmp
	add	#1, \tmp
	mov.l	\tmp, @(\off, \base)
	.endm

/* The clock as rp1::cycles reads it (the high word, the low word, and
 * the high word again if a carry may have come between) into r2 (high)
 * and r3 (low). Uses r0, r1. \simctl and \carry name literals holding
 * SIMCTL's P2 address and 0x10000. */
	.macro	READ_CLOCK simctl, carry
	mov.l	\simctl, r0
	mov.l	@(8, r0), r2
	mov.l	@(4, r0), r3
	mov.l	\carry, r1
	cmp/hs	r1, r3
	bt	.Lclock_read\@
	mov.l	@(8, r0), r2
.Lclock_read\@:
	.endm

/* Whether the clock is in the quick window's [from, until) (nothing is
 * due): the clock (READ_CLOCK) into r2 (high) and r3 (low), else to
 * \refused. r15 = &direct_general; uses r0, r1. */
	.macro	IN_QUICK_WINDOW refused, simctl, carry
	READ_CLOCK \simctl, \carry
	mov.l	@(PD_QUICK_WINDOW, r15), r1
	mov.l	@(QW_FROM_HI, r1), r0
	cmp/hi	r0, r2
	bt	2f			/* now > from by the high words */
	cmp/eq	r0, r2
	bf	\refused
	mov.l	@(QW_FROM_LO, r1), r0
	cmp/hs	r0, r3
	bf	\refused
2:	mov.l	@(QW_UNTIL_HI, r1), r0
	cmp/hi	r2, r0
	bt	3f			/* until > now by the high words */
	cmp/eq	r2, r0
	bf	\refused
	mov.l	@(QW_UNTIL_LO, r1), r0
	cmp/hi	r3, r0
	bf	\refused
3:
	.endm

/* VBR for the vCPU about to run: hv_vectors_direct if its exceptions go
 * straight to it (percore.direct_general set by the Rust exit), else
 * hv_vectors. Uses r0. */
	.macro	SELECT_VECTORS percore_direct, hv, hv_direct
	mov.l	\percore_direct, r0
	mov.l	@r0, r0
	tst	r0, r0
	mov.l	\hv, r0
	bt	.Lselected\@
	mov.l	\hv_direct, r0
.Lselected\@:
	ldc	r0, vbr
	.endm

/* Bank 1 registers r<k> of \regs (numbers, 2-6) set aside in, or taken
 * back from, their scratch words (PD_SCRATCH<k>) while a quick path uses
 * them. r15 = &direct_general. */
	.macro	SAVE_SCRATCH regs:vararg
	.irp	k, \regs
	mov.l	r\k, @(PD_SCRATCH\k, r15)
	.endr
	.endm
	.macro	RESTORE_SCRATCH regs:vararg
	.irp	k, \regs
	mov.l	@(PD_SCRATCH\k, r15), r\k
	.endr
	.endm

/* Push a record onto the trace ring, as Writer::push pushes it (dropped
 * and counted if the ring is full): its first word the quick window's
 * word at \head, then r1, then the clock (r3 low, r2 high). r4 = the
 * quick window, r15 = &direct_general; uses r0, r4, r5, r6. */
	.macro	TRACE_PUSH head
	mov	#QW_TRACE, r0
	mov.l	@(r0, r4), r6		/* r6 = the ring */
	mov.l	@(TRACE_HEAD, r6), r5
	mov.l	@(TRACE_TAIL, r6), r0
	neg	r0, r0
	add	r5, r0			/* head - tail */
	mov.l	@(TRACE_CAPACITY, r6), r4
	cmp/hs	r4, r0
	bt	.Lpush_full\@		/* full (or no ring) */
	mov	r4, r0
	add	#-1, r0
	and	r5, r0
	shll2	r0
	shll2	r0
	add	#TRACE_RECORDS, r0
	add	r6, r0			/* r0 = its record */
	mov.l	@(PD_QUICK_WINDOW, r15), r4
	add	#\head, r4
	mov.l	@r4, r4
	mov.l	r4, @r0
	mov.l	r1, @(4, r0)
	mov.l	r3, @(8, r0)
	mov.l	r2, @(12, r0)
	add	#1, r5
	bra	.Lpushed\@
	 mov.l	r5, @(TRACE_HEAD, r6)
.Lpush_full\@:
	mov.l	@(TRACE_DROPPED, r6), r0
	add	#1, r0
	mov.l	r0, @(TRACE_DROPPED, r6)
.Lpushed\@:
	.endm

/* ---- the reset entry: core 0 from the ELF entry, the others from their
 * reset vector (spumone_c_start starts them). Reset state: SR = MD|RB|BL
 * with IMASK 15, so nothing interrupts the boot. */
	.section .text.start, "ax"
	.global	_start
_start:
	mov.l	.Lcpidr, r0
	mov.l	@r0, r4			/* r4 = this core's number */
	mov	r4, r0
	and	#3, r0
	shll2	r0
	mov.l	.Lstack_tops, r1
	mov.l	@(r0, r1), r15		/* the C stack: the end of this core's URAM */
	mov.l	.Lc_start, r0
	jsr	@r0
	 nop
	mov.l	.Lexit_common, r1	/* r0 = the action */
	jmp	@r1
	 nop
	.balign	4
.Lcpidr:	.long	0xff000048
.Lstack_tops:	.long	hv_c_stack_tops
.Lc_start:	.long	spumone_c_start
.Lexit_common:	.long	exit_common

/* ---- the vector table ----
 * The frame (board/src/frame.rs) is a VcpuContext in its memory order
 * (kernel/src/vcpu.rs, `layout`), then exit_sr and mode: 80 words. Word
 * numbers below are its. The stub pushes from its end down on entry and
 * pops from its start on exit. */
	.section .text.vectors, "ax"
	.global	hv_vectors
hv_vectors:
/* VBR is this table while the running vCPU's exceptions go through the
 * hypervisor, hv_vectors_direct below while they go straight to it
 * (SELECT_VECTORS, at every exit into a vCPU). Here every exception and
 * interrupt is taken with every register kept; a hypercall may be
 * answered without the full entry (quick_call). */
	.org	0x100
	mov.l	3f, r15			/* r15 is free: SGR holds the guest's */
	mov.l	r0, @(8, r15)		/* bank 1 r0 and r1 aside (scratch) */
	mov.l	r1, @(12, r15)
	mov.l	.Ltra_p4, r1
	mov.l	@r1, r0			/* TRA: this trap's number, or the last one's */
	shlr2	r0
	tst	#0x60, r0		/* 0x00-0x1f and 0x80-0x9f (Linux's system */
	bt	not_a_hypercall		/* calls among them): no hypercall, whatever this is */
	mov.l	@(4, r1), r0		/* EXPEVT */
	shlr2	r0
	shlr2	r0
	shlr	r0
	cmp/eq	#(0x160 >> 5), r0	/* a trap */
	bt	trap_entry
not_a_hypercall:
	mov.l	@r15, r0		/* direct_general */
	tst	r0, r0
	bf	1f
	mov.l	@(12, r15), r1
	mov.l	@(8, r15), r0
general_entry:
	mov.l	2f, r15
	mov.l	@r15, r15		/* the frame's end */
	add	#-8, r15		/* 80 mode, 79 exit_sr: exit only */
	stc.l	spc, @-r15		/* 78 pc */
	mov.l	r7, @-r15		/* 77 bank 1 r7 */
	bra	save_common
	 mov	#KIND_GENERAL, r7
1:	COUNT	4			/* direct_count */
	jmp	@r0			/* its VBR + 0x100 */
	 stc	sgr, r15
	.balign	4
2:	.long	percore + PERCORE_FRAME_END
3:	.long	percore + PERCORE_DIRECT

/* A trap whose number may be a hypercall's. r15 = &direct_general, r1 =
 * &TRA, bank 1 r0 and r1 in scratch. */
trap_entry:
	mov.l	@r1, r0			/* TRA */
	shlr2	r0			/* the trap number */
	cmp/eq	#HC_TIME_NOW, r0
	bt	quick_call
	cmp/eq	#HC_SEND_IPI, r0
	bt	quick_call
	cmp/eq	#HC_IDLE, r0
	bt	quick_call
	shlr2	r0
	shlr2	r0
	shlr	r0
	cmp/eq	#3, r0			/* numbered 0x60-0x7f: a hypercall */
	bf	not_a_hypercall
full_hypercall:
	mov.l	@(12, r15), r1
	bra	general_entry
	 mov.l	@(8, r15), r0

/* TIME_NOW and SEND_IPI, answered without the Rust entry when the
 * instance's last exit said it would answer them so
 * (Instance::quick_calls): the running vCPU calls from privileged mode
 * (TIME_NOW on either register bank, SSR.RB saying whose R0 and R1 get
 * the result; SEND_IPI on bank 0 only), at an
 * SR.IMASK its quick exit would leave as it is (the window's imasks: bit
 * n, IMASK n; bit 16, the IMASK in the frame's exit_sr, which the last
 * exit resumed it at), and nothing is due: from <= the time < until.
 * Then TIME_NOW is answered here, and SEND_IPI goes on at
 * quick_send_ipi. A SEND_IPI at an IMASK of the window's
 * unclocked_send_ipi goes there without the clock (nothing but the
 * core's timer can be due, and its interrupt comes as the call
 * returns). Otherwise, or on a core that runs no vCPU (imasks 0), the
 * full entry, which decides the same way. The window is
 * board_core.rs's QuickWindow, in linear memory (percore.quick_window).
 * Counted in quick_count (COUNT). r15 = &direct_general, r0 = the trap
 * number, bank 1 r0 and r1 in scratch. */
quick_call:
	SAVE_SCRATCH 2, 3, 4
	mov	r0, r4			/* r4 = the call */
	stc	ssr, r0
	mov.l	.Lsr_md, r1
	tst	r1, r0			/* privileged */
	bt	quick_refused
	shlr2	r0
	shlr2	r0
	and	#15, r0			/* its IMASK */
	mov.l	@(PD_QUICK_WINDOW, r15), r3
	neg	r0, r2
	mov	#HC_SEND_IPI, r1
	cmp/eq	r1, r4
	bf	1f
	mov.l	@(QW_UNCLOCKED_SEND_IPI, r3), r1
	shld	r2, r1
	shlr	r1			/* T: a SEND_IPI at this IMASK needs no clock */
	bf	1f
	bra	quick_send_ipi
	 nop
1:	mov.l	@(QW_IMASKS, r3), r1
	shld	r2, r1
	shlr	r1			/* T: bit IMASK, allowed outright */
	bt	quick_imask_ok
	mov.l	@(QW_IMASKS, r3), r1
	swap.w	r1, r1
	shlr	r1			/* T: bit 16, allowed as the last exit left it */
	bf	quick_refused
	mov.l	.Lframe_end_p, r1
	mov.l	@r1, r1
	add	#-8, r1
	mov.l	@r1, r1			/* the frame's exit_sr (word 79) */
	shlr2	r1
	shlr2	r1
	mov	#15, r2
	and	r2, r1
	cmp/eq	r0, r1
	bf	quick_refused
quick_imask_ok:
	IN_QUICK_WINDOW quick_refused, .Lsimctl, .Lcarry_window
	mov	r4, r0
	cmp/eq	#HC_TIME_NOW, r0
	bt	quick_time_now
	cmp/eq	#HC_SEND_IPI, r0
	bf	1f
	bra	quick_send_ipi
	 nop
1:	bra	quick_idle
	 nop
quick_time_now:
	stc	ssr, r0			/* the time into the vCPU's R0 and R1: */
	mov.l	.Lsr_rb, r1
	tst	r1, r0
	bf	4f
	ldc	r3, r0_bank		/* bank 0's, */
	ldc	r2, r1_bank
	bra	5f
	 nop
4:	mov.l	r3, @(8, r15)		/* or bank 1's, which come back from scratch */
	mov.l	r2, @(12, r15)
5:
/* Either call answered: count it, give the vCPU back its registers. */
quick_answered:
	COUNT	PD_QUICK_COUNT
	RESTORE_SCRATCH 2, 3, 4
	mov.l	@(12, r15), r1
	mov.l	@(8, r15), r0
	stc	sgr, r15
	rte				/* SR = SSR, PC = SPC: after the trapa */
	 nop
quick_refused:
	RESTORE_SCRATCH 2, 3
	bra	full_hypercall
	 mov.l	@(PD_SCRATCH4, r15), r4
	.balign	4
.Lsr_md:	.long	0x40000000
.Lsr_rb:	.long	0x20000000
.Lsimctl:	.long	0xbbff0000
.Lframe_end_p:	.long	percore + PERCORE_FRAME_END
.Lcarry_window:	.long	0x10000

	.org	0x400
	mov.l	1f, r15
	mov.l	@r15, r15
	add	#-8, r15
	stc.l	spc, @-r15
	mov.l	r7, @-r15
	bra	save_common
	 mov	#KIND_TLB_MISS, r7
	.balign	4
1:	.long	percore + PERCORE_FRAME_END
.Ltra_p4:	.long	0xff000020	/* TRA; EXPEVT follows it */

/* Interrupts. The IPI ICI may be delivered here (ipi_ici_entry); every
 * other interrupt, and an IPI ICI it declines, takes the full entry. */
	.org	0x600
	mov.l	3f, r15			/* r15 is free: SGR holds the guest's */
	mov.l	r0, @(8, r15)		/* bank 1 r0 and r1 aside */
	mov.l	r1, @(12, r15)
	mov.l	4f, r1
	mov.l	@r1, r0			/* INTEVT */
	mov.w	5f, r1
	cmp/eq	r1, r0
	bt	ipi_ici_entry
	mov.l	@(12, r15), r1
	mov.l	@(8, r15), r0
interrupt_entry:
	mov.l	1f, r15
	mov.l	@r15, r15
	add	#-8, r15
	stc.l	spc, @-r15
	mov.l	r7, @-r15
	bra	save_common
	 mov	#KIND_INTERRUPT, r7
	.balign	4
1:	.long	percore + PERCORE_FRAME_END
3:	.long	percore + PERCORE_DIRECT
4:	.long	0xff000028		/* INTEVT */
5:	.word	0xf40			/* IPI_ICI_INTEVT */
	.balign	2
/* A word ipi_ici_entry does not take: end the reservation its MOVLI.L
 * took, storing back the word as read (or nothing, if another core wrote
 * the line since), before declining. Every MOVLI.L here ends in a
 * MOVCO.L on every path: the reservation would otherwise outlive the
 * stub, and an interrupted MOVCO.L of the guest's (an interrupt between
 * its MOVLI.L and MOVCO.L, which drops the guest's own reservation)
 * would succeed on it after its line was written by another core, as it
 * did for a Linux mutex (a lost MUTEX_FLAG_WAITERS, a waiter never
 * woken: docs/board-image.md). r0 = the word, r1 = its address. */
ici_abandon:
	movco.l	r0, @r1
	bra	ici_refused
	 nop
/* ipi_ici_entry declined: the registers back, and the full entry. (Here,
 * before it, so that its conditional branches reach.) */
ici_refused:
	RESTORE_SCRATCH 2, 3, 4, 5, 6
	mov.l	@(12, r15), r1
	bra	interrupt_entry
	 mov.l	@(8, r15), r0

/* The IPI ICI, delivered as the instance's quick path delivers it
 * (Instance::enter, `deliver_in_place`), when its last exit said this
 * path may (`QuickIpiIci`, the window's ici_* words: ici_ctx 0 if not)
 * and, checked here, the running vCPU has nothing pending in the
 * instance, has a vector table, runs below its IPI level, nothing is due
 * (the quick window's times) and its IPI word holds exactly one message
 * m. Then, as the instance would: the ICI's requests are acknowledged;
 * the message is taken out of the word; the vCPU enters its interrupt
 * vector (VBR + 0x600) with INTEVT 0xf00 + 0x20 m, SR.IMASK its IPI
 * level, and SSR, SPC and SGR as the hardware's entry left them (its own
 * SR, PC and R15); its context's INTEVT and level are recorded; the
 * `Inject` is traced and counted in ici_count. Every register it had is
 * kept. Otherwise the full entry, which decides the same way; an ICI
 * already acknowledged here is simply gone, as it would be after the
 * instance's own acknowledgement.
 * r15 = &direct_general; bank 1 r0 and r1 in scratch. */
ipi_ici_entry:
	SAVE_SCRATCH 2, 3, 4, 5, 6
	mov.l	@(PD_QUICK_WINDOW, r15), r4
	mov.l	@(QW_ICI_CTX, r4), r6	/* r6 = the vCPU's context, 0: not here */
	tst	r6, r6
	bt	ici_refused
	stc	ssr, r0
	shlr2	r0
	shlr2	r0
	and	#15, r0			/* its IMASK */
	mov.l	@(QW_ICI_LEVEL, r4), r1
	cmp/hs	r1, r0			/* not below its IPI level */
	bt	ici_refused
	mov.l	@(QW_ICI_PENDING, r4), r1
	mov.w	@r1, r0
	tst	r0, r0			/* something pending in the instance */
	bf	ici_refused
	mov.w	.Lctx_vbr, r0
	mov.l	@(r0, r6), r5		/* r5 = its VBR */
	tst	r5, r5
	bt	ici_refused
	mov.w	.Lirq_offset, r0
	add	r0, r5
	mov.l	r5, @(PD_VECTOR, r15)	/* where it enters */
	IN_QUICK_WINDOW ici_refused, .Lsimctl_ici, .Lcarry_ici
	/* Acknowledge the ICI: the senders' bits in this core's CnINTICI
	 * (Rp1::take_ipi_ici), before the word is read, so that a message
	 * set after the read comes with a request of its own. */
	mov.l	@(QW_CORE, r4), r0
	shll2	r0
	mov.l	.Lintc_intici_ici, r1
	add	r0, r1			/* this core's CnINTICI */
	mov.l	@r1, r0
	shlr8	r0
	and	#15, r0
	tst	r0, r0
	bt	1f
	shll8	r0
	mov.l	r0, @(16, r1)		/* its CnINTICICLR */
	/* Take the message: the word read and cleared at once only if it is
	 * one message bit (0-7); anything else is the instance's to sort. */
1:	mov.l	@(QW_ICI_WORD, r4), r1
2:	movli.l	@r1, r0
	tst	r0, r0
	bt	ici_abandon		/* no message */
	mov	r0, r5
	shlr8	r5
	tst	r5, r5
	bf	ici_abandon		/* bits that are no message */
	mov	r0, r5
	add	#-1, r5
	tst	r0, r5
	bf	ici_abandon		/* more than one */
	mov	r0, r5			/* r5 = the message's bit */
	mov	#0, r0
	movco.l	r0, @r1
	bf	2b
	/* Its INTEVT: 0xf00 + 0x20 m. */
	mov.w	.Lvirtual_ipi_intevt, r1
3:	shlr	r5
	bt	4f
	bra	3b
	 add	#0x20, r1
4:	mov.l	.Lintevt_ici, r0
	mov.l	r1, @r0			/* INTEVT, as the vCPU reads it */
	mov.l	r1, @(CTX_INTEVT, r6)	/* and as the instance keeps it */
	mov.l	@(QW_ICI_LEVEL, r4), r5
	mov.w	.Lctx_virtual_imask, r0
	mov.l	r5, @(r0, r6)		/* its level: the IPI's */
	/* The Inject record, stamped with the clock read above (r2, r3). */
	TRACE_PUSH QW_ICI_RECORD
	COUNT	PD_ICI_COUNT
	/* SR.IMASK to its IPI level, MD, RB and BL staying set. */
	mov.l	@(PD_QUICK_WINDOW, r15), r1
	mov.l	@(QW_ICI_LEVEL, r1), r0
	shll2	r0
	shll2	r0
	stc	sr, r1
	mov.w	.Lnot_imask, r2
	and	r2, r1
	or	r0, r1
	ldc	r1, sr
	RESTORE_SCRATCH 2, 3, 4, 5, 6
	mov.l	@(12, r15), r1
	mov.l	@(8, r15), r0
	mov.l	@(PD_VECTOR, r15), r15
	jmp	@r15
	 stc	sgr, r15
	.balign	2
.Lctx_vbr:		.word	CTX_VBR
.Lctx_virtual_imask:	.word	CTX_VIRTUAL_IMASK
.Lirq_offset:		.word	0x600
.Lvirtual_ipi_intevt:	.word	0xf00	/* VIRTUAL_IPI_INTEVT */
.Lnot_imask:		.word	0xff0f	/* sign-extended: ~0xf0 */
	.balign	4
.Lsimctl_ici:		.long	0xbbff0000
.Lcarry_ici:		.long	0x10000
.Lintc_intici_ici:	.long	0xfe410070	/* rp1::ici_request_register(0) */
.Lintevt_ici:		.long	0xff000028

/* SEND_IPI, past quick_call's checks: to a vCPU the window's routes allow
 * (not here, its home another core), sent as Instance::send_ipi sends it:
 * the message's bit set in the target's IPI word (movli.l/movco.l, as
 * spumone_migration::ipi::raise), then the IPI ICI raised on the core the
 * target's location word names if it names another, else on its home
 * (Engine::ipi_destination); 0 into the caller's R0. Counted in
 * ipi_count (and ipi_coalesced if the bit was set already). Any other
 * target (here, at home here, out of range) or message (past 7), or a
 * call made on register bank 1 (from an exception handler: no guest
 * sends so, and the path would be
 * untested), takes the full entry, which answers or refuses it. r15 =
 * &direct_general; bank 1 r0-r4 in scratch. */
quick_send_ipi:
	SAVE_SCRATCH 5
	stc	ssr, r0
	mov.l	.Lsr_rb_ipi, r1
	tst	r1, r0
	bf	ipi_refused		/* called on bank 1: the full entry */
	stc	r4_bank, r2		/* the caller's R4 and R5 (bank 0's) */
	stc	r5_bank, r3
	mov	#7, r0
	cmp/hi	r0, r3			/* r3 = the message */
	bt	ipi_refused
	mov	#3, r0
	cmp/hi	r0, r2			/* r2 = the target vCPU */
	bt	ipi_refused
	shll2	r2			/* r2 = 4 v */
	mov.l	@(PD_QUICK_WINDOW, r15), r1
	mov.l	@(QW_IPI_ROUTES, r1), r0
	neg	r2, r4
	shld	r4, r0			/* its route in bits 3:0 */
	tst	#8, r0
	bt	ipi_refused
	and	#3, r0
	mov	r0, r5			/* r5 = its home */
	mov	#1, r0
	shld	r3, r0
	mov	r0, r3			/* r3 = the message's bit */
	mov.l	@(QW_IPI_WORDS, r1), r4
	add	r2, r4			/* r4 = its IPI word */
3:	movli.l	@r4, r0
	tst	r3, r0
	bf	4f			/* raised already: the two are one */
	or	r3, r0
	movco.l	r0, @r4
	bf	3b
	bra	5f
	 mov	#0, r3			/* r3 = 0: a new one */
4:	movco.l	r0, @r4			/* the word as read: no reservation left (ici_abandon) */
	mov	#1, r3			/* r3 = 1: coalesced */
5:	synco				/* the bit before the location's read */
	mov.l	@(QW_IPI_LOCATIONS, r1), r0
	mov.l	@(r0, r2), r0		/* its location word: core + 1, or 0 */
	add	#-1, r0
	mov.l	@(QW_CORES, r1), r4
	cmp/hs	r4, r0			/* names no core */
	bt	6f
	mov.l	@(QW_CORE, r1), r4
	cmp/eq	r4, r0			/* names this one */
	bt	6f
	mov	r0, r5			/* r5 = the core it is on */
6:	shll2	r5
	mov.l	.Lintc_intici, r0	/* that core's CnINTICI */
	mov.l	@(QW_IPI_ICI, r1), r4
	mov.l	r4, @(r0, r5)		/* its IPI ICI, from this core */
	mov	#0, r0
	ldc	r0, r0_bank		/* 0 into the caller's R0 */
	tst	r3, r3
	bt	9f
	COUNT	PD_IPI_COALESCED
9:	COUNT	PD_IPI_COUNT
	RESTORE_SCRATCH 5
	bra	quick_answered
	 nop
ipi_refused:
	RESTORE_SCRATCH 5
	bra	quick_refused
	 nop
	.balign	4
.Lsr_rb_ipi:	.long	0x20000000
.Lintc_intici:	.long	0xfe410070	/* rp1::ici_request_register(0) */

/* IDLE, past quick_call's checks, where the instance's last exit said
 * this path may answer it (the window's idle word, `Instance::quick_idle`:
 * nothing else here could run meanwhile and its IPI ICI is this path's)
 * and, checked here, it calls on bank 0 with nothing pending in the
 * instance. Then it
 * is answered by sleeping in place: 0 into the caller's R0, counted in
 * quick_count and idle_count, an Undispatch record; the vCPU's SPC,
 * SSR, SGR and bank 1 R0 and R1 set aside; VBR to idle_vectors, whose
 * only entry is idle_wake; and every
 * level open for the sleep. Any interrupt ends it (the timer is armed for
 * the window's end, so nothing due is missed): idle_wake puts VBR back,
 * writes a Dispatch record and returns into the vCPU after its trapa with
 * the interrupt still requested, to be taken when the vCPU unmasks (at
 * once if it comes above the vCPU's level) like any other. Otherwise the
 * full entry, which decides the same way or returns at once. r15 =
 * &direct_general, r2/r3 the clock, bank 1 r0-r4 in scratch. */
quick_idle:
	stc	ssr, r0
	mov.l	.Lsr_rb_idle, r1
	tst	r1, r0
	bf	idle_refused		/* called on bank 1 */
	mov.l	@(PD_QUICK_WINDOW, r15), r4
	mov	#QW_IDLE, r0
	mov.l	@(r0, r4), r0
	tst	r0, r0
	bt	idle_refused		/* not here, not now */
	mov.l	@(QW_ICI_PENDING, r4), r1
	mov.w	@r1, r0
	tst	r0, r0
	bf	idle_refused		/* pending: the full entry returns at once */
	SAVE_SCRATCH 5, 6
	mov	#0, r1
	TRACE_PUSH QW_UNDISPATCH_RECORD
	mov	#0, r0
	ldc	r0, r0_bank		/* IDLE's result */
	COUNT	PD_QUICK_COUNT
	COUNT	PD_IDLE_COUNT
	/* What the sleep's interrupt entry will overwrite. */
	mov	#PD_IDLE_SPC, r0
	stc	spc, r1
	mov.l	r1, @(r0, r15)
	mov	#PD_IDLE_SSR, r0
	stc	ssr, r1
	mov.l	r1, @(r0, r15)
	mov	#PD_IDLE_SGR, r0
	stc	sgr, r1
	mov.l	r1, @(r0, r15)
	mov.l	@(8, r15), r1
	mov	#PD_IDLE_R0, r0
	mov.l	r1, @(r0, r15)
	mov.l	@(12, r15), r1
	mov	#PD_IDLE_R1, r0
	mov.l	r1, @(r0, r15)
	mov.l	.Lidle_vectors, r0
	ldc	r0, vbr			/* before SR opens: an interrupt may come at once */
	mov.l	.Lsr_idle_quick, r0
	ldc	r0, sr
1:	sleep
	bra	1b
	 nop
idle_refused:
	bra	quick_refused
	 nop
	.balign	4
.Lsr_rb_idle:	.long	0x20000000
.Lidle_vectors:	.long	idle_wake - 0x600
.Lsr_idle_quick: .long	0x60008000	/* MD RB, FD, IMASK 0, BL clear */

/* The interrupt that ended quick_idle's sleep, at idle_vectors + 0x600
 * (idle_vectors has no other entry: nothing but an interrupt can come
 * while the core sleeps). */
idle_wake:
	mov.l	.Lwake_direct, r15
	SELECT_VECTORS .Lwake_direct, .Lwake_hv_vectors, .Lwake_hv_vectors_direct
	READ_CLOCK .Lsimctl_wake, .Lcarry_wake
	mov	#0, r1
	mov.l	@(PD_QUICK_WINDOW, r15), r4
	TRACE_PUSH QW_DISPATCH_RECORD
	mov	#PD_IDLE_SPC, r0
	mov.l	@(r0, r15), r1
	ldc	r1, spc
	mov	#PD_IDLE_SSR, r0
	mov.l	@(r0, r15), r1
	ldc	r1, ssr
	mov	#PD_IDLE_SGR, r0
	mov.l	@(r0, r15), r1
	ldc	r1, dbr			/* R15 comes back through DBR */
	RESTORE_SCRATCH 2, 3, 4, 5, 6
	mov	#PD_IDLE_R1, r0
	mov.l	@(r0, r15), r1
	mov	#PD_IDLE_R0, r0
	mov.l	@(r0, r15), r0
	stc	dbr, r15
	rte				/* SR = SSR, PC = SPC: after the trapa */
	 nop
	.balign	4
.Lwake_direct:		.long	percore + PERCORE_DIRECT
.Lwake_hv_vectors:	.long	hv_vectors
.Lwake_hv_vectors_direct: .long	hv_vectors_direct
.Lsimctl_wake:		.long	0xbbff0000
.Lcarry_wake:		.long	0x10000

/* Push the rest (r7 is saved and holds the kind). */
save_common:
	mov.l	r6, @-r15
	mov.l	r5, @-r15
	mov.l	r4, @-r15
	mov.l	r3, @-r15
	mov.l	r2, @-r15
	mov.l	r1, @-r15
	mov.l	r0, @-r15		/* 76-70 bank 1 r6-r0 */
	stc	sgr, r0
	mov.l	r0, @-r15		/* 69 r15 */
	mov.l	r14, @-r15
	mov.l	r13, @-r15
	mov.l	r12, @-r15
	mov.l	r11, @-r15
	mov.l	r10, @-r15
	mov.l	r9, @-r15
	mov.l	r8, @-r15		/* 68-62 r14-r8 */
	stc.l	r7_bank, @-r15
	stc.l	r6_bank, @-r15
	stc.l	r5_bank, @-r15
	stc.l	r4_bank, @-r15
	stc.l	r3_bank, @-r15
	stc.l	r2_bank, @-r15
	stc.l	r1_bank, @-r15
	stc.l	r0_bank, @-r15		/* 61-54 bank 0 */
	add	#-16, r15		/* 53-50 preempt_count, virtual_imask, vbr, dbr: not hardware */
	stc.l	sgr, @-r15		/* 49 sgr */
	stc.l	ssr, @-r15		/* 48 sr */
	stc.l	spc, @-r15		/* 47 spc */
	stc.l	ssr, @-r15		/* 46 ssr */
	stc.l	gbr, @-r15		/* 45 */
	sts.l	macl, @-r15		/* 44 */
	sts.l	mach, @-r15		/* 43 */
	sts.l	pr, @-r15		/* 42 */
	/* The FPU may be off for the guest (SR.FD): on for the stub. */
	stc	sr, r0
	mov.l	.Lnot_fd, r1
	and	r1, r0
	ldc	r0, sr
	sts.l	fpscr, @-r15		/* 41 */
	sts.l	fpul, @-r15		/* 40 */
	mov.l	.Lfpscr_fr1, r0		/* FR = 1, PR = SZ = 0: FR0-15 are bank 1 */
	lds	r0, fpscr
	fmov.s	fr15, @-r15
	fmov.s	fr14, @-r15
	fmov.s	fr13, @-r15
	fmov.s	fr12, @-r15
	fmov.s	fr11, @-r15
	fmov.s	fr10, @-r15
	fmov.s	fr9, @-r15
	fmov.s	fr8, @-r15
	fmov.s	fr7, @-r15
	fmov.s	fr6, @-r15
	fmov.s	fr5, @-r15
	fmov.s	fr4, @-r15
	fmov.s	fr3, @-r15
	fmov.s	fr2, @-r15
	fmov.s	fr1, @-r15
	fmov.s	fr0, @-r15		/* 39-24 FPU bank 1 */
	frchg				/* FR = 0: bank 0 */
	fmov.s	fr15, @-r15
	fmov.s	fr14, @-r15
	fmov.s	fr13, @-r15
	fmov.s	fr12, @-r15
	fmov.s	fr11, @-r15
	fmov.s	fr10, @-r15
	fmov.s	fr9, @-r15
	fmov.s	fr8, @-r15
	fmov.s	fr7, @-r15
	fmov.s	fr6, @-r15
	fmov.s	fr5, @-r15
	fmov.s	fr4, @-r15
	fmov.s	fr3, @-r15
	fmov.s	fr2, @-r15
	fmov.s	fr1, @-r15
	fmov.s	fr0, @-r15		/* 23-8 FPU bank 0 */
	/* The exception and MMU registers, as this entry left them. */
	mov.l	.Lp4, r1
	mov.l	@(16, r1), r0
	mov.l	r0, @-r15		/* 7 MMUCR */
	mov.l	@(8, r1), r0
	mov.l	r0, @-r15		/* 6 TTB */
	mov.l	@(4, r1), r0
	mov.l	r0, @-r15		/* 5 PTEL */
	mov.l	@r1, r0
	mov.l	r0, @-r15		/* 4 PTEH */
	mov.l	@(12, r1), r0
	mov.l	r0, @-r15		/* 3 TEA */
	mov.l	@(32, r1), r0
	mov.l	r0, @-r15		/* 2 TRA */
	mov.l	@(40, r1), r0
	mov.l	r0, @-r15		/* 1 INTEVT */
	mov.l	@(36, r1), r0
	mov.l	r0, @-r15		/* 0 EXPEVT: r15 = the frame's base */
	/* The Rust entry, on the C stack at the end of this core's URAM
	 * (just above its trace ring; the frame is far below it). */
	mov	r7, r4			/* the kind */
	mov.l	.Lc_stack_top, r15
	mov.l	@r15, r15
	mov.l	.Lc_enter, r0
	jsr	@r0
	 nop
	/* fall through with r0 = the action */
	.global	exit_common
exit_common:
	mov.l	.Lpercore, r1
	mov.l	@(PERCORE_FRAME_BASE, r1), r15
	cmp/eq	#ACTION_IDLE, r0
	bt	do_idle
	cmp/eq	#ACTION_HALT, r0
	bt	rp1_halt
	add	#32, r15		/* 0-7: written by Rust (MMIO) when they change */
	mov	#0, r0			/* FR = PR = SZ = 0: bank 0 first */
	lds	r0, fpscr
	fmov.s	@r15+, fr0
	fmov.s	@r15+, fr1
	fmov.s	@r15+, fr2
	fmov.s	@r15+, fr3
	fmov.s	@r15+, fr4
	fmov.s	@r15+, fr5
	fmov.s	@r15+, fr6
	fmov.s	@r15+, fr7
	fmov.s	@r15+, fr8
	fmov.s	@r15+, fr9
	fmov.s	@r15+, fr10
	fmov.s	@r15+, fr11
	fmov.s	@r15+, fr12
	fmov.s	@r15+, fr13
	fmov.s	@r15+, fr14
	fmov.s	@r15+, fr15
	frchg
	fmov.s	@r15+, fr0
	fmov.s	@r15+, fr1
	fmov.s	@r15+, fr2
	fmov.s	@r15+, fr3
	fmov.s	@r15+, fr4
	fmov.s	@r15+, fr5
	fmov.s	@r15+, fr6
	fmov.s	@r15+, fr7
	fmov.s	@r15+, fr8
	fmov.s	@r15+, fr9
	fmov.s	@r15+, fr10
	fmov.s	@r15+, fr11
	fmov.s	@r15+, fr12
	fmov.s	@r15+, fr13
	fmov.s	@r15+, fr14
	fmov.s	@r15+, fr15
	lds.l	@r15+, fpul
	lds.l	@r15+, fpscr
	lds.l	@r15+, pr
	lds.l	@r15+, mach
	lds.l	@r15+, macl
	ldc.l	@r15+, gbr
	/* r15 = word 46 (ssr). Bank 1 r0-r7 are free until the very end. */
	SELECT_VECTORS .Lexit_direct, .Lexit_hv, .Lexit_hv_direct
	mov	r15, r1
	mov.w	.Loff_mode, r0
	mov.l	@(r0, r1), r2		/* 80 mode */
	add	#-4, r0
	mov.l	@(r0, r1), r3		/* 79 exit_sr */
	tst	r2, r2
	bf	1f
	ldc	r3, ssr			/* RTE: SSR = exit_sr, SPC = pc */
	add	#-4, r0
	mov.l	@(r0, r1), r4		/* 78 pc */
	ldc	r4, spc
	add	#8, r15
	bra	2f
	 nop
1:	ldc.l	@r15+, ssr		/* jump: the guest's own SSR, SPC */
	ldc.l	@r15+, spc
2:	add	#24, r15		/* 48-53: sr, sgr, dbr, vbr, virtual_imask, preempt_count */
	ldc.l	@r15+, r0_bank
	ldc.l	@r15+, r1_bank
	ldc.l	@r15+, r2_bank
	ldc.l	@r15+, r3_bank
	ldc.l	@r15+, r4_bank
	ldc.l	@r15+, r5_bank
	ldc.l	@r15+, r6_bank
	ldc.l	@r15+, r7_bank
	mov.l	@r15+, r8
	mov.l	@r15+, r9
	mov.l	@r15+, r10
	mov.l	@r15+, r11
	mov.l	@r15+, r12
	mov.l	@r15+, r13
	mov.l	@r15+, r14
	/* r15 = word 69 (r15): bank 1 at 70-77, pc at 78 */
	tst	r2, r2
	bf	do_jump
	mov.l	@(8, r15), r1
	mov.l	@(12, r15), r2
	mov.l	@(16, r15), r3
	mov.l	@(20, r15), r4
	mov.l	@(24, r15), r5
	mov.l	@(28, r15), r6
	mov.l	@(32, r15), r7
	mov.l	@(4, r15), r0
	mov.l	@r15, r15
	rte
	 nop

/* Into a guest's handler with SR.BL set: SSR and SPC already hold the
 * guest's own values, so no RTE. SR is loaded directly (bank 1 stays
 * current: frame.rs only chooses this for an SR with MD, RB and BL set),
 * and R15 comes back through DBR, the hypervisor's scratch register, in
 * the jump's slot. */
do_jump:
	mov.l	@r15, r0
	ldc	r0, dbr
	ldc	r3, sr
	mov.l	@(8, r15), r1
	mov.l	@(12, r15), r2
	mov.l	@(16, r15), r3
	mov.l	@(20, r15), r4
	mov.l	@(24, r15), r5
	mov.l	@(28, r15), r6
	mov.l	@(32, r15), r7
	mov.l	@(4, r15), r0
	mov.l	@(36, r15), r15		/* 78 pc */
	jmp	@r15
	 stc	dbr, r15

/* Nothing to run: sleep with every level open; an interrupt enters at
 * VBR+0x600 and the frame it saves is not a vCPU's. */
do_idle:
	mov.l	.Lsr_idle, r0
	ldc	r0, sr
1:	sleep
	bra	1b
	 nop

/* Stopped for good (a refused boot configuration, an unused core). The
 * name is the simulator's for a halt routine (loader::halt_routines): a
 * core asleep masked here has halted; masked anywhere else, deadlocked. */
	.globl	rp1_halt
	.type	rp1_halt, @function
rp1_halt:
	mov.l	.Lsr_halt, r0
	ldc	r0, sr
1:	sleep
	bra	1b
	 nop
	.size	rp1_halt, . - rp1_halt

	.balign	2
.Loff_mode:	.word	136	/* (80 - 46) * 4 */
	.balign	4
.Lp4:		.long	0xff000000
.Lnot_fd:	.long	0xffff7fff
.Lfpscr_fr1:	.long	0x00200000
.Lc_stack_top:	.long	percore + 8
.Lc_enter:	.long	spumone_c_enter
.Lpercore:	.long	percore
.Lexit_direct:	.long	percore + PERCORE_DIRECT
.Lexit_hv:	.long	hv_vectors
.Lexit_hv_direct: .long	hv_vectors_direct
.Lsr_idle:	.long	0x60008000	/* MD RB, FD, IMASK 0, BL clear */
.Lsr_halt:	.long	0x700080f0	/* MD RB BL, FD, IMASK 15 */

/* ---- the vector table of a vCPU with direct exceptions ----
 * VBR while the running vCPU's exceptions go straight to it
 * (percore.direct_general is its VBR + 0x100; SELECT_VECTORS). Such a
 * guest gets every exception but a hypercall as the hardware would have
 * given it: SPC, SSR, SGR, EXPEVT, TRA, TEA, PTEH and R15 are as the
 * exception left them; only bank-1 R0 and R1 are not kept (such a guest
 * treats them as scratch on exception entry, as Linux does, and they are
 * not kept across its hypercalls either). A system call is 12
 * instructions here, a TLB miss 9. Placed so that its interrupt entry
 * reaches hv_vectors' by a bra. */
	.org	0xc00
	.global	hv_vectors_direct
hv_vectors_direct:
	.org	0xc00 + 0x100
	mov.l	.Ldtra_p4, r1
	mov.l	@r1, r0			/* TRA: this trap's number, or the last one's */
	shlr2	r0
	tst	#0x60, r0		/* 0x00-0x1f and 0x80-0x9f: no hypercall */
	bf	direct_maybe_hypercall
direct_exception:
	mov.l	.Ldirect, r1
	COUNT	4, r1, r0		/* direct_count */
	mov.l	@r1, r0
	jmp	@r0			/* its VBR + 0x100 */
	 nop
/* TRA says a hypercall's number may have been trapped now: whether this
 * exception is a trap is EXPEVT's. hv_vectors' paths from here expect
 * r15 = &direct_general and bank 1 R0 and R1 in scratch: R15 comes back
 * from SGR on every way out, and R0 and R1 hold nothing of the guest's. */
direct_maybe_hypercall:
	mov.l	.Ldirect, r15
	mov.l	@(4, r1), r0		/* EXPEVT */
	shlr2	r0
	shlr2	r0
	shlr	r0
	cmp/eq	#(0x160 >> 5), r0	/* a trap */
	bf	1f
	bra	trap_entry
	 nop
1:	bra	not_a_hypercall
	 nop
	.balign	4
.Ldtra_p4:	.long	0xff000020	/* TRA; EXPEVT follows it */
.Ldirect:	.long	percore + PERCORE_DIRECT

	.org	0xc00 + 0x400
	mov.l	.Ldirect_tlb, r1
	COUNT	4, r1, r0		/* direct_count */
	mov.l	@r1, r0
	mov.w	.Ltlb_from_general, r1
	add	r1, r0
	jmp	@r0			/* its VBR + 0x400 */
	 nop
	.balign	4
.Ldirect_tlb:		.long	percore + PERCORE_DIRECT
.Ltlb_from_general:	.word	0x300

	.org	0xc00 + 0x600
	bra	hv_vectors + 0x600	/* interrupts: as for every vCPU */
	 nop

/* ---- MMIO accessors behind CoreHardware, as wasm2c names the Rust
 * module's imports: (env, address[, value]). ---- */
	.text
	.global	Z_envZ_hw_read32
Z_envZ_hw_read32:
	rts
	 mov.l	@r5, r0
	.global	Z_envZ_hw_write32
Z_envZ_hw_write32:
	rts
	 mov.l	r6, @r5
	.global	Z_envZ_hw_read16
Z_envZ_hw_read16:
	mov.w	@r5, r0
	rts
	 extu.w	r0, r0
	.global	Z_envZ_hw_write16
Z_envZ_hw_write16:
	rts
	 mov.w	r6, @r5
	.global	Z_envZ_hw_read8
Z_envZ_hw_read8:
	mov.b	@r5, r0
	rts
	 extu.b	r0, r0
	.global	Z_envZ_hw_write8
Z_envZ_hw_write8:
	rts
	 mov.b	r6, @r5
/* u32 hw_cas(env, addr r5, expected r6, new r7): if @addr == expected,
 * store new, atomically against every core (the reservation movli.l takes
 * is broken by any other core's store to the line, and movco.l then
 * fails and the loop reads again). A mismatch stores back the word found,
 * which keeps the loop one shape. Returns the word found; synco after. */
	.global	Z_envZ_hw_cas
Z_envZ_hw_cas:
1:	movli.l	@r5, r0
	mov	r0, r1
	cmp/eq	r6, r0
	bf	2f
	mov	r7, r0
2:	movco.l	r0, @r5
	bf	1b
	synco
	rts
	 mov	r1, r0
	.global	Z_envZ_hw_synco
Z_envZ_hw_synco:
	synco
	rts
	 nop
	.global	hv_set_vbr
hv_set_vbr:
	ldc	r4, vbr
	rts
	 nop

	.section .note.GNU-stack, "", %progbits
