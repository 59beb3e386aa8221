// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "cluster.h"
#include "hashtab.h"
#include "json_shape.h"
#include "lobby.h"
#include "log.h"
#include "meeting.h"
#include "drain.h"
#include "monitor.h"
#include "proto_lobby.h"
#include "server.h"

/* One account some agent reported at some time. */
struct watched {
	struct hashtab_node node;	/* keyed by user id */
	int machines;		/* online agent connections of this node reporting it */
	bool local;		/* machines > 0 as last written to the store (this node reports it) */
	bool global;		/* the store's state: some node reports it (one node: local) */
	const char *reason;	/* a PROTO_LOBBY_UNMONITORED_* when not monitored */
};

/* user id -> struct watched */
static struct hashtab watched;
/* the online sources, newest first */
static struct monitor_source *online;
static uint64_t generation;	/* monitored-state flips so far */

uint64_t monitor_generation(void) { return generation; }

static struct watched *find(int64_t user_id)
{
	struct hashtab_node *n = hashtab_find(&watched, (uint64_t)user_id);

	return n ? hashtab_entry(n, struct watched, node) : NULL;
}

static struct watched *get(int64_t user_id)
{
	struct watched *w = find(user_id);

	if (w)
		return w;
	w = calloc(1, sizeof(*w));
	if (!w)
		return NULL;
	w->reason = PROTO_LOBBY_UNMONITORED_NO_AGENT;
	if (hashtab_insert(&watched, &w->node, (uint64_t)user_id) < 0) {
		free(w);
		return NULL;
	}
	return w;
}

/* Map a stored reason to our static strings (unknown text: no_agent). */
static const char *reason_of(const char *s)
{
	static const char *const known[] = { PROTO_LOBBY_UNMONITORED_SHUTDOWN, PROTO_LOBBY_UNMONITORED_SILENT,
					     PROTO_LOBBY_UNMONITORED_DISCONNECTED, PROTO_LOBBY_UNMONITORED_NO_AGENT };

	for (size_t i = 0; s && i < ARRAY_SIZE(known); i++)
		if (strcmp(s, known[i]) == 0)
			return known[i];
	return PROTO_LOBBY_UNMONITORED_NO_AGENT;
}

int monitor_init(void)
{
	int64_t now = now_ms();
	struct monitor_list rows = { 0 };
	int n, r;

	/* several nodes: cluster_recover() released this node's rows, the others' are theirs */
	if (!cluster_active()) {
		n = store_call(srv->store, machines_reset, PROTO_LOBBY_UNMONITORED_DISCONNECTED, now);
		if (n > 0)
			log_info("monitor: %d machine(s) marked offline until their agent reconnects", n);
		r = store_call(srv->store, monitor_reset, PROTO_LOBBY_UNMONITORED_DISCONNECTED, now);
		if (r < 0 || n < 0)
			return r < 0 ? r : n;
	}
	if ((r = store_call(srv->store, monitor_states, &rows)) < 0)
		return r;
	for (size_t i = 0; i < rows.n; i++) {
		struct watched *w = get(rows.v[i].user_id);
		if (w) {
			w->reason = reason_of(rows.v[i].reason);
			w->global = rows.v[i].monitored;
		}
	}
	monitor_list_free(&rows);
	return 0;
}

void monitor_refresh(int64_t user_id)
{
	struct monitor_row row;
	struct watched *w;

	if (store_call(srv->store, monitor_get, user_id, &row) < 0)
		return;	/* the next notification, or the LISTEN reconnect, reloads it */
	w = get(user_id);
	if (w && (w->global != row.monitored || w->reason != reason_of(row.reason))) {
		w->global = row.monitored;
		w->reason = reason_of(row.reason);
		generation++;
	}
	free(row.reason);
}

void monitor_refresh_all(void)
{
	struct monitor_list rows = { 0 };

	if (store_call(srv->store, monitor_states, &rows) < 0)
		return;
	for (size_t i = 0; i < rows.n; i++) {
		struct watched *w = get(rows.v[i].user_id);
		if (w) {
			w->global = rows.v[i].monitored;
			w->reason = reason_of(rows.v[i].reason);
		}
	}
	generation++;
	monitor_list_free(&rows);
}

static void free_watched(struct hashtab_node *n)
{
	free(hashtab_entry(n, struct watched, node));
}

void monitor_free(void)
{
	hashtab_clear(&watched, free_watched);
}

