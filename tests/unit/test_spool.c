// SPDX-License-Identifier: GPL-2.0-only
/*
 * The agent's spool on a real directory: order, acks, survival across a
 * reopen (an agent restart), the bound and its drop counter.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <errno.h>
#include <string.h>
#include <cmocka.h>

#include "spool.h"

static char dir[64];

static int setup(void **state)
{
	snprintf(dir, sizeof(dir), "/tmp/sphinx-spool-XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd);
}

static void expect_next(struct spool *s, uint64_t after, uint64_t want_seq, const char *want)
{
	uint64_t seq = 0;
	char *json = NULL;

	assert_int_equal(spool_next(s, after, &seq, &json), 0);
	assert_int_equal(seq, want_seq);
	assert_string_equal(json, want);
	free(json);
}

static void order_ack_and_restart(void **state)
{
	struct spool *s;
	uint64_t seq;

	assert_int_equal(spool_open(dir, 100, &s), 0);
	assert_int_equal(spool_append(s, "{\"n\":1}", &seq), 0);
	assert_int_equal(seq, 1);
	assert_int_equal(spool_append(s, "{\"n\":2}", NULL), 0);
	assert_int_equal(spool_append(s, "{\"n\":3}", NULL), 0);
	expect_next(s, 0, 1, "{\"n\":1}");
	expect_next(s, 1, 2, "{\"n\":2}");
	spool_ack(s, 2);
	expect_next(s, 1, 3, "{\"n\":3}");
	assert_int_equal(spool_count(s), 2);
	spool_close(s);

	/* An agent restart: what was not acked is still there, in order, and
	 * new events number after it. */
	assert_int_equal(spool_open(dir, 100, &s), 0);
	assert_int_equal(spool_count(s), 2);
	expect_next(s, 0, 1, "{\"n\":1}");
	assert_int_equal(spool_append(s, "{\"n\":4}", &seq), 0);
	assert_int_equal(seq, 4);
	spool_ack(s, 1);
	spool_ack(s, 3);
	spool_ack(s, 4);
	spool_ack(s, 99);	/* unknown: ignored */
	assert_int_equal(spool_count(s), 0);
	uint64_t none;
	char *json;
	assert_int_equal(spool_next(s, 0, &none, &json), -ENOENT);
	spool_close(s);
}

static void bound_drops_oldest_and_counts(void **state)
{
	struct spool *s;
	char msg[32];

	assert_int_equal(spool_open(dir, 3, &s), 0);
	for (int i = 1; i <= 5; i++) {
		snprintf(msg, sizeof(msg), "{\"n\":%d}", i);
		assert_int_equal(spool_append(s, msg, NULL), 0);
	}
	assert_int_equal(spool_count(s), 3);
	assert_int_equal(spool_dropped(s), 2);
	expect_next(s, 0, 3, "{\"n\":3}");
	spool_close(s);
	/* The count of dropped events survives a restart too. */
	assert_int_equal(spool_open(dir, 3, &s), 0);
	assert_int_equal(spool_dropped(s), 2);
	spool_close(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(order_ack_and_restart, setup, teardown),
		cmocka_unit_test_setup_teardown(bound_drops_oldest_and_counts, setup, teardown),
	};

	return cmocka_run_group_tests_name("spool", tests, NULL, NULL);
}
