/*
 * Differential: the platform layer itself (crt0, console, exit, the
 * small printf), the first thing to get running on a new platform.
 * Also checks that .bss starts zeroed and .data initialised.
 */
#include "platform.h"

static uint32_t zeroed[8];
static uint32_t initialised = 0x600dda7a;

int main(void)
{
	plat_printf("hello start\n");
	plat_printf("hello, world\n");
	plat_printf("%%s [%s] [%5s] %%c [%c]\n", "abc", "ab", 'x');
	plat_printf("%%d %d %d %d %d\n", 0, 42, -42, (int32_t)0x80000000);
	plat_printf("%%u %u %u %u\n", 0u, 4000000000u, 0xffffffffu);
	plat_printf("%%x %x %x %08x %02x\n", 0u, 0xabcu, 0x1234u, 0xfu);
	plat_printf("%%llx %llx %016llx\n", 0x123456789abcdefull, 0xfull);
	plat_puts("puts ");
	plat_putx(0xdeadbeef);
	plat_putc(' ');
	plat_putx64(0x0123456789abcdefull);
	plat_putc(' ');
	plat_putu(1234567890);
	plat_putc('\n');
	uint32_t any = 0;
	for (unsigned i = 0; i < ARRAY_SIZE(zeroed); i++)
		any |= zeroed[i];
	plat_printf("bss zero %u data %08x\n", any == 0, initialised);
	plat_printf("hello end\n");
	return 0;
}
