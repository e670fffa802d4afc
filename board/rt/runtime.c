/*
 * runtime.c - the C half of the board image: the wasm2c runtime for bare
 * metal and the glue between the entry stubs and the Rust module.
 *
 * Owns: placing each core's wasm linear memory over that core's URAM (so
 * every Rust static is per core), the per-core wasm instance in OL memory,
 * boot of a core (its stacks, its instance, VBR), and the few runtime
 * services wasm2c's output calls (traps, function types, tables, memcpy).
 * Must not touch: decisions (the Rust module makes every one), another
 * core's URAM.
 *
 * wasm2c is told (-DWASM_RT_MEMCHECK_SIGNAL_HANDLER=1) that bounds are
 * checked by the hardware, so it emits no check: a wild access in linear
 * memory leaves the core's URAM and faults with SR.BL set, which resets
 * the core (the simulator reports it). See docs/board-image.md.
 */
#include <stddef.h>
#include <stdarg.h>
#include <stdint.h>
#include "spumone.h"

#define URAM_BYTES     0x20000u
#define URAM_C_STACK   0x1e000u /* tracebuf::URAM_C_STACK */
#define STACK_PATTERN  0x53544b21u
#define SIMCTL_EXIT    (*(volatile uint32_t *)0xbbff0000u)
#define PANIC_EXIT     0xfa000000u

/* Each core's URAM through P1 (untranslated whatever a guest does to the
 * MMU), from setup-shx3.c's bootmem nodes. */
static const uint32_t uram_p1[4] = { 0x945f0000u, 0x94df0000u, 0x955f0000u, 0x95df0000u };

/* The C stack of each core: the end of its URAM. entry.S reads it. */
const uint32_t hv_c_stack_tops[4] = {
	0x945f0000u + URAM_BYTES, 0x94df0000u + URAM_BYTES,
	0x955f0000u + URAM_BYTES, 0x95df0000u + URAM_BYTES,
};

/* Function tables (Rust's dyn calls, core::fmt): per core, so in OL memory. */
#define TABLE_SLOTS 64

/* At the start of each core's OL memory (the linker sets the address):
 * every core has its own at the same address. entry.S uses the first three
 * words. */
struct percore {
	uint32_t frame_base; /* +0: the register frame (URAM) */
	uint32_t frame_end;  /* +4 */
	uint32_t c_stack;    /* +8: top of the C stack */
	uint32_t core;       /* +12 */
	/* +16: the running vCPU's VBR + 0x100 if its exceptions go straight
	 * to it (0: through the hypervisor; entry.S's exits load VBR with
	 * hv_vectors_direct or hv_vectors by it), +20: how many went so,
	 * +24/+28: where entry.S keeps two registers meanwhile. */
	uint32_t direct_general, direct_count, scratch[2];
	/* +32: where entry.S finds when it may answer the running vCPU's
	 * hypercalls itself (board_core.rs, `QuickWindow`; a P1 address in
	 * linear memory, set at boot), +36/+40 two more registers' room.
	 * What entry.S answers or delivers itself it counts here, not in the
	 * instance's Stats (hosting/src/runner.rs adds these in as the
	 * instance would have counted them): +44 how many of its SEND_IPIs
	 * found the message raised already, +48 how many TIME_NOWs, SEND_IPIs
	 * and IDLEs it answered, +52/+56 room for two more registers
	 * (SEND_IPI's), +60 how many of those were SEND_IPIs, +64 how many IPI
	 * ICIs it delivered, +68/+72 room for two more registers (its), +76
	 * how many IDLEs it answered by sleeping in place, +80-+96 what the
	 * vCPU had in SPC, SSR, SGR and bank 1 R0 and R1 meanwhile. */
	uint32_t quick_window, scratch_more[2], ipi_coalesced, quick_count, scratch_call[2], ipi_count;
	uint32_t ici_count, scratch_ici[2];
	uint32_t idle_count, idle_spc, idle_ssr, idle_sgr, idle_r0, idle_r1;
	Z_spumone_instance_t instance;
	wasm_rt_funcref_t table[TABLE_SLOTS];
};
extern struct percore percore;
_Static_assert(offsetof(struct percore, frame_base) == 0, "entry.S");
_Static_assert(offsetof(struct percore, frame_end) == 4, "entry.S");
_Static_assert(offsetof(struct percore, c_stack) == 8, "entry.S");
_Static_assert(offsetof(struct percore, direct_general) == 16, "entry.S");
_Static_assert(offsetof(struct percore, scratch) == 24, "entry.S");
_Static_assert(offsetof(struct percore, quick_window) == 32, "entry.S");
_Static_assert(offsetof(struct percore, ipi_coalesced) == 44, "entry.S, hosting/src/runner.rs");
_Static_assert(offsetof(struct percore, quick_count) == 48, "entry.S, hosting/src/runner.rs");
_Static_assert(offsetof(struct percore, scratch_call) == 52, "entry.S");
_Static_assert(offsetof(struct percore, ipi_count) == 60, "entry.S, hosting/src/runner.rs");
_Static_assert(offsetof(struct percore, ici_count) == 64, "entry.S, hosting/src/runner.rs");
_Static_assert(offsetof(struct percore, scratch_ici) == 68, "entry.S");
_Static_assert(offsetof(struct percore, idle_count) == 76, "entry.S, hosting/src/runner.rs");
_Static_assert(offsetof(struct percore, idle_r1) == 96, "entry.S");
_Static_assert(sizeof(struct percore) <= 0x1000, "percore fits the first 4 KiB of OL memory");

