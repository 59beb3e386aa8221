// SPDX-License-Identifier: GPL-2.0-only
/*
 * SQLite back end of the store (store.h). One connection, used only from
 * the server's event-loop thread. WAL journal; synchronous=NORMAL by
 * default (a committed row survives kill -9 of the server), FULL on request
 * (also survives power loss). Schema changes are numbered migrations run in
 * one transaction at open, recorded in PRAGMA user_version.
 *
 * Prepared statements are cached by the address of their SQL text (always a
 * string literal here), so each statement is compiled once per process.
 * Lists are built by collect_(): one fill function per row type reads a
 * result row's columns, by position, into the row's struct (store.h); a
 * column's name never reaches a caller.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sqlite3.h>

#include "cleanup.h"
#include "store.h"

#define STMT_CACHE 128

struct sqlite_store {
	struct store base;
	sqlite3 *db;
	struct { const char *sql; sqlite3_stmt *st; } cache[STMT_CACHE];
	int in_tx;
};

#define DB(s) (((struct sqlite_store *)(s))->db)

static const char *const migrations[] = {
	/* 1: initial schema */
	"CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);"
	"CREATE TABLE users(id INTEGER PRIMARY KEY, username TEXT UNIQUE, email TEXT UNIQUE COLLATE NOCASE,"
	" name TEXT NOT NULL, picture TEXT, password_hash TEXT, oidc_iss TEXT, oidc_sub TEXT,"
	" is_admin INTEGER NOT NULL DEFAULT 0, created_at INTEGER NOT NULL, UNIQUE(oidc_iss, oidc_sub));"
	"CREATE TABLE sessions(id TEXT PRIMARY KEY, user_id INTEGER NOT NULL REFERENCES users(id),"
	" csrf TEXT NOT NULL, created_at INTEGER NOT NULL, last_seen INTEGER NOT NULL, expires_at INTEGER NOT NULL);"
	"CREATE INDEX sessions_user ON sessions(user_id);"
	"CREATE TABLE meetings(id INTEGER PRIMARY KEY, code TEXT NOT NULL UNIQUE, title TEXT NOT NULL, link TEXT,"
	" created_by INTEGER NOT NULL REFERENCES users(id), start_at INTEGER NOT NULL, end_at INTEGER);"
	"CREATE TABLE organisers(meeting_id INTEGER NOT NULL REFERENCES meetings(id),"
	" user_id INTEGER NOT NULL REFERENCES users(id), added_by INTEGER, added_at INTEGER NOT NULL,"
	" PRIMARY KEY(meeting_id, user_id)) WITHOUT ROWID;"
	"CREATE INDEX organisers_user ON organisers(user_id);"
	"CREATE TABLE members(meeting_id INTEGER NOT NULL REFERENCES meetings(id),"
	" user_id INTEGER NOT NULL REFERENCES users(id), joined_at INTEGER NOT NULL,"
	" PRIMARY KEY(meeting_id, user_id)) WITHOUT ROWID;"
	"CREATE INDEX members_user ON members(user_id);"
	"CREATE TABLE attendance(id INTEGER PRIMARY KEY, meeting_id INTEGER NOT NULL REFERENCES meetings(id),"
	" user_id INTEGER NOT NULL REFERENCES users(id), join_at INTEGER NOT NULL, leave_at INTEGER);"
	"CREATE INDEX attendance_meeting ON attendance(meeting_id, user_id);"
	"CREATE TABLE bans(meeting_id INTEGER NOT NULL REFERENCES meetings(id), user_id INTEGER NOT NULL,"
	" by_user INTEGER NOT NULL, reason TEXT, at INTEGER NOT NULL, PRIMARY KEY(meeting_id, user_id)) WITHOUT ROWID;"
	"CREATE TABLE chat(id INTEGER PRIMARY KEY, meeting_id INTEGER NOT NULL REFERENCES meetings(id),"
	" user_id INTEGER NOT NULL, content TEXT NOT NULL, at INTEGER NOT NULL);"
	"CREATE INDEX chat_meeting ON chat(meeting_id, id);"
	"CREATE TABLE events(meeting_id INTEGER NOT NULL, offset INTEGER NOT NULL, type TEXT NOT NULL,"
	" body TEXT NOT NULL, at INTEGER NOT NULL, PRIMARY KEY(meeting_id, offset)) WITHOUT ROWID;"
	"CREATE TABLE machines(id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, token_hash TEXT NOT NULL UNIQUE,"
	" created_at INTEGER NOT NULL, last_seen INTEGER, boot_id TEXT, agent_version TEXT,"
	" revoked INTEGER NOT NULL DEFAULT 0);"
	"CREATE TABLE agent_events(machine_id INTEGER NOT NULL, event_id TEXT NOT NULL, at INTEGER NOT NULL,"
	" PRIMARY KEY(machine_id, event_id)) WITHOUT ROWID;"
	"CREATE TABLE recordings(id INTEGER PRIMARY KEY, machine_id INTEGER NOT NULL REFERENCES machines(id),"
	" capture TEXT NOT NULL, user_id INTEGER REFERENCES users(id), local_user TEXT, kind TEXT NOT NULL,"
	" program TEXT, exe TEXT, argv TEXT, pid INTEGER, rule_id TEXT, rule_title TEXT, layer TEXT,"
	" start_at INTEGER NOT NULL, end_at INTEGER, duration_ms INTEGER, calls INTEGER,"
	" UNIQUE(machine_id, capture));"
	"CREATE INDEX recordings_user ON recordings(user_id, end_at);"
	"CREATE TABLE recording_meetings(recording_id INTEGER NOT NULL REFERENCES recordings(id),"
	" meeting_id INTEGER NOT NULL REFERENCES meetings(id), PRIMARY KEY(meeting_id, recording_id)) WITHOUT ROWID;",
	/* 2: what else the agent reports about a capture (api, target, attempt, action) */
	"ALTER TABLE recordings ADD COLUMN detail TEXT;",
	/*
	 * 3: machine presence (online, why offline, the local users it reports),
	 * per-user monitoring state, organiser-only events and system chat rows
	 */
	"ALTER TABLE machines ADD COLUMN online INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE machines ADD COLUMN offline_reason TEXT;"
	"ALTER TABLE machines ADD COLUMN state_at INTEGER;"
	"ALTER TABLE machines ADD COLUMN users TEXT;"
	"ALTER TABLE events ADD COLUMN audience INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE chat ADD COLUMN kind TEXT NOT NULL DEFAULT 'user';"
	"ALTER TABLE chat ADD COLUMN audience INTEGER NOT NULL DEFAULT 0;"
	"CREATE TABLE monitor_state(user_id INTEGER PRIMARY KEY REFERENCES users(id), monitored INTEGER NOT NULL,"
	" reason TEXT, machine_id INTEGER, at INTEGER NOT NULL);",
	/*
	 * 4: a code is unique among ongoing meetings only (an ended meeting's
	 * code may be drawn again), and a meeting says who may join it. SQLite
	 * cannot drop a column's UNIQUE: the table is rebuilt (foreign keys are
	 * off while migrations run, see store_sqlite_open).
	 */
	"CREATE TABLE meetings_v4(id INTEGER PRIMARY KEY, code TEXT NOT NULL, title TEXT NOT NULL, link TEXT,"
	" created_by INTEGER NOT NULL REFERENCES users(id), start_at INTEGER NOT NULL, end_at INTEGER,"
	" join_policy TEXT NOT NULL DEFAULT 'anyone');"
	"INSERT INTO meetings_v4(id, code, title, link, created_by, start_at, end_at)"
	" SELECT id, code, title, link, created_by, start_at, end_at FROM meetings;"
	"DROP TABLE meetings;"
	"ALTER TABLE meetings_v4 RENAME TO meetings;"
	"CREATE UNIQUE INDEX meetings_live_code ON meetings(code) WHERE end_at IS NULL;"
	"CREATE INDEX meetings_code ON meetings(code, id);",
	/*
	 * 5: whether an account's e-mail is verified (add-user by an admin, or an
	 * identity provider's email_verified): only then may an OIDC identity be
	 * linked to it by e-mail. Self sign-up is not. Earlier accounts count as
	 * unverified except those an identity provider created (it stores only
	 * verified addresses).
	 */
	"ALTER TABLE users ADD COLUMN email_verified INTEGER NOT NULL DEFAULT 0;"
	"UPDATE users SET email_verified = 1 WHERE oidc_sub IS NOT NULL AND email IS NOT NULL;",
	/*
	 * 6: lobby scale: a chat line's client id (resends are recognised) and
	 * the offset of its event; people paged by name
	 */
	"ALTER TABLE chat ADD COLUMN cid TEXT;"
	"ALTER TABLE chat ADD COLUMN event_offset INTEGER;"
	"CREATE UNIQUE INDEX chat_cid ON chat(meeting_id, user_id, cid) WHERE cid IS NOT NULL;"
	"CREATE INDEX attendance_open ON attendance(meeting_id, user_id) WHERE leave_at IS NULL;",
	/* 7: events a machine's agent says its spool dropped (hello.spool_dropped), over the spool's life */
	"ALTER TABLE machines ADD COLUMN spool_dropped INTEGER NOT NULL DEFAULT 0;",
	/*
	 * 8: central policy (issue 14): bundles of rule files per group, a
	 * machine's group (NULL: "default") and what its agent has in force
	 */
	"CREATE TABLE policy_bundles(version INTEGER PRIMARY KEY, grp TEXT NOT NULL, author TEXT, note TEXT,"
	" at INTEGER NOT NULL, files TEXT NOT NULL, rolled_back_from INTEGER);"
	"CREATE INDEX policy_bundles_grp ON policy_bundles(grp, version);"
	"ALTER TABLE machines ADD COLUMN grp TEXT;"
	"ALTER TABLE machines ADD COLUMN policy_source TEXT;"
	"ALTER TABLE machines ADD COLUMN policy_version INTEGER;"
	"ALTER TABLE machines ADD COLUMN policy_error TEXT;"
	"ALTER TABLE machines ADD COLUMN policy_at INTEGER;",
	/*
	 * 9 (fleet view, issue 14): the agent's status report (kernel, layers),
	 * the newest capture event, and how many events the spool dropped since
	 * the hello before the last
	 */
	"ALTER TABLE machines ADD COLUMN kernel TEXT;"
	"ALTER TABLE machines ADD COLUMN status_json TEXT;"
	"ALTER TABLE machines ADD COLUMN status_at INTEGER;"
	"ALTER TABLE machines ADD COLUMN last_event_at INTEGER;"
	"ALTER TABLE machines ADD COLUMN spool_dropped_new INTEGER NOT NULL DEFAULT 0;",
	/* 10: pending OpenID Connect sign-ins (were in memory): the callback may reach another node */
	"CREATE TABLE oidc_pending(state TEXT PRIMARY KEY, nonce TEXT NOT NULL, verifier TEXT NOT NULL,"
	" return_to TEXT NOT NULL, created INTEGER NOT NULL);"
	"CREATE INDEX oidc_pending_created ON oidc_pending(created);",
	/*
	 * 11 (observations, issue 14): what the policy saw on machines that opted in
	 * (share_observations), for `sphinx-policy test`; at = received, purged
	 * past observations_retention_days and observations_max
	 */
	"CREATE TABLE observations(id INTEGER PRIMARY KEY, machine_id INTEGER NOT NULL REFERENCES machines(id),"
	" at INTEGER NOT NULL, body TEXT NOT NULL);"
	"CREATE INDEX observations_at ON observations(at);",
};

