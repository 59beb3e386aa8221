/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * One small hash table for every "id -> object" map in the programs (live
 * processes by pid, lobbies by meeting id, people by user id), in the way
 * redis keeps one dict.c rather than a table per module.
 *
 * Intrusive and keyed by a 64-bit integer: the object embeds a struct
 * hashtab_node, the table links nodes and never allocates, copies or frees
 * an object. It owns only its bucket array. Find the object back from its
 * node with hashtab_entry() (container_of).
 *
 * Chained buckets, a power of two of them, indexed by the top bits of a
 * Fibonacci hash of the key (so sequential ids spread out). The array is
 * allocated on the first insert and doubles when the entries outnumber the
 * buckets, so a lookup is O(1) on average and an insert O(1) amortised. If
 * doubling fails for want of memory the insert still succeeds into the
 * current buckets (chains grow longer); only the very first allocation can
 * fail. The table never shrinks: its owner frees it with the object that
 * holds it.
 *
 * Not thread safe: each table belongs to one thread (the agent's or the
 * server's event loop). A zeroed struct hashtab is an empty table.
 */
#ifndef SPHINX_HASHTAB_H
#define SPHINX_HASHTAB_H

#include <stddef.h>
#include <stdint.h>

struct hashtab_node {
	struct hashtab_node *next;	/* bucket chain */
	uint64_t key;
};

struct hashtab {
	struct hashtab_node **buckets;	/* NULL until the first insert */
	unsigned bits;			/* 1 << bits buckets */
	size_t count;
};

#define hashtab_entry(node, type, member) \
	((type *)((char *)(node) - offsetof(type, member)))

/* The node with @key, or NULL. */
struct hashtab_node *hashtab_find(const struct hashtab *h, uint64_t key);

/*
 * Link @node under @key. The caller owns @node and keeps it alive while it
 * is in the table; @key must not be in the table yet (hashtab_find() it
 * first: the table does not look). Returns 0, or -ENOMEM when the table had
 * no buckets and none could be allocated (@node is then not linked).
 */
int hashtab_insert(struct hashtab *h, struct hashtab_node *node, uint64_t key);

/*
 * Unlink @node, which must be in @h. The node itself is the caller's to
 * free. Removing the node a hashtab_for_each_safe() loop stands on is fine.
 */
void hashtab_remove(struct hashtab *h, struct hashtab_node *node);

/*
 * Unlink every node, calling @free_node (may be NULL) on each, then free
 * the buckets: @h is an empty table again. @free_node must not touch @h.
 */
void hashtab_clear(struct hashtab *h, void (*free_node)(struct hashtab_node *node));

static inline size_t hashtab_count(const struct hashtab *h)
{
	return h->count;
}

/* Iteration in no particular order; NULL at the end. */
struct hashtab_node *hashtab_first(const struct hashtab *h);
struct hashtab_node *hashtab_next(const struct hashtab *h, const struct hashtab_node *node);

/* The loop body must not insert into or remove from @h. */
#define hashtab_for_each(h, node) \
	for (struct hashtab_node *node = hashtab_first(h); node; node = hashtab_next(h, node))

/* The loop body may remove (and free) @node, but must not insert. */
#define hashtab_for_each_safe(h, node, tmp)						\
	for (struct hashtab_node *node = hashtab_first(h),				\
				 *tmp = node ? hashtab_next(h, node) : NULL;		\
	     node; node = tmp, tmp = node ? hashtab_next(h, node) : NULL)

#endif
