/*
 * The workload `rp1 bench` times (cli/src/commands/bench.rs), here so that
 * every machine it is timed on runs the same C, compiled by the same
 * compiler at the same level: our simulator (programs/bench_work.c on one
 * core, programs/bench_work_smp.c on four) and the two peers, GXemul's
 * testsh machine and qemu-sh4 in user mode (scripts/bench-peers.sh and
 * its two start-up files in scripts/bench-peers/).
 *
 * What it computes: CRC-32 (reflected, polynomial 0xEDB88320, initial
 * value and final XOR 0xFFFFFFFF) with a 256-entry table, over a 4 KiB
 * buffer whose byte i is (i * 7 + 3) mod 256, the buffer fed through the
 * same running CRC `passes` times. bench.rs's host_crc computes the same
 * value on the host to check every run; one pass gives 5e4e1995, 10000
 * passes dd98b31c.
 *
 * Why it is shaped so:
 *  - Integer work only, no floating point, no system call, no device and
 *    no exception inside the timed loop: GXemul's testsh, qemu-sh4's user
 *    mode and our RP1 share no devices, and so the time measured is the
 *    CPU emulation's alone.
 *  - A tight loop of ordinary instructions (byte load with post-increment,
 *    XOR, zero extension, shift, indexed long load, DT and a delayed
 *    branch): what an interpreter spends its time on, and one loop of a
 *    known length, so that instructions per second can be stated for a
 *    peer that counts none. Built at -O2 (the SH4 GCC 12 of Debian,
 *    `-m4a -ml`; GXemul gets `-m4`, which compiles this loop identically)
 *    the inner loop below is 9 instructions per byte: 36,864 per pass,
 *    plus a few for the outer loop. Check with
 *    `sh4-linux-gnu-objdump -d` when the compiler or this file changes,
 *    and change BENCH_INSNS_PER_BYTE and bench.rs's INSNS_PER_BYTE with
 *    it.
 *  - The table and the buffer are small (1 KiB + 4 KiB, well inside the
 *    SH-4A's 32 KiB data cache) and are the caller's, so each of the
 *    four simulated cores runs on its own copy with nothing shared.
 *  - The result depends on every byte of every pass, so no compiler can
 *    drop a pass, and a wrong instruction anywhere shows as a wrong CRC.
 *
 * The functions carry their own optimisation level so that the loop is the
 * same in a file built at -O0 (bench_work_smp.c must stay at -O0 because
 * of GCC 12's SH miscompilations, docs/test-programs.md). Plain
 * optimize("O2") is not enough: it turns the first scheduling pass back
 * on, which SH's -O2 leaves off, and the loop then keeps the CRC in r0
 * and grows a tenth instruction (a register copy); with
 * "no-schedule-insns" added it is the nine-instruction loop of plain -O2,
 * wherever it is built. Plain C with no header of its own: the peers'
 * start-up files build it without the test programs' platform layer.
 */
#ifndef BENCH_WORKLOAD_H
#define BENCH_WORKLOAD_H

#define BENCH_BUF_BYTES 4096
#define BENCH_INSNS_PER_BYTE 9

#define BENCH_OPT __attribute__((optimize("O2", "no-schedule-insns")))

/* Fills the CRC table and the buffer the passes read. */
static inline BENCH_OPT void bench_setup(unsigned int table[256], unsigned char buf[BENCH_BUF_BYTES])
{
	for (unsigned int n = 0; n < 256; n++) {
		unsigned int c = n;
		for (int bit = 0; bit < 8; bit++)
			c = (c >> 1) ^ ((c & 1) ? 0xEDB88320u : 0);
		table[n] = c;
	}
	for (unsigned int i = 0; i < BENCH_BUF_BYTES; i++)
		buf[i] = (unsigned char)(i * 7 + 3);
}

/*
 * The workload: sets up the table and buffer, runs `passes` passes and
 * returns the CRC. The timed part is the inner loop, one table look-up
 * per byte.
 */
static inline BENCH_OPT unsigned int bench_workload(unsigned int table[256], unsigned char buf[BENCH_BUF_BYTES],
						     unsigned int passes)
{
	unsigned int crc = 0xFFFFFFFFu;
	bench_setup(table, buf);
	for (unsigned int pass = 0; pass < passes; pass++)
		for (unsigned int i = 0; i < BENCH_BUF_BYTES; i++)
			crc = table[(crc ^ buf[i]) & 0xFF] ^ (crc >> 8);
	return ~crc;
}

#endif