/* ---------------------------------------------------------------- helpers */

static sqlite3_stmt *prep(struct store *s, const char *sql)
{
	struct sqlite_store *ss = (struct sqlite_store *)s;
	size_t i;

	for (i = 0; i < STMT_CACHE && ss->cache[i].sql; i++) {
		if (ss->cache[i].sql == sql) {
			sqlite3_reset(ss->cache[i].st);
			sqlite3_clear_bindings(ss->cache[i].st);
			return ss->cache[i].st;
		}
	}
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v3(ss->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL) != SQLITE_OK)
		return NULL;
	if (i < STMT_CACHE) {
		ss->cache[i].sql = sql;
		ss->cache[i].st = st;
	}
	/* a full cache would leak; STMT_CACHE exceeds the number of statements */
	return st;
}

/* Bind arguments described by fmt: i=int64, I=int64 with 0 as NULL, s=text (NULL binds NULL), n=NULL. */
static int bindv(sqlite3_stmt *st, const char *fmt, va_list ap)
{
	for (int i = 1; *fmt; fmt++, i++) {
		int r;
		if (*fmt == 'i') {
			r = sqlite3_bind_int64(st, i, va_arg(ap, int64_t));
		} else if (*fmt == 'I') {
			int64_t v = va_arg(ap, int64_t);
			r = v ? sqlite3_bind_int64(st, i, v) : sqlite3_bind_null(st, i);
		} else if (*fmt == 's') {
			const char *v = va_arg(ap, const char *);
			r = v ? sqlite3_bind_text(st, i, v, -1, SQLITE_TRANSIENT) : sqlite3_bind_null(st, i);
		} else {
			r = sqlite3_bind_null(st, i);
		}
		if (r != SQLITE_OK)
			return -EIO;
	}
	return 0;
}

static int err_of(int rc)
{
	if (rc == SQLITE_CONSTRAINT)
		return -EEXIST;
	if (rc == SQLITE_FULL)
		return -ENOSPC;
	if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED)
		return -EBUSY;
	return -EIO;
}

/* Run a statement that returns no rows. Returns number of changed rows or -errno. */
/* The prepared statement for @sql with @fmt's arguments bound, or NULL and *ret_err. */
static sqlite3_stmt *prep_bound(struct store *s, int *ret_err, const char *sql, const char *fmt, va_list ap)
{
	sqlite3_stmt *st = prep(s, sql);
	int rc;

	if (!st) {
		*ret_err = -EIO;
		return NULL;
	}
	rc = bindv(st, fmt, ap);
	if (rc < 0) {
		*ret_err = rc;
		return NULL;
	}
	return st;
}

static int exec_(struct store *s, const char *sql, const char *fmt, ...)
{
	sqlite3_stmt *st;
	va_list ap;
	int rc;

	va_start(ap, fmt);
	st = prep_bound(s, &rc, sql, fmt, ap);
	va_end(ap);
	if (!st)
		return rc;
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		return err_of(sqlite3_extended_errcode(DB(s)) & 0xff);
	return sqlite3_changes(DB(s));
}

/* Prepare + bind + step once. Returns the statement positioned on a row, or NULL with *err. */
static sqlite3_stmt *row_(struct store *s, int *err, const char *sql, const char *fmt, ...)
{
	sqlite3_stmt *st;
	va_list ap;
	int rc;

	va_start(ap, fmt);
	st = prep_bound(s, err, sql, fmt, ap);
	va_end(ap);
	if (!st) {
		*err = -EIO;	/* as before: a bad bind reads as an I/O error here */
		return NULL;
	}
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*err = 0;
		return st;
	}
	*err = rc == SQLITE_DONE ? -ENOENT : -EIO;
	sqlite3_reset(st);
	return NULL;
}

/* The one integer a query about one meeting answers (a count, an offset). 0 or -errno. */
static int meeting_int_(struct store *s, const char *sql, int64_t meeting_id, int64_t *ret)
{
	int err;
	sqlite3_stmt *st = row_(s, &err, sql, "i", meeting_id);

	if (!st)
		return err;
	*ret = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	return 0;
}

static char *col_dup(sqlite3_stmt *st, int i)
{
	const unsigned char *t = sqlite3_column_text(st, i);
	return t ? strdup((const char *)t) : NULL;
}

/* Column i as a new string, NULL for SQL NULL; *oom set when out of memory. */
static char *col_str(sqlite3_stmt *st, int i, bool *oom)
{
	const unsigned char *t = sqlite3_column_text(st, i);
	char *d;

	if (!t)
		return NULL;
	if (!(d = strdup((const char *)t)))
		*oom = true;
	return d;
}

static bool col_null(sqlite3_stmt *st, int i) { return sqlite3_column_type(st, i) == SQLITE_NULL; }

/* Fills a zeroed row from the statement's current result row: 0 or -ENOMEM (the row is then half filled). */
typedef int (*fill_fn)(sqlite3_stmt *st, void *row);

/*
 * Every result row of sql (arguments as exec_) appended to the array *v of
 * rows of size bytes, filled by fill; *n counts them. On failure the rows
 * read so far stay in *v for the caller's *_list_free().
 */
static int collect_(struct store *s, void **v, size_t *n, size_t size, fill_fn fill, const char *sql,
		    const char *fmt, ...)
{
	size_t cap = 0;
	sqlite3_stmt *st;
	va_list ap;
	int rc, r = 0;

	*v = NULL;
	*n = 0;
	va_start(ap, fmt);
	st = prep_bound(s, &rc, sql, fmt, ap);
	va_end(ap);
	if (!st)
		return rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (*n == cap) {
			size_t ncap = cap ? cap * 2 : 16;
			void *nv = realloc(*v, ncap * size);
			if (!nv) {
				r = -ENOMEM;
				break;
			}
			*v = nv;
			cap = ncap;
		}
		void *row = (char *)*v + *n * size;
		memset(row, 0, size);
		(*n)++;
		if ((r = fill(st, row)) < 0)
			break;
	}
	sqlite3_reset(st);
	if (r == 0 && rc != SQLITE_DONE)
		r = -EIO;
	return r;
}

