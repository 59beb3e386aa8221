/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Live lobbies: for each meeting with at least one open lobby socket (or an
 * event being written), the connections, who is present (with their open
 * attendance row) and the last event offset. Lobbies live in a hash by
 * meeting id (common/hashtab) and are freed when empty.
 *
 * Persist, then broadcast: every lobby event goes through an outbox. Inside
 * a store transaction, outbox_event() has the store allocate the meeting's
 * next offset (event_next_offset: on PostgreSQL a counter row the
 * transaction holds until it commits, so several nodes never share one),
 * serializes the event once and appends it to the store's event log;
 * outbox_commit() queues a notification for the other nodes (cluster.h),
 * commits and only then hands each serialized message to the lobby's
 * connections. If the commit fails nothing is sent and the offsets go back
 * with the rollback, so a client never sees an event that is not on disk,
 * and a reconnecting client can ask for every offset it missed.
 *
 * A lobby's offset is the last one delivered to this node's clients.
 * Events committed by other nodes reach them through lobby_catch_up()
 * (events_since that offset, from the store), which cluster.c calls on
 * their notification; an own event whose offset is not the next one (another
 * node's came in between, not yet notified) catches up the same way first.
 * So the clients of every node see one order, with no gap and no repeat,
 * and a lost notification only delays until the next one.
 *
 * Who is present is a hash of user id -> struct presence per lobby (a
 * common/hashtab, which grows with the lobby), so a join or a leave costs O(1). Arrivals and
 * departures are not announced one by one: each marks its presence entry
 * changed and queues it, and once per lobby_presence_tick the queue becomes
 * one "presence" event (counts, up to PRESENCE_LIST people who came and
 * ids who left) — persisted, then broadcast, like every event. A person
 * who came and went within one tick is not announced at all, unless a
 * snapshot went out in that tick (it may have shown them online): then
 * every queued entry is announced in its current state. A departed
 * entry stays in the hash (sockets 0) until that event is written, which
 * keeps the lobby pinned in the meantime. Without an event loop (the fuzz
 * harness) or while stopping, the queue is written at once.
 *
 * Each lobby also caches what every snapshot shares (lobby_view.c): it is
 * dropped whenever an event or a presence batch changes what it shows.
 *
 * Owns: the table of live lobbies (lobby.c) and each struct lobby in it, with
 * its connection list, presence hash and queue, offsets and tick timer, and
 * each struct outbox while it is open; a lobby's view cache is lobby_view.c's.
 * Callers, on the event-loop thread only: ws_lobby.c (attach, detach,
 * presence), meeting.c, monitor.c and ws_agent.c (events through an outbox),
 * lobby_view.c (reads), api_auth.c (signing out), main.c (the count at stop).
 */
#ifndef SPHINX_LOBBY_H
#define SPHINX_LOBBY_H

#include <stdbool.h>
#include <stdint.h>
#include <jansson.h>
#include <libwebsockets.h>

#include "broadcast.h"
#include "hashtab.h"
#include "store.h"

#define PRESENCE_LIST 20	/* people named in one presence event's joined/left lists */

struct presence {
	int64_t user_id;
	int sockets;		/* 0: left, not yet announced */
	int64_t attendance_id;
	struct conn *conns;	/* the user's sockets in this lobby, linked by conn.peer_next */
	bool announced;		/* the last presence event (or the snapshots) show this person online */
	bool queued;		/* on the lobby's changed list */
	struct hashtab_node node;	/* in lobby.people, keyed by user id */
	struct presence *changed_next;
};

struct lobby_view;

struct lobby {
	int64_t meeting_id;
	char code[16];
	uint64_t offset;	/* last offset delivered to this node's clients (the store allocates them) */
	struct conn **conns;
	size_t n, cap;
	struct hashtab people;	/* struct presence by user id */
	size_t online;		/* entries with sockets > 0 */
	struct presence *changed;	/* queued for the next presence event */
	bool tick_pending;	/* the tick timer is armed (and pins the lobby) */
	bool snapshot_in_tick;	/* a snapshot went out since the last presence event */
	lws_sorted_usec_list_t tick;
	/* retention */
	int64_t chat_count;	/* -1: not loaded */
	struct lobby_view *view;	/* cached snapshot parts, NULL when stale */
	int pins;		/* outboxes holding it */
	struct hashtab_node node;	/* in the live lobbies, keyed by meeting id */
};

/* Find the live lobby of a meeting, or NULL. */
struct lobby *lobby_find(int64_t meeting_id);
/* Find or create (loading the last offset from the store). NULL on error. */
struct lobby *lobby_get(const struct meeting *m);
/* Free the lobby if no connection and no outbox hold it. */
void lobby_gc(struct lobby *l);

int lobby_attach(struct lobby *l, struct conn *c);
void lobby_detach(struct conn *c);

/* The user's presence when they have at least one lobby socket open, else NULL. O(1). */
struct presence *lobby_presence(struct lobby *l, int64_t user_id);
/* The user's entry, online or departed-not-yet-announced, created (sockets 0) when absent. NULL on ENOMEM. */
struct presence *lobby_presence_get(struct lobby *l, int64_t user_id);
/*
 * p->sockets went 0 -> 1 or 1 -> 0: count it and queue it for the next
 * presence event (arming the tick). Entries never announced and gone again
 * are freed at the tick without a word.
 */
void lobby_presence_changed(struct lobby *l, struct presence *p);
/* Drop p from the hash at once (a join that failed before anyone was told). */
void lobby_presence_drop(struct lobby *l, struct presence *p);
/* Write the queued presence changes as one event now (the tick does this). */
void lobby_presence_flush(struct lobby *l);

/* Queue m on every connection of the lobby. */
void lobby_broadcast(struct lobby *l, struct msg *m);
/* Queue m on the organisers' connections only. */
void lobby_broadcast_organisers(struct lobby *l, struct msg *m);
/* Queue m on, then close, every connection of user_id in the lobby (user_id 0: all). */
void lobby_close_user(struct lobby *l, int64_t user_id, struct msg *m, uint16_t code, const char *reason);
/* Close every lobby socket of a user in every lobby (logout). */
void lobby_close_user_everywhere(int64_t user_id, uint16_t code, const char *reason);
/* Call fn for every live lobby the user is present in. */
void lobby_foreach_with_user(int64_t user_id, void (*fn)(struct lobby *l, void *ud), void *ud);
/* Number of live lobbies / connections (for logs). */
size_t lobby_count(void);
/* Call fn for every live lobby (fn must not free it). */
void lobby_foreach(void (*fn)(struct lobby *l, void *ud), void *ud);
/*
 * Deliver to the lobby's clients every stored event after the last one
 * delivered here (audience rules as at commit), in order, and mark its view
 * stale: how events committed by other nodes arrive (cluster.c), and how a
 * gap is filled. 0 or -errno (the store failed: the next call retries).
 */
int lobby_catch_up(struct lobby *l);

struct outbox_item {
	struct lobby *l;
	struct msg *m;
	uint64_t offset;
	enum audience audience;
	bool chat;		/* a chat event: only the cached chat tail goes stale */
};

struct outbox {
	struct outbox_item *items;
	size_t n, cap;
	struct lobby *reserved_l;	/* outbox_reserve()'s lobby, NULL: none */
	uint64_t reserved;
	bool open;
};

/* Begin a store transaction. 0 or -errno. */
int outbox_begin(struct outbox *ob);
/*
 * Allocate now the offset the next outbox_event*() on l in this outbox
 * takes (for a row that records it, e.g. a chat line's). 0 or -errno.
 */
int outbox_reserve(struct outbox *ob, struct lobby *l, uint64_t *ret_offset);
/*
 * Append an event to the lobby's log: sets "type", "v", "offset" and "ts"
 * on body (consumed) and stores it. 0 or -errno (the caller then aborts).
 */
int outbox_event(struct outbox *ob, struct lobby *l, const char *type, json_t *body, int64_t at);
/*
 * The same for one audience: AUDIENCE_ORGANISERS events are stored with the
 * others (they take an offset) but sent, and replayed, to organisers only;
 * other sockets see a gap in the offsets.
 */
int outbox_event_for(struct outbox *ob, struct lobby *l, const char *type, json_t *body, enum audience audience,
		     int64_t at);
/*
 * Notify the other nodes (cluster.h), commit, then deliver: each event in
 * offset order; when an event of another node came in between (its offset
 * is not the lobby's next), the lobby first catches up from the store. On
 * failure rolls back and sends nothing.
 */
int outbox_commit(struct outbox *ob);
/* outbox_commit() keeping @l alive across it (its sockets may close in it). */
int outbox_commit_pinned(struct outbox *ob, struct lobby *l);
void outbox_abort(struct outbox *ob);

#endif
