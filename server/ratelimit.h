/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Token buckets keyed by a string, in a fixed amount of memory.
 *
 * A rule (name, per_s, burst) says how fast tokens come back and how many a
 * bucket holds; a key names who is limited under it ("127.0.0.5", "alice").
 * One table of RATELIMIT_SLOTS entries serves every rule: an entry is the
 * keyed hash of rule name + key (the secret key is drawn at first use, so
 * nobody can choose keys that collide on purpose), the tokens left and the
 * time they were counted. Lookups probe a window of RATELIMIT_PROBE slots,
 * so every call is O(1). An entry whose bucket has refilled to the brim says
 * nothing a fresh bucket would not, so it is free for reuse: idle entries
 * expire by themselves. When a whole window is busy, the entry in it closest
 * to full is evicted (it loses the least: the victim's holder regains at
 * most what little it had spent). The table is about 2 MiB.
 *
 * Several nodes on one store: a rule marked global (a limit that N nodes
 * counting apart would multiply by N: sign-in, sign-up, meeting-code
 * guesses, OIDC starts) keeps its buckets in the store once
 * ratelimit_set_store() named one whose back end shares them
 * (store_ops.rate_bucket: PostgreSQL), one row per rule and key, taken and
 * refilled by one atomic statement, with the same token-bucket arithmetic
 * as here. The row's id is an unkeyed hash of rule and key (every node
 * must compute the same one): no address or username is stored as text. When
 * the store does not answer, the rule falls back to this node's table
 * (logged once): limited per node rather than not at all. Rules that are
 * not global (per connection, per node) always stay here.
 *
 * Not thread-safe: only the event-loop thread calls it.
 *
 * Owns: the table and its secret hash key (file statics in ratelimit.c),
 * and the store pointer it was given (not the store).
 * Callers: api_auth.c, api_meetings.c, oidc.c and code_guard.c (per-account
 * and per-address rules), http.c (its 429 log line, once a minute per address),
 * the unit tests (ratelimit_reset()).
 */
#ifndef SPHINX_RATELIMIT_H
#define SPHINX_RATELIMIT_H

#include <stdbool.h>
#include <stdint.h>

#define RATELIMIT_SLOTS 65536	/* power of two */
#define RATELIMIT_PROBE 8

struct rate_rule {
	const char *name;
	double per_s;
	double burst;
	bool global;		/* shared by every node when the store can (see above) */
};

struct store;

/*
 * Keep global rules' buckets in s when its back end shares them between
 * nodes (s->ops->rate_bucket set); NULL: every bucket in memory (the
 * default). main.c calls it once the store is open.
 */
void ratelimit_set_store(struct store *s);

/*
 * Take one token for key under rule. true: allowed. false: refused;
 * *ret_retry_ms (may be NULL) = ms until a token is back. A rule with
 * per_s <= 0 or burst < 1 allows everything (limit switched off).
 */
bool ratelimit_take(const struct rate_rule *rule, const char *key, int64_t now_ms, int64_t *ret_retry_ms);

/*
 * Whether one token is available now, without taking it (limits that count
 * only failures: peek before the attempt, take when it fails).
 */
bool ratelimit_peek(const struct rate_rule *rule, const char *key, int64_t now_ms, int64_t *ret_retry_ms);

/*
 * Give back one token taken by ratelimit_take (up to burst): for limits
 * that take before a slow attempt and count only the attempts that fail.
 */
void ratelimit_refund(const struct rate_rule *rule, const char *key, int64_t now_ms);

/* Forget every bucket (tests; a config reload). */
void ratelimit_reset(void);

#endif
