// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer target: agent WebSocket messages (heartbeat, users,
 * capture.begin / capture.end, goodbye, another hello) from an enrolled
 * machine that said hello, separated by HARNESS_MSG_SEP. The connection
 * lives across inputs; a new one says hello again once an input closes it.
 */
#include <stddef.h>
#include <stdint.h>

#include "fuzz_server_harness.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct conn *c;

	harness_init();
	if (!c)
		c = harness_agent(true);
	harness_messages(&c, data, size);
	return 0;
}
