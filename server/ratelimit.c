// SPDX-License-Identifier: GPL-2.0-only
/*
 * Token buckets in a fixed open-addressed table: see ratelimit.h for the
 * design (the id is a keyed BLAKE2b of rule and key, cut to 64 bits).
 * Tokens are kept as a double counted at `at_ms`; the refill is computed
 * lazily on each visit.
 */
#include <errno.h>
#include <math.h>
#include <string.h>
#include <sodium.h>

#include "log.h"
#include "ratelimit.h"
#include "store.h"

/* the store's buckets that have refilled are deleted at most this often */
#define PURGE_EVERY_MS (60 * 1000)

struct slot {
	uint64_t id;		/* 0: never used */
	double tokens;
	int64_t at_ms;
	double burst;		/* of the rule that wrote it, to tell "refilled" */
	double per_s;
};

static struct slot table[RATELIMIT_SLOTS];
static unsigned char hkey[crypto_generichash_KEYBYTES];
static bool keyed;
static struct store *shared;	/* global rules' buckets, when its back end shares them */
static bool shared_failing;	/* logged once per outage */
static int64_t purged_ms;

void ratelimit_set_store(struct store *s)
{
	shared = s && s->ops->rate_bucket ? s : NULL;
}

void ratelimit_reset(void)
{
	memset(table, 0, sizeof(table));
}

static uint64_t key_id(const char *rule, const char *key)
{
	crypto_generichash_state st;
	unsigned char dig[16];
	uint64_t id;

	if (!keyed) {
		randombytes_buf(hkey, sizeof(hkey));
		keyed = true;
	}
	/* rule and key joined with a NUL so ("ab","c") and ("a","bc") differ */
	crypto_generichash_init(&st, hkey, sizeof(hkey), sizeof(dig));
	crypto_generichash_update(&st, (const unsigned char *)rule, strlen(rule) + 1);
	crypto_generichash_update(&st, (const unsigned char *)key, strlen(key));
	crypto_generichash_final(&st, dig, sizeof(dig));
	memcpy(&id, dig, sizeof(id));
	return id ? id : 1;
}

static double refilled(const struct slot *s, int64_t now_ms)
{
	double t = s->tokens;

	if (now_ms > s->at_ms)
		t += (double)(now_ms - s->at_ms) * s->per_s / 1000.0;
	return t > s->burst ? s->burst : t;
}

static bool idle(const struct slot *s, int64_t now_ms)
{
	return s->id == 0 || refilled(s, now_ms) >= s->burst;
}

/* The slot for id: its own, else a free or idle one, else the fullest. */
static struct slot *lookup(uint64_t id, int64_t now_ms, bool *ret_found)
{
	size_t base = (size_t)(id & (RATELIMIT_SLOTS - 1));
	struct slot *spare = NULL, *fullest = NULL;
	double most = -1;

	for (size_t i = 0; i < RATELIMIT_PROBE; i++) {
		struct slot *s = &table[(base + i) & (RATELIMIT_SLOTS - 1)];
		if (s->id == id) {
			*ret_found = true;
			return s;
		}
		if (!spare && idle(s, now_ms))
			spare = s;
		if (s->id && refilled(s, now_ms) / s->burst > most) {
			most = refilled(s, now_ms) / s->burst;
			fullest = s;
		}
	}
	*ret_found = false;
	return spare ? spare : fullest;
}

static int64_t retry_ms(const struct rate_rule *rule, double tokens)
{
	/* the epsilon keeps float error from adding a whole millisecond */
	double ms = ceil((1.0 - tokens) * 1000.0 / rule->per_s - 1e-6);

	return ms < 1 ? 1 : (int64_t)ms;
}

/*
 * The global rule's bucket in the store: op 't', 'p' or 'r' (store.h).
 * 1 or 0 as the store answered, with *ret_tokens; -errno when it did not
 * (the caller then uses this node's table).
 */
static int shared_bucket(const struct rate_rule *rule, const char *key, int64_t now_ms, char op, double *ret_tokens)
{
	unsigned char dig[16];
	char id[2 * sizeof(dig) + 1];
	crypto_generichash_state st;
	int r;

	if (!shared || !rule->global)
		return -ENOTSUP;
	/* unkeyed: every node computes the same id; rule and key joined with a NUL as in key_id() */
	crypto_generichash_init(&st, NULL, 0, sizeof(dig));
	crypto_generichash_update(&st, (const unsigned char *)rule->name, strlen(rule->name) + 1);
	crypto_generichash_update(&st, (const unsigned char *)key, strlen(key));
	crypto_generichash_final(&st, dig, sizeof(dig));
	sodium_bin2hex(id, sizeof(id), dig, sizeof(dig));
	r = shared->ops->rate_bucket(shared, id, rule->per_s, rule->burst, now_ms, op, ret_tokens);
	if (r < 0 && !shared_failing)
		log_warn("ratelimit: the store does not answer (%s): global limits count per node until it does",
			 strerror(-r));
	else if (r >= 0 && shared_failing)
		log_info("ratelimit: the store answers again: global limits are shared by every node");
	shared_failing = r < 0;
	if (r >= 0 && now_ms - purged_ms > PURGE_EVERY_MS && shared->ops->rate_purge) {
		purged_ms = now_ms;
		shared->ops->rate_purge(shared, now_ms);
	}
	return r;
}

static bool bucket(const struct rate_rule *rule, const char *key, int64_t now_ms, bool take, int64_t *ret_retry_ms)
{
	struct slot *s;
	uint64_t id;
	bool found;
	double t;
	int r;

	if (rule->per_s <= 0 || rule->burst < 1)
		return true;
	r = shared_bucket(rule, key, now_ms, take ? 't' : 'p', &t);
	if (r >= 0) {
		if (r == 0 && ret_retry_ms)
			*ret_retry_ms = retry_ms(rule, t);
		return r == 1;
	}
	id = key_id(rule->name, key);
	s = lookup(id, now_ms, &found);
	t = found ? refilled(s, now_ms) : rule->burst;
	if (t < 1.0) {
		if (ret_retry_ms)
			*ret_retry_ms = retry_ms(rule, t);
		return false;
	}
	if (take) {
		s->id = id;
		s->tokens = t - 1.0;
		s->at_ms = now_ms;
		s->burst = rule->burst;
		s->per_s = rule->per_s;
	}
	return true;
}

bool ratelimit_take(const struct rate_rule *rule, const char *key, int64_t now_ms, int64_t *ret_retry_ms)
{
	return bucket(rule, key, now_ms, true, ret_retry_ms);
}

bool ratelimit_peek(const struct rate_rule *rule, const char *key, int64_t now_ms, int64_t *ret_retry_ms)
{
	return bucket(rule, key, now_ms, false, ret_retry_ms);
}

void ratelimit_refund(const struct rate_rule *rule, const char *key, int64_t now_ms)
{
	struct slot *s;
	bool found;
	double t;

	if (rule->per_s <= 0 || rule->burst < 1)
		return;
	if (shared_bucket(rule, key, now_ms, 'r', &t) >= 0)
		return;
	s = lookup(key_id(rule->name, key), now_ms, &found);
	if (!found)
		return;
	s->tokens = refilled(s, now_ms) + 1.0;
	if (s->tokens > s->burst)
		s->tokens = s->burst;
	s->at_ms = now_ms;
}