bool monitor_user_is_monitored(int64_t user_id, const char **ret_reason)
{
	struct watched *w = find(user_id);

	if (w && (w->machines > 0 || w->global))
		return true;
	if (ret_reason)
		*ret_reason = w ? w->reason : PROTO_LOBBY_UNMONITORED_NO_AGENT;
	return false;
}

/* ------------------------------------------------------------ transitions */

struct change {
	int64_t user_id;
	bool monitored;		/* this node reports it (recount); after settle_one, the store's state */
	bool flipped;		/* the store's state flipped: announce it */
	const char *reason;
};

struct notify {
	struct outbox *ob;
	const struct change *ch;
	const struct user *u;
	const char *machine;
	const char *text;
	int r;
};

static void notify_lobby(struct lobby *l, void *ud)
{
	struct notify *n = ud;
	int64_t at = now_ms(), chat_id;
	json_t *who;

	if (n->r < 0)
		return;
	who = user_public_json(n->u);
	n->r = outbox_event(n->ob, l, PROTO_LOBBY_EV_MONITOR,
			    json_pack("{s:o, s:b, s:s?, s:s}", "user", json_incref(who), "monitored", n->ch->monitored,
				      "reason", n->ch->monitored ? NULL : n->ch->reason, "machine", n->machine), at);
	if (n->r == 0)
		n->r = store_call(srv->store, chat_add_system, l->meeting_id, n->u->id, n->text, AUDIENCE_ORGANISERS,
				  at, &chat_id);
	if (n->r == 0)
		n->r = outbox_event_for(n->ob, l, PROTO_LOBBY_MSG_CHAT,
					json_pack("{s:I, s:s, s:n, s:O, s:s}", "id", (json_int_t)chat_id, "kind",
						  "system", "user", "about", who, "text", n->text),
					AUDIENCE_ORGANISERS, at);
	json_decref(who);
}

static void notice_text(char *buf, size_t len, const char *name, const struct change *ch, const char *machine)
{
	const char *why;

	if (ch->monitored) {
		snprintf(buf, len, "%s is monitored (agent on %s).", name, machine);
		return;
	}
	if (strcmp(ch->reason, PROTO_LOBBY_UNMONITORED_SHUTDOWN) == 0)
		why = "was stopped (clean shutdown)";
	else if (strcmp(ch->reason, PROTO_LOBBY_UNMONITORED_SILENT) == 0)
		why = "went silent (no heartbeat)";
	else if (strcmp(ch->reason, PROTO_LOBBY_UNMONITORED_DISCONNECTED) == 0)
		why = "disconnected";
	else
		why = "no longer reports them (logged out)";
	snprintf(buf, len, "%s is no longer monitored: the agent on %s %s.", name, machine, why);
}

/*
 * A "monitor" event and an organisers' notice in every ongoing meeting
 * where the account has an open attendance row, on whichever node (the
 * store says where), and a notification for the other nodes' caches.
 */
static int announce(struct outbox *ob, const struct change *ch, const char *machine)
{
	struct id_list meetings = { 0 };
	struct user u = { 0 };
	char text[256];
	int r;

	if ((r = store_call(srv->store, user_get, ch->user_id, &u)) < 0 ||
	    (r = store_call(srv->store, attendance_open_meetings, ch->user_id, &meetings)) < 0) {
		user_clear(&u);
		return r;
	}
	notice_text(text, sizeof(text), u.name ? u.name : "?", ch, machine);
	struct notify nt = { .ob = ob, .ch = ch, .u = &u, .machine = machine, .text = text };
	for (size_t i = 0; nt.r == 0 && i < meetings.n; i++) {
		struct meeting m = { 0 };
		struct lobby *l;

		if ((nt.r = store_call(srv->store, meeting_get, meetings.v[i], &m)) < 0)
			break;
		l = lobby_get(&m);	/* live here or not: the outbox pins it until the commit */
		meeting_clear(&m);
		if (!l) {
			nt.r = -ENOMEM;
			break;
		}
		notify_lobby(l, &nt);
		lobby_gc(l);
	}
	r = nt.r;
	if (r == 0)
		r = cluster_notify_monitor(ch->user_id);
	id_list_free(&meetings);
	user_clear(&u);
	return r;
}

static int by_user(const void *a, const void *b)
{
	const struct change *x = a, *y = b;

	return (x->user_id > y->user_id) - (x->user_id < y->user_id);
}

