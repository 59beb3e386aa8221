// SPDX-License-Identifier: GPL-2.0-only
/*
 * Corpus replay for the server fuzz targets, so the normal test run (no
 * clang, no libFuzzer) feeds every saved input to the real handlers:
 *   test_server_fuzz_lobby [DIR...]   default tests/fuzz/corpus/<target>
 * Prints one TAP line per corpus directory, then the plan.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef FUZZ_NAME
#error "FUZZ_NAME must name the target"
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int replay_dir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	if (!d) {
		printf("not ok - %s: cannot open corpus %s\n", FUZZ_NAME, dir);
		return -1;
	}
	while ((e = readdir(d))) {
		char path[4096];
		FILE *f;
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		f = fopen(path, "rb");
		if (!f)
			continue;
		uint8_t *buf = malloc(1 << 17);
		size_t len = fread(buf, 1, 1 << 17, f);
		fclose(f);
		LLVMFuzzerTestOneInput(buf, len);
		free(buf);
		n++;
	}
	closedir(d);
	printf("ok - %s: %d corpus inputs from %s handled\n", FUZZ_NAME, n, dir);
	return n;
}

int main(int argc, char **argv)
{
	int bad = 0;

	if (argc < 2)
		bad |= replay_dir("tests/fuzz/corpus/" FUZZ_NAME) < 0;
	for (int i = 1; i < argc; i++)
		bad |= replay_dir(argv[i]) < 0;
	printf("1..%d\n", argc < 2 ? 1 : argc - 1);
	return bad;
}
