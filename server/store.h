/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The store: every durable thing the server knows (users, sessions,
 * meetings, organisers, members, attendance, bans, chat, machines and
 * their policy groups, agent events, recordings, policy bundles and the
 * per-meeting event log) behind one table of
 * operations. store_sqlite.c implements it on an embedded SQLite database
 * in WAL mode; store_pg.c implements the same struct store_ops on PostgreSQL.
 *
 * Conventions: every operation returns >= 0 on success and -errno on
 * failure (-ENOENT not found, -EEXIST unique conflict, -EIO database error).
 * Times are milliseconds since the epoch; a time that is not known (a
 * meeting not ended, an attendance row still open) is 0.
 *
 * The store speaks in typed rows, never in JSON: a back end fills the
 * structs below from its result rows, and json_shape.c alone turns them
 * into what the API and the lobbies send. A list comes back as a struct
 * <row>_list { v, n } whose rows and strings the list owns; the caller
 * frees it with <row>_list_free() (store.c, shared by every back end),
 * which accepts a zeroed or half-filled list. An operation that fails
 * leaves its list zeroed. Strings in a single returned struct are owned by
 * it and freed by the matching *_clear(). A back end allocates every row
 * array and string with malloc (store.c frees them). Text that is JSON the
 * server itself wrote earlier (a recording's argv and detail, a machine's
 * users, an event body) is handed back as text, untouched.
 *
 * Callers: the event-loop thread only (one connection, no locking): the
 * API handlers, meeting.c, lobby.c, lobby_view.c, monitor.c, web_session.c,
 * oidc.c, http.c, the socket handlers (ws.c, ws_agent.c, ws_lobby.c) and
 * main.c's admin commands, cluster.c (nodes). State: none here; store_sqlite.c owns its
 * connection, prepared statements and migrations, store.c the row frees.
 *
 * The per-meeting event log is the "persist, then broadcast" seam: a lobby
 * event is a row (meeting, offset, body) committed before any client sees
 * it; offsets increase by one per meeting, allocated by the store in the
 * event's transaction (event_next_offset); a reconnecting client asks for
 * everything after its last offset.
 */
#ifndef SPHINX_SERVER_STORE_H
#define SPHINX_SERVER_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct user {
	int64_t id;
	char *username;		/* NULL for OIDC-only accounts without one */
	char *email;
	char *name;
	char *picture;
	bool is_admin;
};

/* Who may join a meeting by its code (besides its organisers). */
enum join_policy {
	JOIN_ANYONE = 0,	/* anyone signed in who has the code */
	JOIN_DOMAIN = 1,	/* signed in with an e-mail at the creator's domain */
};

struct meeting {
	int64_t id;
	char code[16];		/* MEETING_CODE_SIZE: "abc-defg-hij" (meeting_code.h) */
	char *title;
	char *link;		/* NULL: the meeting happens in the app */
	int64_t created_by;
	int64_t start_at;
	int64_t end_at;		/* 0: ongoing */
	enum join_policy join_policy;
};

/* A pending OpenID Connect sign-in (oidc.c), from /auth/oidc/start to its callback, which any node may serve. */
struct oidc_pending {
	char state[48], nonce[48], verifier[64], return_to[256];
	int64_t created;
};

struct session_row {
	int64_t user_id;
	char csrf[64];
	int64_t created_at, last_seen, expires_at;
};

/* One capture event from an agent, as stored. Strings borrowed. */
struct capture {
	int64_t machine_id;
	int64_t user_id;	/* 0: no account matched */
	const char *local_user;
	const char *capture;	/* "<boot_id>:<pid>:<start_ns>" */
	const char *kind;	/* recording | screenshot */
	const char *program;	/* comm */
	const char *exe;
	const char *argv_json;
	const char *rule_id, *rule_title, *layer;
	const char *detail_json;	/* {"api","target","attempt","action"} as the agent sent them, or NULL */
	int64_t pid;
	int64_t at;		/* begin: start; end: end */
	int64_t duration_ms;	/* end only */
	int64_t calls;		/* end only */
};

/* Who may see a lobby event or a chat row. */
enum audience {
	AUDIENCE_ALL = 0,
	AUDIENCE_ORGANISERS = 1,
};

/* A meeting as listed for one user (meeting_list). */
struct meeting_entry {
	struct meeting meeting;
	bool organiser;		/* the user organises it */
};

