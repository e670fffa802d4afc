/*
 * Our simulated RP1: console on SCIF0, exit through SIMCTL, plus the
 * small runtime the RP1-only programs share (exception dispatch, user
 * mode, secondary start, locks). Register facts: include/rp1.h.
 */
#include "platform.h"
#include "rp1.h"

void plat_putc(char c)
{
	/* The simulated SCIF transmits at once, but wait for TDFE anyway as
	 * a driver must, then clear TDFE/TEND by writing back 0 where they
	 * read 1 (SCIF status flags clear on read-then-write-0). */
	while (!(REG16(SCIF_SCFSR) & SCIF_TDFE))
		;
	REG8(SCIF_SCFTDR) = (uint8_t)c;
	uint16_t sr = REG16(SCIF_SCFSR);
	REG16(SCIF_SCFSR) = sr & (uint16_t)~(SCIF_TDFE | SCIF_TEND);
}

void plat_exit(int code)
{
	REG32(SIMCTL_EXIT) = (uint32_t)code;
	for (;;)
		__asm__ volatile("sleep");
}

/* ---- Exceptions ---------------------------------------------------------- */

extern char rp1_vbr[];
extern char rp1_user_return[];

struct rp1_user_ctx {
	uint32_t sp; /* kernel r15 at the switch to user mode */
	uint32_t sr; /* kernel SR to return with */
	uint32_t active;
};
static struct rp1_user_ctx user_ctx[NR_CPUS];

static volatile rp1_handler_t handler;

void rp1_set_handler(rp1_handler_t h)
{
	handler = h;
}

void rp1_enable_exceptions(void)
{
	set_vbr((uint32_t)rp1_vbr);
	set_sr(get_sr() & ~SR_BL);
}

static void dump_frame(const struct rp1_frame *f)
{
	plat_printf("unhandled vector %03x event %03x on cpu %u\n", f->vector,
		    f->event, cpu_id());
	plat_printf("  spc %08x ssr %08x pr %08x tea %08x tra %08x\n", f->spc,
		    f->ssr, f->pr, REG32(TEA), REG32(TRA));
	for (int i = 0; i < 16; i += 4)
		plat_printf("  r%u: %08x %08x %08x %08x\n", i, f->r[i],
			    f->r[i + 1], f->r[i + 2], f->r[i + 3]);
}

/* Called from rp1_vectors.S with SR.BL=1 on the exception stack. */
void rp1_dispatch(struct rp1_frame *f)
{
	unsigned cpu = cpu_id();

	/* The user-mode trampoline's way home (see rp1_run_user). */
	if (f->vector == VEC_GENERAL && f->event == EXP_TRAPA &&
	    REG32(TRA) == (RP1_TRAPA_USER_EXIT << 2) && !(f->ssr & SR_MD) &&
	    user_ctx[cpu].active) {
		user_ctx[cpu].active = 0;
		f->spc = (uint32_t)rp1_user_return;
		f->ssr = user_ctx[cpu].sr;
		f->r[15] = user_ctx[cpu].sp;
		return;
	}

	rp1_handler_t h = handler;
	if (h) {
		h(f);
		return;
	}
	dump_frame(f);
	plat_exit(99);
}

uint32_t rp1_enter_user(uint32_t fn_p0, uint32_t arg, uint32_t user_sp,
			struct rp1_user_ctx *ctx);

uint32_t rp1_run_user(uint32_t (*fn)(uint32_t), uint32_t arg, uint32_t user_sp)
{
	struct rp1_user_ctx *ctx = &user_ctx[cpu_id()];
	ctx->active = 1;
	return rp1_enter_user(P0ADDR(fn), arg, user_sp, ctx);
}

extern char __user_stack_top[];

uint32_t rp1_user_stack_top(unsigned cpu)
{
	return P0ADDR(__user_stack_top - cpu * 0x1000u);
}

/* ---- Secondary cores ---------------------------------------------------- */

extern char _start[];

__attribute__((weak)) void secondary_main(unsigned cpu)
{
	(void)cpu;
}

void rp1_start_cpu(unsigned cpu)
{
	/* shx3_start_cpu(): boot address (virtual, we are in 29-bit mode),
	 * stop the core, wait until it reads back stopped, then reset it. */
	REG32(RESET_REG(cpu)) = (uint32_t)_start;
	REG32(STBCR_REG(cpu)) = STBCR_MSTP;
	while (!(REG32(STBCR_REG(cpu)) & STBCR_MSTP))
		;
	REG32(STBCR_REG(cpu)) = STBCR_RESET | STBCR_LTSLP;
}

/* ---- Locks ------------------------------------------------------------- */

void rp1_lock(rp1_lock_t *l)
{
	uint32_t tmp;
	/* MOVLI.L sets the link flag; MOVCO.L stores 1 only if nothing broke
	 * the link since, else T=0 and we retry. MOVLI/MOVCO work on r0. */
	__asm__ volatile("1:	movli.l	@%1, %0\n"
			 "	tst	%0, %0\n"
			 "	bf	1b\n"
			 "	mov	#1, %0\n"
			 "	movco.l	%0, @%1\n"
			 "	bf	1b\n"
			 "	synco\n"
			 : "=&z"(tmp)
			 : "r"(&l->v)
			 : "t", "memory");
}

void rp1_unlock(rp1_lock_t *l)
{
	synco();
	l->v = 0;
}

uint32_t rp1_atomic_add(volatile uint32_t *p, uint32_t v)
{
	uint32_t tmp;
	__asm__ volatile("1:	movli.l	@%1, %0\n"
			 "	add	%2, %0\n"
			 "	movco.l	%0, @%1\n"
			 "	bf	1b\n"
			 : "=&z"(tmp)
			 : "r"(p), "r"(v)
			 : "t", "memory");
	return tmp;
}

static rp1_lock_t console_lock;

void rp1_printf(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	rp1_lock(&console_lock);
	plat_vprintf(fmt, ap);
	rp1_unlock(&console_lock);
	va_end(ap);
}
