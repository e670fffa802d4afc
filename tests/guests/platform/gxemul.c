/*
 * GXemul `testsh` machine: a bare SH-4 with RAM at physical 0 and two
 * magic device words (GXemul's dev_cons): a byte store to 0xb0000000
 * prints that character, any store to 0xb0000010 halts the emulator.
 * Both are in P2 (uncached) so the stores reach the device at once.
 */
#include "platform.h"

#define CONS_PUTCHAR ((volatile uint8_t *)0xb0000000)
#define CONS_HALT    ((volatile uint8_t *)0xb0000010)

void plat_putc(char c)
{
	*CONS_PUTCHAR = (uint8_t)c;
}

/*
 * testsh has no way to report an exit code, so a failing program prints
 * it; the transcripts of passing runs stay identical on all platforms.
 */
void plat_exit(int code)
{
	if (code != 0)
		plat_printf("exit code %d\n", code);
	*CONS_HALT = 0;
	for (;;)
		;
}
