/*
 * crt0.S - entry of every hypervisor test guest, on every vCPU; and the
 * per-vCPU stacks.
 *
 * vCPU 0 arrives here from the loader (ELF entry), the others from
 * START_VCPU with r4 = the value vCPU 0 passed. Nothing else about the
 * arrival state is relied on: r15 is set here, SR is left as the
 * hypervisor made it (guests change their interrupt level only through
 * IRQ_DISABLE/IRQ_RESTORE), and the vCPU's index comes from VCPU_ID
 * rather than from r4, which is undefined on vCPU 0.
 *
 *  1. r15 = __stacks_end - index * 16 KiB; an index without a stack
 *     (>= GUEST_MAX_VCPUS, or an error code) ends the guest.
 *  2. vCPU 0 clears .bss below the stacks (no other vCPU runs yet) and
 *     calls main(); main's return value is the EXIT status.
 *  3. Other vCPUs call secondary_main(r4) and then IDLE forever: they
 *     stay able to take interrupts until the guest exits.
 */
#include "guest.h"

	.section .text.start, "ax"
	.global	_start
_start:
	mov	r4, r8			/* START_VCPU's argument; r8 survives calls */
	trapa	#HV_VCPU_ID		/* r0 = index; r4 is preserved */
	mov	r0, r9
	mov	#GUEST_MAX_VCPUS, r1
	cmp/hs	r1, r9			/* unsigned, so error codes fail too */
	bt	.Lbad_vcpu

	mov.l	.Lstacks_end, r15
	mov	r9, r1
	mov	#GUEST_STACK_SHIFT, r2
	shld	r2, r1
	sub	r1, r15

	tst	r9, r9
	bf	.Lsecondary

	mov.l	.Lbss_start, r1
	mov.l	.Lstacks_start, r2
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
3:	trapa	#HV_EXIT
	bra	3b			/* EXIT does not return */
	 nop

.Lsecondary:
	mov	r8, r4
	mov.l	.Lsecondary_main, r0
	jsr	@r0
	 nop
4:	trapa	#HV_IDLE
	bra	4b
	 nop

.Lbad_vcpu:
	mov	#GUEST_EXIT_BAD_VCPU, r4
	bra	3b
	 nop

	.align 2
.Lstacks_end:	.long __stacks_end
.Lstacks_start:	.long __stacks_start
.Lbss_start:	.long __bss_start
.Lmain:		.long main
.Lsecondary_main: .long secondary_main

/*
 * The stacks, last in .bss (guest.ld places .stacks there), so that the
 * clearing above can stop at __stacks_start.
 */
	.section .stacks, "aw", @nobits
	.balign	16
	.global	__stacks_start
	.global	__stacks_end
__stacks_start:
	.space	GUEST_MAX_VCPUS << GUEST_STACK_SHIFT
__stacks_end:
