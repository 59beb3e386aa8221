// SPDX-License-Identifier: GPL-2.0-only
/*
 * Corpus replay for every fuzz target, so the normal test run (gcc, no
 * libFuzzer) feeds each saved input to the real code:
 *   test_fuzz_<target> [DIR...]     default tests/fuzz/corpus/<target>
 * Linked with one target's LLVMFuzzerTestOneInput. Prints one TAP line per
 * input, in name order, then the plan; an input that crashes or aborts
 * ends the run, so the missing lines fail it. A directory that cannot be
 * read, or holds no input, is a failure too: an empty corpus replays
 * nothing and must not pass.
 */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef FUZZ_NAME
#error "FUZZ_NAME must name the target"
#endif

#define REPLAY_MAX_INPUT (1u << 20)

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
	LLVMFuzzerTestOneInput(buf, len);
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

	if (!buf)
		return 1;
	if (argc < 2)
		failed |= replay_dir("tests/fuzz/corpus/" FUZZ_NAME, buf, &n) < 0;
	for (int i = 1; i < argc; i++)
		failed |= replay_dir(argv[i], buf, &n) < 0;
	printf("1..%u\n", n);
	free(buf);
	return failed;
}
