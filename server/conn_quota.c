// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <stdlib.h>

#include "conn_quota.h"
#include "server.h"

#define BUCKETS 4096

struct holder {
	int64_t user_id;
	uint32_t sockets;
	struct holder *next;
};

static struct holder *table[BUCKETS];
static uint64_t lobby_sockets, agent_sockets;

static unsigned bucket(int64_t id) { return (unsigned)(((uint64_t)id * 0x9E3779B97F4A7C15ull) >> 52) % BUCKETS; }

static struct holder **find(int64_t user_id)
{
	struct holder **pp = &table[bucket(user_id)];

	while (*pp && (*pp)->user_id != user_id)
		pp = &(*pp)->next;
	return pp;
}

uint32_t conn_quota_user(int64_t user_id)
{
	struct holder *h = *find(user_id);
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
	struct holder **pp, *h;

	if (user_id == 0) {
		agent_sockets++;
		return 0;
	}
	pp = find(user_id);
	if (!*pp) {
		h = calloc(1, sizeof(*h));
		if (!h)
			return -ENOMEM;
		h->user_id = user_id;
		*pp = h;
	}
	(*pp)->sockets++;
	lobby_sockets++;
	return 0;
}

void conn_quota_remove(int64_t user_id)
{
	struct holder **pp, *h;

	if (user_id == 0) {
		agent_sockets--;
		return;
	}
	pp = find(user_id);
	if (!(h = *pp))
		return;
	lobby_sockets--;
	if (--h->sockets == 0) {
		*pp = h->next;
		free(h);
	}
}

void conn_quota_free(void)
{
	for (unsigned b = 0; b < BUCKETS; b++) {
		while (table[b]) {
			struct holder *h = table[b];
			table[b] = h->next;
			free(h);
		}
	}
	lobby_sockets = agent_sockets = 0;
}
