// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "hashtab.h"
#include "json_shape.h"
#include "lobby.h"
#include "log.h"
#include "meeting.h"
#include "monitor.h"
#include "proto_lobby.h"
#include "server.h"

/* One account some agent reported at some time. */
struct watched {
	struct hashtab_node node;	/* keyed by user id */
	int machines;		/* online agent connections reporting it */
	bool monitored;		/* as last told to lobbies and the store */
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

	n = store_call(srv->store, machines_reset, PROTO_LOBBY_UNMONITORED_DISCONNECTED, now);
	if (n > 0)
		log_info("monitor: %d machine(s) marked offline until their agent reconnects", n);
	r = store_call(srv->store, monitor_reset, PROTO_LOBBY_UNMONITORED_DISCONNECTED, now);
	if (r < 0 || n < 0)
		return r < 0 ? r : n;
	if ((r = store_call(srv->store, monitor_states, &rows)) < 0)
		return r;
	for (size_t i = 0; i < rows.n; i++) {
		struct watched *w = get(rows.v[i].user_id);
		if (w)
			w->reason = reason_of(rows.v[i].reason);
	}
	monitor_list_free(&rows);
	return 0;
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

	if (w && w->machines > 0)
		return true;
	if (ret_reason)
		*ret_reason = w ? w->reason : PROTO_LOBBY_UNMONITORED_NO_AGENT;
	return false;
}

/* ------------------------------------------------------------ transitions */

struct change {
	int64_t user_id;
	bool monitored;
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

/* Store and announce the changes, with the machine's new row, in one transaction. */
static int publish(struct monitor_source *a, const struct change *ch, size_t n, bool machine_online,
		   const char *reason, const char *users_json, bool write_machine)
{
	int64_t now = now_ms();
	struct outbox ob;
	int r;

	if ((r = outbox_begin(&ob)) < 0)
		return r;
	if (write_machine)
		r = store_call(srv->store, machine_state, a->machine_id, machine_online, reason, users_json, now);
	for (size_t i = 0; r == 0 && i < n; i++) {
		struct user u = { 0 };
		char text[256];

		r = store_call(srv->store, monitor_set, ch[i].user_id, ch[i].monitored,
			       ch[i].monitored ? NULL : ch[i].reason, a->machine_id, now);
		if (r == 0 && (r = store_call(srv->store, user_get, ch[i].user_id, &u)) == 0) {
			notice_text(text, sizeof(text), u.name ? u.name : "?", &ch[i], a->machine);
			struct notify nt = { .ob = &ob, .ch = &ch[i], .u = &u, .machine = a->machine, .text = text };
			lobby_foreach_with_user(ch[i].user_id, notify_lobby, &nt);
			r = nt.r;
		}
		user_clear(&u);
	}
	if (n)
		generation++;
	return r == 0 ? outbox_commit(&ob) : (outbox_abort(&ob), r);
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
		if (now == w->monitored)
			continue;
		w->monitored = now;
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
	r = srv->stopping ? 0 : publish(a, ch, nch, false, reason, NULL, !other);
	if (r < 0)
		log_err("monitor: machine '%s': state not stored: %s", a->machine, strerror(-r));
	free(ch);
	return r;
}
