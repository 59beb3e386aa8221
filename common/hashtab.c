// SPDX-License-Identifier: GPL-2.0-only
/*
 * Intrusive chained hash table on 64-bit keys: see hashtab.h for the design.
 */
#include <errno.h>
#include <stdlib.h>

#include "hashtab.h"

#define MIN_BITS 4	/* 16 buckets at first */
#define MAX_BITS 30	/* past 2^30 buckets, chains grow instead */

/* Fibonacci hashing: the top @bits of key * 2^64/phi. */
static size_t slot(uint64_t key, unsigned bits)
{
	return (size_t)((key * 0x9E3779B97F4A7C15ull) >> (64 - bits));
}

struct hashtab_node *hashtab_find(const struct hashtab *h, uint64_t key)
{
	if (!h->buckets)
		return NULL;
	for (struct hashtab_node *n = h->buckets[slot(key, h->bits)]; n; n = n->next)
		if (n->key == key)
			return n;
	return NULL;
}

/* Move every node into a table of 1 << bits buckets. 0 or -ENOMEM (nothing changed). */
static int rehash(struct hashtab *h, unsigned bits)
{
	struct hashtab_node **nb = calloc((size_t)1 << bits, sizeof(*nb));
	size_t old = h->buckets ? (size_t)1 << h->bits : 0;

	if (!nb)
		return -ENOMEM;
	for (size_t b = 0; b < old; b++) {
		while (h->buckets[b]) {
			struct hashtab_node *n = h->buckets[b];
			size_t i = slot(n->key, bits);

			h->buckets[b] = n->next;
			n->next = nb[i];
			nb[i] = n;
		}
	}
	free(h->buckets);
	h->buckets = nb;
	h->bits = bits;
	return 0;
}

int hashtab_insert(struct hashtab *h, struct hashtab_node *node, uint64_t key)
{
	size_t i;

	if (!h->buckets) {
		int r = rehash(h, MIN_BITS);

		if (r < 0)
			return r;
	} else if (h->count >= (size_t)1 << h->bits && h->bits < MAX_BITS) {
		/* Out of memory: keep the current buckets, the chains just grow. */
		(void)rehash(h, h->bits + 1);
	}
	node->key = key;
	i = slot(key, h->bits);
	node->next = h->buckets[i];
	h->buckets[i] = node;
	h->count++;
	return 0;
}

void hashtab_remove(struct hashtab *h, struct hashtab_node *node)
{
	if (!h->buckets)
		return;
	for (struct hashtab_node **pp = &h->buckets[slot(node->key, h->bits)]; *pp;
	     pp = &(*pp)->next) {
		if (*pp == node) {
			*pp = node->next;
			node->next = NULL;
			h->count--;
			return;
		}
	}
}

void hashtab_clear(struct hashtab *h, void (*free_node)(struct hashtab_node *node))
{
	size_t n = h->buckets ? (size_t)1 << h->bits : 0;

	for (size_t b = 0; b < n; b++) {
		while (h->buckets[b]) {
			struct hashtab_node *node = h->buckets[b];

			h->buckets[b] = node->next;
			if (free_node)
				free_node(node);
		}
	}
	free(h->buckets);
	h->buckets = NULL;
	h->bits = 0;
	h->count = 0;
}

/* The first node in bucket @from or after it. */
static struct hashtab_node *scan(const struct hashtab *h, size_t from)
{
	size_t n = h->buckets ? (size_t)1 << h->bits : 0;

	for (size_t b = from; b < n; b++)
		if (h->buckets[b])
			return h->buckets[b];
	return NULL;
}

struct hashtab_node *hashtab_first(const struct hashtab *h)
{
	return scan(h, 0);
}

struct hashtab_node *hashtab_next(const struct hashtab *h, const struct hashtab_node *node)
{
	if (node->next)
		return node->next;
	return scan(h, slot(node->key, h->bits) + 1);
}