/*
 * A person of a meeting: an organiser or a member. online and grp are
 * filled by person and people_page only (grp 0 organisers, 1 online,
 * 2 the rest: the paging order, see people_page).
 */
struct person {
	int64_t id;
	char *name;
	char *email;		/* NULL: none */
	char *picture;		/* NULL: none */
	bool organiser, banned, online;
	int grp;
};

struct ban {
	int64_t user_id;
	char *name;
	int64_t by_user;
	char *reason;		/* NULL: none given */
	int64_t at;
};

/* One attendance row: a stay in the lobby. */
struct attendance_span {
	int64_t id;
	int64_t user_id;
	int64_t join_at;
	int64_t leave_at;	/* 0: still there */
};

/* Everyone who attended a meeting, with their stays (now counts as the end of an open one). */
struct attendee {
	int64_t user_id;
	char *name;
	char *email;		/* NULL: none */
	int64_t first_join, last_leave, duration_ms, joins;
	bool organiser, online;
	struct attendance_span *spans;	/* spans[0..nspans): this user's rows in id order, owned by the list */
	size_t nspans;
};

enum chat_kind {
	CHAT_USER = 0,		/* a line someone wrote: user_id is its author */
	CHAT_SYSTEM = 1,	/* a notice about user user_id; it has no author */
};

struct chat_line {
	int64_t id;
	enum chat_kind kind;
	int64_t user_id;
	char *name;		/* user_id's name */
	char *text;
	int64_t at;
	char *cid;		/* the client's id of the line, NULL: none */
};

struct event_row {
	uint64_t offset;
	char *body;		/* the event's JSON text, as appended */
};

struct machine {
	int64_t id;
	char *name;
	int64_t created_at;
	int64_t last_seen;	/* 0: never */
	char *boot_id, *agent_version;	/* NULL: no hello yet */
	bool revoked, online;
	char *offline_reason;	/* NULL while online */
	int64_t state_at;	/* 0: never */
	char *users_json;	/* local users last reported, a JSON array; NULL: none */
	int64_t spool_dropped;	/* events the agent said its spool dropped (last hello) */
	char *grp;		/* the machine's policy group, NULL: "default" (POLICY_GROUP_DEFAULT) */
	char *policy_source;	/* "server" | "local" as the agent last reported (policy.state), NULL: never */
	int64_t policy_version;	/* server bundle version the agent has in force, 0: none */
	char *policy_error;	/* the agent's last apply error, NULL: none */
	int64_t policy_at;	/* when it last reported policy.state, 0: never */
	/* the fleet view (issue 14) */
	int64_t spool_dropped_new;	/* how many more the last hello reported than the one before */
	char *kernel;		/* uname -r from the agent's last status report; NULL: none */
	char *status_json;	/* that report's {arch, layers: [{name, state, detail}]}, as stored; NULL: none */
	int64_t status_at;	/* when it came; 0: never */
	int64_t last_event_at;	/* the newest capture event stored for the machine; 0: none */
};

/* The group of a machine no one put in one. */
#define POLICY_GROUP_DEFAULT "default"

/*
 * A stored policy bundle: the rule files an admin pushed for a group.
 * Versions increase across every group (one sequence), never reused.
 */
struct policy_bundle {
	int64_t version;
	char *grp;
	char *author;		/* NULL: not known */
	char *note;		/* NULL: none */
	int64_t at;
	char *files_json;	/* JSON array of {"name","text"}, as stored; NULL when the op says it is not read */
	int64_t rolled_back_from;	/* the version this rollback undid, 0: a push */
};

struct monitor_row {
	int64_t user_id;
	bool monitored;
	char *reason;		/* NULL: none */
	int64_t machine_id;	/* 0: none */
	int64_t at;
};

/* A capture as stored (struct capture is what an agent reports). */
struct recording {
	int64_t id;
	int64_t user_id;	/* 0: no account matched */
	char *name;		/* the account's name, NULL without one */
	char *local_user;
	char *kind, *program, *exe;
	char *argv_json;	/* as the agent sent it, or NULL */
	int64_t pid;
	char *rule_id, *rule_title, *layer;
	int64_t start_at;
	int64_t end_at;		/* 0: going on */
	int64_t duration_ms;	/* -1: not known (still going, or closed without an end event) */
	int64_t calls;		/* -1: not known */
	int64_t machine_id;
	char *detail_json;	/* as the agent sent it, or NULL */
	char *machine;		/* the machine's name */
};

