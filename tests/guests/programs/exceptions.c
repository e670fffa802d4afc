/*
 * RP1 only: general exceptions and the return from them.
 *
 *  - reset state: SR = 0x700000f0 and VBR = 0 on entry (crt0 records it)
 *  - TRAPA #imm: EXPEVT 0x160, TRA = imm << 2, SPC = next instruction,
 *    SSR = SR before, SGR = R15; every general register, MACH and MACL
 *    survive the round trip
 *  - general illegal instruction (H'FFFD): EXPEVT 0x180, SPC = it
 *  - slot illegal: a branch, H'FFFD and TRAPA in a delay slot: EXPEVT
 *    0x1a0, SPC = the branch that owns the slot
 *  - address errors: misaligned word/long read 0x0e0, misaligned write
 *    0x100, TEA = the address
 *  - user mode (SR.MD=0, entered with RTE): a privileged instruction is
 *    a general illegal instruction (0x180) with SSR.MD=0; a user access
 *    to P1 is an address error (0x0e0); RTE brings us back privileged
 *
 * Each check prints "ok <what>" or "FAIL <what> got=.. want=..".
 */
#include "platform.h"
#include "rp1.h"

RP1_CRT0_CLEAR_BL;

/* What the handler saw last, and what it should do. */
static volatile struct {
	uint32_t count, vector, event, spc, ssr, tra, tea, sgr, r15;
} seen;
static volatile uint32_t skip_bytes;   /* SPC += this on return */
static volatile uint32_t resume_at;    /* or, if nonzero, SPC = this */

static void handler(struct rp1_frame *f)
{
	seen.count++;
	seen.vector = f->vector;
	seen.event = f->event;
	seen.spc = f->spc;
	seen.ssr = f->ssr;
	seen.tra = REG32(TRA);
	seen.tea = REG32(TEA);
	seen.sgr = f->sgr;
	seen.r15 = f->r[15];
	if (resume_at) {
		f->spc = resume_at;
		resume_at = 0;
	} else {
		f->spc += skip_bytes;
	}
}

static void reset(uint32_t skip)
{
	seen.count = 0;
	seen.vector = seen.event = seen.spc = seen.ssr = 0;
	seen.tra = seen.tea = 0;
	skip_bytes = skip;
	resume_at = 0;
}

/* Labels inside the asm below, exported so C can compare SPC. */
extern char trapa_insn[], trapa_next[], illegal_insn[];
extern char slot_branch1[], slot_resume1[], slot_branch2[], slot_resume2[];
extern char slot_branch3[], slot_resume3[];
extern char rd_long[], rd_word[], wr_long[], wr_word[];
extern char user_priv[], user_p1read[];

static void check_reset_state(void)
{
	check_eq("reset SR", rp1_boot_sr[0], SR_RESET);
	check_eq("reset VBR", rp1_boot_vbr[0], 0);
	check_eq("crt0 left MD=1 RB=0 BL=0", get_sr() & (SR_MD | SR_RB | SR_BL),
		 SR_MD);
}

static void check_trapa(void)
{
	uint32_t sr_before;
	reset(0);
	__asm__ volatile("stc sr, %0\n\t"
			 ".global trapa_insn\n"
			 "trapa_insn:\n\t"
			 "trapa #0x42\n\t"
			 ".global trapa_next\n"
			 "trapa_next:"
			 : "=&r"(sr_before)
			 :
			 : "memory");
	check_eq("trapa taken once", seen.count, 1);
	check_eq("trapa vector", seen.vector, VEC_GENERAL);
	check_eq("trapa EXPEVT", seen.event, EXP_TRAPA);
	check_eq("trapa TRA", seen.tra, 0x42 << 2);
	check_eq("trapa SPC = next instruction", seen.spc, (uint32_t)trapa_next);
	check_eq("trapa SSR = SR before", seen.ssr, sr_before);
	check_eq("trapa SGR = R15", seen.sgr, seen.r15);
	check_eq("SR restored by RTE", get_sr(), sr_before);
}

/*
 * r0-r13 (r14 is GCC's frame pointer at -O0), MACH and MACL hold
 * patterns across a TRAPA; everything is stored to a table right after
 * the RTE, in the same asm, and C checks the table.
 */
