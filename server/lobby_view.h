/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What a lobby shows: the snapshot a socket gets when it opens, the body
 * of a presence event, and the pages of people and chat served over HTTP.
 * It reads the store's rows and composes them from json_shape.h's objects
 * (a person with their live recordings and monitoring, a chat line); the
 * shapes are json_shape.c's, the sizes, order and caching are this file's.
 *
 * A snapshot has a hard size: at most SNAPSHOT_MAX bytes whatever the
 * meeting's size. It carries the first page of people (lobby_page at most,
 * in the store's people order: organisers, people online, the rest), the
 * counts, for organisers every attendee recording now ("flagged"), and the
 * newest chat lines (lobby_chat_snapshot at most); every variable part is
 * cut by bytes as well as by count, and a cursor or "chat_more" tells the
 * client there is more to page in.
 *
 * Building that from the store costs a few queries, so each lobby caches
 * the serialized parts every snapshot shares — one copy for attendees, one
 * for organisers (e-mails, flagged, organiser-only chat notices) — and a
 * snapshot is the per-recipient head ("offset", "you") spliced before them.
 * 1 000 arrivals in one second build them a handful of times, not 1 000.
 * The people part goes stale on every presence batch and every non-chat
 * event, the chat part on every chat event (lobby.c's outbox calls
 * lobby_view_stale()). A cached part may show changes newer than the
 * snapshot's offset (an arrival not yet announced); presence events are
 * idempotent on the client, so the next one agrees with it.
 *
 * Owns: the cached snapshot parts behind each lobby's view pointer and the
 * monitoring generation that invalidates them (lobby_view.c); no other state.
 * Callers, on the event-loop thread only: ws_lobby.c (snapshots), lobby.c
 * (presence bodies, staleness, freeing), monitor.c (monitoring changed),
 * api_meetings.c (the people and chat pages).
 */
#ifndef SPHINX_LOBBY_VIEW_H
#define SPHINX_LOBBY_VIEW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "store.h"

struct lobby;
struct msg;

#define SNAPSHOT_MAX 16384	/* bytes, whole snapshot */
#define PEOPLE_PAGE_MAX 200	/* people per HTTP page */
#define CHAT_PAGE_MAX 200	/* chat lines per HTTP page */
#define PEOPLE_CURSOR_MAX 32	/* bytes of a people cursor, NUL included */

/* Drop the lobby's cached parts: the chat tail only, or everything. */
void lobby_view_stale(struct lobby *l, bool chat_only);
/* Free a lobby's cache (lobby_gc). */
void lobby_view_free(struct lobby *l);

/*
 * The snapshot for one socket of user me (organiser or not) in meeting m,
 * at the lobby's current offset: a new message (refs 1), or NULL on error.
 */
struct msg *lobby_view_snapshot(struct lobby *l, const struct meeting *m, const struct user *me, bool organiser);

/*
 * Several nodes: a snapshot's parts must show no event past the lobby's
 * offset, or the event shows twice (in the snapshot, then delivered). A
 * join catches the lobby up with the store before its snapshot; then
 * lobby_view_confirm() marks the parts it was built from (organiser's or
 * attendees') as agreeing with the offset: built after that catch-up, or
 * older than it while it found nothing new. lobby_view_current(): such
 * parts are still cached (no event, presence batch or monitoring change
 * since), so the next join's snapshot reads nothing from the store and
 * needs no catch-up first - what other nodes commit meanwhile reaches it
 * by their notification, as it reaches every socket of the lobby.
 */
bool lobby_view_current(const struct lobby *l, bool organiser);
void lobby_view_confirm(struct lobby *l, bool organiser);

/*
 * The body of a presence event: {online, total, joined, left, more_joined,
 * more_left}, joined[0..nj) as person objects (at most PRESENCE_LIST are
 * passed; more_* count the rest). NULL on error.
 */
json_t *lobby_view_presence(struct lobby *l, const int64_t *joined, size_t nj, size_t more_joined,
			    const int64_t *left, size_t nl, size_t more_left);

/*
 * One HTTP page of people after cursor (NULL or "": the first), limit
 * 1..PEOPLE_PAGE_MAX: *ret_page = {"people", "next", "total", "online"}.
 * -EINVAL: the cursor is not one we made.
 */
int lobby_view_people_page(int64_t meeting_id, bool organiser, const char *cursor, unsigned limit, json_t **ret_page);

/*
 * One HTTP page of chat before chat id before (0: the newest), limit
 * 1..CHAT_PAGE_MAX: *ret_page = {"chat": [oldest first], "more"}.
 */
int lobby_view_chat_page(int64_t meeting_id, bool organiser, int64_t before, unsigned limit, json_t **ret_page);

#endif
