/*
 * Helpers shared by the differential programs: user-mode-only code whose
 * printed transcript must be byte-identical on GXemul, qemu-sh4 and our
 * simulator.
 *
 * Rules for these programs:
 *  - no privileged instruction, no exception, no platform-specific value
 *    in the output (never print an absolute address: print offsets);
 *  - every interesting result is printed as hex, one case per line,
 *    "<op> <inputs> -> <outputs>", so a diff points at the failing case;
 *  - the T bit is fed in with SHLR (T = bit 0 of a register) and read
 *    back with MOVT, both plain user-mode instructions.
 */
#ifndef DIFF_H
#define DIFF_H

#include "platform.h"

/*
 * Define `static uint32_t name(uint32_t n, uint32_t m, uint32_t *t)`
 * running "insn Rm, Rn" with T = *t on entry; returns Rn and stores the
 * resulting T in *t. tb is early-clobber because SHLR writes it before
 * the instruction reads m.
 */
#define DEF_OP2T(name, insn)                                                  \
	static uint32_t name(uint32_t n, uint32_t m, uint32_t *t)             \
	{                                                                     \
		uint32_t tb = *t;                                             \
		__asm__ volatile("shlr	%1\n\t" insn "	%2, %0\n\t"           \
				 "movt	%1"                                   \
				 : "+r"(n), "+&r"(tb)                         \
				 : "r"(m)                                     \
				 : "t");                                      \
		*t = tb;                                                      \
		return n;                                                     \
	}

/* Same for one-operand instructions "insn Rn" (shifts, rotates, DT...). */
#define DEF_OP1T(name, insn)                                                  \
	static uint32_t name(uint32_t n, uint32_t *t)                         \
	{                                                                     \
		uint32_t tb = *t;                                             \
		__asm__ volatile("shlr	%1\n\t" insn "	%0\n\t"               \
				 "movt	%1"                                   \
				 : "+r"(n), "+&r"(tb)                         \
				 :                                            \
				 : "t");                                      \
		*t = tb;                                                      \
		return n;                                                     \
	}

/* "insn Rm, Rn" writing a fresh Rn from Rm (EXTS, NEG, SWAP, NOT...). */
#define DEF_MOV2(name, insn)                                                  \
	static uint32_t name(uint32_t m)                                      \
	{                                                                     \
		uint32_t n;                                                   \
		__asm__ volatile(insn "	%1, %0" : "=&r"(n) : "r"(m));         \
		return n;                                                     \
	}

/* Value sets shared by several programs. */
static const uint32_t vals_a[] __attribute__((unused)) = {
	0x00000000, 0x00000001, 0x00000002, 0x0000007f, 0x00007fff,
	0x00008000, 0x0000ffff, 0x12345678, 0x7ffffffe, 0x7fffffff,
	0x80000000, 0x80000001, 0x89abcdef, 0xfffffffe, 0xffffffff,
};

/* A smaller set for two-operand sweeps (every ordered pair is run). */
static const uint32_t vals_b[] __attribute__((unused)) = {
	0x00000000, 0x00000001, 0x00007fff, 0x7fffffff,
	0x80000000, 0xffff8000, 0xfffffffe, 0xffffffff, 0x5a5aa5a5,
};

#endif
