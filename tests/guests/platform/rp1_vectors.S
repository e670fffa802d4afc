/*
 * The RP1 runtime's vector table and common exception entry/exit, plus
 * the switch into and out of user mode.
 *
 * On any exception or interrupt the SH-4A saves PC in SPC, SR in SSR,
 * R15 in SGR, sets MD=1 RB=1 BL=1 and jumps to VBR+0x100 (general),
 * VBR+0x400 (TLB miss) or VBR+0x600 (interrupt). The handler runs on
 * register bank 1, whose R7 crt0 loaded with this core's exception stack.
 *
 * The entry builds a struct rp1_frame (include/rp1.h) on that stack,
 * calls rp1_dispatch(frame) in C with BL still 1, writes the (possibly
 * changed) frame back and returns with RTE. Nothing here re-enables
 * exceptions, so handlers do not nest; a fault inside a handler would be
 * a reset, which is why handlers touch only untranslated (P1) memory.
 */

#define FRAME_SIZE 0x68

	.section .vectors, "ax"
	.global rp1_vbr
rp1_vbr:
	.org	0x100
	mov.l	.Lexpevt, r0
	mov.l	@r0, r0
	mov.w	.Lvec_general, r1
	bra	common_entry
	 nop
	.align 2
.Lexpevt:	.long 0xff000024
.Lvec_general:	.word 0x100

	.org	0x400
	mov.l	.Lexpevt2, r0
	mov.l	@r0, r0
	mov.w	.Lvec_tlb, r1
	bra	common_entry
	 nop
	.align 2
.Lexpevt2:	.long 0xff000024
.Lvec_tlb:	.word 0x400

	.org	0x600
	mov.l	.Lintevt, r0
	mov.l	@r0, r0
	mov.w	.Lvec_irq, r1
	bra	common_entry
	 nop
	.align 2
.Lintevt:	.long 0xff000028
.Lvec_irq:	.word 0x600

	.align 2
/* r0 = EXPEVT/INTEVT, r1 = vector offset, r7 = exception stack top. */
common_entry:
	mov	r7, r2
	add	#-FRAME_SIZE, r2	/* r2 = frame */
	mov.l	r15, @(60, r2)		/* r15 is still the interrupted one */
	stc	r0_bank, r3		/* RB=1: *_bank are the bank-0 registers */
	mov.l	r3, @(0, r2)
	stc	r1_bank, r3
	mov.l	r3, @(4, r2)
	stc	r2_bank, r3
	mov.l	r3, @(8, r2)
	stc	r3_bank, r3
	mov.l	r3, @(12, r2)
	stc	r4_bank, r3
	mov.l	r3, @(16, r2)
	stc	r5_bank, r3
	mov.l	r3, @(20, r2)
	stc	r6_bank, r3
	mov.l	r3, @(24, r2)
	stc	r7_bank, r3
	mov.l	r3, @(28, r2)
	mov.l	r8, @(32, r2)
	mov.l	r9, @(36, r2)
	mov.l	r10, @(40, r2)
	mov.l	r11, @(44, r2)
	mov.l	r12, @(48, r2)
	mov.l	r13, @(52, r2)
	mov.l	r14, @(56, r2)
	mov	r2, r4
	add	#0x40, r4		/* r4 = &frame->spc */
	stc	spc, r3
	mov.l	r3, @(0, r4)
	stc	ssr, r3
	mov.l	r3, @(4, r4)
	sts	pr, r3
	mov.l	r3, @(8, r4)
	stc	gbr, r3
	mov.l	r3, @(12, r4)
	sts	mach, r3
	mov.l	r3, @(16, r4)
	sts	macl, r3
	mov.l	r3, @(20, r4)
	mov.l	r0, @(24, r4)		/* event */
	mov.l	r1, @(28, r4)		/* vector */
	stc	sgr, r3			/* the hardware's copy of r15, for checks */
	mov.l	r3, @(32, r4)

	mov	r2, r15
	mov	r2, r4
	mov.l	.Ldispatch, r0
	jsr	@r0
	 nop

	/* C clobbered bank-1 r0-r7; r15 (callee-saved) is still the frame. */
	mov	r15, r2
	mov	r2, r4
	add	#0x40, r4
	mov.l	@(0, r4), r3
	ldc	r3, spc
	mov.l	@(4, r4), r3
	ldc	r3, ssr
	mov.l	@(8, r4), r3
	lds	r3, pr
	mov.l	@(12, r4), r3
	ldc	r3, gbr
	mov.l	@(16, r4), r3
	lds	r3, mach
	mov.l	@(20, r4), r3
	lds	r3, macl
	mov.l	@(32, r2), r8
	mov.l	@(36, r2), r9
	mov.l	@(40, r2), r10
	mov.l	@(44, r2), r11
	mov.l	@(48, r2), r12
	mov.l	@(52, r2), r13
	mov.l	@(56, r2), r14
	mov.l	@(0, r2), r3
	ldc	r3, r0_bank
	mov.l	@(4, r2), r3
	ldc	r3, r1_bank
	mov.l	@(8, r2), r3
	ldc	r3, r2_bank
	mov.l	@(12, r2), r3
	ldc	r3, r3_bank
	mov.l	@(16, r2), r3
	ldc	r3, r4_bank
	mov.l	@(20, r2), r3
	ldc	r3, r5_bank
	mov.l	@(24, r2), r3
	ldc	r3, r6_bank
	mov.l	@(28, r2), r3
	ldc	r3, r7_bank
	mov.l	@(60, r2), r15
	mov	r2, r7
	add	#FRAME_SIZE, r7		/* bank-1 r7 = exception stack again */
	rte
	 nop

	.align 2
