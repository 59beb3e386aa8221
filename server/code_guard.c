// SPDX-License-Identifier: GPL-2.0-only
#include <inttypes.h>
#include <stdio.h>

#include "code_guard.h"
#include "log.h"
#include "ratelimit.h"
#include "server.h"

/* After the allowance, one more unknown code every this many seconds. */
#define ACCOUNT_REFILL_S 360.0
#define ADDRESS_REFILL_S 60.0

static struct rate_rule account_rule(void)
{
	return (struct rate_rule){ "code guesses per account", 1.0 / ACCOUNT_REFILL_S,
				   (double)srv->cfg->join_attempts, true };
}

static struct rate_rule address_rule(void)
{
	return (struct rate_rule){ "code guesses per address", 1.0 / ADDRESS_REFILL_S,
				   (double)srv->cfg->join_attempts_address, true };
}

static void key_of(char *buf, size_t len, int64_t user_id)
{
	snprintf(buf, len, "code:u:%" PRId64, user_id);
}

int64_t code_guard_wait(int64_t user_id, const char *addr, int64_t now)
{
	struct rate_rule ar = account_rule(), pr = address_rule();
	int64_t wait = 0, w;
	char key[80];

	if (user_id) {
		key_of(key, sizeof(key), user_id);
		if (!ratelimit_peek(&ar, key, now, &w) && w > wait)
			wait = w;
	}
	if (addr && *addr) {
		snprintf(key, sizeof(key), "code:a:%s", addr);
		if (!ratelimit_peek(&pr, key, now, &w) && w > wait)
			wait = w;
	}
	return wait;
}

void code_guard_miss(int64_t user_id, const char *addr, int64_t now)
{
	struct rate_rule ar = account_rule(), pr = address_rule();
	char key[80];

	if (user_id) {
		key_of(key, sizeof(key), user_id);
		if (ratelimit_take(&ar, key, now, NULL) && !ratelimit_peek(&ar, key, now, NULL))
			log_warn("meetings: user %" PRId64
				 " named %llu unknown meeting codes: limited to one every %.0f s",
				 user_id, (unsigned long long)srv->cfg->join_attempts, ACCOUNT_REFILL_S);
	}
	if (addr && *addr) {
		snprintf(key, sizeof(key), "code:a:%s", addr);
		if (ratelimit_take(&pr, key, now, NULL) && !ratelimit_peek(&pr, key, now, NULL))
			log_warn("meetings: address %s named %llu unknown meeting codes: limited to one every %.0f s",
				 addr, (unsigned long long)srv->cfg->join_attempts_address, ADDRESS_REFILL_S);
	}
}