/* collect_() into a struct <row>_list l */
#define list_(s, l, fill, sql, fmt, ...) \
	collect_((s), (void **)&(l)->v, &(l)->n, sizeof(*(l)->v), (fill), (sql), (fmt), ##__VA_ARGS__)

static int64_t col_i(sqlite3_stmt *st, int i) { return sqlite3_column_int64(st, i); }

/* ------------------------------------------------------------ transactions */

static int sq_begin(struct store *s)
{
	int r = exec_(s, "BEGIN IMMEDIATE", "");
	if (r >= 0)
		((struct sqlite_store *)s)->in_tx = 1;
	return r < 0 ? r : 0;
}

static int sq_commit(struct store *s)
{
	int r = exec_(s, "COMMIT", "");
	((struct sqlite_store *)s)->in_tx = 0;
	if (r < 0) {
		exec_(s, "ROLLBACK", "");
		return r;
	}
	return 0;
}

static void sq_rollback(struct store *s)
{
	if (((struct sqlite_store *)s)->in_tx)
		exec_(s, "ROLLBACK", "");
	((struct sqlite_store *)s)->in_tx = 0;
}

static int sq_meta_get(struct store *s, const char *key, char **ret)
{
	int err;
	sqlite3_stmt *st = row_(s, &err, "SELECT value FROM meta WHERE key = ?", "s", key);

	if (!st)
		return err;
	*ret = col_dup(st, 0);
	sqlite3_reset(st);
	return *ret ? 0 : -ENOMEM;
}

static int sq_meta_set(struct store *s, const char *key, const char *value)
{
	int r = exec_(s,
		      "INSERT INTO meta(key, value) VALUES(?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
		      "ss", key, value);
	return r < 0 ? r : 0;
}

/* ------------------------------------------------------------------ users */

#define USER_COLS "SELECT id, username, email, name, picture, is_admin FROM users "

static int user_row(sqlite3_stmt *st, int err, struct user *ret)
{
	if (!st)
		return err;
	memset(ret, 0, sizeof(*ret));
	ret->id = col_i(st, 0);
	ret->username = col_dup(st, 1);
	ret->email = col_dup(st, 2);
	ret->name = col_dup(st, 3);
	ret->picture = col_dup(st, 4);
	ret->is_admin = col_i(st, 5) != 0;
	sqlite3_reset(st);
	return 0;
}

static int sq_user_create(struct store *s, const char *username, const char *email, const char *name,
			  const char *picture, const char *pw_hash, const char *oidc_iss, const char *oidc_sub,
			  int64_t at, int64_t *ret_id)
{
	int r = exec_(s,
		      "INSERT INTO users(username, email, name, picture, password_hash, oidc_iss, oidc_sub, created_at)"
		      " VALUES(?, ?, ?, ?, ?, ?, ?, ?)",
		      "sssssssi", username, email, name, picture, pw_hash, oidc_iss, oidc_sub, at);
	if (r < 0)
		return r;
	if (ret_id)
		*ret_id = sqlite3_last_insert_rowid(DB(s));
	return 0;
}

static int sq_user_get(struct store *s, int64_t id, struct user *ret)
{
	int err;
	sqlite3_stmt *st = row_(s, &err, USER_COLS "WHERE id = ?", "i", id);
	return user_row(st, err, ret);
}

static int sq_user_find(struct store *s, const char *field, const char *value, struct user *ret)
{
	int err;
	sqlite3_stmt *st;

	if (strcmp(field, "username") == 0)
		st = row_(s, &err, USER_COLS "WHERE username = ?", "s", value);
	else if (strcmp(field, "email") == 0)
		st = row_(s, &err, USER_COLS "WHERE email = ?", "s", value);
	else
		return -EINVAL;
	return user_row(st, err, ret);
}

static int sq_user_find_oidc(struct store *s, const char *iss, const char *sub, struct user *ret)
{
	int err;
	sqlite3_stmt *st = row_(s, &err, USER_COLS "WHERE oidc_iss = ? AND oidc_sub = ?", "ss", iss, sub);
	return user_row(st, err, ret);
}

static int sq_user_link_oidc(struct store *s, int64_t id, const char *iss, const char *sub)
{
	int r = exec_(s, "UPDATE users SET oidc_iss = ?, oidc_sub = ? WHERE id = ?", "ssi", iss, sub, id);
	return r < 0 ? r : r == 0 ? -ENOENT : 0;
}

static int sq_user_update_profile(struct store *s, int64_t id, const char *name, const char *picture)
{
	int r = exec_(s, "UPDATE users SET name = coalesce(?, name), picture = coalesce(?, picture) WHERE id = ?",
		      "ssi", name, picture, id);
	return r < 0 ? r : 0;
}

static int sq_user_password_hash(struct store *s, const char *username, int64_t *ret_id, char **ret_hash)
{
	int err;
	sqlite3_stmt *st = row_(s, &err, "SELECT id, password_hash FROM users WHERE username = ?", "s", username);

	if (!st)
		return err;
	*ret_id = col_i(st, 0);
	*ret_hash = col_dup(st, 1);
	sqlite3_reset(st);
	return *ret_hash ? 0 : -ENOENT;
}

static int sq_user_set_password(struct store *s, int64_t id, const char *pw_hash)
{
	int r = exec_(s, "UPDATE users SET password_hash = ? WHERE id = ?", "si", pw_hash, id);
	return r < 0 ? r : r == 0 ? -ENOENT : 0;
}

static int sq_user_set_admin(struct store *s, int64_t id, bool admin)
{
	int r = exec_(s, "UPDATE users SET is_admin = ? WHERE id = ?", "ii", (int64_t)admin, id);
	return r < 0 ? r : r == 0 ? -ENOENT : 0;
}

/* --------------------------------------------------------------- sessions */

static int sq_session_put(struct store *s, const char *id, const struct session_row *row)
{
	int r = exec_(
		s,
		"INSERT INTO sessions(id, user_id, csrf, created_at, last_seen, expires_at) VALUES(?, ?, ?, ?, ?, ?)",
		"sisiii", id, row->user_id, row->csrf, row->created_at, row->last_seen, row->expires_at);
	return r < 0 ? r : 0;
}

static int sq_session_get(struct store *s, const char *id, struct session_row *ret)
{
	int err;
	sqlite3_stmt *st = row_(
		s, &err, "SELECT user_id, csrf, created_at, last_seen, expires_at FROM sessions WHERE id = ?", "s", id);
	if (!st)
		return err;
	ret->user_id = col_i(st, 0);
	snprintf(ret->csrf, sizeof(ret->csrf), "%s", (const char *)sqlite3_column_text(st, 1));
	ret->created_at = col_i(st, 2);
	ret->last_seen = col_i(st, 3);
	ret->expires_at = col_i(st, 4);
	sqlite3_reset(st);
	return 0;
}

static int sq_session_touch(struct store *s, const char *id, int64_t at)
{
	int r = exec_(s, "UPDATE sessions SET last_seen = ? WHERE id = ?", "is", at, id);
	return r < 0 ? r : 0;
}

static int sq_session_delete(struct store *s, const char *id)
{
	int r = exec_(s, "DELETE FROM sessions WHERE id = ?", "s", id);
	return r < 0 ? r : 0;
}

/* ------------------------------------------------ sign-in and identity */

static int sq_user_set_email_verified(struct store *s, int64_t id, bool verified)
{
	int r = exec_(s, "UPDATE users SET email_verified = ? WHERE id = ?", "ii", (int64_t)verified, id);
	return r < 0 ? r : r == 0 ? -ENOENT : 0;
}

static int sq_user_email_verified(struct store *s, int64_t id)
{
	int err;
	sqlite3_stmt *st =
		row_(s, &err, "SELECT email IS NOT NULL AND email_verified FROM users WHERE id = ?", "i", id);
	int64_t v = 0;

	if (!st)
		return err;
	v = col_i(st, 0);
	sqlite3_reset(st);
	return v ? 1 : 0;
}

static int sq_session_delete_user(struct store *s, int64_t user_id)
{
	return exec_(s, "DELETE FROM sessions WHERE user_id = ?", "i", user_id);
}

static int sq_session_purge(struct store *s, int64_t now)
{
	return exec_(s, "DELETE FROM sessions WHERE expires_at < ?", "i", now);
}

/* --------------------------------------------------------------- meetings */

#define MEETING_COLS \
	"SELECT id, code, title, link, created_by, start_at, coalesce(end_at, 0), join_policy = 'domain' FROM meetings "

/* MEETING_COLS of the current row into a zeroed *m: 0 or -ENOMEM. */
static int fill_meeting(sqlite3_stmt *st, struct meeting *m)
{
	bool oom = false;

	m->id = col_i(st, 0);
	snprintf(m->code, sizeof(m->code), "%s", (const char *)sqlite3_column_text(st, 1));
	m->title = col_str(st, 2, &oom);
	m->link = col_str(st, 3, &oom);
	m->created_by = col_i(st, 4);
	m->start_at = col_i(st, 5);
	m->end_at = col_i(st, 6);
	m->join_policy = col_i(st, 7) ? JOIN_DOMAIN : JOIN_ANYONE;
	return oom ? -ENOMEM : 0;
}

static int meeting_row(sqlite3_stmt *st, int err, struct meeting *ret)
{
	if (!st)
		return err;
	memset(ret, 0, sizeof(*ret));
	err = fill_meeting(st, ret);
	sqlite3_reset(st);
	if (err < 0)
		meeting_clear(ret);
	return err;
}

static int sq_meeting_create(struct store *s, const char *code, const char *title, const char *link,
			     enum join_policy policy, int64_t created_by, int64_t at, int64_t *ret_id)
{
	int r = exec_(s, "INSERT INTO meetings(code, title, link, join_policy, created_by, start_at)"
		      " VALUES(?, ?, ?, ?, ?, ?)", "ssssii", code, title, link,
		      policy == JOIN_DOMAIN ? "domain" : "anyone", created_by, at);
	if (r < 0)
		return r;
	*ret_id = sqlite3_last_insert_rowid(DB(s));
	r = exec_(s, "INSERT INTO organisers(meeting_id, user_id, added_by, added_at) VALUES(?, ?, ?, ?)",
		  "iiii", *ret_id, created_by, created_by, at);
	return r < 0 ? r : 0;
}

static int sq_meeting_get(struct store *s, int64_t id, struct meeting *ret)
{
	int err;
	sqlite3_stmt *st = row_(s, &err, MEETING_COLS "WHERE id = ?", "i", id);
	return meeting_row(st, err, ret);
}

static int sq_meeting_by_code(struct store *s, const char *code, struct meeting *ret)
{
	int err;
	/* the ongoing meeting with this code, else the latest that ended */
	sqlite3_stmt *st = row_(s, &err, MEETING_COLS "WHERE code = ? ORDER BY end_at IS NOT NULL, id DESC LIMIT 1",
				"s", code);
	return meeting_row(st, err, ret);
}

static int sq_meeting_end(struct store *s, int64_t id, int64_t at)
{
	int r = exec_(s, "UPDATE meetings SET end_at = ? WHERE id = ? AND end_at IS NULL", "ii", at, id);
	return r < 0 ? r : r == 0 ? -EALREADY : 0;
}

#define MY_MEETINGS \
	"SELECT m.id, m.code, m.title, m.link, m.created_by, m.start_at, coalesce(m.end_at, 0)," \
	" m.join_policy = 'domain', EXISTS(SELECT 1 FROM organisers o WHERE o.meeting_id = m.id AND o.user_id = ?1)" \
	" FROM meetings m WHERE (m.id IN (SELECT meeting_id FROM organisers WHERE user_id = ?1)" \
	" OR m.id IN (SELECT meeting_id FROM members WHERE user_id = ?1))" \
	" AND NOT EXISTS(SELECT 1 FROM bans b WHERE b.meeting_id = m.id AND b.user_id = ?1) "

static int fill_meeting_entry(sqlite3_stmt *st, void *row)
{
	struct meeting_entry *e = row;

	e->organiser = col_i(st, 8) != 0;
	return fill_meeting(st, &e->meeting);
}

static int sq_meeting_list(struct store *s, int64_t user_id, struct meeting_list *ret_ongoing,
			   struct meeting_list *ret_past)
{
	int r = list_(s, ret_ongoing, fill_meeting_entry, MY_MEETINGS "AND m.end_at IS NULL ORDER BY m.start_at DESC",
		      "i", user_id);
	if (r == 0)
		r = list_(s, ret_past, fill_meeting_entry,
			  MY_MEETINGS "AND m.end_at IS NOT NULL ORDER BY m.end_at DESC LIMIT 500", "i", user_id);
	if (r < 0) {
		meeting_list_free(ret_ongoing);
		meeting_list_free(ret_past);
	}
	return r;
}

static int sq_organiser_add(struct store *s, int64_t meeting_id, int64_t user_id, int64_t by, int64_t at)
{
	int r = exec_(s, "INSERT OR IGNORE INTO organisers(meeting_id, user_id, added_by, added_at) VALUES(?, ?, ?, ?)",
		      "iiii", meeting_id, user_id, by, at);
	return r < 0 ? r : r == 0 ? -EEXIST : 0;
}

static int exists_(struct store *s, const char *sql, int64_t a, int64_t b)
{
	int err;
	sqlite3_stmt *st = row_(s, &err, sql, "ii", a, b);

	if (!st)
		return err == -ENOENT ? 0 : err;
	sqlite3_reset(st);
	return 1;
}

static int sq_is_organiser(struct store *s, int64_t meeting_id, int64_t user_id)
{
	return exists_(s, "SELECT 1 FROM organisers WHERE meeting_id = ? AND user_id = ?", meeting_id, user_id);
}

static int sq_member_add(struct store *s, int64_t meeting_id, int64_t user_id, int64_t at)
{
	int r = exec_(s, "INSERT OR IGNORE INTO members(meeting_id, user_id, joined_at) VALUES(?, ?, ?)",
		      "iii", meeting_id, user_id, at);
	return r < 0 ? r : 0;
}

static int sq_is_member(struct store *s, int64_t meeting_id, int64_t user_id)
{
	return exists_(s, "SELECT 1 FROM members WHERE meeting_id = ? AND user_id = ?", meeting_id, user_id);
}

static int fill_person(sqlite3_stmt *st, void *row);

static int sq_people(struct store *s, int64_t meeting_id, struct person_list *ret)
{
	int r = list_(s, ret, fill_person,
		      "SELECT u.id, u.name, u.email, u.picture,"
		      " EXISTS(SELECT 1 FROM organisers o WHERE o.meeting_id = ?1 AND o.user_id = u.id),"
		      " EXISTS(SELECT 1 FROM bans b WHERE b.meeting_id = ?1 AND b.user_id = u.id), 0, 0"
		      " FROM users u WHERE u.id IN (SELECT user_id FROM organisers WHERE meeting_id = ?1"
		      " UNION SELECT user_id FROM members WHERE meeting_id = ?1) ORDER BY u.name, u.id",
		      "i", meeting_id);
	if (r < 0)
		person_list_free(ret);
	return r;
}

static int sq_ban_add(struct store *s, int64_t meeting_id, int64_t user_id, int64_t by, const char *reason, int64_t at)
{
	int r = exec_(s, "INSERT OR IGNORE INTO bans(meeting_id, user_id, by_user, reason, at) VALUES(?, ?, ?, ?, ?)",
		      "iiisi", meeting_id, user_id, by, reason, at);
	return r < 0 ? r : r == 0 ? -EEXIST : 0;
}

static int sq_is_banned(struct store *s, int64_t meeting_id, int64_t user_id)
{
	return exists_(s, "SELECT 1 FROM bans WHERE meeting_id = ? AND user_id = ?", meeting_id, user_id);
}

static int fill_ban(sqlite3_stmt *st, void *row)
{
	struct ban *b = row;
	bool oom = false;

	b->user_id = col_i(st, 0);
	b->name = col_str(st, 1, &oom);
	b->by_user = col_i(st, 2);
	b->reason = col_str(st, 3, &oom);
	b->at = col_i(st, 4);
	return oom ? -ENOMEM : 0;
}

static int sq_bans(struct store *s, int64_t meeting_id, struct ban_list *ret)
{
	int r = list_(s, ret, fill_ban, "SELECT b.user_id, u.name, b.by_user, b.reason, b.at FROM bans b"
		      " JOIN users u ON u.id = b.user_id WHERE b.meeting_id = ? ORDER BY b.at", "i", meeting_id);
	if (r < 0)
		ban_list_free(ret);
	return r;
}

/* ------------------------------------------------------------- attendance */

static int sq_attendance_open(struct store *s, int64_t meeting_id, int64_t user_id, int64_t at, int64_t *ret_id)
{
	int r = exec_(s, "INSERT INTO attendance(meeting_id, user_id, join_at) VALUES(?, ?, ?)",
		      "iii", meeting_id, user_id, at);
	if (r < 0)
		return r;
	*ret_id = sqlite3_last_insert_rowid(DB(s));
	return 0;
}

static int sq_attendance_close(struct store *s, int64_t id, int64_t at)
{
	int r = exec_(s, "UPDATE attendance SET leave_at = max(join_at, ?) WHERE id = ? AND leave_at IS NULL",
		      "ii", at, id);
	return r < 0 ? r : 0;
}

static int sq_attendance_close_dangling(struct store *s, int64_t at)
{
	return exec_(s, "UPDATE attendance SET leave_at = max(join_at, ?) WHERE leave_at IS NULL", "i", at);
}

static int fill_attendee(sqlite3_stmt *st, void *row)
{
	struct attendee *a = row;
	bool oom = false;

	a->user_id = col_i(st, 0);
	a->name = col_str(st, 1, &oom);
	a->email = col_str(st, 2, &oom);
	a->first_join = col_i(st, 3);
	a->last_leave = col_i(st, 4);
	a->duration_ms = col_i(st, 5);
	a->joins = col_i(st, 6);
	a->organiser = col_i(st, 7) != 0;
	a->online = col_i(st, 8) != 0;
	return oom ? -ENOMEM : 0;
}

static int fill_span(sqlite3_stmt *st, void *row)
{
	struct attendance_span *a = row;

	a->id = col_i(st, 0);
	a->user_id = col_i(st, 1);
	a->join_at = col_i(st, 2);
	a->leave_at = col_i(st, 3);	/* NULL reads as 0: still there */
	return 0;
}

static int sq_attendance(struct store *s, int64_t meeting_id, int64_t now, struct attendance_list *ret)
{
	struct { struct attendance_span *v; size_t n; } rows = { 0 };
	size_t k = 0;
	int r;

	r = list_(s, ret, fill_attendee,
		  "SELECT a.user_id, u.name, u.email, min(a.join_at) AS first_join,"
		  " max(coalesce(a.leave_at, ?2)), sum(coalesce(a.leave_at, ?2) - a.join_at), count(*),"
		  " EXISTS(SELECT 1 FROM organisers o WHERE o.meeting_id = ?1 AND o.user_id = a.user_id),"
		  " sum(a.leave_at IS NULL) > 0"
		  " FROM attendance a JOIN users u ON u.id = a.user_id WHERE a.meeting_id = ?1"
		  " GROUP BY a.user_id ORDER BY first_join", "ii", meeting_id, now);
	if (r == 0)
		r = list_(s, &rows, fill_span,
			  "SELECT id, user_id, join_at, leave_at FROM attendance WHERE meeting_id = ? ORDER BY id",
			  "i", meeting_id);
	if (r == 0 && rows.n && !(ret->spans = calloc(rows.n, sizeof(*ret->spans))))
		r = -ENOMEM;
	if (r < 0) {
		free(rows.v);
		attendance_list_free(ret);
		return r;
	}
	/* each attendee's rows, in id order, side by side in ret->spans */
	for (size_t i = 0; i < ret->n; i++) {
		ret->v[i].spans = ret->spans + k;
		for (size_t j = 0; j < rows.n; j++)
			if (rows.v[j].user_id == ret->v[i].user_id)
				ret->spans[k++] = rows.v[j];
		ret->v[i].nspans = (size_t)(ret->spans + k - ret->v[i].spans);
	}
	ret->nspans = k;
	free(rows.v);
	return 0;
}

/* ---------------------------------------------------------- chat + events */

static int sq_chat_add(struct store *s, int64_t meeting_id, int64_t user_id, const char *text, int64_t at,
		       int64_t *ret_id)
{
	int r = exec_(s, "INSERT INTO chat(meeting_id, user_id, content, at) VALUES(?, ?, ?, ?)",
		      "iisi", meeting_id, user_id, text, at);
	if (r < 0)
		return r;
	*ret_id = sqlite3_last_insert_rowid(DB(s));
	return 0;
}

static int sq_chat_add_system(struct store *s, int64_t meeting_id, int64_t about, const char *text,
			      enum audience audience, int64_t at, int64_t *ret_id)
{
	int r = exec_(
		s, "INSERT INTO chat(meeting_id, user_id, content, at, kind, audience) VALUES(?, ?, ?, ?, 'system', ?)",
		"iisii", meeting_id, about, text, at, (int64_t)audience);
	if (r < 0)
		return r;
	*ret_id = sqlite3_last_insert_rowid(DB(s));
	return 0;
}

static int sq_event_append(struct store *s, int64_t meeting_id, uint64_t offset, const char *type,
			   const char *body, enum audience audience, int64_t at)
{
	int r = exec_(s, "INSERT INTO events(meeting_id, offset, type, body, at, audience) VALUES(?, ?, ?, ?, ?, ?)",
		      "iissii", meeting_id, (int64_t)offset, type, body, at, (int64_t)audience);
	return r < 0 ? r : 0;
}

/* An event offset a query about one meeting answers (offsets are never negative). */
static int meeting_offset_(struct store *s, const char *sql, int64_t meeting_id, uint64_t *ret)
{
	int64_t v = 0;
	int r = meeting_int_(s, sql, meeting_id, &v);

	if (r == 0)
		*ret = (uint64_t)v;
	return r;
}

static int sq_event_last_offset(struct store *s, int64_t meeting_id, uint64_t *ret)
{
	return meeting_offset_(s, "SELECT coalesce(max(offset), 0) FROM events WHERE meeting_id = ?", meeting_id, ret);
}

static int sq_events_since(struct store *s, int64_t meeting_id, uint64_t offset,
			   int (*fn)(void *ud, uint64_t offset, enum audience audience, const char *body), void *ud)
{
	/* not cached: fn may call back into the store */
	sqlite3_stmt *st = NULL;
	int rc;

	if (sqlite3_prepare_v2(
		    DB(s),
		    "SELECT offset, body, audience FROM events WHERE meeting_id = ? AND offset > ? ORDER BY offset", -1,
		    &st, NULL) != SQLITE_OK)
		return -EIO;
	sqlite3_bind_int64(st, 1, meeting_id);
	sqlite3_bind_int64(st, 2, (int64_t)offset);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (fn(ud, (uint64_t)col_i(st, 0), (enum audience)col_i(st, 2),
		       (const char *)sqlite3_column_text(st, 1)) < 0)
			break;
	}
	sqlite3_finalize(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : -EIO;
}

static int fill_event(sqlite3_stmt *st, void *row)
{
	struct event_row *e = row;
	bool oom = false;

	e->offset = (uint64_t)col_i(st, 0);
	e->body = col_str(st, 1, &oom);
	return oom ? -ENOMEM : 0;
}

static int sq_events_of_type(struct store *s, int64_t meeting_id, const char *type, struct event_list *ret)
{
	int r = list_(s, ret, fill_event,
		      "SELECT offset, body FROM events WHERE meeting_id = ? AND type = ? ORDER BY offset", "is",
		      meeting_id, type);
	if (r < 0)
		event_list_free(ret);
	return r;
}

/* --------------------------------------------------------------- machines */

static int sq_machine_create(struct store *s, const char *name, const char *token_hash, int64_t at, int64_t *ret_id)
{
	int r = exec_(s, "INSERT INTO machines(name, token_hash, created_at) VALUES(?, ?, ?)", "ssi", name, token_hash,
		      at);
	if (r < 0)
		return r;
	*ret_id = sqlite3_last_insert_rowid(DB(s));
	return 0;
}

static int sq_machine_by_token(struct store *s, const char *token_hash, int64_t *ret_id, char **ret_name)
{
	int err;
	sqlite3_stmt *st =
		row_(s, &err, "SELECT id, name FROM machines WHERE token_hash = ? AND revoked = 0", "s", token_hash);

	if (!st)
		return err;
	*ret_id = col_i(st, 0);
	*ret_name = col_dup(st, 1);
	sqlite3_reset(st);
	return 0;
}

static int sq_machine_seen(struct store *s, int64_t id, const char *boot_id, const char *version, int64_t at)
{
	int r = exec_(s, "UPDATE machines SET last_seen = ?, boot_id = coalesce(?, boot_id),"
		      " agent_version = coalesce(?, agent_version) WHERE id = ?", "issi", at, boot_id, version, id);
	return r < 0 ? r : 0;
}

static int sq_machine_spool_dropped(struct store *s, int64_t id, int64_t dropped, int64_t *ret_before)
{
	int err;
	sqlite3_stmt *st = row_(s, &err, "SELECT spool_dropped FROM machines WHERE id = ?", "i", id);

	if (!st)
		return err;
	*ret_before = col_i(st, 0);
	sqlite3_reset(st);
	err = exec_(s, "UPDATE machines SET spool_dropped = ?, spool_dropped_new = ? WHERE id = ?", "iii", dropped,
		    dropped >= *ret_before ? dropped - *ret_before : dropped, id);
	return err < 0 ? err : 0;
}

static int fill_machine(sqlite3_stmt *st, void *row)
{
	struct machine *m = row;
	bool oom = false;

	m->id = col_i(st, 0);
	m->name = col_str(st, 1, &oom);
	m->created_at = col_i(st, 2);
	m->last_seen = col_i(st, 3);
	m->boot_id = col_str(st, 4, &oom);
	m->agent_version = col_str(st, 5, &oom);
	m->revoked = col_i(st, 6) != 0;
	m->online = col_i(st, 7) != 0;
	m->offline_reason = col_str(st, 8, &oom);
	m->state_at = col_i(st, 9);
	m->users_json = col_str(st, 10, &oom);
	m->spool_dropped = col_i(st, 11);
	m->grp = col_str(st, 12, &oom);
	m->policy_source = col_str(st, 13, &oom);
	m->policy_version = col_i(st, 14);
	m->policy_error = col_str(st, 15, &oom);
	m->policy_at = col_i(st, 16);
	m->spool_dropped_new = col_i(st, 17);
	m->kernel = col_str(st, 18, &oom);
	m->status_json = col_str(st, 19, &oom);
	m->status_at = col_i(st, 20);
	m->last_event_at = col_i(st, 21);
	return oom ? -ENOMEM : 0;
}

static int sq_machines(struct store *s, struct machine_list *ret)
{
	int r = list_(s, ret, fill_machine, "SELECT id, name, created_at, last_seen, boot_id, agent_version, revoked,"
		      " online, offline_reason, state_at, users, spool_dropped, grp, policy_source, policy_version,"
		      " policy_error, policy_at, spool_dropped_new, kernel, status_json, status_at, last_event_at"
		      " FROM machines ORDER BY name", "");
	if (r < 0)
		machine_list_free(ret);
	return r;
}

static int sq_machine_status(struct store *s, int64_t id, const char *kernel, const char *status_json, int64_t at)
{
	int r = exec_(s, "UPDATE machines SET kernel = ?, status_json = ?, status_at = ? WHERE id = ?", "ssii", kernel,
		      status_json, at, id);
	return r < 0 ? r : 0;
}

static int sq_machine_event_at(struct store *s, int64_t id, int64_t at)
{
	int r = exec_(s, "UPDATE machines SET last_event_at = max(coalesce(last_event_at, 0), ?) WHERE id = ?", "ii",
		      at, id);
	return r < 0 ? r : 0;
}

static int sq_machine_state(struct store *s, int64_t id, bool online, const char *reason, const char *users_json,
			    int64_t at)
{
	int r = exec_(s,
		      "UPDATE machines SET online = ?, offline_reason = ?, state_at = ?, users = coalesce(?, users),"
		      " last_seen = ? WHERE id = ?",
		      "isisii", (int64_t)online, online ? NULL : reason, at, users_json, at, id);
	return r < 0 ? r : 0;
}

static int sq_machines_reset(struct store *s, const char *reason, int64_t at)
{
	return exec_(s, "UPDATE machines SET online = 0, offline_reason = ?, state_at = ? WHERE online = 1", "si",
		     reason, at);
}

static int sq_monitor_set(struct store *s, int64_t user_id, bool monitored, const char *reason, int64_t machine_id,
			  int64_t at)
{
	int r = exec_(s,
		      "INSERT INTO monitor_state(user_id, monitored, reason, machine_id, at) VALUES(?1, ?2, ?3, ?4, ?5)"
		      " ON CONFLICT(user_id) DO UPDATE SET monitored = ?2, reason = ?3, machine_id = ?4, at = ?5",
		      "iisIi", user_id, (int64_t)monitored, reason, machine_id, at);
	return r < 0 ? r : 0;
}

static int fill_monitor(sqlite3_stmt *st, void *row)
{
	struct monitor_row *m = row;
	bool oom = false;

	m->user_id = col_i(st, 0);
	m->monitored = col_i(st, 1) != 0;
	m->reason = col_str(st, 2, &oom);
	m->machine_id = col_i(st, 3);
	m->at = col_i(st, 4);
	return oom ? -ENOMEM : 0;
}

static int sq_monitor_states(struct store *s, struct monitor_list *ret)
{
	int r = list_(s, ret, fill_monitor, "SELECT user_id, monitored, reason, machine_id, at FROM monitor_state", "");
	if (r < 0)
		monitor_list_free(ret);
	return r;
}

static int sq_monitor_reset(struct store *s, const char *reason, int64_t at)
{
	return exec_(s, "UPDATE monitor_state SET monitored = 0, reason = ?, at = ? WHERE monitored = 1", "si", reason,
		     at);
}

static int sq_machine_revoke(struct store *s, const char *name)
{
	int r = exec_(s, "UPDATE machines SET revoked = 1 WHERE name = ?", "s", name);
	return r < 0 ? r : r == 0 ? -ENOENT : 0;
}

static int sq_agent_event_claim(struct store *s, int64_t machine_id, const char *event_id, int64_t at)
{
	return exec_(s, "INSERT OR IGNORE INTO agent_events(machine_id, event_id, at) VALUES(?, ?, ?)",
		     "isi", machine_id, event_id, at);
}

/* ----------------------------------------------------------------- policy */

static int sq_policy_add(struct store *s, const char *grp, const char *author, const char *note,
			 const char *files_json, int64_t rolled_back_from, int64_t at, int64_t *ret_version)
{
	int err;
	sqlite3_stmt *st = row_(s, &err,
				"INSERT INTO policy_bundles(version, grp, author, note, at, files, rolled_back_from)"
				" SELECT coalesce(max(version), 0) + 1, ?, ?, ?, ?, ?, ? FROM policy_bundles"
				" RETURNING version", "sssisI", grp, author, note, at, files_json, rolled_back_from);

	if (!st)
		return err == -ENOENT ? -EIO : err;
	*ret_version = col_i(st, 0);
	/* a RETURNING statement writes when stepped to its end */
	err = sqlite3_step(st);
	sqlite3_reset(st);
	return err == SQLITE_DONE ? 0 : err_of(sqlite3_extended_errcode(DB(s)) & 0xff);
}

#define BUNDLE_COLS "SELECT version, grp, author, note, at, rolled_back_from, files FROM policy_bundles "

static int fill_bundle(sqlite3_stmt *st, void *row)
{
	struct policy_bundle *b = row;
	bool oom = false;

	b->version = col_i(st, 0);
	b->grp = col_str(st, 1, &oom);
	b->author = col_str(st, 2, &oom);
	b->note = col_str(st, 3, &oom);
	b->at = col_i(st, 4);
	b->rolled_back_from = col_i(st, 5);
	if (sqlite3_column_count(st) > 6)
		b->files_json = col_str(st, 6, &oom);
	return oom ? -ENOMEM : 0;
}

static int bundle_one_(struct store *s, struct policy_bundle *ret, const char *sql, const char *fmt, ...)
{
	sqlite3_stmt *st;
	va_list ap;
	int err;

	memset(ret, 0, sizeof(*ret));
	va_start(ap, fmt);
	st = prep_bound(s, &err, sql, fmt, ap);
	va_end(ap);
	if (!st)
		return err;
	err = sqlite3_step(st);
	if (err != SQLITE_ROW) {
		sqlite3_reset(st);
		return err == SQLITE_DONE ? -ENOENT : -EIO;
	}
	err = fill_bundle(st, ret);
	sqlite3_reset(st);
	if (err < 0)
		policy_bundle_clear(ret);
	return err;
}

static int sq_policy_get(struct store *s, int64_t version, struct policy_bundle *ret)
{
	return bundle_one_(s, ret, BUNDLE_COLS "WHERE version = ?", "i", version);
}

static int sq_policy_latest(struct store *s, const char *grp, struct policy_bundle *ret)
{
	return bundle_one_(s, ret, BUNDLE_COLS "WHERE grp = ? ORDER BY version DESC LIMIT 1", "s", grp);
}

static int sq_policies(struct store *s, const char *grp, struct policy_bundle_list *ret)
{
	int r = list_(s, ret, fill_bundle,
		      "SELECT version, grp, author, note, at, rolled_back_from FROM policy_bundles"
		      " WHERE ?1 IS NULL OR grp = ?1 ORDER BY version DESC", "s", grp);
	if (r < 0)
		policy_bundle_list_free(ret);
	return r;
}

static int sq_machine_set_group(struct store *s, const char *name, const char *grp)
{
	int r = exec_(s, "UPDATE machines SET grp = ? WHERE name = ?", "ss", grp, name);
	return r < 0 ? r : r == 0 ? -ENOENT : 0;
}

static int sq_machine_group(struct store *s, int64_t id, char **ret_grp)
{
	int err;
	sqlite3_stmt *st = row_(s, &err, "SELECT coalesce(grp, '" POLICY_GROUP_DEFAULT "') FROM machines WHERE id = ?",
				"i", id);

	if (!st)
		return err;
	*ret_grp = col_dup(st, 0);
	sqlite3_reset(st);
	return *ret_grp ? 0 : -ENOMEM;
}

static int sq_machine_policy_state(struct store *s, int64_t id, const char *source, int64_t version,
				   const char *error, int64_t at)
{
	int r = exec_(s, "UPDATE machines SET policy_source = ?, policy_version = ?, policy_error = ?, policy_at = ?"
		      " WHERE id = ?", "sIsii", source, version, error, at, id);
	return r < 0 ? r : r == 0 ? -ENOENT : 0;
}

/* ------------------------------------------------------------- recordings */

#define REC_COLS \
	"SELECT r.id, r.user_id, u.name, r.local_user, r.kind, r.program, r.exe, r.argv, r.pid," \
	" r.rule_id, r.rule_title, r.layer, r.start_at, r.end_at, r.duration_ms, r.calls, r.machine_id," \
	" r.detail, m.name FROM recordings r LEFT JOIN users u ON u.id = r.user_id" \
	" LEFT JOIN machines m ON m.id = r.machine_id "

static int fill_recording(sqlite3_stmt *st, void *row)
{
	struct recording *r = row;
	bool oom = false;

	r->id = col_i(st, 0);
	r->user_id = col_i(st, 1);	/* NULL: 0 */
	r->name = col_str(st, 2, &oom);
	r->local_user = col_str(st, 3, &oom);
	r->kind = col_str(st, 4, &oom);
	r->program = col_str(st, 5, &oom);
	r->exe = col_str(st, 6, &oom);
	r->argv_json = col_str(st, 7, &oom);
	r->pid = col_i(st, 8);
	r->rule_id = col_str(st, 9, &oom);
	r->rule_title = col_str(st, 10, &oom);
	r->layer = col_str(st, 11, &oom);
	r->start_at = col_i(st, 12);
	r->end_at = col_i(st, 13);
	r->duration_ms = col_null(st, 14) ? -1 : col_i(st, 14);
	r->calls = col_null(st, 15) ? -1 : col_i(st, 15);
	r->machine_id = col_i(st, 16);
	r->detail_json = col_str(st, 17, &oom);
	r->machine = col_str(st, 18, &oom);
	return oom ? -ENOMEM : 0;
}

/* list_() of recordings, freed on failure */
#define recordings_(s, l, sql, fmt, ...) ({ \
	int r_ = list_((s), (l), fill_recording, (sql), (fmt), ##__VA_ARGS__); \
	if (r_ < 0) \
		recording_list_free(l); \
	r_; })

