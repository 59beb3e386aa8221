// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer target: an agent connection from its first message on. Each
 * input is a fresh connection of the enrolled machine that has not said
 * hello; its messages (separated by HARNESS_MSG_SEP) go to the handler,
 * so the hello itself is fuzzed and so is everything sent before it or
 * after a refused one. The connection is closed at the end of the input.
 */
#include <stddef.h>
#include <stdint.h>

#include "fuzz_server_harness.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct conn *c;

	harness_init();
	c = harness_agent(false);
	harness_messages(&c, data, size);
	harness_close(&c);
	return 0;
}