/* One observation to store: an event an agent's policy saw, as the agent sent it. Strings borrowed. */
struct observation_in {
	const char *body;	/* one event as compact JSON text (the agent's --record line) */
};

/* An observation as stored (observations_page). */
struct observation {
	int64_t id;		/* increasing: the paging cursor */
	int64_t machine_id;
	char *machine;		/* the machine's name */
	int64_t at;		/* when the server received it (ms): retention counts from here */
	char *body;		/* the event's JSON text, as stored */
};

/* Lists: v[0..n), owned by the list (see the conventions above). */
struct meeting_list { struct meeting_entry *v; size_t n; };
struct person_list { struct person *v; size_t n; };
struct ban_list { struct ban *v; size_t n; };
struct attendance_list { struct attendee *v; size_t n; struct attendance_span *spans; size_t nspans; };
struct chat_list { struct chat_line *v; size_t n; };
struct event_list { struct event_row *v; size_t n; };
struct machine_list { struct machine *v; size_t n; };
struct monitor_list { struct monitor_row *v; size_t n; };
struct recording_list { struct recording *v; size_t n; };
struct id_list { int64_t *v; size_t n; };
struct policy_bundle_list { struct policy_bundle *v; size_t n; };
struct observation_list { struct observation *v; size_t n; };

/*
 * What a lobby join needs of one meeting and one user (lobby_access): the
 * meeting and the user rows and the user's standing in that meeting. The
 * caller frees it with meeting_clear(&a->meeting) and user_clear(&a->user).
 */
struct lobby_access {
	struct meeting meeting;
	struct user user;	/* id 0: no user has this id */
	bool banned, organiser, member;
	bool recording;		/* the user has a recording going on (recordings_ongoing would list one) */
};

struct store;

struct store_ops {
	void (*close)(struct store *s);
	int (*begin)(struct store *s);
	int (*commit)(struct store *s);
	void (*rollback)(struct store *s);
	int (*meta_get)(struct store *s, const char *key, char **ret);
	int (*meta_set)(struct store *s, const char *key, const char *value);

	/* users */
	int (*user_create)(struct store *s, const char *username, const char *email, const char *name,
			   const char *picture, const char *pw_hash, const char *oidc_iss, const char *oidc_sub,
			   int64_t at, int64_t *ret_id);
	int (*user_get)(struct store *s, int64_t id, struct user *ret);
	/* field: "username", "email" (case-insensitive) */
	int (*user_find)(struct store *s, const char *field, const char *value, struct user *ret);
	int (*user_find_oidc)(struct store *s, const char *iss, const char *sub, struct user *ret);
	int (*user_link_oidc)(struct store *s, int64_t id, const char *iss, const char *sub);
	int (*user_update_profile)(struct store *s, int64_t id, const char *name, const char *picture);
	int (*user_password_hash)(struct store *s, const char *username, int64_t *ret_id, char **ret_hash);
	int (*user_set_password)(struct store *s, int64_t id, const char *pw_hash);
	int (*user_set_admin)(struct store *s, int64_t id, bool admin);

	/* sessions: id is the hex SHA-256 of the cookie value */
	int (*session_put)(struct store *s, const char *id, const struct session_row *row);
	int (*session_get)(struct store *s, const char *id, struct session_row *ret);
	int (*session_touch)(struct store *s, const char *id, int64_t at);
	int (*session_delete)(struct store *s, const char *id);
	int (*session_purge)(struct store *s, int64_t now);

	/* meetings */
	/* -EEXIST: an ongoing meeting has this code */
	int (*meeting_create)(struct store *s, const char *code, const char *title, const char *link,
			      enum join_policy policy, int64_t created_by, int64_t at, int64_t *ret_id);
	int (*meeting_get)(struct store *s, int64_t id, struct meeting *ret);
	int (*meeting_by_code)(struct store *s, const char *code, struct meeting *ret);
	int (*meeting_end)(struct store *s, int64_t id, int64_t at);
	/* the user's meetings (not those they are banned from): ongoing newest first, the last 500 ended */
	int (*meeting_list)(struct store *s, int64_t user_id, struct meeting_list *ret_ongoing,
			    struct meeting_list *ret_past);
	int (*organiser_add)(struct store *s, int64_t meeting_id, int64_t user_id, int64_t by, int64_t at);
	int (*is_organiser)(struct store *s, int64_t meeting_id, int64_t user_id);	/* 1/0 */
	int (*member_add)(struct store *s, int64_t meeting_id, int64_t user_id, int64_t at);
	int (*is_member)(struct store *s, int64_t meeting_id, int64_t user_id);	/* 1/0 */
	/* organisers and members, by name then id (online and grp not filled) */
	int (*people)(struct store *s, int64_t meeting_id, struct person_list *ret);
	int (*ban_add)(struct store *s, int64_t meeting_id, int64_t user_id, int64_t by, const char *reason,
		       int64_t at);
	int (*is_banned)(struct store *s, int64_t meeting_id, int64_t user_id);	/* 1/0 */
	/* in the order they were made */
	int (*bans)(struct store *s, int64_t meeting_id, struct ban_list *ret);