static int sq_recording_begin(struct store *s, const struct capture *c, int64_t *ret_id)
{
	int r = exec_(s,
		      "INSERT INTO recordings(machine_id, capture, user_id, local_user, kind, program, exe, argv, pid,"
		      " rule_id, rule_title, layer, start_at, detail) VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
		      " ON CONFLICT(machine_id, capture) DO NOTHING",
		      "isIsssssisssis", c->machine_id, c->capture, c->user_id, c->local_user, c->kind, c->program,
		      c->exe, c->argv_json, c->pid, c->rule_id, c->rule_title, c->layer, c->at, c->detail_json);
	if (r < 0)
		return r;
	int err;
	sqlite3_stmt *st = row_(s, &err, "SELECT id FROM recordings WHERE machine_id = ? AND capture = ?",
				"is", c->machine_id, c->capture);
	if (!st)
		return err;
	*ret_id = col_i(st, 0);
	sqlite3_reset(st);
	return r;	/* 1: new, 0: already there */
}

static int sq_recording_end(struct store *s, const struct capture *c, int64_t *ret_id)
{
	int64_t id;
	int r = sq_recording_begin(s, &(struct capture){
		.machine_id = c->machine_id, .user_id = c->user_id, .local_user = c->local_user,
		.capture = c->capture, .kind = c->kind, .program = c->program, .exe = c->exe,
		.argv_json = c->argv_json, .rule_id = c->rule_id, .rule_title = c->rule_title,
		.layer = c->layer, .pid = c->pid, .detail_json = c->detail_json,
		.at = c->at - (c->duration_ms > 0 ? c->duration_ms : 0) }, &id);
	if (r < 0)
		return r;
	r = exec_(s, "UPDATE recordings SET end_at = max(start_at, ?), duration_ms = ?, calls = ? WHERE id = ?",
		  "iiii", c->at, c->duration_ms, c->calls, id);
	if (r < 0)
		return r;
	*ret_id = id;
	return 0;
}

