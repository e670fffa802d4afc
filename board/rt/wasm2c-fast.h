/*
 * wasm2c-fast.h - forced into wasm2c's output (scripts/build-hv.sh,
 * -include): wasm2c moves every load and store through wasm_rt_memcpy,
 * which GCC leaves as a call to memcpy for 8-byte values on SH-4A (it
 * cannot assume alignment). This makes them inline: 32-bit loads with
 * MOVUA.L (any alignment), stores aligned when the address is, bytes when
 * it is not. Same bytes moved, in the same order; only faster.
 *
 * Owns: that one definition. Must not touch: anything else of wasm2c's.
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
#endif