	/* attendance */
	int (*attendance_open)(struct store *s, int64_t meeting_id, int64_t user_id, int64_t at, int64_t *ret_id);
	int (*attendance_close)(struct store *s, int64_t id, int64_t at);
	/* close rows left open by a crash at the last heartbeat time */
	int (*attendance_close_dangling)(struct store *s, int64_t at);
	/* by first arrival; an open row counts until now */
	int (*attendance)(struct store *s, int64_t meeting_id, int64_t now, struct attendance_list *ret);

	/* chat and the event log */
	int (*chat_add)(struct store *s, int64_t meeting_id, int64_t user_id, const char *text, int64_t at,
			int64_t *ret_id);
	/* a system notice about user `about` (kind "system"), seen by `audience` */
	int (*chat_add_system)(struct store *s, int64_t meeting_id, int64_t about, const char *text,
			       enum audience audience, int64_t at, int64_t *ret_id);
	int (*event_append)(struct store *s, int64_t meeting_id, uint64_t offset, const char *type,
			    const char *body, enum audience audience, int64_t at);
	int (*event_last_offset)(struct store *s, int64_t meeting_id, uint64_t *ret);
	/* calls fn for each event body after offset, in order; stops at fn < 0 */
	int (*events_since)(struct store *s, int64_t meeting_id, uint64_t offset,
			    int (*fn)(void *ud, uint64_t offset, enum audience audience, const char *body), void *ud);
	/* the meeting's events of one type, in offset order */
	int (*events_of_type)(struct store *s, int64_t meeting_id, const char *type, struct event_list *ret);

	/* machines and agent events */
	int (*machine_create)(struct store *s, const char *name, const char *token_hash, int64_t at, int64_t *ret_id);
	int (*machine_by_token)(struct store *s, const char *token_hash, int64_t *ret_id, char **ret_name);
	int (*machine_seen)(struct store *s, int64_t id, const char *boot_id, const char *version, int64_t at);
	/*
	 * the agent's count of events its spool dropped (hello.spool_dropped); *ret_before: the last one
	 * stored. Also stores spool_dropped_new: dropped - before (dropped when the count went down: a new spool).
	 */
	int (*machine_spool_dropped)(struct store *s, int64_t id, int64_t dropped, int64_t *ret_before);
	/* every enrolled machine, by name */
	int (*machines)(struct store *s, struct machine_list *ret);
	/* the agent's status report: kernel (uname -r) and the report's JSON text as the server rebuilt it */
	int (*machine_status)(struct store *s, int64_t id, const char *kernel, const char *status_json, int64_t at);
	/* a capture event of the machine at `at` was stored: last_event_at moves forward only */
	int (*machine_event_at)(struct store *s, int64_t id, int64_t at);
	/* presence: online, or offline with a reason; users_json (local users reported) NULL keeps the last */
	int (*machine_state)(struct store *s, int64_t id, bool online, const char *reason, const char *users_json,
			     int64_t at);
	/* every machine still marked online goes offline with reason (server start): number changed */
	int (*machines_reset)(struct store *s, const char *reason, int64_t at);
	/* per-account monitoring state (is some online agent reporting this user) */
	int (*monitor_set)(struct store *s, int64_t user_id, bool monitored, const char *reason, int64_t machine_id,
			   int64_t at);
	/* every account's last monitoring state */
	int (*monitor_states)(struct store *s, struct monitor_list *ret);
	int (*monitor_reset)(struct store *s, const char *reason, int64_t at);
	int (*machine_revoke)(struct store *s, const char *name);
	/* 1: new event id, 0: already seen (duplicate) */
	int (*agent_event_claim)(struct store *s, int64_t machine_id, const char *event_id, int64_t at);