static int sq_recording_get(struct store *s, int64_t id, struct recording *ret)
{
	int err;
	sqlite3_stmt *st = row_(s, &err, REC_COLS "WHERE r.id = ?", "i", id);

	if (!st)
		return err;
	memset(ret, 0, sizeof(*ret));
	err = fill_recording(st, ret);
	sqlite3_reset(st);
	if (err < 0)
		recording_clear(ret);
	return err;
}

static int sq_recordings_ongoing(struct store *s, int64_t user_id, struct recording_list *ret)
{
	return recordings_(s, ret, REC_COLS "WHERE r.user_id = ? AND r.end_at IS NULL ORDER BY r.start_at", "i",
			   user_id);
}

static int sq_recordings_close_stale(struct store *s, int64_t machine_id, const char *boot_id, int64_t at,
				     struct recording_list *ret_closed)
{
	int r = recordings_(s, ret_closed, REC_COLS "WHERE r.machine_id = ?1 AND r.end_at IS NULL"
			    " AND substr(r.capture, 1, length(?2) + 1) <> ?2 || ':'", "is", machine_id, boot_id);
	if (r < 0)
		return r;
	r = exec_(s, "UPDATE recordings SET end_at = max(start_at, ?3) WHERE machine_id = ?1 AND end_at IS NULL"
		  " AND substr(capture, 1, length(?2) + 1) <> ?2 || ':'", "isi", machine_id, boot_id, at);
	if (r < 0)
		recording_list_free(ret_closed);
	return r < 0 ? r : 0;
}

