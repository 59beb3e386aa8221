// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer target: the agent's configuration file (agent.conf). Each input
 * is a whole file, read by agent_config_load() from a memfd. A refusal must
 * come with a message; a success must leave the invariants the agent relies
 * on: a NULL-terminated users list of at most AGENT_CONFIG_MAX_USERS names,
 * and a ws:// server URL only with insecure = yes.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "fuzz_memfd.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct agent_config c;
	char path[64], err[512] = "";
	int fd, r;

	if (size > 65536)
		return 0;
	fd = fuzz_memfd(data, size, "agent.conf", path, sizeof(path));
	r = agent_config_load(path, &c, err, sizeof(err));
	if (r < 0 && !err[0])
		abort();
	if (r == 0) {
		if (c.users[AGENT_CONFIG_MAX_USERS])
			abort();
		if (c.server_url && strncmp(c.server_url, "ws://", 5) == 0 && !c.insecure)
			abort();
	}
	agent_config_free(&c);
	close(fd);
	return 0;
}