#define FRAME_BYTES 324u /* board/src/frame.rs */

extern char hv_vectors[];
extern char _start[];
void hv_set_vbr(void *vbr);

/* ---- output for the fatal paths (the Rust side has its own) ---- */
static void putc_scif0(char c)
{
	volatile uint16_t *scfsr = (volatile uint16_t *)0xffc30010u;
	volatile uint8_t *scftdr = (volatile uint8_t *)0xffc3000cu;
	for (unsigned i = 0; i < 100000 && !(*scfsr & 0x20); i++)
		;
	*scftdr = (uint8_t)c;
	*scfsr = *scfsr & (uint16_t)~0x60;
}

static void puts_scif0(const char *s)
{
	while (*s)
		putc_scif0(*s++);
}

static void hv_fatal(const char *what, uint32_t code) __attribute__((noreturn));
static void hv_fatal(const char *what, uint32_t code)
{
	puts_scif0("spumone: core ");
	putc_scif0((char)('0' + (percore.core & 3)));
	puts_scif0(": ");
	puts_scif0(what);
	puts_scif0("\n");
	SIMCTL_EXIT = PANIC_EXIT | (code << 8) | (percore.core & 0xff);
	for (;;)
		__asm__ volatile("sleep");
}

/* ---- the wasm2c runtime ---- */
void wasm_rt_init(void) {}
bool wasm_rt_is_initialized(void) { return true; }
void wasm_rt_free(void) {}

void wasm_rt_trap(wasm_rt_trap_t trap)
{
	hv_fatal("wasm trap (unreachable, bad call or overflow) in the hypervisor", 0x10 + (uint32_t)trap);
}

const char *wasm_rt_strerror(wasm_rt_trap_t trap)
{
	(void)trap;
	return "trap";
}

/* Function types: registered once, by core 0 before it starts the others
 * (Z_spumone_init_module), then only read. */
#define MAX_FUNC_TYPES 64
#define MAX_TYPE_ARITY 12
static struct {
	uint32_t params, results;
	wasm_rt_type_t types[MAX_TYPE_ARITY];
} func_types[MAX_FUNC_TYPES];
static uint32_t func_type_count;

