// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cluster.h"
#include "lobby.h"
#include "lobby_view.h"
#include "log.h"
#include "proto_lobby.h"
#include "server.h"

/* Every live lobby, by meeting id. */
static struct hashtab lobbies;

#define lobby_of(n) hashtab_entry(n, struct lobby, node)
#define presence_of(n) hashtab_entry(n, struct presence, node)

struct lobby *lobby_find(int64_t meeting_id)
{
	struct hashtab_node *n = hashtab_find(&lobbies, (uint64_t)meeting_id);

	return n ? lobby_of(n) : NULL;
}

struct lobby *lobby_get(const struct meeting *m)
{
	struct lobby *l = lobby_find(m->id);

	if (l)
		return l;
	l = calloc(1, sizeof(*l));
	if (!l)
		return NULL;
	if (store_call(srv->store, event_last_offset, m->id, &l->offset) < 0) {
		free(l);
		return NULL;
	}
	l->meeting_id = m->id;
	l->chat_count = -1;
	memcpy(l->code, m->code, sizeof(l->code));
	if (hashtab_insert(&lobbies, &l->node, (uint64_t)m->id) < 0) {
		free(l);
		return NULL;
	}
	return l;
}

static void presence_free_node(struct hashtab_node *n)
{
	free(presence_of(n));
}

void lobby_gc(struct lobby *l)
{
	if (!l || l->n || l->pins || l->tick_pending)
		return;
	hashtab_remove(&lobbies, &l->node);
	hashtab_clear(&l->people, presence_free_node);
	lobby_view_free(l);
	free(l->conns);
	free(l);
}

size_t lobby_count(void)
{
	return hashtab_count(&lobbies);
}

void lobby_foreach(void (*fn)(struct lobby *l, void *ud), void *ud)
{
	hashtab_for_each(&lobbies, n)
		fn(lobby_of(n), ud);
}

int lobby_attach(struct lobby *l, struct conn *c)
{
	if (l->n == l->cap) {
		size_t ncap = l->cap ? l->cap * 2 : 8;
		struct conn **nc = realloc(l->conns, ncap * sizeof(*nc));
		if (!nc)
			return -ENOMEM;
		l->conns = nc;
		l->cap = ncap;
	}
	c->lobby = l;
	c->slot = l->n;
	l->conns[l->n++] = c;
	return 0;
}

void lobby_detach(struct conn *c)
{
	struct lobby *l = c->lobby;

	if (!l)
		return;
	/* swap-remove: O(1) */
	l->conns[c->slot] = l->conns[--l->n];
	l->conns[c->slot]->slot = c->slot;
	c->lobby = NULL;
}

/* ---------------------------------------------------------------- presence */

static struct presence *pfind(struct lobby *l, int64_t user_id)
{
	struct hashtab_node *n = hashtab_find(&l->people, (uint64_t)user_id);

	return n ? presence_of(n) : NULL;
}

struct presence *lobby_presence(struct lobby *l, int64_t user_id)
{
	struct presence *p = pfind(l, user_id);

	return p && p->sockets > 0 ? p : NULL;
}

struct presence *lobby_presence_get(struct lobby *l, int64_t user_id)
{
	struct presence *p = pfind(l, user_id);

	if (p)
		return p;
	p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->user_id = user_id;
	if (hashtab_insert(&l->people, &p->node, (uint64_t)user_id) < 0) {
		free(p);
		return NULL;
	}
	return p;
}

void lobby_presence_drop(struct lobby *l, struct presence *p)
{
	if (!p || p->sockets > 0 || p->queued || p->announced)
		return;		/* someone else holds it, or the others were told */
	hashtab_remove(&l->people, &p->node);
	free(p);
}

static void tick(lws_sorted_usec_list_t *sul)
{
	struct lobby *l = lws_container_of(sul, struct lobby, tick);

	l->tick_pending = false;
	lobby_presence_flush(l);
	lobby_gc(l);
}

void lobby_presence_changed(struct lobby *l, struct presence *p)
{
	if (p->sockets > 0)
		l->online++;
	else
		l->online--;
	if (!p->queued) {
		p->queued = true;
		p->changed_next = l->changed;
		l->changed = p;
	}
	if (!srv->ctx || srv->stopping) {
		lobby_presence_flush(l);	/* no loop to wait on (fuzz harness) or none for long */
		return;
	}
	if (!l->tick_pending) {
		l->tick_pending = true;
		lws_sul_schedule(srv->ctx, 0, &l->tick, tick,
				 (lws_usec_t)srv->cfg->lobby_presence_tick_ms * LWS_US_PER_MS);
	}
}

