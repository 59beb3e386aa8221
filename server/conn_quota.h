/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Who holds how many WebSocket connections, so no one account and no
 * flood of lobby sockets can take the slots the agents need.
 *
 * - max_connections bounds every socket together;
 * - lobby sockets may use all but agent_reserved of them: a lobby flood
 *   never locks the agents out (agents may also use the whole pool);
 * - one account holds at most user_sockets lobby sockets across all
 *   meetings (lobby_user_sockets still bounds one meeting).
 *
 * The per-account counts live in a hash of small entries, one per account
 * with an open lobby socket, freed when its last socket closes: O(1) per
 * upgrade and close, memory proportional to the people connected.
 *
 * Owns: the per-account hash and the lobby and agent socket counts (file
 * statics in conn_quota.c). Callers: ws.c (check at the upgrade, add once
 * established, remove at close) and main.c (conn_quota_free() at exit), all
 * on the event-loop thread.
 */
#ifndef SPHINX_CONN_QUOTA_H
#define SPHINX_CONN_QUOTA_H

#include <stdbool.h>
#include <stdint.h>

/*
 * May a new lobby socket (user_id > 0) or agent socket (user_id 0) be
 * accepted now? 0, or the HTTP status to refuse the upgrade with and *why.
 */
unsigned conn_quota_check(int64_t user_id, const char **why);

/* Count an accepted socket / forget a closed one (same user_id as checked). 0 or -ENOMEM. */
int conn_quota_add(int64_t user_id);
void conn_quota_remove(int64_t user_id);

/* Lobby sockets held by one account now. */
uint32_t conn_quota_user(int64_t user_id);

void conn_quota_free(void);

#endif
