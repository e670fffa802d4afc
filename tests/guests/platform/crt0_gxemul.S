/*
 * Start-up for GXemul testsh. The program is loaded at its link address
 * (0x80010000, P1) and entered there with the SH-4 reset SR
 * (MD=1, RB=1, BL=1, IMASK=15). Nothing else is set up: no stack.
 * Interrupts stay blocked (BL=1) for the whole run; the differential
 * programs take no exceptions.
 */
	.section .text.start, "ax"
	.global _start
_start:
	mov.l	.Lstack, r15
	/* zero .bss (4-byte aligned by the linker script) */
	mov.l	.Lbss_start, r1
	mov.l	.Lbss_end, r2
	mov	#0, r0
1:	cmp/hs	r2, r1
	bt	2f
	mov.l	r0, @r1
	bra	1b
	 add	#4, r1
2:	mov.l	.Lmain, r0
	jsr	@r0
	 nop
	mov	r0, r4
	mov.l	.Lexit, r0
	jsr	@r0
	 nop
3:	bra	3b
	 nop

	.align 2
.Lstack:	.long __stack_top
.Lbss_start:	.long __bss_start
.Lbss_end:	.long __bss_end
.Lmain:		.long main
.Lexit:		.long plat_exit
