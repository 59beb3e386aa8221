// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <stdlib.h>

#include "conn_quota.h"
#include "hashtab.h"
#include "server.h"

struct holder {
	struct hashtab_node node;	/* keyed by user id */
	uint32_t sockets;
};

static struct hashtab holders;	/* accounts with at least one lobby socket */
static uint64_t lobby_sockets, agent_sockets;

static struct holder *find(int64_t user_id)
{
	struct hashtab_node *n = hashtab_find(&holders, (uint64_t)user_id);

	return n ? hashtab_entry(n, struct holder, node) : NULL;
}

uint32_t conn_quota_user(int64_t user_id)
{
	struct holder *h = find(user_id);

	return h ? h->sockets : 0;
}

unsigned conn_quota_check(int64_t user_id, const char **why)
{
	const struct config *cfg = srv->cfg;
	uint64_t total = lobby_sockets + agent_sockets;
	uint64_t lobby_max =
		cfg->max_connections > cfg->agent_reserved ? cfg->max_connections - cfg->agent_reserved : 0;

	if (total >= cfg->max_connections) {
		*why = "server full";
		return 503;
	}
	if (user_id == 0)
		return 0;
	if (lobby_sockets >= lobby_max) {
		*why = "server full for lobby connections (the rest is kept for agents)";
		return 503;
	}
	if (conn_quota_user(user_id) >= cfg->user_sockets) {
		*why = "too many lobby connections for one account: close some tabs";
		return 429;
	}
	return 0;
}

int conn_quota_add(int64_t user_id)
{
	struct holder *h;

	if (user_id == 0) {
		agent_sockets++;
		return 0;
	}
	h = find(user_id);
	if (!h) {
		h = calloc(1, sizeof(*h));
		if (!h)
			return -ENOMEM;
		if (hashtab_insert(&holders, &h->node, (uint64_t)user_id) < 0) {
			free(h);
			return -ENOMEM;
		}
	}
	h->sockets++;
	lobby_sockets++;
	return 0;
}

void conn_quota_remove(int64_t user_id)
{
	struct holder *h;

	if (user_id == 0) {
		agent_sockets--;
		return;
	}
	if (!(h = find(user_id)))
		return;
	lobby_sockets--;
	if (--h->sockets == 0) {
		hashtab_remove(&holders, &h->node);
		free(h);
	}
}

static void holder_free(struct hashtab_node *n)
{
	free(hashtab_entry(n, struct holder, node));
}

void conn_quota_free(void)
{
	hashtab_clear(&holders, holder_free);
	lobby_sockets = agent_sockets = 0;
}
