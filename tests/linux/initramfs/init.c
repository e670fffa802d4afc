/*
 * /init of the simulated RP1's test initramfs: the only program Linux
 * runs. It prints a marker line once user space is up, with how many CPUs
 * came online, runs /bin/hackbench with the groups and loops given on the
 * kernel command line (hackbench=GROUPS,LOOPS; hackbench=off skips it)
 * and says how many context switches Linux made meanwhile, then halts
 * the machine so the simulator stops with "machine halted".
 *
 * Its own lines start with "rp1-init:" so tests find them among the
 * kernel's messages.
 */
#include "rt.h"

static void read_line(const char *path, char *buf, size_t size)
{
	int fd = sys_open(path, O_RDONLY);
	ssize_t n = fd < 0 ? -1 : sys_read(fd, buf, size - 1);
	size_t i;

	if (fd >= 0)
		sys_close(fd);
	buf[n > 0 ? n : 0] = '\0';
	for (i = 0; buf[i]; i++)
		if (buf[i] == '\n')
			buf[i] = '\0';
}

/* Context switches on all CPUs since boot: /proc/stat's "ctxt" line
 * (after "intr", which lists every interrupt's count), or -1. */
static long context_switches(void)
{
	static char buf[16384];
	size_t len = 0, i;
	int fd = sys_open("/proc/stat", O_RDONLY);

	if (fd < 0)
		return -1;
	for (;;) {
		ssize_t n = sys_read(fd, buf + len, sizeof(buf) - 1 - len);

		if (n <= 0)
			break;
		len += n;
	}
	sys_close(fd);
	buf[len] = '\0';
	for (i = 0; i + 5 < len; i++)
		if (buf[i] == '\n' && rt_strncmp(buf + i + 1, "ctxt ", 5) == 0)
			return parse_decimal(buf + i + 6, 0);
	return -1;
}

/* The value of "name=" on the kernel command line, or NULL. */
static const char *cmdline_value(const char *cmdline, const char *name)
{
	size_t len = rt_strlen(name);
	const char *p;

	for (p = cmdline; *p; p++)
		if ((p == cmdline || p[-1] == ' ') && rt_strncmp(p, name, len) == 0 && p[len] == '=')
			return p + len + 1;
	return 0;
}

/* Count the CPUs in a list like "0-3" or "0,2-3". */
static long count_cpus(const char *list)
{
	long count = 0;

	while (*list) {
		const char *end;
		long first = parse_decimal(list, &end), last = first;

		if (first < 0)
			return -1;
		if (*end == '-') {
			last = parse_decimal(end + 1, &end);
			if (last < first)
				return -1;
		}
		count += last - first + 1;
		list = *end == ',' ? end + 1 : end;
		if (*end && *end != ',')
			return -1;
	}
	return count;
}

static int run_hackbench(char *groups, char *loops, char **envp)
{
	char *argv[] = { "hackbench", "-g", groups, "-l", loops, 0 };
	int status = 0, pid = sys_fork();
	struct line l = { .len = 0 };

	if (pid < 0)
		return -1;
	if (pid == 0) {
		long err = sys_execve("/bin/hackbench", argv, envp);

		put_str(&l, "rp1-init: exec /bin/hackbench failed, errno ");
		put_long(&l, -err);
		flush_line(&l);
		sys_exit(127);
	}
	if (sys_waitpid(pid, &status) < 0)
		return -1;
	/* Exited normally: the low 7 bits are 0 and the code is in 8-15. */
	return (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f);
}

int main(int argc, char **argv, char **envp)
{
	char cmdline[1024], online[64], groups[12] = "1", loops[12] = "10";
	const char *spec;
	struct line l = { .len = 0 };

	(void)argc;
	(void)argv;
	sys_mount("proc", "/proc", "proc");
	sys_mount("sysfs", "/sys", "sysfs");
	read_line("/proc/cmdline", cmdline, sizeof(cmdline));
	read_line("/sys/devices/system/cpu/online", online, sizeof(online));
	put_str(&l, "rp1-init: user space up, ");
	put_long(&l, count_cpus(online));
	put_str(&l, " CPUs online (");
	put_str(&l, online);
	put_str(&l, ")");
	flush_line(&l);

	spec = cmdline_value(cmdline, "hackbench");
	if (spec && rt_strncmp(spec, "off", 3) == 0) {
		put_str(&l, "rp1-init: hackbench=off");
		flush_line(&l);
	} else {
		const char *end = spec;
		long g = spec ? parse_decimal(spec, &end) : 1;
		long n = spec && g > 0 && *end == ',' ? parse_decimal(end + 1, &end) : 10;

		if (g <= 0 || n <= 0 || (spec && *end && *end != ' ')) {
			put_str(&l, "rp1-init: bad hackbench= value (want GROUPS,LOOPS)");
			flush_line(&l);
		} else {
			struct line num = { .len = 0 };

			put_long(&num, g);
			memcpy(groups, num.buf, num.len);
			groups[num.len] = '\0';
			num.len = 0;
			put_long(&num, n);
			memcpy(loops, num.buf, num.len);
			loops[num.len] = '\0';
			long before = context_switches(), status = run_hackbench(groups, loops, envp);
			long after = context_switches();

			put_str(&l, "rp1-init: hackbench exit status ");
			put_long(&l, status);
			flush_line(&l);
			/* How Linux scheduled the work: hackbench's time follows it
			 * (docs/linux-guest.md, "Why hackbench's time moves"). */
			put_str(&l, "rp1-init: context switches during hackbench ");
			put_long(&l, before < 0 || after < before ? -1 : after - before);
			flush_line(&l);
		}
	}
	put_str(&l, "rp1-init: halting");
	flush_line(&l);
	sys_sync();
	sys_reboot_halt();
	for (;;)
		sys_pause();
}