static int sq_recording_link(struct store *s, int64_t recording_id, int64_t meeting_id)
{
	return exec_(s, "INSERT OR IGNORE INTO recording_meetings(recording_id, meeting_id) VALUES(?, ?)",
		     "ii", recording_id, meeting_id);
}

static int sq_recordings_of_meeting(struct store *s, int64_t meeting_id, struct recording_list *ret)
{
	return recordings_(s, ret,
			   REC_COLS "WHERE r.id IN (SELECT recording_id FROM recording_meetings WHERE meeting_id = ?)"
				    " ORDER BY r.start_at, r.id",
			   "i", meeting_id);
}

static int fill_id(sqlite3_stmt *st, void *row)
{
	*(int64_t *)row = col_i(st, 0);
	return 0;
}

/* ------------------------------------------------- nodes (one node here) */

static int sq_event_next_offset(struct store *s, int64_t meeting_id, uint64_t *ret)
{
	/* one writer: the caller's transaction holds the database, its own earlier appends are seen */
	return meeting_offset_(s, "SELECT coalesce(max(offset), 0) + 1 FROM events WHERE meeting_id = ?", meeting_id,
			       ret);
}

static int sq_notify(struct store *s, const char *channel, const char *payload) { return 0; }

static int sq_node_hello(struct store *s, const char *name, int64_t at, int64_t *ret_last_heartbeat)
{
	*ret_last_heartbeat = 0;
	return 0;
}

static int sq_node_heartbeat(struct store *s, int64_t at) { return 0; }

static int sq_node_claim_dead(struct store *s, int64_t before, char **ret_name, int64_t *ret_heartbeat)
{
	return 0;
}

static int sq_node_release(struct store *s, const char *name, const char *reason, int64_t at,
			   struct id_list *ret_users)
{
	memset(ret_users, 0, sizeof(*ret_users));
	return 0;
}

static int sq_monitor_local(struct store *s, int64_t user_id, bool on, int64_t machine_id) { return 0; }

static int sq_monitor_settle(struct store *s, int64_t user_id, bool hint, const char *reason, int64_t machine_id,
			     int64_t at, bool *ret_monitored)
{
	int64_t was = 0;
	int err, r;
	sqlite3_stmt *st = row_(s, &err, "SELECT monitored FROM monitor_state WHERE user_id = ?", "i", user_id);

	if (st) {
		was = sqlite3_column_int64(st, 0);
		sqlite3_reset(st);
	} else if (err != -ENOENT) {
		return err;
	}
	*ret_monitored = hint;
	if ((was != 0) == hint)
		return 0;
	r = sq_monitor_set(s, user_id, hint, hint ? NULL : reason, machine_id, at);
	return r < 0 ? r : 1;
}

static int sq_monitor_get(struct store *s, int64_t user_id, struct monitor_row *ret)
{
	int err;
	bool oom = false;
	sqlite3_stmt *st = row_(s, &err, "SELECT user_id, monitored, reason, machine_id, at FROM monitor_state"
				" WHERE user_id = ?", "i", user_id);

	memset(ret, 0, sizeof(*ret));
	ret->user_id = user_id;
	if (!st)
		return err == -ENOENT ? 0 : err;
	ret->monitored = col_i(st, 1) != 0;
	ret->reason = col_str(st, 2, &oom);
	ret->machine_id = col_i(st, 3);
	ret->at = col_i(st, 4);
	sqlite3_reset(st);
	return oom ? -ENOMEM : 0;
}

static int sq_attendance_open_meetings(struct store *s, int64_t user_id, struct id_list *ret)
{
	int r = list_(s, ret, fill_id,
		      "SELECT DISTINCT a.meeting_id FROM attendance a JOIN meetings m ON m.id = a.meeting_id"
		      " WHERE a.user_id = ? AND a.leave_at IS NULL AND m.end_at IS NULL ORDER BY a.meeting_id",
		      "i", user_id);
	if (r < 0)
		id_list_free(ret);
	return r;
}

static int sq_recording_meetings(struct store *s, int64_t recording_id, struct id_list *ret)
{
	int r = list_(s, ret, fill_id,
		      "SELECT rm.meeting_id FROM recording_meetings rm JOIN meetings m ON m.id = rm.meeting_id"
		      " WHERE rm.recording_id = ? AND m.end_at IS NULL ORDER BY rm.meeting_id",
		      "i", recording_id);
	if (r < 0)
		id_list_free(ret);
	return r;
}

/* ------------------------------------------------------------ lobby scale */

