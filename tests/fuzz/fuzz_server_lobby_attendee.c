// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer target: the lobby as an attendee sees it. Each input opens a
 * fresh lobby socket of the attendee (join, snapshot), sends its messages
 * (separated by HARNESS_MSG_SEP), then closes it (leave): the
 * organiser-only requests must be refused, and joins and leaves of one
 * account many times over must keep the presence table consistent.
 */
#include <stddef.h>
#include <stdint.h>

#include "fuzz_server_harness.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct conn *c;

	harness_init();
	c = harness_lobby(false);
	harness_messages(&c, data, size);
	harness_close(&c);
	return 0;
}
