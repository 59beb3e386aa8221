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
 * Not thread-safe: only the event-loop thread calls it.
 *
 * Owns: the table and its secret hash key (file statics in ratelimit.c).
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
};

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
