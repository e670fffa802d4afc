/*
 * RP1 only: the FPU seen from privileged mode.
 *
 *  - FPSCR after reset is 0x00040001 (DN=1, RM=round to zero)
 *  - SR.FD=1: the first FPU instruction (LDS to FPUL, or STS FPSCR)
 *    raises the general FPU disable exception, EXPEVT 0x800, SPC = that
 *    instruction; the handler clears FD in SSR, so RTE re-executes it and
 *    the computation completes
 *  - an FPU instruction in a delay slot with FD=1: slot FPU disable,
 *    EXPEVT 0x820, SPC = the branch; branch and slot are re-executed
 *  - FPSCR.FR (FRCHG) swaps the register banks; with FPSCR.SZ=1 (FSCHG)
 *    FMOV moves 64-bit pairs and XDn names a back-bank pair; in memory a
 *    pair is little-endian (FRn+1 at the lower address); FPSCR.PR
 *    (FPCHG, SH-4A) selects double precision
 *  - FPU exceptions: with FPSCR.Enable.V (.Z) set, FSQRT of -1 (1/0)
 *    raises EXPEVT 0x120 with FPSCR.Cause.V (.Z) set
 *
 * The handler uses the FPU only to read and clear FPSCR in the FPU
 * exception case (the FPU is enabled there).
 */
#include "platform.h"
#include "rp1.h"

RP1_CRT0_CLEAR_BL;

#define MODE_SINGLE FPSCR_DN
#define ENABLE_V (FPSCR_V << FPSCR_ENABLE_SHIFT)
#define ENABLE_Z (FPSCR_Z << FPSCR_ENABLE_SHIFT)
#define CAUSE_V (FPSCR_V << FPSCR_CAUSE_SHIFT)
#define CAUSE_Z (FPSCR_Z << FPSCR_CAUSE_SHIFT)

static volatile struct {
	uint32_t count, event, spc, fpscr;
} seen;

static void handler(struct rp1_frame *f)
{
	seen.count++;
	seen.event = f->event;
	seen.spc = f->spc;
	if (f->event == EXP_FPU_DISABLE || f->event == EXP_SLOT_FPU_DISABLE) {
		f->ssr &= ~SR_FD; /* enable the FPU and retry */
		return;
	}
	if (f->event == EXP_FPU) {
		uint32_t fpscr = get_fpscr();
		seen.fpscr = fpscr;
		/* traps off, cause cleared, faulting instruction skipped */
		set_fpscr(fpscr & ~(0x1fu << FPSCR_ENABLE_SHIFT) &
			  ~(0x3fu << FPSCR_CAUSE_SHIFT));
		f->spc += 2;
		return;
	}
	f->spc += 2; /* anything else: skip it and let the checks fail */
}

static void reset_seen(void)
{
	seen.count = seen.event = seen.spc = seen.fpscr = 0;
}

extern char fd_first[], fd_sts[], fd_slot_branch[];

static void check_reset_fpscr(void)
{
	/* Nothing has touched FPSCR since reset: crt0 and the C code up to
	 * here use no FPU instruction. */
	check_eq("FPSCR at reset", get_fpscr(), 0x00040001);
}

static void check_fpu_disable(void)
{
	uint32_t r;
	set_fpscr(MODE_SINGLE);
	reset_seen();
	set_sr(get_sr() | SR_FD);
	__asm__ volatile("mov #1, r1\n\t"
			 ".global fd_first\n"
			 "fd_first:\n\t"
			 "lds r1, fpul\n\t"
			 "float fpul, fr4\n\t"
			 "mov #2, r1\n\t"
			 "lds r1, fpul\n\t"
			 "float fpul, fr5\n\t"
			 "fadd fr5, fr4\n\t"
			 "ftrc fr4, fpul\n\t"
			 "sts fpul, %0"
			 : "=r"(r)
			 :
			 : "r1", "fr4", "fr5", "fpul", "memory");
	check_eq("FD=1: one exception", seen.count, 1);
	check_eq("  EXPEVT FPU disable", seen.event, EXP_FPU_DISABLE);
	check_eq("  SPC = first FPU instruction", seen.spc, (uint32_t)fd_first);
	check_eq("  re-executed: 1 + 2", r, 3);
	check_eq("  SR.FD cleared through SSR", get_sr() & SR_FD, 0);

	reset_seen();
	set_sr(get_sr() | SR_FD);
	__asm__ volatile(".global fd_sts\n"
			 "fd_sts:\n\t"
			 "sts fpscr, %0"
			 : "=r"(r)
			 :
			 : "memory");
	check_eq("FD=1: STS FPSCR faults too", seen.event, EXP_FPU_DISABLE);
	check_eq("  SPC", seen.spc, (uint32_t)fd_sts);
	check_eq("  then reads FPSCR", r, MODE_SINGLE);
}

static void check_slot_fpu_disable(void)
{
	uint32_t r;
	reset_seen();
	set_sr(get_sr() | SR_FD);
	__asm__ volatile("mov #0, %0\n\t"
			 ".global fd_slot_branch\n"
			 "fd_slot_branch:\n\t"
			 "bra 1f\n\t"
			 " fldi1 fr6\n\t"
			 "mov #9, %0\n" /* never runs */
			 "1:\n\t"
			 "flds fr6, fpul\n\t"
			 "sts fpul, %0"
			 : "=&r"(r)
			 :
			 : "fr6", "fpul", "memory");
	check_eq("FD=1, FPU instruction in a slot: one exception", seen.count, 1);
	check_eq("  EXPEVT slot FPU disable", seen.event, EXP_SLOT_FPU_DISABLE);
	check_eq("  SPC = the branch", seen.spc, (uint32_t)fd_slot_branch);
	check_eq("  branch and slot re-executed", r, 0x3f800000);
}

