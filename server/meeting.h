/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Meeting operations shared by the HTTP API and the lobby WebSocket:
 * creation (a fresh code from meeting_code.h), ending, co-organisers, bans. Each one
 * checks permissions, writes the store and the lobby event log in one
 * transaction (outbox), then notifies live lobbies. Return values: 0, or
 * -EPERM (not an organiser), -ENOENT (no such user in this meeting; a
 * co-organiser must already be a member, and an account that is not is
 * answered the same as one that does not exist),
 * -EEXIST (already so), -EINVAL (not allowed on that target), -EIO.
 *
 * Owns: no state; it writes the store and the lobbies (lobby.h's outbox).
 * Callers, on the event-loop thread only: api_meetings.c (every operation),
 * ws_lobby.c (end, ban), cluster.c (closing sockets on the other nodes),
 * the unit tests and the fuzz harness.
 */
#ifndef SPHINX_MEETING_H
#define SPHINX_MEETING_H

#include <stdint.h>

#include "store.h"

struct lobby;

int meeting_create(const struct user *actor, const char *title, const char *link, enum join_policy policy,
		   struct meeting *ret);
int meeting_finish(const struct meeting *m, const struct user *actor);
int meeting_add_organiser(const struct meeting *m, const struct user *actor, const struct user *target);
int meeting_ban(const struct meeting *m, const struct user *actor, int64_t target_id, const char *reason);

/*
 * Close the sockets an event just delivered to the lobby ends: the banned
 * user's (after a "banned" message naming reason, NULL: none), or every
 * socket of an ended meeting. Here at commit, and on the other nodes when
 * the notification comes (cluster.c).
 */
void meeting_close_banned(struct lobby *l, int64_t user_id, const char *reason);
void meeting_close_ended(struct lobby *l);

/* Validate a title (1..200 bytes, no control chars) / link (http(s) URL, < 2 KiB). NULL or why not. */
const char *meeting_check_title(const char *t);
const char *meeting_check_link(const char *l);

#endif
