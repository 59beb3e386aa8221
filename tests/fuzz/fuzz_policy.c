// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer target for the policy loader: each input is one policy file.
 * It goes through the real policy_load() (file reading, libyaml, rule and
 * condition parsing, regex compilation), and when it loads, through the
 * matcher and the device-prefix table too, so a rule that compiles but
 * crashes when matched is found as well.
 *
 * The input is written to a memfd and loaded by its /proc path: no disk,
 * and the file-size cap is exercised like any file's.
 *
 * Built with -DFUZZ_REPLAY_MAIN it is a plain program instead: it runs
 * every file of the given corpus directories (default
 * tests/fuzz/corpus/policy) through the same function and prints TAP, so
 * `make test` replays the corpus without libFuzzer.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void exercise(const struct policy *policy)
{
	static const char *const images[] = { "/usr/bin/ffmpeg", "", "/usr/bin/Xorg" };
	static const char *const argv[] = { "ffmpeg", "-f", "x11grab", "-i", ":0", "" };
	const struct policy_rule *all[8];
	struct policy_event ev;
	char **prefixes = NULL;

	for (int cat = 0; cat < POLICY_CAT__MAX; cat++) {
		for (size_t i = 0; i < sizeof(images) / sizeof(images[0]); i++) {
			policy_event_init(&ev, (enum policy_category)cat);
			policy_event_set(&ev, "Image", images[i]);
			policy_event_set(&ev, "CommandLine", "ffmpeg -f x11grab -i :0");
			policy_event_set(&ev, "TargetFilename", "/dev/fb0");
			policy_event_set(&ev, "Uid", i ? "1000" : "x");
			policy_event_set_argv(&ev, argv, 2 * i + 2);	/* auditd a0..aN */
			policy_match(policy, &ev);
			policy_match_all(policy, &ev, all, 8);
		}
	}
	if (policy_device_prefixes(policy, &prefixes) >= 0)
		policy_strv_free(prefixes);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct policy_diags diags = {};
	struct policy *policy = NULL;
	char path[64], buf[512];
	int fd;

	fd = memfd_create("fuzz-policy.yml", MFD_CLOEXEC);
	if (fd < 0)
		abort();
	if (size && write(fd, data, size) != (ssize_t)size)
		abort();
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	if (policy_load(path, &policy, &diags) == 0) {
		if (diags.count)
			abort();	/* success must come with no errors */
		exercise(policy);
		policy_free(policy);
	} else {
		for (size_t i = 0; i < diags.count; i++)
			policy_diag_format(&diags.items[i], buf, sizeof(buf));
	}
	policy_diags_clear(&diags);
	close(fd);
	return 0;
}

#ifdef FUZZ_REPLAY_MAIN
#include <dirent.h>

#define REPLAY_MAX_INPUT	(2u << 20)

static int replay_file(const char *path, unsigned *n)
{
	uint8_t *data = malloc(REPLAY_MAX_INPUT);
	FILE *f = fopen(path, "rbe");
	size_t size;

	if (!data || !f) {
		printf("not ok %u - %s: %s\n", ++*n, path, strerror(errno));
		free(data);
		if (f)
			fclose(f);
		return -1;
	}
	size = fread(data, 1, REPLAY_MAX_INPUT, f);
	fclose(f);
	LLVMFuzzerTestOneInput(data, size);
	free(data);
	printf("ok %u - %s\n", ++*n, path);
	return 0;
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

int main(int argc, char **argv)
{
	const char *default_dir = "tests/fuzz/corpus/policy";
	unsigned n = 0;
	int failed = 0;

	for (int i = 1; i < argc || (i == 1 && argc == 1); i++) {
		const char *dir = argc > 1 ? argv[i] : default_dir;
		struct dirent **entries;
		int count = scandir(dir, &entries, NULL, by_name);

		if (count < 0) {
			printf("not ok %u - %s: %s\n", ++n, dir, strerror(errno));
			failed = 1;
			continue;
		}
		for (int j = 0; j < count; j++) {
			char path[4096];

			if (entries[j]->d_name[0] != '.') {
				snprintf(path, sizeof(path), "%s/%s", dir, entries[j]->d_name);
				failed |= replay_file(path, &n) < 0;
			}
			free(entries[j]);
		}
		free(entries);
	}
	printf("1..%u\n", n);
	return failed;
}
#endif