	/* recordings */
	int (*recording_begin)(struct store *s, const struct capture *c, int64_t *ret_id);
	/* ret_id: the recording ended (created from the end event when its begin never came) */
	int (*recording_end)(struct store *s, const struct capture *c, int64_t *ret_id);
	/* *ret to recording_clear() */
	int (*recording_get)(struct store *s, int64_t id, struct recording *ret);
	/* ongoing recordings of a user, oldest first */
	int (*recordings_ongoing)(struct store *s, int64_t user_id, struct recording_list *ret);
	/* recordings of a machine still open from another boot: ended at `at` */
	int (*recordings_close_stale)(struct store *s, int64_t machine_id, const char *boot_id, int64_t at,
				      struct recording_list *ret_closed);
	int (*recording_link)(struct store *s, int64_t recording_id, int64_t meeting_id);	/* 1 new, 0 known */
	/* every recording linked to the meeting, by start */
	int (*recordings_of_meeting)(struct store *s, int64_t meeting_id, struct recording_list *ret);
	/* ids of the ongoing meetings a recording is linked to, ascending */
	int (*recording_meetings)(struct store *s, int64_t recording_id, struct id_list *ret);

	/* sign-in and identity (issue 12) */
	/* verified: an admin created the account, or an identity provider vouched for the address */
	int (*user_set_email_verified)(struct store *s, int64_t id, bool verified);
	/* 1 when the account has an e-mail and it is verified, 0 when not, -ENOENT */
	int (*user_email_verified)(struct store *s, int64_t id);
	/* end every session of a user (password changed): number deleted */
	int (*session_delete_user)(struct store *s, int64_t user_id);
	/*
	 * Lobby scale: people and chat paged, chat idempotency, bounded event log.
	 *
	 * People order (stable, for paging): organisers, then people online (an
	 * open attendance row), then the rest; within each group by name
	 * (case-insensitive), then id; struct person's grp is the group.
	 */
	/* up to limit people after (after_grp, after_id) in that order; after_grp < 0: from the start */
	int (*people_page)(struct store *s, int64_t meeting_id, int after_grp, int64_t after_id, unsigned limit,
			   struct person_list *ret);
	/* one person of the meeting, *ret to person_clear() (-ENOENT: neither member nor organiser) */
	int (*person)(struct store *s, int64_t meeting_id, int64_t user_id, struct person *ret);
	/* members + organisers, and those of them with an open attendance row */
	int (*people_count)(struct store *s, int64_t meeting_id, int64_t *ret_total, int64_t *ret_online);
	/* ongoing recordings linked to the meeting, by start */
	int (*recordings_live_of_meeting)(struct store *s, int64_t meeting_id, struct recording_list *ret);
	/*
	 * up to limit chat lines before chat id before_id (0: the newest),
	 * NEWEST first; organiser-only notices only when organiser is true
	 */
	int (*chat_page)(struct store *s, int64_t meeting_id, bool organiser, int64_t before_id, unsigned limit,
			 struct chat_list *ret);
	/* chat_add with a client id (NULL: none) and the offset of its event; -EEXIST: (meeting, user, cid) known */
	int (*chat_add_cid)(struct store *s, int64_t meeting_id, int64_t user_id, const char *text, const char *cid,
			    uint64_t offset, int64_t at, int64_t *ret_id);
	/* the chat row a client id names: its id and its event's offset; -ENOENT */
	int (*chat_find_cid)(struct store *s, int64_t meeting_id, int64_t user_id, const char *cid, int64_t *ret_id,
			     uint64_t *ret_offset);
	int (*chat_count)(struct store *s, int64_t meeting_id, int64_t *ret);
	/* drop the meeting's events at or below offset upto */
	int (*events_trim)(struct store *s, int64_t meeting_id, uint64_t upto);
	/* the highest offset no longer stored (0: the log is complete) */
	int (*event_floor)(struct store *s, int64_t meeting_id, uint64_t *ret);

