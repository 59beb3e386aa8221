/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Who is monitored: which accounts an online agent reports, and which
 * machines are online. (Who has a lobby open is lobby.h's struct presence,
 * another matter.)
 *
 * A machine is online while one of its agent connections has said hello
 * and keeps talking (heartbeats or events, checked by a timer per
 * connection in ws_agent.c). A connection goes offline for one of three
 * reasons: "shutdown" (the agent said goodbye), "silent" (no message for
 * agent_missed_heartbeats heartbeat intervals: killed -9, frozen, network
 * cut with no FIN) or "disconnected" (the socket closed without a
 * goodbye). The machine is offline when its last online connection is.
 *
 * Each agent reports the local users with a graphical login session on its
 * machine (hello.users, then users messages); ws_agent.c maps them to
 * accounts with agent_user_map and hands the account ids here. An account
 * is monitored while at least one online connection reports it.
 *
 * What this module owns: every struct monitor_source (one per agent
 * connection, embedded in ws_agent.c's connection state, its fields
 * written here only) and the list of the online ones, which answers "does
 * another connection keep this machine online"; and a table
 * (common/hashtab.h) of small entries, one per account any agent ever
 * reported (loaded from the store at start), counting the online sources
 * that report it, so "is Alice monitored" is O(1) for snapshots of large
 * lobbies. It knows nothing of sockets. Callers, on the event-loop thread
 * only: ws_agent.c (online, offline), lobby_view.c (is this account
 * monitored), main.c (init, free), cluster.c (refresh, released reports).
 *
 * Several nodes share the store (cluster.h): the counts above are this
 * node's; the store holds which node reports which account (monitor_local)
 * and the account's state, monitored while any node reports it
 * (monitor_settle, which locks the account's row so two nodes' flips are
 * serialised). The cache keeps that stored state too (global), refreshed
 * when another node notifies a flip; an account is monitored here while
 * this node reports it or the store says another does. On SQLite (one
 * node) the stored state is this node's.
 *
 * When this node's report of an account flips, in one store transaction:
 * the machine's row (online, reason, users), this node's report, the
 * account's settled state and, when that flipped, in every ongoing meeting
 * where the user has an open attendance row (on any node, as the store
 * says), a "monitor" event (to everyone) and a system chat notice (to
 * organisers only), persisted, then broadcast, like every lobby event, and
 * a notification for the other nodes. Each transition is logged once.
 *
 * Unmonitored reasons are the PROTO_LOBBY_UNMONITORED_* of proto_lobby.h:
 * "no_agent" (no agent ever reported the user, or the user logged out of
 * the machine), "shutdown", "silent", "disconnected".
 */
#ifndef SPHINX_MONITOR_H
#define SPHINX_MONITOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

/* One agent connection as this module sees it. The caller zeroes it and sets machine_id and machine. */
struct monitor_source {
	int64_t machine_id;
	const char *machine;	/* the enrolled name, for logs and notices; outlives the source */
	/* monitor.c's */
	bool online;		/* said hello, not silent, no goodbye */
	int64_t *uids;		/* the accounts it reports while online */
	uint32_t nuids;
	struct monitor_source *prev, *next;	/* in the list of online sources */
};

/*
 * At server start: machines and accounts the store still marks online (the
 * server stopped or crashed under them) become offline, "disconnected",
 * until their agent says hello again; then the per-account states are
 * loaded. 0 or -errno.
 */
int monitor_init(void);
void monitor_free(void);

/* Whether the account is monitored now; when not, *ret_reason (static string) says why. */
bool monitor_user_is_monitored(int64_t user_id, const char **ret_reason);
/* Grows by one whenever someone's monitored state flips: a cache of
 * monitored states (lobby_view.c's people parts) built at another value is stale. */
uint64_t monitor_generation(void);

/* Several nodes (cluster.c): reload one account's stored state (another node flipped it), or every one's. */
void monitor_refresh(int64_t user_id);
void monitor_refresh_all(void);

/*
 * This node's rows were released by another node that took it for dead
 * (cluster.c): write every online source's machine and reports again,
 * announcing the accounts that flip back to monitored.
 */
void monitor_reassert(void);

struct outbox;
/*
 * A node's monitor reports for the accounts uids[0..n) (ascending) were
 * dropped (cluster.c: a dead node, or this node's earlier run): settle each
 * account's stored state in ob's transaction and announce those no longer
 * monitored by any node, with reason, "the agent on node <who>". 0 or -errno.
 */
int monitor_settle_released(struct outbox *ob, const int64_t *uids, size_t n, const char *reason, const char *who);

/*
 * The source is online and reports the accounts uids[0..n) (distinct,
 * non-zero; the array is taken over and freed by this module, also on
 * failure) and the local users users_json (JSON array text, stored with the
 * machine; NULL keeps the stored list). Called at hello and for every
 * users message. 0 or -errno (store failure: logged, the in-memory state
 * is kept).
 */
int monitor_online(struct monitor_source *src, int64_t *uids, size_t n, const char *users_json);
/*
 * The source is offline for reason (a PROTO_LOBBY_UNMONITORED_* string
 * literal). Idempotent: nothing when it is not online. Must be called
 * before the source's memory goes. 0 or -errno (logged).
 */
int monitor_offline(struct monitor_source *src, const char *reason);

#endif