void lobby_presence_flush(struct lobby *l)
{
	int64_t joined[PRESENCE_LIST], left[PRESENCE_LIST];
	size_t nj = 0, nl = 0, more_j = 0, more_l = 0;
	struct presence *p, *next;
	struct outbox ob;
	json_t *body;
	int r;

	if (l->tick_pending) {
		lws_sul_cancel(&l->tick);
		l->tick_pending = false;
	}
	for (p = l->changed; p; p = p->changed_next) {
		bool on = p->sockets > 0;
		if (on == p->announced && !l->snapshot_in_tick)
			continue;	/* came and went (or went and came back) within the tick, and nobody saw it */
		if (on && nj < PRESENCE_LIST)
			joined[nj++] = p->user_id;
		else if (on)
			more_j++;
		else if (nl < PRESENCE_LIST)
			left[nl++] = p->user_id;
		else
			more_l++;
	}
	if (nj + nl) {
		body = lobby_view_presence(l, joined, nj, more_j, left, nl, more_l);
		r = body ? outbox_begin(&ob) : -ENOMEM;
		if (r == 0) {
			r = outbox_event(&ob, l, PROTO_LOBBY_EV_PRESENCE, body, now_ms());
			body = NULL;
			r = r == 0 ? outbox_commit_pinned(&ob, l) : (outbox_abort(&ob), r);
		}
		json_decref(body);
		if (r < 0)
			log_err("lobby %s: presence change (%zu in, %zu out) not stored: %s", l->code, nj + more_j,
				nl + more_l, strerror(-r));
	}
	l->snapshot_in_tick = false;
	/* told (or failed to tell: a client that resyncs gets a snapshot): settle every entry */
	for (p = l->changed, l->changed = NULL; p; p = next) {
		next = p->changed_next;
		p->queued = false;
		p->changed_next = NULL;
		p->announced = p->sockets > 0;
		if (p->sockets == 0) {
			hashtab_remove(&l->people, &p->node);
			free(p);
		}
	}
	lobby_view_stale(l, false);
}

void lobby_broadcast(struct lobby *l, struct msg *m)
{
	/* conn_send may close a slow client, but never detaches it here */
	for (size_t i = 0; i < l->n; i++)
		conn_send(l->conns[i], m);
}

void lobby_broadcast_organisers(struct lobby *l, struct msg *m)
{
	for (size_t i = 0; i < l->n; i++)
		if (l->conns[i]->organiser)
			conn_send(l->conns[i], m);
}

void lobby_close_user(struct lobby *l, int64_t user_id, struct msg *m, uint16_t code, const char *reason)
{
	for (size_t i = 0; i < l->n; i++) {
		struct conn *c = l->conns[i];
		if (user_id && c->user_id != user_id)
			continue;
		if (m)
			conn_send(c, m);
		conn_close(c, code, reason);
	}
}

void lobby_close_user_everywhere(int64_t user_id, uint16_t code, const char *reason)
{
	hashtab_for_each(&lobbies, n)
		if (lobby_presence(lobby_of(n), user_id))
			lobby_close_user(lobby_of(n), user_id, NULL, code, reason);
}

void lobby_foreach_with_user(int64_t user_id, void (*fn)(struct lobby *l, void *ud), void *ud)
{
	hashtab_for_each(&lobbies, n)
		if (lobby_presence(lobby_of(n), user_id))
			fn(lobby_of(n), ud);
}

/* ------------------------------------------------------------------ outbox */

int outbox_begin(struct outbox *ob)
{
	int r;

	memset(ob, 0, sizeof(*ob));
	r = store_call(srv->store, begin);
	if (r < 0)
		return r;
	ob->open = true;
	return 0;
}

int outbox_reserve(struct outbox *ob, struct lobby *l, uint64_t *ret_offset)
{
	int r;

	if (ob->reserved_l == l) {
		*ret_offset = ob->reserved;
		return 0;
	}
	if (ob->reserved_l)
		return -EBUSY;	/* one reservation at a time: the next event takes it */
	r = store_call(srv->store, event_next_offset, l->meeting_id, &ob->reserved);
	if (r < 0)
		return r;
	ob->reserved_l = l;
	*ret_offset = ob->reserved;
	return 0;
}

int outbox_event(struct outbox *ob, struct lobby *l, const char *type, json_t *body, int64_t at)
{
	return outbox_event_for(ob, l, type, body, AUDIENCE_ALL, at);
}