	/*
	 * Central policy (issue 14): bundles per group, machines in groups,
	 * what each agent reports it has in force.
	 */
	/*
	 * store a new bundle for group grp with the next version (one more than
	 * the highest of any group); files_json is the JSON array of {name,text}
	 * the caller checked. -EEXIST: another writer took that version at the
	 * same time (PostgreSQL, several nodes): call again.
	 */
	int (*policy_add)(struct store *s, const char *grp, const char *author, const char *note,
			  const char *files_json, int64_t rolled_back_from, int64_t at, int64_t *ret_version);
	/* one bundle with its files, *ret to policy_bundle_clear(); -ENOENT */
	int (*policy_get)(struct store *s, int64_t version, struct policy_bundle *ret);
	/* the newest bundle of grp with its files; -ENOENT: the group has none */
	int (*policy_latest)(struct store *s, const char *grp, struct policy_bundle *ret);
	/* bundles of grp (NULL: every group), newest first, without their files (files_json NULL) */
	int (*policies)(struct store *s, const char *grp, struct policy_bundle_list *ret);
	/* put the machine called name in group grp (NULL: back to "default"); -ENOENT: no such machine */
	int (*machine_set_group)(struct store *s, const char *name, const char *grp);
	/* the machine's group, "default" when none was set; *ret_grp to free() */
	int (*machine_group)(struct store *s, int64_t id, char **ret_grp);
	/* the agent's policy.state: source "server"|"local", version 0: none, error NULL: none */
	int (*machine_policy_state)(struct store *s, int64_t id, const char *source, int64_t version,
				    const char *error, int64_t at);

	/*
	 * Several nodes (issue 13; cluster.h). On SQLite (one node) each is a
	 * no-op or answers as one node would.
	 *
	 * event_next_offset: the next offset of the meeting's event log,
	 * allocated inside the caller's transaction (PostgreSQL: a counter row
	 * locked until commit, so the appends of one meeting are serialised
	 * across nodes; a rollback gives the offset back).
	 */
	int (*event_next_offset)(struct store *s, int64_t meeting_id, uint64_t *ret);
	/* queue a notification on channel, sent when the current transaction commits (SQLite: nothing) */
	int (*notify)(struct store *s, const char *channel, const char *payload);
	/*
	 * This process is node `name` (kept by the store: attendance rows,
	 * machine presence and monitor reports it writes name it); its row in
	 * the nodes table is (re)made with heartbeat at. *ret_last_heartbeat:
	 * the heartbeat an earlier run under that name left (0: none).
	 */
	int (*node_hello)(struct store *s, const char *name, int64_t at, int64_t *ret_last_heartbeat);
	/* 1: the node's row was gone (another node took it for dead) and is made again; 0: updated */
	int (*node_heartbeat)(struct store *s, int64_t at);
	/*
	 * Claim one other node whose heartbeat is older than `before` (its row
	 * goes, so only one node claims it): 1 and *ret_name (free()) and its
	 * last heartbeat, 0 when none. Inside a transaction.
	 */
	int (*node_claim_dead)(struct store *s, int64_t before, char **ret_name, int64_t *ret_heartbeat);
	/*
	 * What node `name` held goes: its online machines go offline with
	 * reason, its open attendance rows close at `at`, its monitor reports
	 * are dropped (*ret_users: the accounts it reported, ascending). Rows
	 * that name no node (written before there were nodes) count as the
	 * caller's own when name is its own. Returns the number of attendance
	 * rows closed.
	 */
	int (*node_release)(struct store *s, const char *name, const char *reason, int64_t at,
			    struct id_list *ret_users);
	/* this node reports the account (on) or no longer does (SQLite: nothing) */
	int (*monitor_local)(struct store *s, int64_t user_id, bool on, int64_t machine_id);
	/*
	 * Settle the account's stored monitor state: monitored while some
	 * node reports it (SQLite, one node: while `hint`). When that differs
	 * from the stored state, store it (reason when not monitored) and
	 * return 1; 0 when unchanged. *ret_monitored: the state. Locks the
	 * account's row until commit (take accounts in ascending order).
	 */
	int (*monitor_settle)(struct store *s, int64_t user_id, bool hint, const char *reason, int64_t machine_id,
			      int64_t at, bool *ret_monitored);
	/* the account's stored state (monitored false, reason NULL when it has no row) */
	int (*monitor_get)(struct store *s, int64_t user_id, struct monitor_row *ret);
	/* ongoing meetings where the user has an open attendance row (on any node), ascending */
	int (*attendance_open_meetings)(struct store *s, int64_t user_id, struct id_list *ret);

