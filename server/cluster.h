/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Several sphinx-server nodes on one PostgreSQL store: how what one node
 * commits reaches the clients of the others, and what a node holds that
 * must not outlive it.
 *
 * Fan-out. Every transaction that appends lobby events queues, with
 * cluster_notify_*(), a pg_notify on channel "sphinx" (store op notify:
 * sent at commit, in commit order, never for a rollback). Each node LISTENs
 * on one connection of its own (libpq, non-blocking from the connect on:
 * PQconnectStartParams/PQconnectPoll) whose socket is adopted into the lws
 * event loop as a raw file (no thread, no polling): its readiness drives
 * the connect, the LISTEN, then reading the notifications, dispatched by
 * kind. "events of meeting M up to offset O": when this node has a live
 * lobby for M whose last delivered offset is below O, the lobby catches up
 * from the store (lobby_catch_up: events_since, audience rules as at
 * commit). A notification is only a hint: a lost one delays delivery until
 * the next one of that meeting, or until the LISTEN connection comes back
 * (lost: reconnect with backoff, then every live lobby catches up and every
 * account's monitor state is reloaded). A node's own notifications come
 * back to it and are skipped.
 *
 * Bans and meeting end: their notification follows the event's in the same
 * transaction; the other nodes deliver the event, then close the banned
 * user's sockets (or every socket of the meeting) with the same close codes.
 * A sign-out closes the user's lobby sockets on every node (4001).
 *
 * Presence: monitor.c keeps "which accounts this node's agents report" in
 * the store (node_monitors); an account is monitored while any node reports
 * it. A flip is notified ("monitor U"); the others reload that account and
 * their lobby views go stale (monitor_generation()).
 *
 * Nodes: a row per node (name: config node_name) with a heartbeat every
 * CLUSTER_HEARTBEAT_MS. A node whose heartbeat is older than the agent
 * silence window is dead: the first live node to see it claims its row
 * (a conditional DELETE, so once), takes its machines offline ("silent"),
 * closes its open attendance rows at its last heartbeat and drops its
 * monitor reports, announcing every account that is no longer monitored.
 * At start a node releases the rows an earlier run under its name left
 * (reason "disconnected"), never another live node's.
 *
 * On SQLite there is one node: cluster_active() is false, every notify is a
 * no-op, delivery stays local at commit and start-up recovery is main.c's
 * and monitor.c's as before.
 *
 * Owns: the LISTEN connection, its adopted wsi and the heartbeat and
 * reconnect timers. Callers, on the event-loop thread only: main.c
 * (cluster_recover, cluster_start, cluster_stop), lobby.c and meeting.c
 * (notifications), ws.c (the raw protocol's callback in its table).
 */
#ifndef SPHINX_CLUSTER_H
#define SPHINX_CLUSTER_H

#include <stdbool.h>
#include <stdint.h>

#include <libwebsockets.h>

#define CLUSTER_CHANNEL "sphinx"
#define CLUSTER_PROTOCOL "sphinx-cluster"
#define CLUSTER_HEARTBEAT_MS 2000

/* Whether several nodes may share the store (store = postgresql). */
bool cluster_active(void);

/*
 * At start, before serving and before monitor_init(): record this node in
 * the store and release what an earlier run under its name left (machines,
 * attendance rows, monitor reports), announcing the accounts that are no
 * longer monitored. Nothing on SQLite. 0 or -errno.
 */
int cluster_recover(void);

/* Once the lws context exists: connect the LISTEN connection and start the heartbeat. 0 or -errno. */
int cluster_start(void);
/*
 * Stopping, before the lws context goes: release this node's rows now (its
 * agents' accounts unmonitored at once rather than after the silence
 * window) and stop the timers; the context's end closes the connection.
 */
void cluster_stop(void);

/*
 * Queue a notification in the current store transaction (sent when it
 * commits): events of meeting_id up to offset; user_id banned from
 * meeting_id (reason NULL: none); meeting_id ended; user_id made an
 * organiser of meeting_id; user_id's monitor state flipped. 0 (also on SQLite: nothing to do) or -errno.
 */
int cluster_notify_events(int64_t meeting_id, uint64_t offset);
int cluster_notify_ban(int64_t meeting_id, int64_t user_id, const char *reason);
int cluster_notify_end(int64_t meeting_id);
int cluster_notify_organiser(int64_t meeting_id, int64_t user_id);
/* user_id signed out: the other nodes close their lobby sockets (sent at once outside a transaction) */
int cluster_notify_signout(int64_t user_id);
int cluster_notify_monitor(int64_t user_id);
/* the central policy of group grp (NULL: of any group, or a machine changed group) changed: the other
 * nodes offer their agents the new bundle (policy_admin_changed; sent at once outside a transaction) */
int cluster_notify_policy(const char *grp);

/* The raw protocol of the adopted LISTEN socket (ws.c's protocol table). */
int cluster_lws_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len);

#endif
