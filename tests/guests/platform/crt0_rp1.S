/*
 * Start-up for our simulated RP1; all four cores enter here.
 *
 * Core 0 comes from the loader (ELF entry), cores 1-3 from
 * rp1_start_cpu(), all with the SH-4A reset state SR = 0x700000f0
 * (MD=1, RB=1, BL=1, IMASK=15, FD=0), VBR = 0, MMU off, r15 undefined.
 *
 *  1. Switch to register bank 0 (RB=0) keeping MD=1, BL=1, IMASK=15:
 *     programs run on bank 0 so that exception handlers, which always
 *     run on bank 1, never clobber the interrupted R0-R7.
 *  2. r15 = __stack_top - cpu * 16 KiB, with cpu read from CPIDR.
 *  3. R7_BANK1 = this core's exception stack (__exc_stack_top -
 *     cpu * 4 KiB), which rp1_vectors.S switches to on every exception.
 *  4. Core 0 zeroes .bss (the others are still held in reset then).
 *  5. Only if the program defines rp1_crt0_clear_bl nonzero: install the
 *     runtime's vector table (VBR) and clear SR.BL. Otherwise BL stays 1:
 *     any exception is then a reset, as on the board right after reset.
 *  6. Core 0 calls main() and then plat_exit(main's return value); the
 *     others call secondary_main(cpu) and sleep when it returns.
 *
 * The SR and VBR each core arrived with are kept in rp1_boot_sr[cpu] and
 * rp1_boot_vbr[cpu] so that programs can check the reset state.
 */
	.section .text.start, "ax"
	.global _start
_start:
	stc	sr, r9			/* reset SR and VBR, for rp1_boot_* */
	stc	vbr, r10
	mov.l	.Lsr_bank0, r0
	ldc	r0, sr			/* from here on r0-r7 are bank 0 */

	mov.l	.Lcpidr, r1
	mov.l	@r1, r8			/* r8 = cpu, callee-saved for later */

	mov.l	.Lstack_top, r15
	mov	r8, r1
	mov	#14, r2
	shld	r2, r1			/* cpu * 16 KiB */
	sub	r1, r15

	mov.l	.Lexc_stack_top, r3
	mov	r8, r1
	mov	#12, r2
	shld	r2, r1			/* cpu * 4 KiB */
	sub	r1, r3
	ldc	r3, r7_bank		/* bank-1 R7 = exception stack */

	tst	r8, r8
	bf	.Lbss_done
	mov.l	.Lbss_start, r1
	mov.l	.Lbss_end, r2
	mov	#0, r0
1:	cmp/hs	r2, r1
	bt	.Lbss_done
	mov.l	r0, @r1
	bra	1b
	 add	#4, r1
.Lbss_done:
	mov	r8, r1
	shll2	r1			/* cpu * 4 */
	mov.l	.Lboot_sr, r2
	add	r1, r2
	mov.l	r9, @r2
	mov.l	.Lboot_vbr, r2
	add	r1, r2
	mov.l	r10, @r2

	mov.l	.Lclear_bl, r0		/* weak: address 0 when not defined */
	tst	r0, r0
	bt	.Lbl_done
	mov.l	@r0, r0
	tst	r0, r0
	bt	.Lbl_done
	mov.l	.Lenable, r0
	jsr	@r0
	 nop
.Lbl_done:

	tst	r8, r8
	bf	.Lsecondary
	mov.l	.Lmain, r0
	jsr	@r0
	 nop
	mov	r0, r4
	mov.l	.Lexit, r0
	jsr	@r0
	 nop
	/* plat_exit does not return */

.Lsecondary:
	mov	r8, r4
	mov.l	.Lsecondary_main, r0
	jsr	@r0
	 nop
2:	sleep
	bra	2b
	 nop

	.align 2
.Lsr_bank0:	.long 0x500000f0	/* MD=1 RB=0 BL=1 IMASK=15 FD=0 */
.Lcpidr:	.long 0xff000048
.Lstack_top:	.long __stack_top
.Lexc_stack_top: .long __exc_stack_top
.Lbss_start:	.long __bss_start
.Lbss_end:	.long __bss_end
.Lclear_bl:	.long rp1_crt0_clear_bl
.Lenable:	.long rp1_enable_exceptions
.Lmain:		.long main
.Lexit:		.long plat_exit
.Lsecondary_main: .long secondary_main
.Lboot_sr:	.long rp1_boot_sr
.Lboot_vbr:	.long rp1_boot_vbr

	/* In .data so that no .bss clearing can ever wipe them. */
	.data
	.align 2
	.global rp1_boot_sr
	.global rp1_boot_vbr
rp1_boot_sr:	.long 0, 0, 0, 0
rp1_boot_vbr:	.long 0, 0, 0, 0

	.weak	rp1_crt0_clear_bl