	/*
	 * Several nodes on one store (issue 13): what every node must see.
	 */
	/* one round trip to the database (GET /api/health): 0, or -EIO when it does not answer */
	int (*ping)(struct store *s);
	/*
	 * Keep a pending OIDC sign-in under p->state (-EEXIST: taken). Those
	 * older than ttl_ms go, and beyond max the oldest: the same bounds on
	 * every node, whichever started them.
	 */
	int (*oidc_pending_put)(struct store *s, const struct oidc_pending *p, int64_t ttl_ms, unsigned max,
				int64_t now);
	/* the pending sign-in of state, deleted as it is read: one caller on one node gets it; -ENOENT */
	int (*oidc_pending_take)(struct store *s, const char *state, struct oidc_pending *ret);
	/*
	 * A token bucket every node shares (ratelimit.c), keyed by id: per_s
	 * tokens a second back, up to burst. op 't' takes one token when one
	 * is there, 'p' only looks, 'r' gives one back. Returns 1 (there was a
	 * token) or 0, with *ret_tokens the tokens there were before the call;
	 * -errno. One atomic statement per call. NULL on a back end that serves
	 * one node (SQLite): ratelimit.c keeps its buckets in memory there.
	 */
	int (*rate_bucket)(struct store *s, const char *id, double per_s, double burst, int64_t now, char op,
			   double *ret_tokens);
	/* drop the buckets that have refilled (a full bucket is no bucket); NULL where rate_bucket is */
	int (*rate_purge)(struct store *s, int64_t now);

	/*
	 * Observations (issue 14): the events machines that opted in
	 * (share_observations = yes) sent, kept for `sphinx-policy test`.
	 */
	/* store the n events of one batch of machine_id, received at `at` */
	int (*observations_add)(struct store *s, int64_t machine_id, int64_t at, const struct observation_in *v,
				size_t n);
	/*
	 * delete rows received before `before`, then all but the newest max_rows
	 * (0: keep none): the number deleted
	 */
	int (*observations_purge)(struct store *s, int64_t before, int64_t max_rows);
	/*
	 * up to limit rows with id > after_id received at or after since, of the
	 * machine named machine (NULL: every machine) and of machines in group
	 * grp (NULL: any; "default" holds the machines put in none), by id
	 */
	int (*observations_page)(struct store *s, int64_t since, const char *machine, const char *grp,
				 int64_t after_id, unsigned limit, struct observation_list *ret);

	/*
	 * A lobby join (ws_lobby.c) in one statement instead of five: the
	 * meeting with this code (as meeting_by_code: the ongoing one, else the
	 * latest that ended), the user user_id (as user_get; user.id 0 when
	 * there is none) and whether that user is banned from, organises and
	 * is a member of the meeting (as is_banned, is_organiser, is_member),
	 * and whether recordings_ongoing would list any recording of the user.
	 * -ENOENT: no meeting has this code (*ret zeroed).
	 */
	int (*lobby_access)(struct store *s, const char *code, int64_t user_id, struct lobby_access *ret);
};

struct store {
	const struct store_ops *ops;
};

/* Open the SQLite store in data_dir (created 0700 when missing); migrates the schema. */
int store_sqlite_open(const char *data_dir, bool sync_full, struct store **ret);

/*
 * Open the PostgreSQL store (store_pg.c) on the libpq connection string
 * conninfo; migrates the schema. -ECONNREFUSED: the database cannot be
 * reached (err says why, without the connection string), -EPROTO: its
 * schema is newer than this server's. Once open, a lost connection makes
 * operations fail with -EIO until it comes back (reconnects with backoff).
 */
int store_pg_open(const char *conninfo, char *err, size_t errlen, struct store **ret);

/*
 * Freeing what the store returns (store.c: the same for every back end).
 * Each accepts NULL and a zeroed or half-filled struct, and leaves it zeroed.
 */
void user_clear(struct user *u);
void meeting_clear(struct meeting *m);
void person_clear(struct person *p);
void recording_clear(struct recording *r);
void policy_bundle_clear(struct policy_bundle *b);
void meeting_list_free(struct meeting_list *l);
void person_list_free(struct person_list *l);
void ban_list_free(struct ban_list *l);
void attendance_list_free(struct attendance_list *l);
void chat_list_free(struct chat_list *l);
void event_list_free(struct event_list *l);
void machine_list_free(struct machine_list *l);
void monitor_list_free(struct monitor_list *l);
void recording_list_free(struct recording_list *l);
void id_list_free(struct id_list *l);
void policy_bundle_list_free(struct policy_bundle_list *l);
void observation_list_free(struct observation_list *l);

#define store_call(s, op, ...) ((s)->ops->op((s), ##__VA_ARGS__))

#endif