uint32_t wasm_rt_register_func_type(uint32_t params, uint32_t results, ...)
{
	wasm_rt_type_t types[MAX_TYPE_ARITY] = { 0 };
	if (params + results > MAX_TYPE_ARITY)
		hv_fatal("a function type with too many parameters", 1);
	va_list ap;
	va_start(ap, results);
	for (uint32_t i = 0; i < params + results; i++)
		types[i] = (wasm_rt_type_t)va_arg(ap, int);
	va_end(ap);
	for (uint32_t t = 0; t < func_type_count; t++) {
		if (func_types[t].params != params || func_types[t].results != results)
			continue;
		uint32_t i = 0;
		while (i < params + results && func_types[t].types[i] == types[i])
			i++;
		if (i == params + results)
			return t;
	}
	if (func_type_count == MAX_FUNC_TYPES)
		hv_fatal("too many function types", 2);
	func_types[func_type_count].params = params;
	func_types[func_type_count].results = results;
	for (uint32_t i = 0; i < MAX_TYPE_ARITY; i++)
		func_types[func_type_count].types[i] = types[i];
	return func_type_count++;
}

/* The linear memory is this core's URAM, all of it: the build sizes the
 * module's memory to exactly URAM_BYTES. Zeroed but for the C stack in
 * use at its end. */
void wasm_rt_allocate_memory(wasm_rt_memory_t *memory, uint32_t initial_pages, uint32_t max_pages)
{
	if (initial_pages * 65536u != URAM_BYTES || max_pages != initial_pages)
		hv_fatal("the module's memory is not exactly one URAM", 3);
	uint32_t *base = (uint32_t *)uram_p1[percore.core & 3];
	for (uint32_t i = 0; i < URAM_C_STACK / 4; i++)
		base[i] = 0;
	memory->data = (uint8_t *)base;
	memory->pages = initial_pages;
	memory->max_pages = max_pages;
	memory->size = URAM_BYTES;
}

uint32_t wasm_rt_grow_memory(wasm_rt_memory_t *memory, uint32_t pages)
{
	(void)memory;
	(void)pages;
	return (uint32_t)-1; /* never: URAM is all there is */
}

void wasm_rt_free_memory(wasm_rt_memory_t *memory) { (void)memory; }

void wasm_rt_allocate_funcref_table(wasm_rt_funcref_table_t *table, uint32_t elements, uint32_t max_elements)
{
	if (elements > TABLE_SLOTS)
		hv_fatal("the function table does not fit OL memory", 4);
	for (uint32_t i = 0; i < elements; i++)
		percore.table[i] = (wasm_rt_funcref_t){ 0 };
	table->data = percore.table;
	table->max_size = max_elements;
	table->size = elements;
}

void wasm_rt_free_funcref_table(wasm_rt_funcref_table_t *table) { (void)table; }

/* ---- what the Rust module imports besides the MMIO accessors ---- */
void Z_envZ_hw_copy_in(struct Z_env_instance_t *env, u32 phys, u32 dst, u32 len)
{
	(void)env;
	const volatile uint8_t *from = (const volatile uint8_t *)(0xa0000000u | (phys & 0x1fffffffu));
	uint8_t *to = percore.instance.w2c_memory.data + dst;
	if (dst > URAM_BYTES || len > URAM_BYTES - dst)
		hv_fatal("a copy outside linear memory", 5);
	for (u32 i = 0; i < len; i++)
		to[i] = from[i];
}

/* Words between the CSM (a P2 address) and linear memory, in order: the
 * mailbox's messages go as one copy each. */
void Z_envZ_hw_words_in(struct Z_env_instance_t *env, u32 addr, u32 words, u32 n)
{
	(void)env;
	const volatile uint32_t *from = (const volatile uint32_t *)addr;
	if (words > URAM_BYTES || n > (URAM_BYTES - words) / 4 || (words & 3) != 0)
		hv_fatal("a word copy outside linear memory", 6);
	uint32_t *to = (uint32_t *)(percore.instance.w2c_memory.data + words);
	for (u32 i = 0; i < n; i++)
		to[i] = from[i];
}