static void check_registers(void)
{
	static uint32_t after[16];
	uint32_t *p = after;
	reset(0);
	__asm__ volatile(
		"mov.l r8, @-r15\n\tmov.l r9, @-r15\n\tmov.l r10, @-r15\n\t"
		"mov.l r11, @-r15\n\tmov.l r12, @-r15\n\tmov.l r13, @-r15\n\t"
		"mov.l %0, @-r15\n\t"
		"mov #0x10, r0\n\tmov #0x11, r1\n\tmov #0x12, r2\n\t"
		"mov #0x13, r3\n\tmov #0x14, r4\n\tmov #0x15, r5\n\t"
		"mov #0x16, r6\n\tmov #0x17, r7\n\tmov #0x18, r8\n\t"
		"mov #0x19, r9\n\tmov #0x1a, r10\n\tmov #0x1b, r11\n\t"
		"mov #0x1c, r12\n\tmov #0x1d, r13\n\t"
		"lds r13, mach\n\tlds r12, macl\n\t"
		"trapa #0x43\n\t"
		"mov.l r13, @-r15\n\t"   /* free r13 as the table pointer */
		"mov.l @(4, r15), r13\n\t"
		"mov.l r0, @r13\n\tmov.l r1, @(4, r13)\n\t"
		"mov.l r2, @(8, r13)\n\tmov.l r3, @(12, r13)\n\t"
		"mov.l r4, @(16, r13)\n\tmov.l r5, @(20, r13)\n\t"
		"mov.l r6, @(24, r13)\n\tmov.l r7, @(28, r13)\n\t"
		"mov.l r8, @(32, r13)\n\tmov.l r9, @(36, r13)\n\t"
		"mov.l r10, @(40, r13)\n\tmov.l r11, @(44, r13)\n\t"
		"mov.l r12, @(48, r13)\n\t"
		"mov.l @r15+, r0\n\tmov.l r0, @(52, r13)\n\t"
		"sts mach, r0\n\tmov.l r0, @(56, r13)\n\t"
		"sts macl, r0\n\tmov.l r0, @(60, r13)\n\t"
		"add #4, r15\n\t" /* drop the saved table pointer */
		"mov.l @r15+, r13\n\tmov.l @r15+, r12\n\tmov.l @r15+, r11\n\t"
		"mov.l @r15+, r10\n\tmov.l @r15+, r9\n\tmov.l @r15+, r8"
		:
		: "r"(p)
		: "r0", "r1", "r2", "r3", "r4", "r5", "r6", "r7", "mach", "macl",
		  "memory");
	uint32_t bad = 0;
	for (unsigned i = 0; i < 14; i++)
		if (after[i] != 0x10 + i)
			bad |= 1u << i;
	check_eq("r0-r13 survive TRAPA/RTE (mask of changed)", bad, 0);
	check_eq("MACH survives", after[14], 0x1d);
	check_eq("MACL survives", after[15], 0x1c);
	check_eq("second trapa seen", seen.count, 1);
	check_eq("second trapa TRA", seen.tra, 0x43 << 2);
}

static void check_illegal(void)
{
	reset(2);
	__asm__ volatile(".global illegal_insn\n"
			 "illegal_insn:\n\t"
			 ".word 0xfffd" ::: "memory");
	check_eq("illegal taken once", seen.count, 1);
	check_eq("illegal EXPEVT", seen.event, EXP_ILLEGAL);
	check_eq("illegal SPC = the instruction", seen.spc, (uint32_t)illegal_insn);
}

static void check_slot_illegal(void)
{
	/* A branch in a delay slot. */
	reset(0);
	resume_at = (uint32_t)slot_resume1;
	__asm__ volatile(".global slot_branch1\n"
			 "slot_branch1:\n\t"
			 "bra 1f\n\t"
			 " bra 1f\n\t"
			 "nop\n"
			 "1:\n\t"
			 ".global slot_resume1\n"
			 "slot_resume1:" ::: "memory");
	check_eq("slot illegal (branch) taken once", seen.count, 1);
	check_eq("slot illegal (branch) EXPEVT", seen.event, EXP_SLOT_ILLEGAL);
	check_eq("slot illegal (branch) SPC = owning branch", seen.spc,
		 (uint32_t)slot_branch1);

	/* Undefined code in a delay slot. */
	reset(0);
	resume_at = (uint32_t)slot_resume2;
	__asm__ volatile(".global slot_branch2\n"
			 "slot_branch2:\n\t"
			 "bra 1f\n\t"
			 " .word 0xfffd\n"
			 "1:\n\t"
			 ".global slot_resume2\n"
			 "slot_resume2:" ::: "memory");
	check_eq("slot illegal (H'FFFD) EXPEVT", seen.event, EXP_SLOT_ILLEGAL);
	check_eq("slot illegal (H'FFFD) SPC", seen.spc, (uint32_t)slot_branch2);

	/* TRAPA in a delay slot (with a conditional delayed branch). */
	reset(0);
	resume_at = (uint32_t)slot_resume3;
	__asm__ volatile("sett\n\t"
			 ".global slot_branch3\n"
			 "slot_branch3:\n\t"
			 "bt/s 1f\n\t"
			 " trapa #0x44\n"
			 "1:\n\t"
			 ".global slot_resume3\n"
			 "slot_resume3:" ::: "t", "memory");
	check_eq("slot illegal (TRAPA) EXPEVT", seen.event, EXP_SLOT_ILLEGAL);
	check_eq("slot illegal (TRAPA) SPC", seen.spc, (uint32_t)slot_branch3);
}