/* The meeting's people with their group: 0 organisers, 1 online, 2 the rest. */
#define PEOPLE_CTE \
	"WITH p AS (SELECT u.id, u.name, u.email, u.picture," \
	" EXISTS(SELECT 1 FROM organisers o WHERE o.meeting_id = ?1 AND o.user_id = u.id) AS org," \
	" EXISTS(SELECT 1 FROM bans b WHERE b.meeting_id = ?1 AND b.user_id = u.id) AS ban," \
	" EXISTS(SELECT 1 FROM attendance a WHERE a.meeting_id = ?1 AND a.user_id = u.id" \
	" AND a.leave_at IS NULL) AS onl" \
	" FROM users u WHERE u.id IN (SELECT user_id FROM organisers WHERE meeting_id = ?1" \
	" UNION SELECT user_id FROM members WHERE meeting_id = ?1))," \
	" q AS (SELECT *, CASE WHEN org THEN 0 WHEN onl THEN 1 ELSE 2 END AS grp FROM p) " \
	"SELECT id, name, email, picture, org, ban, onl, grp FROM q "

static int fill_person(sqlite3_stmt *st, void *row)
{
	struct person *p = row;
	bool oom = false;

	p->id = col_i(st, 0);
	p->name = col_str(st, 1, &oom);
	p->email = col_str(st, 2, &oom);
	p->picture = col_str(st, 3, &oom);
	p->organiser = col_i(st, 4) != 0;
	p->banned = col_i(st, 5) != 0;
	p->online = col_i(st, 6) != 0;
	p->grp = (int)col_i(st, 7);
	return oom ? -ENOMEM : 0;
}

static int sq_people_page(struct store *s, int64_t meeting_id, int after_grp, int64_t after_id, unsigned limit,
			  struct person_list *ret)
{
	/* keyset paging: the cursor names the last row seen; its name is read back from users */
	int r = list_(
		s, ret, fill_person,
		PEOPLE_CTE
		"WHERE ?2 < 0 OR grp > ?2"
		" OR (grp = ?2 AND (name > (SELECT name FROM users WHERE id = ?3) COLLATE NOCASE"
		" OR (name = (SELECT name FROM users WHERE id = ?3) COLLATE NOCASE AND id > ?3)))"
		" ORDER BY grp, name COLLATE NOCASE, id LIMIT ?4",
		"iiii", meeting_id, (int64_t)after_grp, after_id, (int64_t)limit);
	if (r < 0)
		person_list_free(ret);
	return r;
}

static int sq_person(struct store *s, int64_t meeting_id, int64_t user_id, struct person *ret)
{
	int err;
	sqlite3_stmt *st = row_(s, &err, PEOPLE_CTE "WHERE id = ?2", "ii", meeting_id, user_id);

	if (!st)
		return err;
	memset(ret, 0, sizeof(*ret));
	err = fill_person(st, ret);
	sqlite3_reset(st);
	if (err < 0)
		person_clear(ret);
	return err;
}

static int sq_people_count(struct store *s, int64_t meeting_id, int64_t *ret_total, int64_t *ret_online)
{
	int err;
	sqlite3_stmt *st = row_(s, &err, "SELECT count(*), coalesce(sum(EXISTS(SELECT 1 FROM attendance a"
				" WHERE a.meeting_id = ?1 AND a.user_id = p.user_id AND a.leave_at IS NULL)), 0)"
				" FROM (SELECT user_id FROM organisers WHERE meeting_id = ?1"
				" UNION SELECT user_id FROM members WHERE meeting_id = ?1) p", "i", meeting_id);

	if (!st)
		return err;
	*ret_total = col_i(st, 0);
	*ret_online = col_i(st, 1);
	sqlite3_reset(st);
	return 0;
}

static int sq_recordings_live_of_meeting(struct store *s, int64_t meeting_id, struct recording_list *ret)
{
	return recordings_(s, ret, REC_COLS "WHERE r.end_at IS NULL AND r.id IN"
		     " (SELECT recording_id FROM recording_meetings WHERE meeting_id = ?) ORDER BY r.start_at, r.id",
		     "i", meeting_id);
}

static int fill_chat_line(sqlite3_stmt *st, void *row)
{
	struct chat_line *c = row;
	const unsigned char *kind = sqlite3_column_text(st, 1);
	bool oom = false;

	c->id = col_i(st, 0);
	c->kind = kind && strcmp((const char *)kind, "system") == 0 ? CHAT_SYSTEM : CHAT_USER;
	c->user_id = col_i(st, 2);
	c->name = col_str(st, 3, &oom);
	c->text = col_str(st, 4, &oom);
	c->at = col_i(st, 5);
	c->cid = col_str(st, 6, &oom);
	return oom ? -ENOMEM : 0;
}

static int sq_chat_page(struct store *s, int64_t meeting_id, bool organiser, int64_t before_id, unsigned limit,
			struct chat_list *ret)
{
	int r = list_(s, ret, fill_chat_line,
		      "SELECT c.id, c.kind, c.user_id, u.name, c.content, c.at, c.cid FROM chat c"
		      " JOIN users u ON u.id = c.user_id WHERE c.meeting_id = ?1 AND (c.audience = 0 OR ?2)"
		      " AND (?3 = 0 OR c.id < ?3) ORDER BY c.id DESC LIMIT ?4",
		      "iiii", meeting_id, (int64_t)organiser, before_id, (int64_t)limit);
	if (r < 0)
		chat_list_free(ret);
	return r;
}

static int sq_chat_add_cid(struct store *s, int64_t meeting_id, int64_t user_id, const char *text, const char *cid,
			   uint64_t offset, int64_t at, int64_t *ret_id)
{
	int r = exec_(s,
		      "INSERT INTO chat(meeting_id, user_id, content, at, cid, event_offset) VALUES(?, ?, ?, ?, ?, ?)",
		      "iisisi", meeting_id, user_id, text, at, cid, (int64_t)offset);
	if (r < 0)
		return r;
	*ret_id = sqlite3_last_insert_rowid(DB(s));
	return 0;
}

static int sq_chat_find_cid(struct store *s, int64_t meeting_id, int64_t user_id, const char *cid, int64_t *ret_id,
			    uint64_t *ret_offset)
{
	int err;
	sqlite3_stmt *st = row_(s, &err, "SELECT id, coalesce(event_offset, 0) FROM chat"
				" WHERE meeting_id = ? AND user_id = ? AND cid = ?", "iis", meeting_id, user_id, cid);

	if (!st)
		return err;
	*ret_id = col_i(st, 0);
	*ret_offset = (uint64_t)col_i(st, 1);
	sqlite3_reset(st);
	return 0;
}

static int sq_chat_count(struct store *s, int64_t meeting_id, int64_t *ret)
{
	return meeting_int_(s, "SELECT count(*) FROM chat WHERE meeting_id = ?", meeting_id, ret);
}

static int sq_events_trim(struct store *s, int64_t meeting_id, uint64_t upto)
{
	int r = exec_(s, "DELETE FROM events WHERE meeting_id = ? AND offset <= ?", "ii", meeting_id, (int64_t)upto);
	return r < 0 ? r : 0;
}

static int sq_event_floor(struct store *s, int64_t meeting_id, uint64_t *ret)
{
	return meeting_offset_(s, "SELECT coalesce(min(offset) - 1, 0) FROM events WHERE meeting_id = ?", meeting_id,
			       ret);
}

/* ------------------------------------------------------------ open/close */

static void sq_close(struct store *s)
{
	struct sqlite_store *ss = (struct sqlite_store *)s;

	if (!ss)
		return;
	for (size_t i = 0; i < STMT_CACHE && ss->cache[i].sql; i++)
		sqlite3_finalize(ss->cache[i].st);
	sqlite3_close(ss->db);
	free(ss);
}

/* ------------------------------------------------------ several nodes */

static int sq_ping(struct store *s)
{
	int err;
	sqlite3_stmt *st = row_(s, &err, "SELECT 1", "");

	if (!st)
		return err;
	sqlite3_reset(st);
	return 0;
}

static int sq_oidc_pending_put(struct store *s, const struct oidc_pending *p, int64_t ttl_ms, unsigned max,
			       int64_t now)
{
	int r = exec_(s, "DELETE FROM oidc_pending WHERE created < ?", "i", now - ttl_ms);

	if (r >= 0)
		r = exec_(s, "DELETE FROM oidc_pending WHERE state IN (SELECT state FROM oidc_pending"
			  " ORDER BY created DESC, state LIMIT -1 OFFSET ?)", "i", (int64_t)(max ? max - 1 : 0));
	if (r >= 0)
		r = exec_(s, "INSERT INTO oidc_pending(state, nonce, verifier, return_to, created)"
			  " VALUES(?, ?, ?, ?, ?)", "ssssi", p->state, p->nonce, p->verifier, p->return_to, p->created);
	return r < 0 ? r : 0;
}

static int sq_oidc_pending_take(struct store *s, const char *state, struct oidc_pending *ret)
{
	int err;
	sqlite3_stmt *st = row_(s, &err, "DELETE FROM oidc_pending WHERE state = ?"
				" RETURNING nonce, verifier, return_to, created", "s", state);

	if (!st)
		return err;
	memset(ret, 0, sizeof(*ret));
	snprintf(ret->state, sizeof(ret->state), "%s", state);
	snprintf(ret->nonce, sizeof(ret->nonce), "%s", (const char *)sqlite3_column_text(st, 0));
	snprintf(ret->verifier, sizeof(ret->verifier), "%s", (const char *)sqlite3_column_text(st, 1));
	snprintf(ret->return_to, sizeof(ret->return_to), "%s", (const char *)sqlite3_column_text(st, 2));
	ret->created = col_i(st, 3);
	sqlite3_reset(st);	/* the delete was done by the first step (RETURNING) */
	return 0;
}

/* ----------------------------------------------------------- observations */

static int sq_observations_add(struct store *s, int64_t machine_id, int64_t at, const struct observation_in *v,
			       size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int r = exec_(s, "INSERT INTO observations(machine_id, at, body) VALUES(?, ?, ?)", "iis", machine_id,
			      at, v[i].body);
		if (r < 0)
			return r;
	}
	return 0;
}

static int sq_observations_purge(struct store *s, int64_t before, int64_t max_rows)
{
	int old = exec_(s, "DELETE FROM observations WHERE at < ?", "i", before), over;

	if (old < 0)
		return old;
	/* the row cap: every row older than the max_rows-th newest */
	over = exec_(s, "DELETE FROM observations WHERE id <= coalesce((SELECT id FROM observations"
		     " ORDER BY id DESC LIMIT 1 OFFSET ?), 0)", "i", max_rows);
	return over < 0 ? over : old + over;
}