void Z_envZ_hw_words_out(struct Z_env_instance_t *env, u32 addr, u32 words, u32 n)
{
	(void)env;
	volatile uint32_t *to = (volatile uint32_t *)addr;
	if (words > URAM_BYTES || n > (URAM_BYTES - words) / 4 || (words & 3) != 0)
		hv_fatal("a word copy outside linear memory", 7);
	const uint32_t *from = (const uint32_t *)(percore.instance.w2c_memory.data + words);
	for (u32 i = 0; i < n; i++)
		to[i] = from[i];
}

void Z_envZ_hw_halt(struct Z_env_instance_t *env, u32 code)
{
	(void)env;
	SIMCTL_EXIT = code;
	for (;;)
		__asm__ volatile("sleep");
}

/* ---- boot and entry ---- */

/* A core starts here (entry.S: _start, on its C stack). Returns the
 * action for the exit path. */
uint32_t spumone_c_start(uint32_t core)
{
	percore.core = core;
	percore.c_stack = hv_c_stack_tops[core & 3];
	/* Mark the C stack below this frame, for the high-water mark. */
	uint32_t marker;
	uint32_t *low = (uint32_t *)(uram_p1[core & 3] + URAM_C_STACK);
	uint32_t *high = (uint32_t *)(((uint32_t)&marker - 256u) & ~3u);
	for (uint32_t *p = low; p < high; p++)
		*p = STACK_PATTERN;
	if (core == 0)
		Z_spumone_init_module();
	Z_spumone_instantiate(&percore.instance, (struct Z_env_instance_t *)&percore);
	percore.frame_base = (uint32_t)percore.instance.w2c_memory.data + Z_spumoneZ_hv_frame(&percore.instance);
	percore.frame_end = percore.frame_base + FRAME_BYTES;
	percore.quick_window =
		(uint32_t)percore.instance.w2c_memory.data + Z_spumoneZ_hv_quick_window(&percore.instance);
	percore.quick_count = 0;
	hv_set_vbr(hv_vectors);
	return Z_spumoneZ_hv_boot(&percore.instance, core, (uint32_t)_start,
				 (uint32_t)percore.instance.w2c_memory.data);
}

/* Every entry (entry.S, after the frame is saved). */
uint32_t spumone_c_enter(uint32_t kind)
{
	return Z_spumoneZ_hv_enter(&percore.instance, kind);
}

/* What GCC and wasm2c's block moves call. Saving or resuming a vCPU is a
 * 312-byte copy, so the aligned case goes eight words at a time. */
void *memcpy(void *dst, const void *src, size_t n)
{
	uint8_t *d = dst;
	const uint8_t *s = src;
	if ((((uintptr_t)d | (uintptr_t)s | n) & 3) == 0) {
		uint32_t *dw = dst;
		const uint32_t *sw = src;
		size_t words = n / 4;
		while (words >= 8) {
			uint32_t a = sw[0], b = sw[1], c = sw[2], e = sw[3];
			uint32_t f = sw[4], g = sw[5], h = sw[6], k = sw[7];
			dw[0] = a; dw[1] = b; dw[2] = c; dw[3] = e;
			dw[4] = f; dw[5] = g; dw[6] = h; dw[7] = k;
			dw += 8;
			sw += 8;
			words -= 8;
		}
		while (words--)
			*dw++ = *sw++;
		return dst;
	}
	for (size_t i = 0; i < n; i++)
		d[i] = s[i];
	return dst;
}

void *memmove(void *dst, const void *src, size_t n)
{
	uint8_t *d = dst;
	const uint8_t *s = src;
	if (d < s || d >= s + n)
		return memcpy(dst, src, n);
	while (n--)
		d[n] = s[n];
	return dst;
}

void *memset(void *dst, int c, size_t n)
{
	uint8_t *d = dst;
	for (size_t i = 0; i < n; i++)
		d[i] = (uint8_t)c;
	return dst;
}

int memcmp(const void *a, const void *b, size_t n)
{
	const uint8_t *x = a, *y = b;
	for (size_t i = 0; i < n; i++)
		if (x[i] != y[i])
			return x[i] < y[i] ? -1 : 1;
	return 0;
}