static uint32_t data[4] = {0x11223344, 0x55667788, 0x99aabbcc, 0xddeeff00};

static void check_address_errors(void)
{
	uint32_t v;
	uint8_t *b = (uint8_t *)data;

	reset(2);
	__asm__ volatile(".global rd_long\nrd_long:\n\tmov.l @%1, %0"
			 : "=r"(v) : "r"(b + 2) : "memory");
	check_eq("misaligned long read EXPEVT", seen.event, EXP_ADDR_ERR_READ);
	check_eq("misaligned long read TEA", seen.tea, (uint32_t)(b + 2));
	check_eq("misaligned long read SPC", seen.spc, (uint32_t)rd_long);

	reset(2);
	__asm__ volatile(".global rd_word\nrd_word:\n\tmov.w @%1, %0"
			 : "=r"(v) : "r"(b + 1) : "memory");
	check_eq("misaligned word read EXPEVT", seen.event, EXP_ADDR_ERR_READ);
	check_eq("misaligned word read TEA", seen.tea, (uint32_t)(b + 1));

	reset(2);
	__asm__ volatile(".global wr_long\nwr_long:\n\tmov.l %0, @%1"
			 : : "r"(0xdeadbeefu), "r"(b + 1) : "memory");
	check_eq("misaligned long write EXPEVT", seen.event, EXP_ADDR_ERR_WRITE);
	check_eq("misaligned long write TEA", seen.tea, (uint32_t)(b + 1));
	check_eq("misaligned long write SPC", seen.spc, (uint32_t)wr_long);

	reset(2);
	__asm__ volatile(".global wr_word\nwr_word:\n\tmov.w %0, @%1"
			 : : "r"(0xdeadbeefu), "r"(b + 3) : "memory");
	check_eq("misaligned word write EXPEVT", seen.event, EXP_ADDR_ERR_WRITE);
	check_eq("misaligned word write TEA", seen.tea, (uint32_t)(b + 3));
	check_eq("memory untouched by faulting writes", data[0] ^ data[1],
		 0x11223344u ^ 0x55667788u);
	(void)v;
}

/*
 * Runs in user mode through its P0 alias (see rp1_run_user): a
 * privileged instruction, then a read of a P1 address. Each faults and
 * the handler skips it. Only registers and the argument are used.
 */
static uint32_t user_code(uint32_t p1_address)
{
	uint32_t r;
	__asm__ volatile(".global user_priv\n"
			 "user_priv:\n\t"
			 "stc sr, %0\n\t"
			 ".global user_p1read\n"
			 "user_p1read:\n\t"
			 "mov.l @%1, %0\n\t"
			 "mov #0x5a, %0"
			 : "=&r"(r)
			 : "r"(p1_address)
			 : "memory");
	return r;
}

static volatile uint32_t user_events[2], user_spcs[2], user_ssrs[2], user_teas[2];
static volatile uint32_t user_event_count;

static void user_handler(struct rp1_frame *f)
{
	uint32_t i = user_event_count++;
	if (i < 2) {
		user_events[i] = f->event;
		user_spcs[i] = f->spc;
		user_ssrs[i] = f->ssr;
		user_teas[i] = REG32(TEA);
	}
	f->spc += 2;
}

static void check_user_mode(void)
{
	user_event_count = 0;
	rp1_set_handler(user_handler);
	uint32_t r = rp1_run_user(user_code, (uint32_t)&data[0],
				  rp1_user_stack_top(0));
	rp1_set_handler(handler);
	check_eq("user run returned its r0", r, 0x5a);
	check_eq("user run took two exceptions", user_event_count, 2);
	check_eq("user privileged insn EXPEVT", user_events[0], EXP_ILLEGAL);
	check_eq("user privileged insn SPC (P0 alias)", user_spcs[0],
		 P0ADDR(user_priv));
	check_eq("user privileged insn SSR.MD", user_ssrs[0] & SR_MD, 0);
	check_eq("user P1 read EXPEVT", user_events[1], EXP_ADDR_ERR_READ);
	check_eq("user P1 read TEA", user_teas[1], (uint32_t)&data[0]);
	check_eq("user P1 read SPC", user_spcs[1], P0ADDR(user_p1read));
	check_eq("back in privileged mode", get_sr() & SR_MD, SR_MD);
}

int main(void)
{
	plat_printf("exceptions start\n");
	rp1_set_handler(handler);
	check_reset_state();
	check_trapa();
	check_registers();
	check_illegal();
	check_slot_illegal();
	check_address_errors();
	check_user_mode();
	return check_summary("exceptions");
}
