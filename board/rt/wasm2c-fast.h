/*
 * wasm2c-fast.h - forced into wasm2c's output (scripts/build-hv.sh,
 * -include): wasm2c moves every load and store through wasm_rt_memcpy,
 * which GCC leaves as a call to memcpy for 8-byte values on SH-4A (it
 * cannot assume alignment). This makes them inline: 32-bit loads with
 * MOVUA.L (any alignment), stores aligned when the address is, bytes when
 * it is not. Same bytes moved, in the same order; only faster.
 *
 * Also: wasm's ctz and popcnt (Rust's trailing_zeros and count_ones, which
 * the hypervisor uses on its pending-interrupt and IPI bit sets at every
 * entry) become GCC builtins, which SH-4A has no instruction for: GCC
 * calls libgcc's __ctzsi2 and __popcountsi2, table lookups behind a call
 * (3.8 % of the hypervisor's samples on Linux, docs/linux-guest.md).
 * Here they are inline: a de Bruijn multiply for ctz, the usual
 * shift-and-add for popcount. The same results for every input (ctz of 0
 * never reaches them: wasm2c tests for it first).
 *
 * Owns: those definitions. Must not touch: anything else of wasm2c's.
 */
#ifndef SPUMONE_WASM2C_FAST_H
#define SPUMONE_WASM2C_FAST_H
#include <stdint.h>
#include <string.h>
#include "wasm-rt.h"

static inline __attribute__((always_inline)) uint32_t hv_ld32(const void *p)
{
	uint32_t v;
	__builtin_memcpy(&v, p, 4); /* MOVUA.L with -m4a */
	return v;
}

static inline __attribute__((always_inline)) void hv_st32(void *p, uint32_t v)
{
	if (((uintptr_t)p & 3) == 0) {
		*(volatile uint32_t *)p = v;
	} else {
		uint8_t *b = p;
		b[0] = (uint8_t)v;
		b[1] = (uint8_t)(v >> 8);
		b[2] = (uint8_t)(v >> 16);
		b[3] = (uint8_t)(v >> 24);
	}
}

static inline __attribute__((always_inline)) void hv_memcpy(void *d, const void *s, size_t n)
{
	switch (n) {
	case 1:
		*(uint8_t *)d = *(const uint8_t *)s;
		return;
	case 2:
		((uint8_t *)d)[0] = ((const uint8_t *)s)[0];
		((uint8_t *)d)[1] = ((const uint8_t *)s)[1];
		return;
	case 4:
		hv_st32(d, hv_ld32(s));
		return;
	case 8:
		hv_st32(d, hv_ld32(s));
		hv_st32((uint8_t *)d + 4, hv_ld32((const uint8_t *)s + 4));
		return;
	default:
		memcpy(d, s, n);
	}
}

#undef wasm_rt_memcpy
#define wasm_rt_memcpy hv_memcpy

/* x != 0: x & -x is its lowest set bit, and multiplying the de Bruijn
 * sequence 0x077cb531 by it puts a distinct 5-bit pattern at the top for
 * each of the 32 positions. */
static inline __attribute__((always_inline)) int hv_ctz32(uint32_t x)
{
	static const uint8_t position[32] = {
		0, 1, 28, 2, 29, 14, 24, 3, 30, 22, 20, 15, 25, 17, 4, 8,
		31, 27, 13, 23, 21, 19, 16, 7, 26, 12, 18, 6, 11, 5, 10, 9,
	};
	return position[((x & -x) * 0x077cb531u) >> 27];
}

static inline __attribute__((always_inline)) int hv_ctz64(uint64_t x)
{
	uint32_t lo = (uint32_t)x;
	return lo ? hv_ctz32(lo) : 32 + hv_ctz32((uint32_t)(x >> 32));
}

static inline __attribute__((always_inline)) int hv_popcount32(uint32_t x)
{
	x = x - ((x >> 1) & 0x55555555u);
	x = (x & 0x33333333u) + ((x >> 2) & 0x33333333u);
	x = (x + (x >> 4)) & 0x0f0f0f0fu;
	return (int)((x * 0x01010101u) >> 24);
}

static inline __attribute__((always_inline)) int hv_popcount64(uint64_t x)
{
	return hv_popcount32((uint32_t)x) + hv_popcount32((uint32_t)(x >> 32));
}

#define __builtin_ctz(x) hv_ctz32(x)
#define __builtin_ctzll(x) hv_ctz64(x)
#define __builtin_popcount(x) hv_popcount32(x)
#define __builtin_popcountll(x) hv_popcount64(x)
#endif
