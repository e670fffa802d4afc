/*
 * RP1 only: the MMU with a software TLB-miss handler.
 *
 * A page table in DRAM (two small arrays of PTEL values: a test window of
 * 16 pages at virtual 0x00400000, and an identity map of the program
 * image so user-mode code and stack can run translated) is walked by the
 * handler at VBR+0x400, which loads PTEH/PTEL and runs LDTLB. With
 * MMUCR.AT=1:
 *
 *  - a privileged read of a mapped page misses once (EXPEVT 0x040),
 *    then hits; the data is what was written through the physical P2
 *    alias; a write to another page misses with 0x060;
 *  - a page with D=0 gives a read miss, then on the first write an
 *    initial page write exception (0x080): the handler sets D, reloads
 *    the entry (after invalidating the TLB with MMUCR.TI) and the write
 *    completes;
 *  - two virtual pages mapped to one frame see each other's writes;
 *  - an unmapped address reaches the miss handler with TEA = it;
 *  - in user mode (RTE to the identity-mapped P0 alias of the code): a
 *    read of a PR=10 (read-only) page works, a write to it is a TLB
 *    protection violation (0x0c0), and a read of a privileged-only page
 *    is one too (0x0a0);
 *  - a page remapped at every pass of a loop reads the frame of each
 *    pass;
 *  - switching AT off again restores untranslated P0.
 *
 * The test pages are mapped uncached (C=0) and filled through P2, so
 * the data is the same whatever a cache would do.
 */
#include "platform.h"
#include "rp1.h"

RP1_CRT0_CLEAR_BL;

#define TEST_VA      0x00400000u
#define TEST_PAGES   16u
#define FRAME_PHYS   0x0c000000u /* physical frames for the test pages */
#define IMAGE_PAGES  128u        /* identity map 0x08000000 + 512 KiB */

static uint32_t pt_test[TEST_PAGES];
static uint32_t pt_image[IMAGE_PAGES];

static volatile uint32_t misses_read, misses_write, initial_writes;
static volatile uint32_t prot_read, prot_write, unmapped, unexpected;
static volatile uint32_t last_tea, last_event;

static uint32_t *pte_for(uint32_t va)
{
	if (va >= TEST_VA && va < TEST_VA + TEST_PAGES * PAGE_SIZE)
		return &pt_test[(va - TEST_VA) >> 12];
	if (va >= DRAM_PHYS && va < DRAM_PHYS + IMAGE_PAGES * PAGE_SIZE)
		return &pt_image[(va - DRAM_PHYS) >> 12];
	return 0;
}

static void load_tlb(uint32_t va, uint32_t ptel)
{
	REG32(PTEH) = va & ~0xfffu; /* ASID 0 */
	REG32(PTEL) = ptel;
	__asm__ volatile("ldtlb\n\tnop" ::: "memory");
}

static void handler(struct rp1_frame *f)
{
	uint32_t va = REG32(TEA);
	last_tea = va;
	last_event = f->event;
	if (f->vector == VEC_TLB_MISS) {
		if (f->event == EXP_TLB_MISS_WRITE)
			misses_write++;
		else
			misses_read++;
		uint32_t *pte = pte_for(va);
		if (pte && (*pte & PTEL_V)) {
			load_tlb(va, *pte);
		} else {
			unmapped++;
			f->spc += 2; /* skip the access */
		}
		return;
	}
	if (f->vector == VEC_GENERAL) {
		switch (f->event) {
		case EXP_INITIAL_PAGE_WRITE: {
			initial_writes++;
			uint32_t *pte = pte_for(va);
			*pte |= PTEL_D;
			/* The clean entry is still in the UTLB; drop everything
			 * so the reload cannot become a second, multiple-hit
			 * entry, then load the dirty one. */
			REG32(MMUCR) = REG32(MMUCR) | MMUCR_TI;
			load_tlb(va, *pte);
			return;
		}
		case EXP_TLB_PROT_READ:
			prot_read++;
			f->spc += 2;
			return;
		case EXP_TLB_PROT_WRITE:
			prot_write++;
			f->spc += 2;
			return;
		}
	}
	unexpected++;
	f->spc += 2;
}

static uint32_t test_frame(unsigned page)
{
	return FRAME_PHYS + page * PAGE_SIZE;
}

static void map_test(unsigned page, unsigned frame, uint32_t flags)
{
	pt_test[page] = test_frame(frame) | PTEL_V | PTEL_SZ_4K | flags;
}

/* One plain load/store instruction each, never in a delay slot: the
 * handler skips a faulting access by SPC += 2. */
static uint32_t read_va(uint32_t va)
{
	uint32_t v;
	__asm__ volatile("mov.l @%1, %0" : "=r"(v) : "r"(va) : "memory");
	return v;
}

static void write_va(uint32_t va, uint32_t v)
{
	__asm__ volatile("mov.l %0, @%1" : : "r"(v), "r"(va) : "memory");
}

/* User mode: r4 = base of page 3 (read-only to the user); page 0 is
 * privileged-only. Returns what it read from page 3. Leaf, registers
 * only (see rp1_run_user). */
static uint32_t user_code(uint32_t page3)
{
	uint32_t v, dummy;
	__asm__ volatile("mov.l @%2, %0\n\t"      /* allowed */
			 "mov.l %0, @%2\n\t"      /* write to read-only: 0x0c0 */
			 "mov.l @%3, %1"          /* privileged page: 0x0a0 */
			 : "=&r"(v), "=&r"(dummy)
			 : "r"(page3), "r"(page3 - 3 * PAGE_SIZE)
			 : "memory");
	return v;
}