static int fill_observation(sqlite3_stmt *st, void *row)
{
	struct observation *o = row;
	bool oom = false;

	o->id = col_i(st, 0);
	o->machine_id = col_i(st, 1);
	o->machine = col_str(st, 2, &oom);
	o->at = col_i(st, 3);
	o->body = col_str(st, 4, &oom);
	return oom ? -ENOMEM : 0;
}

static int sq_observations_page(struct store *s, int64_t since, const char *machine, const char *grp,
				int64_t after_id, unsigned limit, struct observation_list *ret)
{
	int r = list_(s, ret, fill_observation,
		      "SELECT o.id, o.machine_id, m.name, o.at, o.body FROM observations o"
		      " JOIN machines m ON m.id = o.machine_id WHERE o.id > ? AND o.at >= ?"
		      " AND (? IS NULL OR m.name = ?)"
		      " AND (? IS NULL OR coalesce(m.grp, '" POLICY_GROUP_DEFAULT "') = ?) ORDER BY o.id LIMIT ?",
		      "iissssi", after_id, since, machine, machine, grp, grp, (int64_t)limit);
	if (r < 0)
		observation_list_free(ret);
	return r;
}

/* ------------------------------------------------------------ lobby join */

static int sq_lobby_access(struct store *s, const char *code, int64_t user_id, struct lobby_access *ret)
{
	bool oom = false;
	int err;
	/* MEETING_COLS (0-7), the user (8-13), its standing (14-16), recording (17); as sq_meeting_by_code */
	sqlite3_stmt *st = row_(s, &err,
				"SELECT m.id, m.code, m.title, m.link, m.created_by, m.start_at, coalesce(m.end_at, 0),"
				" m.join_policy = 'domain', u.id, u.username, u.email, u.name, u.picture, u.is_admin,"
				" EXISTS(SELECT 1 FROM bans b WHERE b.meeting_id = m.id AND b.user_id = ?2),"
				" EXISTS(SELECT 1 FROM organisers o WHERE o.meeting_id = m.id AND o.user_id = ?2),"
				" EXISTS(SELECT 1 FROM members e WHERE e.meeting_id = m.id AND e.user_id = ?2),"
				" EXISTS(SELECT 1 FROM recordings r WHERE r.user_id = ?2 AND r.end_at IS NULL)"
				" FROM meetings m LEFT JOIN users u ON u.id = ?2"
				" WHERE m.code = ?1 ORDER BY m.end_at IS NOT NULL, m.id DESC LIMIT 1",
				"si", code, user_id);

	memset(ret, 0, sizeof(*ret));
	if (!st)
		return err;
	err = fill_meeting(st, &ret->meeting);
	if (sqlite3_column_type(st, 8) != SQLITE_NULL) {
		ret->user.id = col_i(st, 8);
		ret->user.username = col_str(st, 9, &oom);
		ret->user.email = col_str(st, 10, &oom);
		ret->user.name = col_str(st, 11, &oom);
		ret->user.picture = col_str(st, 12, &oom);
		ret->user.is_admin = col_i(st, 13) != 0;
	}
	ret->banned = col_i(st, 14) != 0;
	ret->organiser = col_i(st, 15) != 0;
	ret->member = col_i(st, 16) != 0;
	ret->recording = col_i(st, 17) != 0;
	sqlite3_reset(st);
	if (err < 0 || oom) {
		meeting_clear(&ret->meeting);
		user_clear(&ret->user);
		return -ENOMEM;
	}
	return 0;
}

static const struct store_ops sqlite_ops = {
	.close = sq_close, .begin = sq_begin, .commit = sq_commit, .rollback = sq_rollback,
	.meta_get = sq_meta_get, .meta_set = sq_meta_set,
	.user_create = sq_user_create, .user_get = sq_user_get, .user_find = sq_user_find,
	.user_find_oidc = sq_user_find_oidc, .user_link_oidc = sq_user_link_oidc,
	.user_update_profile = sq_user_update_profile, .user_password_hash = sq_user_password_hash,
	.user_set_password = sq_user_set_password, .user_set_admin = sq_user_set_admin,
	.session_put = sq_session_put, .session_get = sq_session_get, .session_touch = sq_session_touch,
	.session_delete = sq_session_delete, .session_purge = sq_session_purge,
	.meeting_create = sq_meeting_create, .meeting_get = sq_meeting_get, .meeting_by_code = sq_meeting_by_code,
	.meeting_end = sq_meeting_end, .meeting_list = sq_meeting_list, .organiser_add = sq_organiser_add,
	.is_organiser = sq_is_organiser, .member_add = sq_member_add, .is_member = sq_is_member,
	.people = sq_people, .ban_add = sq_ban_add, .is_banned = sq_is_banned, .bans = sq_bans,
	.attendance_open = sq_attendance_open, .attendance_close = sq_attendance_close,
	.attendance_close_dangling = sq_attendance_close_dangling, .attendance = sq_attendance,
	.chat_add = sq_chat_add, .event_append = sq_event_append,
	.event_last_offset = sq_event_last_offset, .events_since = sq_events_since,
	.events_of_type = sq_events_of_type, .chat_add_system = sq_chat_add_system,
	.machine_state = sq_machine_state, .machines_reset = sq_machines_reset,
	.monitor_set = sq_monitor_set, .monitor_states = sq_monitor_states, .monitor_reset = sq_monitor_reset,
	.machine_create = sq_machine_create, .machine_by_token = sq_machine_by_token,
	.machine_seen = sq_machine_seen, .machines = sq_machines, .machine_revoke = sq_machine_revoke,
	.machine_spool_dropped = sq_machine_spool_dropped,
	.machine_status = sq_machine_status, .machine_event_at = sq_machine_event_at,
	.agent_event_claim = sq_agent_event_claim,
	.recording_begin = sq_recording_begin, .recording_end = sq_recording_end, .recording_get = sq_recording_get,
	.recordings_ongoing = sq_recordings_ongoing, .recordings_close_stale = sq_recordings_close_stale,
	.recording_link = sq_recording_link, .recordings_of_meeting = sq_recordings_of_meeting,
	.recording_meetings = sq_recording_meetings,
	.user_set_email_verified = sq_user_set_email_verified, .user_email_verified = sq_user_email_verified,
	.session_delete_user = sq_session_delete_user,
	.people_page = sq_people_page, .person = sq_person, .people_count = sq_people_count,
	.recordings_live_of_meeting = sq_recordings_live_of_meeting, .chat_page = sq_chat_page,
	.chat_add_cid = sq_chat_add_cid, .chat_find_cid = sq_chat_find_cid, .chat_count = sq_chat_count,
	.events_trim = sq_events_trim, .event_floor = sq_event_floor,
	.policy_add = sq_policy_add, .policy_get = sq_policy_get, .policy_latest = sq_policy_latest,
	.policies = sq_policies, .machine_set_group = sq_machine_set_group, .machine_group = sq_machine_group,
	.machine_policy_state = sq_machine_policy_state,
	.event_next_offset = sq_event_next_offset, .notify = sq_notify, .node_hello = sq_node_hello,
	.node_heartbeat = sq_node_heartbeat, .node_claim_dead = sq_node_claim_dead, .node_release = sq_node_release,
	.monitor_local = sq_monitor_local, .monitor_settle = sq_monitor_settle, .monitor_get = sq_monitor_get,
	.attendance_open_meetings = sq_attendance_open_meetings,
	.ping = sq_ping, .oidc_pending_put = sq_oidc_pending_put, .oidc_pending_take = sq_oidc_pending_take,
	.observations_add = sq_observations_add, .observations_purge = sq_observations_purge,
	.observations_page = sq_observations_page,
	.lobby_access = sq_lobby_access,
};

static int migrate(sqlite3 *db)
{
	sqlite3_stmt *st = NULL;
	int version = 0;

	if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK)
		return -EIO;
	if (sqlite3_step(st) == SQLITE_ROW)
		version = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	if (version > (int)ARRAY_SIZE(migrations))
		return -EPROTO;	/* written by a newer server */
	for (int v = version; v < (int)ARRAY_SIZE(migrations); v++) {
		char pragma[64];

		snprintf(pragma, sizeof(pragma), "PRAGMA user_version = %d", v + 1);
		if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
			return -EIO;
		if (sqlite3_exec(db, migrations[v], NULL, NULL, NULL) != SQLITE_OK ||
		    sqlite3_exec(db, pragma, NULL, NULL, NULL) != SQLITE_OK ||
		    sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
			sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
			return -EIO;
		}
	}
	return 0;
}

int store_sqlite_open(const char *data_dir, bool sync_full, struct store **ret)
{
	_cleanup_free_ char *path = NULL;
	struct sqlite_store *ss;
	int r;

	if (mkdir(data_dir, 0700) < 0 && errno != EEXIST)
		return -errno;
	if (asprintf(&path, "%s/sphinx.db", data_dir) < 0)
		return -ENOMEM;
	ss = calloc(1, sizeof(*ss));
	if (!ss)
		return -ENOMEM;
	ss->base.ops = &sqlite_ops;
	if (sqlite3_open_v2(path, &ss->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
			    NULL) != SQLITE_OK) {
		sq_close(&ss->base);
		return -EIO;
	}
	sqlite3_busy_timeout(ss->db, 5000);
	if (sqlite3_exec(ss->db, "PRAGMA journal_mode = WAL", NULL, NULL, NULL) != SQLITE_OK ||
	    sqlite3_exec(ss->db, sync_full ? "PRAGMA synchronous = FULL" : "PRAGMA synchronous = NORMAL",
			 NULL, NULL, NULL) != SQLITE_OK) {
		sq_close(&ss->base);
		return -EIO;
	}
	/*
	 * Foreign keys on only after migrating: a migration that rebuilds a
	 * table (SQLite's documented way to change a constraint) drops the old
	 * one, which would otherwise be refused or cascade.
	 */
	r = migrate(ss->db);
	if (r == 0 && sqlite3_exec(ss->db, "PRAGMA foreign_keys = ON", NULL, NULL, NULL) != SQLITE_OK)
		r = -EIO;
	if (r < 0) {
		sq_close(&ss->base);
		return r;
	}
	*ret = &ss->base;
	return 0;
}
