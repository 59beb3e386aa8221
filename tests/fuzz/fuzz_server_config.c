// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer target: the sphinx-server configuration file. Each input is a
 * whole file, read by config_load() from a memfd, then checked by
 * config_validate() as main() does. A refusal must say why (a non-empty
 * message naming the file), and what loads must print back with
 * --print-config's writer without tripping the sanitizers.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#include "config.h"
#include "fuzz_memfd.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config c;
	char path[64], err[512] = "";
	int fd, r;

	if (size > 65536)
		return 0;
	fd = fuzz_memfd(data, size, "sphinx-server.conf", path, sizeof(path));
	if (config_init(&c) < 0)
		abort();
	r = config_load(&c, path, err, sizeof(err));
	if (r < 0 && !err[0])
		abort();	/* every refusal names its line */
	if (r == 0) {
		err[0] = '\0';
		if (config_validate(&c, err, sizeof(err)) < 0 && !err[0])
			abort();
	}
	config_free(&c);
	close(fd);
	return 0;
}