/*
 * Settle each account's stored state after this node's reports changed
 * (ch[i].monitored: whether this node reports it now), in ascending account
 * order (the store locks each account's row), and announce those that
 * flipped. ch[i] then holds the stored state.
 */
static int settle(struct outbox *ob, struct change *ch, size_t n, int64_t machine_id, const char *machine,
		  bool write_local)
{
	int64_t now = now_ms();
	int r = 0;

	qsort(ch, n, sizeof(*ch), by_user);
	for (size_t i = 0; r == 0 && write_local && i < n; i++)
		r = store_call(srv->store, monitor_local, ch[i].user_id, ch[i].monitored, machine_id);
	for (size_t i = 0; r == 0 && i < n; i++) {
		bool now_on = ch[i].monitored;
		r = store_call(srv->store, monitor_settle, ch[i].user_id, ch[i].monitored, ch[i].reason, machine_id,
			       now, &now_on);
		ch[i].flipped = r > 0;
		ch[i].monitored = now_on;
		if (r > 0)
			r = 0;
	}
	for (size_t i = 0; r == 0 && i < n; i++)
		if (ch[i].flipped)
			r = announce(ob, &ch[i], machine);
	return r;
}

/* The stored states settle() left, into the cache (or, when the store failed, this node's view). */
static void cache_settled(const struct change *ch, size_t n, bool ok)
{
	for (size_t i = 0; i < n; i++) {
		struct watched *w = find(ch[i].user_id);
		if (!w)
			continue;
		w->global = ok ? ch[i].monitored : w->machines > 0;
		w->reason = ch[i].monitored ? w->reason : ch[i].reason;
	}
	if (n)
		generation++;
}

/* Store and announce the changes, with the machine's new row, in one transaction. */
static int publish(struct monitor_source *a, struct change *ch, size_t n, bool machine_online,
		   const char *reason, const char *users_json, bool write_machine)
{
	struct outbox ob;
	int r;

	if ((r = outbox_begin(&ob)) < 0) {
		cache_settled(ch, n, false);
		return r;
	}
	if (write_machine)
		r = store_call(srv->store, machine_state, a->machine_id, machine_online, reason, users_json, now_ms());
	if (r == 0)
		r = settle(&ob, ch, n, a->machine_id, a->machine, true);
	r = r == 0 ? outbox_commit(&ob) : (outbox_abort(&ob), r);
	cache_settled(ch, n, r == 0);
	return r;
}

void monitor_reassert(void)
{
	for (struct monitor_source *a = online; a; a = a->next) {
		struct change *ch = calloc(a->nuids + 1, sizeof(*ch));
		int r;

		if (!ch)
			return;
		for (uint32_t i = 0; i < a->nuids; i++)
			ch[i] = (struct change){ .user_id = a->uids[i], .monitored = true };
		r = publish(a, ch, a->nuids, true, NULL, NULL, true);
		if (r < 0)
			log_err("monitor: machine '%s': state not stored again: %s", a->machine, strerror(-r));
		free(ch);
	}
}

int monitor_settle_released(struct outbox *ob, const int64_t *uids, size_t n, const char *reason, const char *who)
{
	struct change *ch = calloc(n + 1, sizeof(*ch));
	char machine[96];
	int r;

	if (!ch)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		struct watched *w = find(uids[i]);
		/* this node's own reports stand (another node's release does not touch them) */
		ch[i] = (struct change){ .user_id = uids[i], .monitored = w && w->machines > 0, .reason = reason };
	}
	snprintf(machine, sizeof(machine), "node %s", who);
	r = settle(ob, ch, n, 0, machine, false);
	/* the commit may still fail: then the next sweep or start does it again, and the cache reloads */
	cache_settled(ch, n, r == 0);
	for (size_t i = 0; r == 0 && i < n; i++)
		if (ch[i].flipped)
			log_info("monitor: user %lld unmonitored (%s, %s released)", (long long)ch[i].user_id, reason,
				 machine);
	free(ch);
	return r;
}

static bool contains(const int64_t *v, size_t n, int64_t x)
{
	for (size_t i = 0; i < n; i++)
		if (v[i] == x)
			return true;
	return false;
}

/* Whether a source other than a keeps a's machine online (a newer connection that said hello). */
static bool machine_online_elsewhere(const struct monitor_source *a)
{
	for (const struct monitor_source *o = online; o; o = o->next)
		if (o != a && o->machine_id == a->machine_id)
			return true;
	return false;
}

