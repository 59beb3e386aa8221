// SPDX-License-Identifier: GPL-2.0-only
/* libFuzzer target: one agent WebSocket message from an enrolled machine. */
#include <stddef.h>
#include <stdint.h>

#include "fuzz_server_harness.h"
#include "ws.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct conn *c;

	if (size > 65536)
		return 0;
	harness_init();
	if (!c)
		c = harness_agent();
	ws_dispatch(c, (const char *)data, size);
	harness_drain(&c);
	return 0;
}
