// SPDX-License-Identifier: GPL-2.0-only
/*
 * Corpus replay for every fuzz target, so the normal test run (gcc, no
 * libFuzzer) feeds each saved input to the real code:
 *   test_fuzz_<target> [DIR...]     default tests/fuzz/corpus/<target>
 * Linked with one target's LLVMFuzzerTestOneInput. Prints one TAP line per
 * input, in name order, then the plan; an input that crashes or aborts
 * ends the run, so the missing lines fail it. So does one that runs over
 * REPLAY_INPUT_SECONDS or grows the process over REPLAY_MAX_RSS_MB (what
 * libFuzzer calls a timeout or an OOM), with a "not ok" naming it, before
 * it takes the machine's memory. A directory that cannot be read, or holds
 * no input, is a failure too: an empty corpus replays nothing and must not
 * pass.
 */
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef FUZZ_NAME
#error "FUZZ_NAME must name the target"
#endif

#define REPLAY_MAX_INPUT (1u << 20)
#define REPLAY_INPUT_SECONDS 10
#define REPLAY_MAX_RSS_MB 512

/* The TAP lines for the input running now, written from a signal handler or the watchdog. */
static char slow_line[4200], big_line[4200];
static size_t slow_len, big_len;

static void too_slow(int sig)
{
	(void)!write(STDOUT_FILENO, slow_line, slow_len);
	_exit(1);
}

static void *rss_watchdog(void *unused)
{
	long page = sysconf(_SC_PAGESIZE);

	for (;;) {
		FILE *f = fopen("/proc/self/statm", "re");
		unsigned long size = 0, resident = 0;

		if (f) {
			if (fscanf(f, "%lu %lu", &size, &resident) != 2)
				resident = 0;
			fclose(f);
		}
		if (resident * (unsigned long)page > (unsigned long)REPLAY_MAX_RSS_MB << 20) {
			(void)!write(STDOUT_FILENO, big_line, big_len);
			_exit(1);
		}
		usleep(50000);
	}
	return NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int by_name(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

static int replay_file(const char *path, uint8_t *buf, unsigned *n)
{
	FILE *f = fopen(path, "rbe");
	size_t len;

	if (!f) {
		printf("not ok %u - %s: %s\n", ++*n, path, strerror(errno));
		return -1;
	}
	len = fread(buf, 1, REPLAY_MAX_INPUT, f);
	fclose(f);
	fflush(stdout);	/* what ran before a crash is on record */
	slow_len = (size_t)snprintf(slow_line, sizeof(slow_line), "not ok %u - %s %s: still running after %d s\n",
				    *n + 1, FUZZ_NAME, path, REPLAY_INPUT_SECONDS);
	big_len = (size_t)snprintf(big_line, sizeof(big_line), "not ok %u - %s %s: over %d MiB of memory\n",
				   *n + 1, FUZZ_NAME, path, REPLAY_MAX_RSS_MB);
	slow_len = slow_len < sizeof(slow_line) ? slow_len : sizeof(slow_line) - 1;
	big_len = big_len < sizeof(big_line) ? big_len : sizeof(big_line) - 1;
	alarm(REPLAY_INPUT_SECONDS);
	LLVMFuzzerTestOneInput(buf, len);
	alarm(0);
	printf("ok %u - %s %s\n", ++*n, FUZZ_NAME, path);
	return 0;
}

static int replay_dir(const char *dir, uint8_t *buf, unsigned *n)
{
	struct dirent **entries;
	int count = scandir(dir, &entries, NULL, by_name), failed = 0, inputs = 0;

	if (count < 0) {
		printf("not ok %u - %s: cannot read corpus %s: %s\n", ++*n, FUZZ_NAME, dir, strerror(errno));
		return -1;
	}
	for (int i = 0; i < count; i++) {
		char path[4096];

		if (entries[i]->d_name[0] != '.') {
			snprintf(path, sizeof(path), "%s/%s", dir, entries[i]->d_name);
			failed |= replay_file(path, buf, n) < 0;
			inputs++;
		}
		free(entries[i]);
	}
	free(entries);
	if (!inputs) {
		printf("not ok %u - %s: corpus %s is empty\n", ++*n, FUZZ_NAME, dir);
		return -1;
	}
	return failed ? -1 : 0;
}

int main(int argc, char **argv)
{
	uint8_t *buf = malloc(REPLAY_MAX_INPUT);
	unsigned n = 0;
	int failed = 0;

	pthread_t watchdog;

	if (!buf)
		return 1;
	signal(SIGALRM, too_slow);
	if (pthread_create(&watchdog, NULL, rss_watchdog, NULL) != 0)
		return 1;
	if (argc < 2)
		failed |= replay_dir("tests/fuzz/corpus/" FUZZ_NAME, buf, &n) < 0;
	for (int i = 1; i < argc; i++)
		failed |= replay_dir(argv[i], buf, &n) < 0;
	printf("1..%u\n", n);
	free(buf);
	return failed;
}
