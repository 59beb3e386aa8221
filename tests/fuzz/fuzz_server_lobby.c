// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer target: lobby WebSocket messages from the meeting's organiser
 * (chat, signalling, bans, sync, end), separated by HARNESS_MSG_SEP. The
 * connection lives across inputs, as a real one does across messages; a
 * new one is opened (in a new meeting when needed) once an input closes it.
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
		c = harness_lobby(true);
	harness_messages(&c, data, size);
	return 0;
}
