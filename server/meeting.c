// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cluster.h"
#include "json_shape.h"
#include "lobby.h"
#include "log.h"
#include "meeting.h"
#include "meeting_code.h"
#include "proto_lobby.h"
#include "server.h"
#include "util.h"

const char *meeting_check_title(const char *t)
{
	size_t n = t ? strlen(t) : 0;

	if (n == 0 || n > 200)
		return "title must be 1 to 200 bytes";
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)t[i] < 0x20)
			return "title must not contain control characters";
	return NULL;
}

const char *meeting_check_link(const char *l)
{
	size_t n = strlen(l);

	if (n > 2048)
		return "link must be under 2 KiB";
	if (!str_has_prefix(l, "https://") && !str_has_prefix(l, "http://"))
		return "link must be an http:// or https:// URL";
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)l[i] <= 0x20 || l[i] == '"' || l[i] == '<' || l[i] == '>')
			return "link must not contain spaces, quotes or angle brackets";
	return NULL;
}

int meeting_create(const struct user *actor, const char *title, const char *link, enum join_policy policy,
		   struct meeting *ret)
{
	int64_t now = now_ms(), id;
	char code[MEETING_CODE_SIZE];
	int r = -EEXIST;

	/* a clash needs two ongoing meetings to draw the same of 1.4e14 codes: retry a few times anyway */
	for (int tries = 0; tries < 8 && r == -EEXIST; tries++) {
		meeting_code_generate(code);
		if ((r = store_call(srv->store, begin)) < 0)
			return r;
		r = store_call(srv->store, meeting_create, code, title, link, policy, actor->id, now, &id);
		if (r < 0) {
			store_call(srv->store, rollback);
			continue;
		}
		r = store_call(srv->store, commit);
	}
	if (r < 0)
		return r;
	return store_call(srv->store, meeting_get, id, ret);
}

static int require_organiser(const struct meeting *m, const struct user *actor)
{
	int r = store_call(srv->store, is_organiser, m->id, actor->id);
	return r < 0 ? r : r == 0 ? -EPERM : 0;
}

int meeting_finish(const struct meeting *m, const struct user *actor)
{
	struct outbox ob;
	struct lobby *l;
	int r;

	if ((r = require_organiser(m, actor)) < 0)
		return r;
	if (m->end_at)
		return -EEXIST;
	if (!(l = lobby_get(m)))
		return -ENOMEM;
	if ((r = outbox_begin(&ob)) < 0) {
		lobby_gc(l);
		return r;
	}
	r = store_call(srv->store, meeting_end, m->id, now_ms());
	if (r == 0)
		r = outbox_event(&ob, l, PROTO_LOBBY_EV_MEETING_END, json_pack("{s:o}", "by", user_public_json(actor)),
				 now_ms());
	if (r == 0)
		r = cluster_notify_end(m->id);	/* the other nodes close their sockets too */
	if (r < 0) {
		outbox_abort(&ob);
		lobby_gc(l);
		return r == -EALREADY ? -EEXIST : r;
	}
	r = outbox_commit_pinned(&ob, l);	/* we close its sockets next */
	if (r == 0) {
		log_info("meeting %s ended by user %lld", m->code, (long long)actor->id);
		meeting_close_ended(l);
	}
	lobby_gc(l);
	return r;
}

int meeting_add_organiser(const struct meeting *m, const struct user *actor, const struct user *target)
{
	struct outbox ob;
	struct lobby *l;
	int r;

	if ((r = require_organiser(m, actor)) < 0)
		return r;
	/*
	 * Only someone already in the meeting: naming any account by id would
	 * let an organiser of a meeting of their own list every account's name
	 * and e-mail, and drop meetings into strangers' lists. A non-member is
	 * answered exactly like an unknown account.
	 */
	if (store_call(srv->store, is_member, m->id, target->id) <= 0 &&
	    store_call(srv->store, is_organiser, m->id, target->id) <= 0)
		return -ENOENT;
	if (store_call(srv->store, is_banned, m->id, target->id) > 0)
		return -EINVAL;
	if (!(l = lobby_get(m)))
		return -ENOMEM;
	if ((r = outbox_begin(&ob)) < 0) {
		lobby_gc(l);
		return r;
	}
	r = store_call(srv->store, organiser_add, m->id, target->id, actor->id, now_ms());
	if (r == 0)
		r = outbox_event(
			&ob, l, PROTO_LOBBY_EV_ORGANISER_ADD,
			json_pack("{s:o, s:o}", "user", user_public_json(target), "by", user_public_json(actor)),
			now_ms());
	if (r == 0)
		r = cluster_notify_organiser(m->id, target->id);
	if (r < 0) {
		outbox_abort(&ob);
		lobby_gc(l);
		return r;
	}
	r = outbox_commit_pinned(&ob, l);
	/* live sockets of the new organiser gain organiser rights at once */
	for (size_t i = 0; r == 0 && i < l->n; i++)
		if (l->conns[i]->user_id == target->id)
			l->conns[i]->organiser = true;
	lobby_gc(l);
	return r;
}

int meeting_ban(const struct meeting *m, const struct user *actor, int64_t target_id, const char *reason)
{
	struct user target = { 0 };
	struct outbox ob;
	struct lobby *l;
	int r;

	if ((r = require_organiser(m, actor)) < 0)
		return r;
	if (target_id == actor->id)
		return -EINVAL;
	if (store_call(srv->store, is_organiser, m->id, target_id) > 0)
		return -EINVAL;
	/* members only, like co-organisers: a ban event names its target */
	if (store_call(srv->store, is_member, m->id, target_id) <= 0 ||
	    store_call(srv->store, user_get, target_id, &target) < 0)
		return -ENOENT;
	if (!(l = lobby_get(m))) {
		user_clear(&target);
		return -ENOMEM;
	}
	if ((r = outbox_begin(&ob)) < 0)
		goto out;
	r = store_call(srv->store, ban_add, m->id, target_id, actor->id, reason, now_ms());
	if (r == 0)
		r = outbox_event(&ob, l, PROTO_LOBBY_MSG_BAN,
				 json_pack("{s:o, s:o, s:s?}", "user", user_public_json(&target), "by",
					   user_public_json(actor), "reason", reason), now_ms());
	if (r == 0)
		r = cluster_notify_ban(m->id, target_id, reason);
	if (r < 0) {
		outbox_abort(&ob);
		goto out;
	}
	r = outbox_commit_pinned(&ob, l);
	if (r == 0) {
		log_msg(LOG_NOTICE, "ban: user %lld banned from meeting %s by user %lld", (long long)target_id, m->code,
			   (long long)actor->id);
		meeting_close_banned(l, target_id, reason);
	}
out:
	user_clear(&target);
	lobby_gc(l);
	return r;
}

void meeting_close_banned(struct lobby *l, int64_t user_id, const char *reason)
{
	json_t *j = json_pack("{s:s, s:i, s:s, s:s?}", PROTO_WS_F_TYPE, PROTO_LOBBY_MSG_BANNED, PROTO_WS_F_VERSION,
			      PROTO_LOBBY_VERSION, "meeting", l->code, "reason", reason);
	struct msg *msg = j ? msg_from_json(j) : NULL;

	json_decref(j);
	lobby_close_user(l, user_id, msg, PROTO_LOBBY_CLOSE_BANNED, "banned from this meeting");
	msg_unref(msg);
}

void meeting_close_ended(struct lobby *l)
{
	lobby_close_user(l, 0, NULL, PROTO_LOBBY_CLOSE_MEETING_ENDED, "meeting ended");
}