int outbox_event_for(struct outbox *ob, struct lobby *l, const char *type, json_t *body, enum audience audience,
		     int64_t at)
{
	struct msg *m;
	uint64_t offset;
	int r;

	if (!body)
		return -ENOMEM;
	if (ob->n == ob->cap) {
		size_t ncap = ob->cap ? ob->cap * 2 : 4;
		struct outbox_item *ni = realloc(ob->items, ncap * sizeof(*ni));
		if (!ni) {
			json_decref(body);
			return -ENOMEM;
		}
		ob->items = ni;
		ob->cap = ncap;
	}
	if (ob->reserved_l == l) {
		offset = ob->reserved;
		ob->reserved_l = NULL;
	} else if ((r = store_call(srv->store, event_next_offset, l->meeting_id, &offset)) < 0) {
		json_decref(body);
		return r;
	}
	json_object_set_new(body, PROTO_WS_F_TYPE, json_string(type));
	json_object_set_new(body, PROTO_WS_F_VERSION, json_integer(PROTO_LOBBY_VERSION));
	json_object_set_new(body, "offset", json_integer((json_int_t)offset));
	json_object_set_new(body, "ts", json_integer(at));
	m = msg_from_json(body);
	json_decref(body);
	if (!m)
		return -ENOMEM;
	r = store_call(srv->store, event_append, l->meeting_id, offset, type, msg_text(m), audience, at);
	/* retention: every 1 000 events, drop those more than events_max_per_meeting behind (amortised O(1)) */
	if (r == 0 && offset % 1000 == 0 && offset > srv->cfg->events_max_per_meeting)
		r = store_call(srv->store, events_trim, l->meeting_id, offset - srv->cfg->events_max_per_meeting);
	if (r < 0) {
		msg_unref(m);
		return r;
	}
	ob->items[ob->n++] = (struct outbox_item){ .l = l, .m = m, .offset = offset, .audience = audience,
						   .chat = strcmp(type, PROTO_LOBBY_MSG_CHAT) == 0 };
	l->pins++;
	return 0;
}

int outbox_commit_pinned(struct outbox *ob, struct lobby *l)
{
	int r;

	l->pins++;
	r = outbox_commit(ob);
	l->pins--;
	return r;
}

static void outbox_release(struct outbox *ob)
{
	/* reverse order: the earliest item of a lobby holds its last pin */
	for (size_t i = ob->n; i-- > 0;) {
		struct outbox_item *it = &ob->items[i];
		msg_unref(it->m);
		/* the earliest item of a lobby drops the last pin: no later item refers to it */
		if (--it->l->pins == 0)
			lobby_gc(it->l);
	}
	free(ob->items);
	memset(ob, 0, sizeof(*ob));
}

/* Tell the other nodes, once per lobby, up to which offset this transaction writes. */
static int outbox_notify(struct outbox *ob)
{
	int r = 0;

	for (size_t i = 0; r == 0 && i < ob->n; i++) {
		bool last = true;
		for (size_t j = i + 1; j < ob->n && last; j++)
			last = ob->items[j].l != ob->items[i].l;
		if (last)
			r = cluster_notify_events(ob->items[i].l->meeting_id, ob->items[i].offset);
	}
	return r;
}

int outbox_commit(struct outbox *ob)
{
	int r;

	if (!ob->open)
		return -EINVAL;
	r = outbox_notify(ob);
	if (r < 0) {
		store_call(srv->store, rollback);
	} else {
		r = store_call(srv->store, commit);
	}
	if (r < 0) {
		log_err("store: commit failed (%s); %zu lobby event(s) not sent", strerror(-r), ob->n);
		outbox_release(ob);
		return r;
	}
	for (size_t i = 0; i < ob->n; i++) {
		struct outbox_item *it = &ob->items[i];
		struct lobby *l = it->l;

		if (it->offset <= l->offset)
			continue;	/* a catch-up below already delivered it */
		if (it->offset != l->offset + 1) {
			lobby_catch_up(l);	/* another node's events came in between */
			continue;
		}
		lobby_view_stale(l, it->chat);
		if (it->audience == AUDIENCE_ORGANISERS)
			lobby_broadcast_organisers(l, it->m);
		else
			lobby_broadcast(l, it->m);
		l->offset = it->offset;
	}
	outbox_release(ob);
	return 0;
}

void outbox_abort(struct outbox *ob)
{
	if (!ob->open)
		return;
	store_call(srv->store, rollback);
	outbox_release(ob);
}

/* ---------------------------------------------------------------- catch-up */

static int deliver_stored(void *ud, uint64_t offset, enum audience audience, const char *body)
{
	struct lobby *l = ud;
	struct msg *m = msg_new(body, strlen(body));

	if (!m)
		return -ENOMEM;
	if (audience == AUDIENCE_ORGANISERS)
		lobby_broadcast_organisers(l, m);
	else
		lobby_broadcast(l, m);
	msg_unref(m);
	l->offset = offset;
	return 0;
}

int lobby_catch_up(struct lobby *l)
{
	uint64_t before = l->offset;
	int r;

	/* conn_send may close a slow client, but never detaches it here: l stays */
	r = store_call(srv->store, events_since, l->meeting_id, l->offset, deliver_stored, l);
	if (l->offset != before)
		lobby_view_stale(l, false);
	if (r < 0)
		log_warn("lobby %s: catch-up after offset %llu failed: %s", l->code, (unsigned long long)l->offset,
			 strerror(-r));
	return r;
}