int main(void)
{
	extern char __image_end[];
	plat_printf("mmu start\n");
	rp1_set_handler(handler);

	check_true(PHYS(__image_end) <= DRAM_PHYS + IMAGE_PAGES * PAGE_SIZE,
		   "image fits the identity map");

	/* Frames: pattern through the uncached physical alias. */
	for (unsigned p = 0; p < 8; p++)
		for (unsigned w = 0; w < 4; w++)
			REG32(P2ADDR(test_frame(p)) + 4 * w) = 0xf0000000u | p << 8 | w;

	/* Page table. */
	map_test(0, 0, PTEL_PR_PRIV_RW | PTEL_D);
	map_test(1, 1, PTEL_PR_PRIV_RW | PTEL_D);
	map_test(2, 2, PTEL_PR_PRIV_RW); /* clean: first write -> 0x080 */
	map_test(3, 3, PTEL_PR_USER_RO | PTEL_D);
	map_test(4, 4, PTEL_PR_PRIV_RW | PTEL_D);
	map_test(5, 4, PTEL_PR_PRIV_RW | PTEL_D); /* alias of page 4 */
	/* page 6 and up: unmapped */
	for (unsigned i = 0; i < IMAGE_PAGES; i++)
		pt_image[i] = (DRAM_PHYS + i * PAGE_SIZE) | PTEL_V | PTEL_SZ_4K |
			      PTEL_PR_USER_RW | PTEL_D | PTEL_C;

	check_eq("MMU off: P0 alias reads physical memory",
		 read_va(test_frame(1)), 0xf0000100);

	/* Translation on: ASID 0, single-VM mode off, TLB invalidated. */
	REG32(TTB) = (uint32_t)pt_test;
	REG32(PTEH) = 0;
	REG32(MMUCR) = MMUCR_AT | MMUCR_TI;
	__asm__ volatile("icbi @%0" : : "r"(main) : "memory"); /* MMU barrier */

	check_eq("read page 0 via TLB", read_va(TEST_VA + 4), 0xf0000001);
	check_eq("  one read miss", misses_read, 1);
	check_eq("  TEA", last_tea, TEST_VA + 4);
	check_eq("read page 0 again", read_va(TEST_VA + 8), 0xf0000002);
	check_eq("  no new miss", misses_read, 1);

	write_va(TEST_VA + PAGE_SIZE, 0x12345678);
	check_eq("write page 1: one write miss", misses_write, 1);
	check_eq("  EXPEVT", last_event, EXP_TLB_MISS_WRITE);
	check_eq("  data reached the frame", REG32(P2ADDR(test_frame(1))), 0x12345678);

	check_eq("read clean page 2", read_va(TEST_VA + 2 * PAGE_SIZE), 0xf0000200);
	check_eq("  read miss", misses_read, 2);
	write_va(TEST_VA + 2 * PAGE_SIZE, 0xabcdef01);
	check_eq("write clean page 2: initial page write", initial_writes, 1);
	check_eq("  EXPEVT", last_event, EXP_INITIAL_PAGE_WRITE);
	check_eq("  D set in the page table", pt_test[2] & PTEL_D, PTEL_D);
	check_eq("  write completed", REG32(P2ADDR(test_frame(2))), 0xabcdef01);
	write_va(TEST_VA + 2 * PAGE_SIZE + 4, 0x55);
	check_eq("  second write: no new exception", initial_writes, 1);

	write_va(TEST_VA + 4 * PAGE_SIZE + 8, 0x4444);
	check_eq("alias: page 5 sees page 4's write",
		 read_va(TEST_VA + 5 * PAGE_SIZE + 8), 0x4444);

	uint32_t before = misses_read;
	(void)read_va(TEST_VA + 9 * PAGE_SIZE);
	check_eq("unmapped page reaches the miss handler", unmapped, 1);
	check_eq("  TEA", last_tea, TEST_VA + 9 * PAGE_SIZE);
	check_eq("  counted as a read miss", misses_read, before + 1);

	/* One page remapped at every pass of a loop, in turn to frames 6
	 * and 7: each read sees the frame mapped at that pass. (On the
	 * translating tier, a translation entered after the LDTLB must not
	 * read through the direct range the previous pass's mapping made.)
	 * MMUCR.TI first, so the new entry never hits beside the old one. */
	uint32_t remapped = 0;
	for (unsigned i = 0; i < 64; i++) {
		REG32(MMUCR) = MMUCR_AT | MMUCR_TI;
		load_tlb(TEST_VA + 8 * PAGE_SIZE,
			 test_frame(6 + (i & 1)) | PTEL_V | PTEL_SZ_4K | PTEL_PR_PRIV_RW | PTEL_D);
		remapped += read_va(TEST_VA + 8 * PAGE_SIZE + 4) - 0xf0000001u;
	}
	check_eq("a page remapped at every pass reads each frame in turn", remapped, 32 * 0x600 + 32 * 0x700);

	/* User mode, code and stack through the identity map. */
	uint32_t v = rp1_run_user(user_code, TEST_VA + 3 * PAGE_SIZE,
				  rp1_user_stack_top(0));
	check_eq("user read of a read-only page", v, 0xf0000300);
	check_eq("user write to it: protection violation 0x0c0", prot_write, 1);
	check_eq("user read of a privileged page: 0x0a0", prot_read, 1);
	check_eq("  read-only page unchanged", REG32(P2ADDR(test_frame(3))),
		 0xf0000300);

	/* Translation off again. */
	REG32(MMUCR) = MMUCR_TI;
	__asm__ volatile("icbi @%0" : : "r"(main) : "memory");
	check_eq("MMU off again: P0 is physical", read_va(test_frame(2)), 0xabcdef01);
	check_eq("no unexpected exceptions", unexpected, 0);
	return check_summary("mmu");
}
