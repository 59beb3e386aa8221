// SPDX-License-Identifier: GPL-2.0-only
/*
 * Per-call cost of the system calls the agent could tax: a syscall
 * tracepoint, once attached, puts every system call of every process on
 * the slow path. Prints "name ns" lines (best of five rounds, to keep the
 * VM's noise out). Built and run by bench/agent_overhead.sh.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static double now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1e9 + t.tv_nsec;
}

#define BEST(name, n, body)                                             \
	do {                                                            \
		double best = 1e18;                                     \
		for (int round = 0; round < 5; round++) {               \
			double t0 = now_ns();                           \
			for (int i = 0; i < (n); i++) { body; }         \
			double per = (now_ns() - t0) / (n);             \
			if (per < best)                                 \
				best = per;                             \
		}                                                       \
		printf("%s %.0f\n", name, best);                        \
	} while (0)

int main(int argc, char **argv)
{
	const char *file = argc > 1 ? argv[1] : "/etc/hostname";
	char *const true_argv[] = { "/bin/true", NULL };
	int p[2], v;

	if (pipe(p) < 0)
		return 1;
	BEST("getppid", 200000, syscall(SYS_getppid));
	BEST("ioctl_fionread", 200000, ioctl(p[0], FIONREAD, &v));
	BEST("open_close_file", 50000, close(open(file, O_RDONLY)));
	BEST("open_close_devnull", 50000, close(open("/dev/null", O_RDONLY)));
	BEST("spawn_wait_true", 300, {
		pid_t pid;
		if (posix_spawn(&pid, "/bin/true", NULL, NULL, true_argv, environ) == 0)
			waitpid(pid, NULL, 0);
	});
	return 0;
}
