/*
 * hackbench: the scheduler/IPC stress workload, written for this project.
 *
 * GROUPS groups of FDS senders and FDS receivers, each a process. Every
 * receiver owns a pipe; every sender of a group writes LOOPS messages of
 * SIZE bytes to each receiver of its group. All tasks are created first
 * and wait on a start pipe, so the timed part is only the message
 * traffic: the clock starts when the parent releases them and stops when
 * the last task has exited. Elapsed time comes from CLOCK_MONOTONIC, which
 * on the simulated RP1 is simulated time.
 *
 * usage: hackbench [-g GROUPS] [-l LOOPS] [-f FDS] [-s SIZE]
 * prints "Time: S.mmm" (seconds) and exits 0 when every task succeeded.
 */
#include "rt.h"

#define MAX_FDS 64
#define MAX_SIZE 4096

static __attribute__((noreturn)) void die(const char *what, long err)
{
	struct line l = { .len = 0 };

	put_str(&l, "hackbench: ");
	put_str(&l, what);
	put_str(&l, " failed, errno ");
	put_long(&l, -err);
	flush_line(&l);
	sys_exit(1);
}

static void write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = sys_write(fd, buf, len);

		if (n == -EINTR)
			continue;
		if (n < 0)
			die("write", n);
		buf += n;
		len -= (size_t)n;
	}
}

/* Read exactly len bytes; 0 on success, -1 at a premature end of file. */
static int read_all(int fd, char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = sys_read(fd, buf, len);

		if (n == -EINTR)
			continue;
		if (n < 0)
			die("read", n);
		if (n == 0)
			return -1;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Tell the parent this task is ready, then wait for the start signal. */
static void ready_and_wait(int ready_fd, int start_fd)
{
	char c = 'r';

	write_all(ready_fd, &c, 1);
	if (read_all(start_fd, &c, 1) < 0)
		die("start pipe", 0);
}

static long option(const char *arg, long min, long max, const char *name)
{
	const char *end;
	long v = arg ? parse_decimal(arg, &end) : -1;

	if (v < min || v > max || *end) {
		struct line l = { .len = 0 };

		put_str(&l, "hackbench: bad ");
		put_str(&l, name);
		put_str(&l, " (allowed ");
		put_long(&l, min);
		put_str(&l, "..");
		put_long(&l, max);
		put_str(&l, ")");
		flush_line(&l);
		sys_exit(2);
	}
	return v;
}

static void make_pipe(int fds[2])
{
	long err = sys_pipe(fds);

	if (err < 0)
		die("pipe", err);
}

int main(int argc, char **argv, char **envp)
{
	long groups = 10, loops = 100, fds = 20, size = 100;
	long tasks, g, i, j, n;
	int ready[2], start[2], failed = 0;
	struct rt_timespec t0, t1;
	static char msg[MAX_SIZE];
	struct line l = { .len = 0 };

	(void)envp;
	for (i = 1; i < argc; i += 2) {
		const char *v = i + 1 < argc ? argv[i + 1] : 0;

		if (rt_strncmp(argv[i], "-g", 3) == 0)
			groups = option(v, 1, 1000, "-g GROUPS");
		else if (rt_strncmp(argv[i], "-l", 3) == 0)
			loops = option(v, 1, 1000000, "-l LOOPS");
		else if (rt_strncmp(argv[i], "-f", 3) == 0)
			fds = option(v, 1, MAX_FDS, "-f FDS");
		else if (rt_strncmp(argv[i], "-s", 3) == 0)
			size = option(v, 1, MAX_SIZE, "-s SIZE");
		else
			option(0, 0, 0, "option; usage: hackbench [-g GROUPS] [-l LOOPS] [-f FDS] [-s SIZE]");
	}
	tasks = groups * fds * 2;
	put_str(&l, "Running in process mode with ");
	put_long(&l, groups);
	put_str(&l, " groups using ");
	put_long(&l, 2 * fds);
	put_str(&l, " file descriptors each (== ");
	put_long(&l, tasks);
	put_str(&l, " tasks)");
	flush_line(&l);
	put_str(&l, "Each sender will pass ");
	put_long(&l, loops);
	put_str(&l, " messages of ");
	put_long(&l, size);
	put_str(&l, " bytes");
	flush_line(&l);
	make_pipe(ready);
	make_pipe(start);
	memset(msg, 'h', sizeof(msg));

	for (g = 0; g < groups; g++) {
		int to_receiver[MAX_FDS][2];

		for (i = 0; i < fds; i++)
			make_pipe(to_receiver[i]);
		for (i = 0; i < 2 * fds; i++) {
			int receiver = i < fds, pid = sys_fork();

			if (pid < 0)
				die("fork", pid);
			if (pid != 0)
				continue;
			for (j = 0; j < fds; j++) {
				if (receiver) {
					sys_close(to_receiver[j][1]);
					if (j != i)
						sys_close(to_receiver[j][0]);
				} else {
					sys_close(to_receiver[j][0]);
				}
			}
			ready_and_wait(ready[1], start[0]);
			if (receiver) {
				for (n = 0; n < fds * loops; n++)
					if (read_all(to_receiver[i][0], msg, (size_t)size) < 0)
						die("receive (early end of file)", 0);
			} else {
				for (n = 0; n < loops; n++)
					for (j = 0; j < fds; j++)
						write_all(to_receiver[j][1], msg, (size_t)size);
			}
			sys_exit(0);
		}
		/* The parent keeps no end of this group's pipes. */
		for (i = 0; i < fds; i++) {
			sys_close(to_receiver[i][0]);
			sys_close(to_receiver[i][1]);
		}
	}

	for (i = 0; i < tasks; i++)
		if (read_all(ready[0], msg, 1) < 0)
			die("ready pipe", 0);
	if ((n = sys_clock_monotonic(&t0)) < 0)
		die("clock_gettime", n);
	for (i = 0; i < tasks; i++)
		write_all(start[1], "s", 1);
	for (i = 0; i < tasks; i++) {
		int status = 0;
		long pid = sys_wait(&status);

		if (pid < 0)
			die("wait", pid);
		if (status != 0)
			failed++;
	}
	sys_clock_monotonic(&t1);
	put_str(&l, "Time: ");
	put_fixed(&l, (long)((t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000), 3);
	flush_line(&l);
	if (failed) {
		put_str(&l, "hackbench: tasks failed: ");
		put_long(&l, failed);
		flush_line(&l);
		return 1;
	}
	return 0;
}
