// SPDX-License-Identifier: GPL-2.0-only
/*
 * common/hashtab: every key inserted is found and only those; the table
 * grows (keys that share their low bits included) without losing a node;
 * removal unlinks exactly one node; iteration visits each node once, and
 * the safe form survives removing the node it stands on; clear hands every
 * node back and leaves a usable empty table.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "hashtab.h"

#define N 5000

struct item {
	int64_t id;
	int seen;
	struct hashtab_node node;	/* deliberately not the first member */
};

/* Keys that stress the hash: sequential, negative, extremes, equal low bits. */
static int64_t key_of(size_t i)
{
	switch (i % 4) {
	case 0: return (int64_t)i;
	case 1: return -(int64_t)i;
	case 2: return (int64_t)((uint64_t)i << 40);
	default: return (int64_t)(UINT64_MAX - i);
	}
}

static struct item *items;

static int setup(void **state)
{
	items = calloc(N, sizeof(*items));
	for (size_t i = 0; items && i < N; i++)
		items[i].id = key_of(i);
	return items ? 0 : -1;
}

static int teardown(void **state)
{
	free(items);
	return 0;
}

static struct item *find(struct hashtab *h, int64_t id)
{
	struct hashtab_node *n = hashtab_find(h, (uint64_t)id);

	return n ? hashtab_entry(n, struct item, node) : NULL;
}

static void fill(struct hashtab *h)
{
	for (size_t i = 0; i < N; i++)
		assert_int_equal(hashtab_insert(h, &items[i].node, (uint64_t)items[i].id), 0);
	assert_int_equal(hashtab_count(h), N);
}

static void test_empty(void **state)
{
	struct hashtab h = { 0 };

	assert_null(hashtab_find(&h, 0));
	assert_null(hashtab_find(&h, 42));
	assert_null(hashtab_first(&h));
	assert_int_equal(hashtab_count(&h), 0);
	hashtab_for_each(&h, n)
		fail_msg("an empty table yielded a node");
	hashtab_clear(&h, NULL);
}

static void test_insert_find_grow(void **state)
{
	struct hashtab h = { 0 };

	fill(&h);
	/* it grew: more buckets than the first 16, at most two entries per bucket on average */
	assert_true(((size_t)1 << h.bits) * 2 >= N);
	for (size_t i = 0; i < N; i++)
		assert_ptr_equal(find(&h, items[i].id), &items[i]);
	/* keys never inserted are not found, even next to inserted ones */
	assert_null(find(&h, N + 1));
	assert_null(find(&h, (int64_t)((uint64_t)(N + 2) << 40)));
	assert_null(find(&h, INT64_MIN));
	hashtab_clear(&h, NULL);
}

static void test_remove(void **state)
{
	struct hashtab h = { 0 };

	fill(&h);
	for (size_t i = 0; i < N; i += 2)
		hashtab_remove(&h, &items[i].node);
	assert_int_equal(hashtab_count(&h), N / 2);
	for (size_t i = 0; i < N; i++) {
		if (i % 2)
			assert_ptr_equal(find(&h, items[i].id), &items[i]);
		else
			assert_null(find(&h, items[i].id));
	}
	/* a removed key can come back */
	assert_int_equal(hashtab_insert(&h, &items[0].node, (uint64_t)items[0].id), 0);
	assert_ptr_equal(find(&h, items[0].id), &items[0]);
	hashtab_clear(&h, NULL);
}

static void test_iterate(void **state)
{
	struct hashtab h = { 0 };
	size_t visits = 0;

	fill(&h);
	hashtab_for_each(&h, n) {
		hashtab_entry(n, struct item, node)->seen++;
		visits++;
	}
	assert_int_equal(visits, N);
	for (size_t i = 0; i < N; i++)
		assert_int_equal(items[i].seen, 1);
	hashtab_clear(&h, NULL);
}

static void test_iterate_safe_remove(void **state)
{
	struct hashtab h = { 0 };
	size_t visits = 0;

	fill(&h);
	hashtab_for_each_safe(&h, n, tmp) {
		struct item *it = hashtab_entry(n, struct item, node);

		it->seen = 0;
		hashtab_remove(&h, n);
		memset(n, 0xa5, sizeof(*n));	/* as good as freed: the loop must not read it */
		visits++;
	}
	assert_int_equal(visits, N);
	assert_int_equal(hashtab_count(&h), 0);
	assert_null(hashtab_first(&h));
	hashtab_clear(&h, NULL);
}

static size_t freed;

static void count_free(struct hashtab_node *n)
{
	hashtab_entry(n, struct item, node)->seen = -1;
	freed++;
}

static void test_clear(void **state)
{
	struct hashtab h = { 0 };

	fill(&h);
	freed = 0;
	hashtab_clear(&h, count_free);
	assert_int_equal(freed, N);
	for (size_t i = 0; i < N; i++)
		assert_int_equal(items[i].seen, -1);
	assert_null(h.buckets);
	assert_int_equal(hashtab_count(&h), 0);
	assert_null(hashtab_find(&h, items[1].id));
	/* and it is usable again */
	assert_int_equal(hashtab_insert(&h, &items[1].node, (uint64_t)items[1].id), 0);
	assert_ptr_equal(find(&h, items[1].id), &items[1]);
	hashtab_clear(&h, NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_empty, setup, teardown),
		cmocka_unit_test_setup_teardown(test_insert_find_grow, setup, teardown),
		cmocka_unit_test_setup_teardown(test_remove, setup, teardown),
		cmocka_unit_test_setup_teardown(test_iterate, setup, teardown),
		cmocka_unit_test_setup_teardown(test_iterate_safe_remove, setup, teardown),
		cmocka_unit_test_setup_teardown(test_clear, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
