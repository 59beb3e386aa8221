// SPDX-License-Identifier: GPL-2.0-only
/* libFuzzer target: one lobby WebSocket message from a signed-in organiser. */
#include <stddef.h>
#include <stdint.h>

#include "fuzz_server_harness.h"
#include "ws.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct conn *c;

	if (size > 65536)
		return 0;	/* the transport closes such messages with 1009 first */
	harness_init();
	if (!c)
		c = harness_lobby();
	ws_dispatch(c, (const char *)data, size);
	harness_drain(&c);
	return 0;
}