static void check_mode_bits(void)
{
	uint32_t fr0, fr1, xd_hi, xd_lo, fpscr_fr, fpscr_sz, fpscr_pr, sum;
	uint32_t mem[2] = {0, 0};
	uint32_t *mp = mem;
	__asm__ volatile(
		"lds %9, fpscr\n\t"
		"fldi1 fr0\n\t"       /* front: FR0 = 1, FR1 = 0 */
		"fldi0 fr1\n\t"
		"frchg\n\t"
		"sts fpscr, %5\n\t"
		"fldi0 fr0\n\t"       /* back: XF0 = 0, XF1 = 1 */
		"fldi1 fr1\n\t"
		"frchg\n\t"
		"flds fr0, fpul\n\tsts fpul, %0\n\t"
		"flds fr1, fpul\n\tsts fpul, %1\n\t"
		"fschg\n\t"
		"sts fpscr, %6\n\t"
		"fmov xd0, dr4\n\t"   /* DR4 = XF0:XF1 */
		"fmov dr0, @%8\n\t"   /* FR1 at mem[0], FR0 at mem[1] */
		"fschg\n\t"
		"flds fr4, fpul\n\tsts fpul, %2\n\t"
		"flds fr5, fpul\n\tsts fpul, %3\n\t"
		"fpchg\n\t"           /* PR=1: 5.0 + 7.0 in double */
		"sts fpscr, %7\n\t"
		"mov #5, r1\n\tlds r1, fpul\n\tfloat fpul, dr4\n\t"
		"mov #7, r1\n\tlds r1, fpul\n\tfloat fpul, dr6\n\t"
		"fadd dr6, dr4\n\t"
		"ftrc dr4, fpul\n\tsts fpul, %4\n\t"
		"lds %9, fpscr"
		: "=&r"(fr0), "=&r"(fr1), "=&r"(xd_hi), "=&r"(xd_lo), "=&r"(sum),
		  "=&r"(fpscr_fr), "=&r"(fpscr_sz), "=&r"(fpscr_pr)
		: "r"(mp), "r"(MODE_SINGLE)
		: "r1", "fr0", "fr1", "fr4", "fr5", "fr6", "fr7", "fpul", "memory");
	check_eq("FRCHG sets FPSCR.FR", fpscr_fr, MODE_SINGLE | FPSCR_FR);
	check_eq("front bank kept: FR0", fr0, 0x3f800000);
	check_eq("front bank kept: FR1", fr1, 0x00000000);
	check_eq("FSCHG sets FPSCR.SZ", fpscr_sz, MODE_SINGLE | FPSCR_SZ);
	check_eq("FMOV XD0,DR4: FR4 = XF0", xd_hi, 0x00000000);
	check_eq("FMOV XD0,DR4: FR5 = XF1", xd_lo, 0x3f800000);
	check_eq("FMOV DR0,@Rn: mem[0] = FR1", mem[0], 0x00000000);
	check_eq("FMOV DR0,@Rn: mem[1] = FR0", mem[1], 0x3f800000);
	check_eq("FPCHG sets FPSCR.PR", fpscr_pr, MODE_SINGLE | FPSCR_PR);
	check_eq("double 5 + 7", sum, 12);
}

static void check_fpu_exceptions(void)
{
	reset_seen();
	set_fpscr(MODE_SINGLE | ENABLE_V);
	__asm__ volatile("fldi1 fr4\n\t"
			 "fneg fr4\n\t"
			 "fsqrt fr4"
			 :
			 :
			 : "fr4", "memory");
	check_eq("sqrt(-1) with Enable.V: one exception", seen.count, 1);
	check_eq("  EXPEVT FPU exception", seen.event, EXP_FPU);
	check_eq("  FPSCR.Cause.V", seen.fpscr & CAUSE_V, CAUSE_V);

	reset_seen();
	set_fpscr(MODE_SINGLE | ENABLE_Z);
	__asm__ volatile("fldi1 fr4\n\t"
			 "fldi0 fr5\n\t"
			 "fdiv fr5, fr4"
			 :
			 :
			 : "fr4", "fr5", "memory");
	check_eq("1/0 with Enable.Z: one exception", seen.count, 1);
	check_eq("  EXPEVT FPU exception", seen.event, EXP_FPU);
	check_eq("  FPSCR.Cause.Z", seen.fpscr & CAUSE_Z, CAUSE_Z);
	check_eq("traps off again", get_fpscr() & (0x1fu << FPSCR_ENABLE_SHIFT), 0);
}

int main(void)
{
	plat_printf("fpu_priv start\n");
	check_reset_fpscr();
	rp1_set_handler(handler);
	check_fpu_disable();
	check_slot_fpu_disable();
	check_mode_bits();
	check_fpu_exceptions();
	set_fpscr(MODE_SINGLE);
	return check_summary("fpu_priv");
}
