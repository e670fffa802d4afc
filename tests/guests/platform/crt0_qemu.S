/*
 * Start-up for qemu-sh4 user mode: the kernel (here qemu) has set r15 to
 * the initial process stack and zeroed .bss, so only main and exit are
 * left to do.
 */
	.section .text.start, "ax"
	.global _start
_start:
	mov.l	.Lmain, r0
	jsr	@r0
	 nop
	mov	r0, r4
	mov.l	.Lexit, r0
	jsr	@r0
	 nop
1:	bra	1b
	 nop

	.align 2
.Lmain:	.long main
.Lexit:	.long plat_exit