.Ldispatch:	.long rp1_dispatch

/*
 * uint32_t rp1_enter_user(uint32_t fn_p0, uint32_t arg, uint32_t user_sp,
 *                         struct rp1_user_ctx *ctx)
 *
 * Saves the callee-saved registers on the kernel stack, records r15 and
 * SR in ctx, and RTEs to user_trampoline (through its P0 alias) with
 * SR.MD=RB=BL=0. The trampoline calls fn(arg) and then executes
 * TRAPA #0xfe; rp1_dispatch turns that trap into an RTE to
 * rp1_user_return with r15 = ctx->sp and SR = ctx->sr, and r0 = the
 * user's r0, i.e. fn's return value.
 */
	.text
	.global rp1_enter_user
	.global rp1_user_return
rp1_enter_user:
	sts.l	pr, @-r15
	mov.l	r14, @-r15
	mov.l	r13, @-r15
	mov.l	r12, @-r15
	mov.l	r11, @-r15
	mov.l	r10, @-r15
	mov.l	r9, @-r15
	mov.l	r8, @-r15
	stc	sr, r0
	mov.l	r15, @(0, r7)		/* ctx->sp */
	mov.l	r0, @(4, r7)		/* ctx->sr */
	mov.l	.Luser_clear, r1
	and	r1, r0			/* MD=0 RB=0 BL=0, rest kept */
	mov.l	.Ltrampoline, r1
	mov.l	.Lphys_mask, r2
	and	r2, r1			/* P0 alias of the trampoline */
	/* Block exceptions while SSR/SPC are live: an interrupt here would
	 * overwrite them. */
	stc	sr, r2
	mov.l	.Lbl, r3
	or	r3, r2
	ldc	r2, sr
	ldc	r0, ssr
	ldc	r1, spc
	mov	r4, r2			/* fn */
	mov	r5, r4			/* arg */
	mov	r2, r5
	mov	r6, r15			/* user stack */
	rte
	 nop

	.align 2
.Luser_clear:	.long ~0x70000000	/* ~(MD | RB | BL) */
.Lbl:		.long 0x10000000
.Lphys_mask:	.long 0x1fffffff
.Ltrampoline:	.long user_trampoline

	/* Runs in user mode through its P0 alias: r4 = arg, r5 = fn. */
	.align 2
user_trampoline:
	jsr	@r5
	 nop
	trapa	#0xfe			/* RP1_TRAPA_USER_EXIT; r0 = result */
1:	bra	1b
	 nop

rp1_user_return:
	mov.l	@r15+, r8
	mov.l	@r15+, r9
	mov.l	@r15+, r10
	mov.l	@r15+, r11
	mov.l	@r15+, r12
	mov.l	@r15+, r13
	mov.l	@r15+, r14
	lds.l	@r15+, pr
	rts
	 nop