static void online_link(struct monitor_source *a, bool now_online)
{
	if (a->online == now_online)
		return;
	if (now_online) {
		a->prev = NULL;
		a->next = online;
		if (online)
			online->prev = a;
		online = a;
	} else {
		if (a->prev)
			a->prev->next = a->next;
		else
			online = a->next;
		if (a->next)
			a->next->prev = a->prev;
		a->prev = a->next = NULL;
	}
	a->online = now_online;
}

/*
 * Replace a's counted accounts (old: a->uids when online) by uids[0..n)
 * when online, none when not; collect the accounts whose monitored state
 * flipped into *ret_ch.
 */
static int recount(struct monitor_source *a, bool online_now, int64_t *uids, size_t n, const char *reason,
		   struct change **ret_ch, size_t *ret_n)
{
	size_t nold = a->online ? a->nuids : 0, nch = 0;
	struct change *ch = calloc(nold + n + 1, sizeof(*ch));
	int64_t *old = a->uids;

	if (!ch)
		return -ENOMEM;
	for (size_t i = 0; i < nold; i++) {
		struct watched *w = find(old[i]);
		if (w)
			w->machines--;
	}
	for (size_t i = 0; online_now && i < n; i++) {
		struct watched *w = get(uids[i]);
		if (w)
			w->machines++;
	}
	/* every account in old or new, once */
	for (size_t i = 0; i < nold + n; i++) {
		int64_t uid = i < nold ? old[i] : uids[i - nold];
		struct watched *w = find(uid);
		if (!w || (i >= nold && contains(old, nold, uid)))
			continue;
		bool now = w->machines > 0;
		if (now == w->local)
			continue;
		w->local = now;
		/* still online but no longer listed: the user logged out of this machine */
		w->reason = now ? w->reason : online_now ? PROTO_LOBBY_UNMONITORED_NO_AGENT : reason;
		ch[nch++] = (struct change){ .user_id = uid, .monitored = now, .reason = w->reason };
	}
	free(a->uids);
	a->uids = online_now ? uids : NULL;
	a->nuids = online_now ? (uint32_t)n : 0;
	if (!online_now)
		free(uids);
	online_link(a, online_now);
	*ret_ch = ch;
	*ret_n = nch;
	return 0;
}

static void log_changes(const struct monitor_source *a, const struct change *ch, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (ch[i].monitored)
			log_info("monitor: user %lld monitored (machine '%s')", (long long)ch[i].user_id, a->machine);
		else
			log_info("monitor: user %lld unmonitored (%s, machine '%s')", (long long)ch[i].user_id,
				 ch[i].reason, a->machine);
	}
}

int monitor_online(struct monitor_source *a, int64_t *uids, size_t n, const char *users_json)
{
	bool was = a->online;
	struct change *ch = NULL;
	size_t nch = 0;
	int r;

	if ((r = recount(a, true, uids, n, NULL, &ch, &nch)) < 0) {
		free(uids);
		return r;
	}
	if (!was)
		log_info("monitor: machine '%s' online", a->machine);
	log_changes(a, ch, nch);
	r = srv->stopping ? 0 : publish(a, ch, nch, true, NULL, users_json, true);
	if (r < 0)
		log_err("monitor: machine '%s': state not stored: %s", a->machine, strerror(-r));
	free(ch);
	return r;
}

int monitor_offline(struct monitor_source *a, const char *reason)
{
	struct change *ch = NULL;
	size_t nch = 0;
	bool other;
	int r;

	if (!a->online)
		return 0;
	if ((r = recount(a, false, NULL, 0, reason, &ch, &nch)) < 0)
		return r;
	/* a newer connection of the same machine (reconnected before this one timed out) keeps it online */
	other = machine_online_elsewhere(a);
	if (!other)
		log_info("monitor: machine '%s' offline (%s)", a->machine, reason);
	log_changes(a, ch, nch);
	/*
	 * Stopping, or draining (its agents are moving to other nodes): what
	 * this node reported stays stored until it releases its rows at exit
	 * (cluster_stop; on one node, the next start's reset), by which time
	 * the agent reports to another node: no spurious "unmonitored" flip.
	 */
	r = srv->stopping || drain_active() ? 0 : publish(a, ch, nch, false, reason, NULL, !other);
	if (r < 0)
		log_err("monitor: machine '%s': state not stored: %s", a->machine, strerror(-r));
	free(ch);
	return r;
}
