// SPDX-License-Identifier: GPL-2.0-only
/*
 * PostgreSQL back end of the store (store.h), on libpq. One connection,
 * used only from the server's event-loop thread, synchronously, as the
 * SQLite back end uses its file: an operation is one or two round trips
 * to the database and returns when the database has answered.
 *
 * Statements are prepared once per connection, cached by the address of
 * their SQL text (always a string literal here), and run with text
 * parameters. Lists are built by collect_(): one fill function per row
 * type reads a result row's columns, by position, into the row's struct.
 *
 * Schema: numbered migrations, run at open in one transaction each under
 * a transaction-scoped advisory lock (several nodes may start at once),
 * recorded in schema_version. Version 1 is the SQLite schema at its
 * version 7, written natively (bigserial ids, booleans, a unique index on
 * lower(email) for SQLite's NOCASE column). Names sort and compare as
 * SQLite does whatever the database's locale: bytewise (COLLATE "C"), and
 * "case-insensitive" is ASCII folding (lower() under the C collation).
 *
 * Semantics kept from SQLite: a unique conflict is -EEXIST (inserts use
 * ON CONFLICT DO NOTHING and count rows, so an expected conflict never
 * aborts the caller's transaction, as it would in PostgreSQL); begin,
 * commit and rollback are the caller's transaction; COMMIT of a
 * transaction the database already aborted is an error (-EIO), never a
 * silent rollback, so a caller never acknowledges what is not committed.
 *
 * Connection loss: every operation fails with -EIO while the database is
 * away. The first operation after the loss tries to reconnect at once,
 * later ones after a backoff (100 ms doubling to 5 s); never while a
 * transaction was open when the connection went: its work is gone and only
 * the caller's rollback (or failing commit) ends it, so no later statement
 * of it can run in autocommit. Connecting is synchronous (libpq's
 * PQconnectdbParams), bounded by connect_timeout; a silent peer by TCP
 * keepalives and tcp_user_timeout (connect_()).
 *
 * Callers: store.h's (the event-loop thread only); main.c opens it with
 * store_pg_open() when store = postgresql.
 *
 * Several nodes (migration 2): the per-meeting event offsets come from a
 * counter row (event_counters) the appending transaction holds locked
 * until it commits, so the appends of one meeting are serialised across
 * nodes and a rollback gives its offsets back; notify is pg_notify in the
 * caller's transaction (sent at commit, in commit order). The node's name
 * (node_hello) is written on the rows it holds (attendance, machines,
 * node_monitors) so a dead node's rows can be released by another, and a
 * restarting node releases only its own.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <libpq-fe.h>

#include "cleanup.h"
#include "log.h"
#include "store.h"
#include "util.h"

#define STMT_CACHE 128
#define MAX_PARAMS 16
#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 5000
/* connection string defaults (it may set its own): a connect, and an unanswered send, give up after */
#define CONNECT_TIMEOUT_S 5
#define TCP_USER_TIMEOUT_MS 15000
/* events_since reads the log in batches of this many rows (the log of a meeting may be long) */
#define REPLAY_BATCH 1000

struct pg_store {
	struct store base;
	PGconn *conn;
	char *conninfo;
	const char *stmts[STMT_CACHE];	/* SQL text prepared as "s<index>" on this connection */
	size_t nstmts;
	bool in_tx;
	bool lost;			/* the connection went away; logged once */
	int64_t retry_at;		/* monotonic ms of the next reconnect attempt */
	unsigned backoff_ms;
	char *node;			/* node_hello's name ("" before): written on the rows this node holds */
};

#define PS(s) ((struct pg_store *)(s))

static const char *const migrations[] = {
	/* 1: the SQLite schema at its version 7 */
	"CREATE TABLE meta(key text PRIMARY KEY, value text NOT NULL);"
	"CREATE TABLE users(id bigserial PRIMARY KEY, username text UNIQUE, email text, name text NOT NULL,"
	" picture text, password_hash text, oidc_iss text, oidc_sub text, is_admin boolean NOT NULL DEFAULT false,"
	" created_at bigint NOT NULL, email_verified boolean NOT NULL DEFAULT false, UNIQUE(oidc_iss, oidc_sub));"
	"CREATE UNIQUE INDEX users_email ON users(lower(email COLLATE \"C\"));"
	"CREATE TABLE sessions(id text PRIMARY KEY, user_id bigint NOT NULL REFERENCES users(id),"
	" csrf text NOT NULL, created_at bigint NOT NULL, last_seen bigint NOT NULL, expires_at bigint NOT NULL);"
	"CREATE INDEX sessions_user ON sessions(user_id);"
	"CREATE INDEX sessions_expiry ON sessions(expires_at);"
	"CREATE TABLE meetings(id bigserial PRIMARY KEY, code text NOT NULL, title text NOT NULL, link text,"
	" created_by bigint NOT NULL REFERENCES users(id), start_at bigint NOT NULL, end_at bigint,"
	" join_policy text NOT NULL DEFAULT 'anyone');"
	"CREATE UNIQUE INDEX meetings_live_code ON meetings(code) WHERE end_at IS NULL;"
	"CREATE INDEX meetings_code ON meetings(code, id);"
	"CREATE TABLE organisers(meeting_id bigint NOT NULL REFERENCES meetings(id),"
	" user_id bigint NOT NULL REFERENCES users(id), added_by bigint, added_at bigint NOT NULL,"
	" PRIMARY KEY(meeting_id, user_id));"
	"CREATE INDEX organisers_user ON organisers(user_id);"
	"CREATE TABLE members(meeting_id bigint NOT NULL REFERENCES meetings(id),"
	" user_id bigint NOT NULL REFERENCES users(id), joined_at bigint NOT NULL, PRIMARY KEY(meeting_id, user_id));"
	"CREATE INDEX members_user ON members(user_id);"
	"CREATE TABLE attendance(id bigserial PRIMARY KEY, meeting_id bigint NOT NULL REFERENCES meetings(id),"
	" user_id bigint NOT NULL REFERENCES users(id), join_at bigint NOT NULL, leave_at bigint);"
	"CREATE INDEX attendance_meeting ON attendance(meeting_id, user_id);"
	"CREATE INDEX attendance_open ON attendance(meeting_id, user_id) WHERE leave_at IS NULL;"
	"CREATE TABLE bans(meeting_id bigint NOT NULL REFERENCES meetings(id), user_id bigint NOT NULL,"
	" by_user bigint NOT NULL, reason text, at bigint NOT NULL, PRIMARY KEY(meeting_id, user_id));"
	"CREATE TABLE chat(id bigserial PRIMARY KEY, meeting_id bigint NOT NULL REFERENCES meetings(id),"
	" user_id bigint NOT NULL, content text NOT NULL, at bigint NOT NULL, kind text NOT NULL DEFAULT 'user',"
	" audience integer NOT NULL DEFAULT 0, cid text, event_offset bigint);"
	"CREATE INDEX chat_meeting ON chat(meeting_id, id);"
	"CREATE UNIQUE INDEX chat_cid ON chat(meeting_id, user_id, cid) WHERE cid IS NOT NULL;"
	"CREATE TABLE events(meeting_id bigint NOT NULL, seq bigint NOT NULL, type text NOT NULL, body text NOT NULL,"
	" at bigint NOT NULL, audience integer NOT NULL DEFAULT 0, PRIMARY KEY(meeting_id, seq));"
	"CREATE TABLE machines(id bigserial PRIMARY KEY, name text NOT NULL UNIQUE, token_hash text NOT NULL UNIQUE,"
	" created_at bigint NOT NULL, last_seen bigint, boot_id text, agent_version text,"
	" revoked boolean NOT NULL DEFAULT false, online boolean NOT NULL DEFAULT false, offline_reason text,"
	" state_at bigint, users text, spool_dropped bigint NOT NULL DEFAULT 0);"
	"CREATE TABLE agent_events(machine_id bigint NOT NULL, event_id text NOT NULL, at bigint NOT NULL,"
	" PRIMARY KEY(machine_id, event_id));"
	"CREATE TABLE recordings(id bigserial PRIMARY KEY, machine_id bigint NOT NULL REFERENCES machines(id),"
	" capture text NOT NULL, user_id bigint REFERENCES users(id), local_user text, kind text NOT NULL,"
	" program text, exe text, argv text, pid bigint, rule_id text, rule_title text, layer text,"
	" start_at bigint NOT NULL, end_at bigint, duration_ms bigint, calls bigint, detail text,"
	" UNIQUE(machine_id, capture));"
	"CREATE INDEX recordings_user ON recordings(user_id, end_at);"
	"CREATE TABLE recording_meetings(recording_id bigint NOT NULL REFERENCES recordings(id),"
	" meeting_id bigint NOT NULL REFERENCES meetings(id), PRIMARY KEY(meeting_id, recording_id));"
	"CREATE TABLE monitor_state(user_id bigint PRIMARY KEY REFERENCES users(id), monitored boolean NOT NULL,"
	" reason text, machine_id bigint, at bigint NOT NULL);",
	/*
	 * 2 (SQLite 8): central policy (issue 14): bundles of rule files per
	 * group, a machine's group (NULL: "default") and what its agent has in force
	 */
	"CREATE TABLE policy_bundles(version bigint PRIMARY KEY, grp text NOT NULL, author text, note text,"
	" at bigint NOT NULL, files text NOT NULL, rolled_back_from bigint);"
	"CREATE INDEX policy_bundles_grp ON policy_bundles(grp, version);"
	"ALTER TABLE machines ADD COLUMN grp text, ADD COLUMN policy_source text, ADD COLUMN policy_version bigint,"
	" ADD COLUMN policy_error text, ADD COLUMN policy_at bigint;",
	/* 3 (SQLite 9): the fleet view (issue 14): the agent's status report, the last event, spool drops */
	"ALTER TABLE machines ADD COLUMN kernel text;"
	"ALTER TABLE machines ADD COLUMN status_json text;"
	"ALTER TABLE machines ADD COLUMN status_at bigint;"
	"ALTER TABLE machines ADD COLUMN last_event_at bigint;"
	"ALTER TABLE machines ADD COLUMN spool_dropped_new bigint NOT NULL DEFAULT 0;",
	/*
	 * 4: several nodes. Offsets from a per-meeting counter row (locked by
	 * the appending transaction until it commits); the nodes and their
	 * heartbeats; which node reports which account; which node holds a
	 * machine's agent and an attendance row.
	 */
	"CREATE TABLE event_counters(meeting_id bigint PRIMARY KEY, last bigint NOT NULL);"
	"INSERT INTO event_counters SELECT meeting_id, max(seq) FROM events GROUP BY meeting_id;"
	"CREATE TABLE nodes(name text PRIMARY KEY, started_at bigint NOT NULL, heartbeat_at bigint NOT NULL);"
	"CREATE TABLE node_monitors(node text NOT NULL, user_id bigint NOT NULL, machine_id bigint,"
	" PRIMARY KEY(node, user_id));"
	"CREATE INDEX node_monitors_user ON node_monitors(user_id);"
	"ALTER TABLE machines ADD COLUMN node text;"
	"ALTER TABLE attendance ADD COLUMN node text;"
	"CREATE INDEX attendance_node_open ON attendance(node) WHERE leave_at IS NULL;"
	"CREATE INDEX attendance_user_open ON attendance(user_id) WHERE leave_at IS NULL;",
	/*
	 * 5: state every node must share (issue 13): pending OpenID Connect
	 * sign-ins (the callback may reach another node) and the token buckets
	 * of the global rate limits (ratelimit.h), one row per rule and key
	 * (id: a hash of both), gone once refilled (expires).
	 */
	"CREATE TABLE oidc_pending(state text PRIMARY KEY, nonce text NOT NULL, verifier text NOT NULL,"
	" return_to text NOT NULL, created bigint NOT NULL);"
	"CREATE INDEX oidc_pending_created ON oidc_pending(created);"
	"CREATE TABLE rate_buckets(id text PRIMARY KEY, tokens double precision NOT NULL, at bigint NOT NULL,"
	" expires bigint NOT NULL);"
	"CREATE INDEX rate_buckets_expires ON rate_buckets(expires);",
	/* 6 (SQLite 11): observations (issue 14) */
	"CREATE TABLE observations(id bigserial PRIMARY KEY, machine_id bigint NOT NULL REFERENCES machines(id),"
	" at bigint NOT NULL, body text NOT NULL);"
	"CREATE INDEX observations_at ON observations(at);",
	/*
	 * 7: the global rate limits' buckets are UNLOGGED: a sign-in flood writes
	 * one row a check, and a logged commit waits for its WAL flush on the
	 * event loop (hundreds of ms on a busy disk); a bucket lost in a database
	 * crash only forgives a few attempts.
	 */
	"ALTER TABLE rate_buckets SET UNLOGGED;",
};

/* ---------------------------------------------------------------- helpers */

static inline void pqclearp(PGresult **r) { PQclear(*r); }
#define _cleanup_res_ _cleanup_(pqclearp)

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The errno of a failed statement's SQLSTATE (class 23: a constraint, as SQLite's SQLITE_CONSTRAINT). */
static int err_of(const PGresult *res)
{
	const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;

	if (!state)
		return -EIO;
	if (strncmp(state, "23", 2) == 0)
		return -EEXIST;
	if (strcmp(state, "53100") == 0)
		return -ENOSPC;
	if (strcmp(state, "40001") == 0 || strcmp(state, "40P01") == 0 || strcmp(state, "55P03") == 0)
		return -EBUSY;
	return -EIO;
}

/* Where the server is, for a log line (never the connection string: it may hold a password). */
static void log_target(PGconn *c, const char *what)
{
	const char *host = c ? PQhost(c) : NULL, *port = c ? PQport(c) : NULL, *db = c ? PQdb(c) : NULL;
	const char *msg = c ? PQerrorMessage(c) : "out of memory";
	int n = (int)strcspn(msg, "\n");	/* libpq's first line says it */

	log_err("store: postgresql %s (host %s port %s database %s): %.*s", what, host ? host : "?",
		port ? port : "?", db ? db : "?", n, msg);
}

/*
 * A new connection to conninfo, with defaults it may override: connecting
 * and a dead peer are bounded in time (the event loop waits on both), and
 * the server names itself in pg_stat_activity.
 */
static PGconn *connect_(const char *conninfo)
{
	static const char *const keys[] = { "connect_timeout", "keepalives", "keepalives_idle", "keepalives_interval",
					    "keepalives_count", "tcp_user_timeout", "application_name", "dbname",
					    NULL };
	const char *const vals[] = { STR(CONNECT_TIMEOUT_S), "1", "10", "3", "3", STR(TCP_USER_TIMEOUT_MS),
				     "sphinx-server", conninfo, NULL };

	/* expand_dbname: conninfo is a whole connection string, its keys override the defaults before it */
	return PQconnectdbParams(keys, vals, 1);
}

/*
 * A working connection, or -EIO: reconnects when the last one went away
 * and the backoff allows it, never inside a transaction it lost.
 */
static int pg_ready(struct pg_store *ps)
{
	int64_t now;

	if (ps->conn && PQstatus(ps->conn) == CONNECTION_OK)
		return 0;
	if (!ps->lost) {
		log_target(ps->conn, "connection lost");
		ps->lost = true;
		ps->backoff_ms = 0;
		ps->retry_at = 0;
	}
	if (ps->in_tx)
		return -EIO;
	now = mono_ms();
	if (now < ps->retry_at)
		return -EIO;
	PQfinish(ps->conn);
	ps->nstmts = 0;
	ps->conn = connect_(ps->conninfo);
	if (!ps->conn || PQstatus(ps->conn) != CONNECTION_OK) {
		ps->backoff_ms = ps->backoff_ms ? ps->backoff_ms * 2 : BACKOFF_MIN_MS;
		if (ps->backoff_ms > BACKOFF_MAX_MS)
			ps->backoff_ms = BACKOFF_MAX_MS;
		ps->retry_at = now + ps->backoff_ms;
		log_debug("store: postgresql reconnect failed; next try in %u ms", ps->backoff_ms);
		return -EIO;
	}
	log_info("store: postgresql connection back (host %s port %s)", PQhost(ps->conn), PQport(ps->conn));
	ps->lost = false;
	ps->backoff_ms = 0;
	return 0;
}

/* The name sql is prepared under on this connection ("s<index>"), preparing it; NULL: run it unprepared. */
static int prepared_name(struct pg_store *ps, const char *sql, char name[static 16], int *ret_err)
{
	size_t i;

	*ret_err = 0;
	for (i = 0; i < ps->nstmts; i++) {
		if (ps->stmts[i] == sql) {
			snprintf(name, 16, "s%u", (unsigned)i);
			return 1;
		}
	}
	if (i == STMT_CACHE)
		return 0;	/* more statements than the cache: run unprepared */
	snprintf(name, 16, "s%u", (unsigned)i);
	_cleanup_res_ PGresult *res = PQprepare(ps->conn, name, sql, 0, NULL);
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		*ret_err = err_of(res);
		if (PQstatus(ps->conn) == CONNECTION_OK)	/* a lost connection is logged once, by pg_ready */
			log_err("store: postgresql cannot prepare \"%.80s\": %s", sql, PQresultErrorMessage(res));
		return -1;
	}
	ps->stmts[ps->nstmts++] = sql;
	return 1;
}

/*
 * Run sql with arguments described by fmt: i=int64, I=int64 with 0 as
 * NULL, b=bool (passed as int), s=text (NULL is NULL). Returns the result
 * (command or rows) or NULL with *ret_err.
 */
static PGresult *runv(struct store *s, int *ret_err, const char *sql, const char *fmt, va_list ap)
{
	struct pg_store *ps = PS(s);
	char nums[MAX_PARAMS][24], name[16];
	const char *vals[MAX_PARAMS];
	PGresult *res;
	int n = 0, r;

	for (; *fmt; fmt++, n++) {
		if (n == MAX_PARAMS) {
			*ret_err = -E2BIG;
			return NULL;
		}
		if (*fmt == 'i' || *fmt == 'I') {
			int64_t v = va_arg(ap, int64_t);
			snprintf(nums[n], sizeof(nums[n]), "%lld", (long long)v);
			vals[n] = *fmt == 'I' && v == 0 ? NULL : nums[n];
		} else if (*fmt == 'b') {
			vals[n] = va_arg(ap, int) ? "true" : "false";
		} else {
			vals[n] = va_arg(ap, const char *);
		}
	}
	if ((r = pg_ready(ps)) < 0) {
		*ret_err = r;
		return NULL;
	}
	r = prepared_name(ps, sql, name, ret_err);
	if (r < 0)
		res = NULL;
	else if (r == 0)
		res = PQexecParams(ps->conn, sql, n, NULL, vals, NULL, NULL, 0);
	else
		res = PQexecPrepared(ps->conn, name, n, vals, NULL, NULL, 0);
	if (res && (PQresultStatus(res) == PGRES_COMMAND_OK || PQresultStatus(res) == PGRES_TUPLES_OK))
		return res;
	if (r >= 0)
		*ret_err = err_of(res);
	if (res && *ret_err == -EIO && PQstatus(ps->conn) == CONNECTION_OK)
		log_err("store: postgresql: %.*s", (int)strcspn(PQresultErrorMessage(res), "\n"),
			PQresultErrorMessage(res));
	PQclear(res);
	if (PQstatus(ps->conn) != CONNECTION_OK)
		*ret_err = -EIO;
	return NULL;
}

static PGresult *run_(struct store *s, int *ret_err, const char *sql, const char *fmt, ...)
{
	va_list ap;
	PGresult *res;

	va_start(ap, fmt);
	res = runv(s, ret_err, sql, fmt, ap);
	va_end(ap);
	return res;
}

static int64_t changes(const PGresult *res)
{
	const char *t = PQcmdTuples((PGresult *)res);
	return *t ? strtoll(t, NULL, 10) : 0;
}

/* Run a statement for its effect: the number of rows it changed, or -errno. */
static int exec_(struct store *s, const char *sql, const char *fmt, ...)
{
	va_list ap;
	int err = 0;

	va_start(ap, fmt);
	_cleanup_res_ PGresult *res = runv(s, &err, sql, fmt, ap);
	va_end(ap);
	if (!res)
		return err;
	return (int)changes(res);
}

/* Run a query: its result holding at least one row, or NULL with *err (-ENOENT: no row). */
static PGresult *row_(struct store *s, int *err, const char *sql, const char *fmt, ...)
{
	va_list ap;
	PGresult *res;

	va_start(ap, fmt);
	res = runv(s, err, sql, fmt, ap);
	va_end(ap);
	if (!res)
		return NULL;
	if (PQntuples(res) == 0) {
		PQclear(res);
		*err = -ENOENT;
		return NULL;
	}
	*err = 0;
	return res;
}

static int64_t col_i(const PGresult *res, int row, int i)
{
	return PQgetisnull(res, row, i) ? 0 : strtoll(PQgetvalue(res, row, i), NULL, 10);
}

static bool col_b(const PGresult *res, int row, int i)
{
	const char *v = PQgetvalue(res, row, i);
	return v[0] == 't' || (v[0] >= '1' && v[0] <= '9');
}

static bool col_null(const PGresult *res, int row, int i) { return PQgetisnull(res, row, i); }

/* Column i as a new string, NULL for SQL NULL; *oom set when out of memory. */
static char *col_str(const PGresult *res, int row, int i, bool *oom)
{
	char *d;

	if (PQgetisnull(res, row, i))
		return NULL;
	if (!(d = strdup(PQgetvalue(res, row, i))))
		*oom = true;
	return d;
}

/* The one integer a query about one meeting answers (a count, an offset). 0 or -errno. */
static int meeting_int_(struct store *s, const char *sql, int64_t meeting_id, int64_t *ret)
{
	int err;
	_cleanup_res_ PGresult *res = row_(s, &err, sql, "i", meeting_id);

	if (!res)
		return err;
	*ret = col_i(res, 0, 0);
	return 0;
}

static int meeting_offset_(struct store *s, const char *sql, int64_t meeting_id, uint64_t *ret)
{
	int64_t v = 0;
	int r = meeting_int_(s, sql, meeting_id, &v);

	if (r == 0)
		*ret = (uint64_t)v;
	return r;
}

/* Fills a zeroed row from result row `row`: 0 or -ENOMEM (the row is then half filled). */
typedef int (*fill_fn)(const PGresult *res, int row, void *out);

/*
 * Every result row of sql (arguments as exec_) into the array *v of rows
 * of size bytes, filled by fill; *n counts them. On failure the rows read
 * so far stay in *v for the caller's *_list_free().
 */
static int collect_(struct store *s, void **v, size_t *n, size_t size, fill_fn fill, const char *sql,
		    const char *fmt, ...)
{
	va_list ap;
	int err = 0, rows;

	*v = NULL;
	*n = 0;
	va_start(ap, fmt);
	_cleanup_res_ PGresult *res = runv(s, &err, sql, fmt, ap);
	va_end(ap);
	if (!res)
		return err;
	rows = PQntuples(res);
	if (rows == 0)
		return 0;
	if (!(*v = calloc((size_t)rows, size)))
		return -ENOMEM;
	for (int i = 0; i < rows; i++) {
		(*n)++;
		if ((err = fill(res, i, (char *)*v + (size_t)i * size)) < 0)
			return err;
	}
	return 0;
}

#define list_(s, l, fill, sql, fmt, ...) \
	collect_((s), (void **)&(l)->v, &(l)->n, sizeof(*(l)->v), (fill), (sql), (fmt), ##__VA_ARGS__)

/* An INSERT ... RETURNING id: 0 and *ret_id, -EEXIST when ON CONFLICT DO NOTHING left no row. */
static int insert_id_(struct store *s, int64_t *ret_id, const char *sql, const char *fmt, ...)
{
	va_list ap;
	int err = 0;

	va_start(ap, fmt);
	_cleanup_res_ PGresult *res = runv(s, &err, sql, fmt, ap);
	va_end(ap);
	if (!res)
		return err;
	if (PQntuples(res) == 0)
		return -EEXIST;
	if (ret_id)
		*ret_id = col_i(res, 0, 0);
	return 0;
}

/* This node's name, "" before node_hello. */
static const char *node_(struct store *s)
{
	return PS(s)->node ? PS(s)->node : "";
}

/* ------------------------------------------------------------ transactions */

static int pg_begin(struct store *s)
{
	int r = exec_(s, "BEGIN", "");

	if (r < 0)
		return r;
	PS(s)->in_tx = true;
	return 0;
}

static int pg_commit(struct store *s)
{
	struct pg_store *ps = PS(s);
	int err = 0;
	PGresult *res;

	if (!ps->in_tx)
		return -EINVAL;
	res = run_(s, &err, "COMMIT", "");
	ps->in_tx = false;
	if (!res)
		return err;
	/* a transaction the database aborted answers COMMIT with ROLLBACK: nothing was committed */
	if (strcmp(PQcmdStatus(res), "COMMIT") != 0)
		err = -EIO;
	PQclear(res);
	return err;
}

static void pg_rollback(struct store *s)
{
	struct pg_store *ps = PS(s);

	if (ps->in_tx && ps->conn && PQstatus(ps->conn) == CONNECTION_OK)
		exec_(s, "ROLLBACK", "");
	ps->in_tx = false;
}

static int pg_meta_get(struct store *s, const char *key, char **ret)
{
	int err;
	bool oom = false;
	_cleanup_res_ PGresult *res = row_(s, &err, "SELECT value FROM meta WHERE key = $1", "s", key);

	if (!res)
		return err;
	*ret = col_str(res, 0, 0, &oom);
	return *ret ? 0 : -ENOMEM;
}

static int pg_meta_set(struct store *s, const char *key, const char *value)
{
	int r = exec_(s, "INSERT INTO meta(key, value) VALUES($1, $2)"
		      " ON CONFLICT(key) DO UPDATE SET value = excluded.value", "ss", key, value);
	return r < 0 ? r : 0;
}

/* ------------------------------------------------------------------ users */

#define USER_COLS "SELECT id, username, email, name, picture, is_admin FROM users "

static int user_row(PGresult *res, int err, struct user *ret)
{
	bool oom = false;

	if (!res)
		return err;
	memset(ret, 0, sizeof(*ret));
	ret->id = col_i(res, 0, 0);
	ret->username = col_str(res, 0, 1, &oom);
	ret->email = col_str(res, 0, 2, &oom);
	ret->name = col_str(res, 0, 3, &oom);
	ret->picture = col_str(res, 0, 4, &oom);
	ret->is_admin = col_b(res, 0, 5);
	PQclear(res);
	if (oom) {
		user_clear(ret);
		return -ENOMEM;
	}
	return 0;
}

static int pg_user_create(struct store *s, const char *username, const char *email, const char *name,
			  const char *picture, const char *pw_hash, const char *oidc_iss, const char *oidc_sub,
			  int64_t at, int64_t *ret_id)
{
	return insert_id_(s, ret_id,
			  "INSERT INTO users(username, email, name, picture, password_hash, oidc_iss, oidc_sub,"
			  " created_at) VALUES($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING RETURNING id",
			  "sssssssi", username, email, name, picture, pw_hash, oidc_iss, oidc_sub, at);
}

static int pg_user_get(struct store *s, int64_t id, struct user *ret)
{
	int err;
	PGresult *res = row_(s, &err, USER_COLS "WHERE id = $1", "i", id);
	return user_row(res, err, ret);
}

static int pg_user_find(struct store *s, const char *field, const char *value, struct user *ret)
{
	PGresult *res;
	int err;

	if (strcmp(field, "username") == 0)
		res = row_(s, &err, USER_COLS "WHERE username = $1", "s", value);
	else if (strcmp(field, "email") == 0)
		res = row_(s, &err, USER_COLS "WHERE lower(email COLLATE \"C\") = lower($1::text COLLATE \"C\")", "s",
			   value);
	else
		return -EINVAL;
	return user_row(res, err, ret);
}

static int pg_user_find_oidc(struct store *s, const char *iss, const char *sub, struct user *ret)
{
	int err;
	PGresult *res = row_(s, &err, USER_COLS "WHERE oidc_iss = $1 AND oidc_sub = $2", "ss", iss, sub);
	return user_row(res, err, ret);
}

static int pg_user_link_oidc(struct store *s, int64_t id, const char *iss, const char *sub)
{
	int r = exec_(s, "UPDATE users SET oidc_iss = $1, oidc_sub = $2 WHERE id = $3", "ssi", iss, sub, id);
	return r < 0 ? r : r == 0 ? -ENOENT : 0;
}

static int pg_user_update_profile(struct store *s, int64_t id, const char *name, const char *picture)
{
	int r = exec_(s, "UPDATE users SET name = coalesce($1, name), picture = coalesce($2, picture) WHERE id = $3",
		      "ssi", name, picture, id);
	return r < 0 ? r : 0;
}

static int pg_user_password_hash(struct store *s, const char *username, int64_t *ret_id, char **ret_hash)
{
	int err;
	bool oom = false;
	_cleanup_res_ PGresult *res =
		row_(s, &err, "SELECT id, password_hash FROM users WHERE username = $1", "s", username);

	if (!res)
		return err;
	*ret_id = col_i(res, 0, 0);
	*ret_hash = col_str(res, 0, 1, &oom);
	return oom ? -ENOMEM : *ret_hash ? 0 : -ENOENT;
}

static int pg_user_set_password(struct store *s, int64_t id, const char *pw_hash)
{
	int r = exec_(s, "UPDATE users SET password_hash = $1 WHERE id = $2", "si", pw_hash, id);
	return r < 0 ? r : r == 0 ? -ENOENT : 0;
}

static int pg_user_set_admin(struct store *s, int64_t id, bool admin)
{
	int r = exec_(s, "UPDATE users SET is_admin = $1 WHERE id = $2", "bi", (int)admin, id);
	return r < 0 ? r : r == 0 ? -ENOENT : 0;
}

static int pg_user_set_email_verified(struct store *s, int64_t id, bool verified)
{
	int r = exec_(s, "UPDATE users SET email_verified = $1 WHERE id = $2", "bi", (int)verified, id);
	return r < 0 ? r : r == 0 ? -ENOENT : 0;
}

static int pg_user_email_verified(struct store *s, int64_t id)
{
	int err;
	_cleanup_res_ PGresult *res =
		row_(s, &err, "SELECT email IS NOT NULL AND email_verified FROM users WHERE id = $1", "i", id);

	if (!res)
		return err;
	return col_b(res, 0, 0) ? 1 : 0;
}

/* --------------------------------------------------------------- sessions */

static int pg_session_put(struct store *s, const char *id, const struct session_row *row)
{
	int r = exec_(s, "INSERT INTO sessions(id, user_id, csrf, created_at, last_seen, expires_at)"
		      " VALUES($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
		      "sisiii", id, row->user_id, row->csrf, row->created_at, row->last_seen, row->expires_at);
	return r < 0 ? r : r == 0 ? -EEXIST : 0;
}

static int pg_session_get(struct store *s, const char *id, struct session_row *ret)
{
	int err;
	_cleanup_res_ PGresult *res = row_(s, &err, "SELECT user_id, csrf, created_at, last_seen, expires_at"
					   " FROM sessions WHERE id = $1", "s", id);

	if (!res)
		return err;
	ret->user_id = col_i(res, 0, 0);
	snprintf(ret->csrf, sizeof(ret->csrf), "%s", PQgetvalue(res, 0, 1));
	ret->created_at = col_i(res, 0, 2);
	ret->last_seen = col_i(res, 0, 3);
	ret->expires_at = col_i(res, 0, 4);
	return 0;
}

static int pg_session_touch(struct store *s, const char *id, int64_t at)
{
	int r = exec_(s, "UPDATE sessions SET last_seen = $1 WHERE id = $2", "is", at, id);
	return r < 0 ? r : 0;
}

static int pg_session_delete(struct store *s, const char *id)
{
	int r = exec_(s, "DELETE FROM sessions WHERE id = $1", "s", id);
	return r < 0 ? r : 0;
}

static int pg_session_delete_user(struct store *s, int64_t user_id)
{
	return exec_(s, "DELETE FROM sessions WHERE user_id = $1", "i", user_id);
}

static int pg_session_purge(struct store *s, int64_t now)
{
	return exec_(s, "DELETE FROM sessions WHERE expires_at < $1", "i", now);
}

/* --------------------------------------------------------------- meetings */

#define MEETING_COLS \
	"SELECT id, code, title, link, created_by, start_at, coalesce(end_at, 0), join_policy = 'domain' FROM meetings "

static int fill_meeting(const PGresult *res, int row, struct meeting *m)
{
	bool oom = false;

	m->id = col_i(res, row, 0);
	snprintf(m->code, sizeof(m->code), "%s", PQgetvalue(res, row, 1));
	m->title = col_str(res, row, 2, &oom);
	m->link = col_str(res, row, 3, &oom);
	m->created_by = col_i(res, row, 4);
	m->start_at = col_i(res, row, 5);
	m->end_at = col_i(res, row, 6);
	m->join_policy = col_b(res, row, 7) ? JOIN_DOMAIN : JOIN_ANYONE;
	return oom ? -ENOMEM : 0;
}

static int meeting_row(PGresult *res, int err, struct meeting *ret)
{
	if (!res)
		return err;
	memset(ret, 0, sizeof(*ret));
	err = fill_meeting(res, 0, ret);
	PQclear(res);
	if (err < 0)
		meeting_clear(ret);
	return err;
}

static int pg_meeting_create(struct store *s, const char *code, const char *title, const char *link,
			     enum join_policy policy, int64_t created_by, int64_t at, int64_t *ret_id)
{
	int r = insert_id_(s, ret_id, "INSERT INTO meetings(code, title, link, join_policy, created_by, start_at)"
			   " VALUES($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING RETURNING id",
			   "ssssii", code, title, link, policy == JOIN_DOMAIN ? "domain" : "anyone", created_by, at);
	if (r < 0)
		return r;
	r = exec_(s, "INSERT INTO organisers(meeting_id, user_id, added_by, added_at) VALUES($1, $2, $3, $4)",
		  "iiii", *ret_id, created_by, created_by, at);
	return r < 0 ? r : 0;
}

static int pg_meeting_get(struct store *s, int64_t id, struct meeting *ret)
{
	int err;
	PGresult *res = row_(s, &err, MEETING_COLS "WHERE id = $1", "i", id);
	return meeting_row(res, err, ret);
}

static int pg_meeting_by_code(struct store *s, const char *code, struct meeting *ret)
{
	int err;
	/* the ongoing meeting with this code, else the latest that ended */
	PGresult *res = row_(s, &err, MEETING_COLS "WHERE code = $1 ORDER BY end_at IS NOT NULL, id DESC LIMIT 1",
			     "s", code);
	return meeting_row(res, err, ret);
}

static int pg_meeting_end(struct store *s, int64_t id, int64_t at)
{
	int r = exec_(s, "UPDATE meetings SET end_at = $1 WHERE id = $2 AND end_at IS NULL", "ii", at, id);
	return r < 0 ? r : r == 0 ? -EALREADY : 0;
}

#define MY_MEETINGS \
	"SELECT m.id, m.code, m.title, m.link, m.created_by, m.start_at, coalesce(m.end_at, 0)," \
	" m.join_policy = 'domain', EXISTS(SELECT 1 FROM organisers o WHERE o.meeting_id = m.id AND o.user_id = $1)" \
	" FROM meetings m WHERE (m.id IN (SELECT meeting_id FROM organisers WHERE user_id = $1)" \
	" OR m.id IN (SELECT meeting_id FROM members WHERE user_id = $1))" \
	" AND NOT EXISTS(SELECT 1 FROM bans b WHERE b.meeting_id = m.id AND b.user_id = $1) "

static int fill_meeting_entry(const PGresult *res, int row, void *out)
{
	struct meeting_entry *e = out;

	e->organiser = col_b(res, row, 8);
	return fill_meeting(res, row, &e->meeting);
}

static int pg_meeting_list(struct store *s, int64_t user_id, struct meeting_list *ret_ongoing,
			   struct meeting_list *ret_past)
{
	int r = list_(s, ret_ongoing, fill_meeting_entry,
		      MY_MEETINGS "AND m.end_at IS NULL ORDER BY m.start_at DESC, m.id DESC", "i", user_id);
	if (r == 0)
		r = list_(s, ret_past, fill_meeting_entry,
			  MY_MEETINGS "AND m.end_at IS NOT NULL ORDER BY m.end_at DESC, m.id DESC LIMIT 500", "i",
			  user_id);
	if (r < 0) {
		meeting_list_free(ret_ongoing);
		meeting_list_free(ret_past);
	}
	return r;
}

static int pg_organiser_add(struct store *s, int64_t meeting_id, int64_t user_id, int64_t by, int64_t at)
{
	int r = exec_(s, "INSERT INTO organisers(meeting_id, user_id, added_by, added_at) VALUES($1, $2, $3, $4)"
		      " ON CONFLICT DO NOTHING", "iiii", meeting_id, user_id, by, at);
	return r < 0 ? r : r == 0 ? -EEXIST : 0;
}

static int exists_(struct store *s, const char *sql, int64_t a, int64_t b)
{
	int err;
	_cleanup_res_ PGresult *res = row_(s, &err, sql, "ii", a, b);

	if (!res)
		return err == -ENOENT ? 0 : err;
	return 1;
}

static int pg_is_organiser(struct store *s, int64_t meeting_id, int64_t user_id)
{
	return exists_(s, "SELECT 1 FROM organisers WHERE meeting_id = $1 AND user_id = $2", meeting_id, user_id);
}

static int pg_member_add(struct store *s, int64_t meeting_id, int64_t user_id, int64_t at)
{
	int r = exec_(s, "INSERT INTO members(meeting_id, user_id, joined_at) VALUES($1, $2, $3)"
		      " ON CONFLICT DO NOTHING", "iii", meeting_id, user_id, at);
	return r < 0 ? r : 0;
}

static int pg_is_member(struct store *s, int64_t meeting_id, int64_t user_id)
{
	return exists_(s, "SELECT 1 FROM members WHERE meeting_id = $1 AND user_id = $2", meeting_id, user_id);
}

static int fill_person(const PGresult *res, int row, void *out)
{
	struct person *p = out;
	bool oom = false;

	p->id = col_i(res, row, 0);
	p->name = col_str(res, row, 1, &oom);
	p->email = col_str(res, row, 2, &oom);
	p->picture = col_str(res, row, 3, &oom);
	p->organiser = col_b(res, row, 4);
	p->banned = col_b(res, row, 5);
	p->online = col_b(res, row, 6);
	p->grp = (int)col_i(res, row, 7);
	return oom ? -ENOMEM : 0;
}

static int pg_people(struct store *s, int64_t meeting_id, struct person_list *ret)
{
	int r = list_(s, ret, fill_person,
		      "SELECT u.id, u.name, u.email, u.picture,"
		      " EXISTS(SELECT 1 FROM organisers o WHERE o.meeting_id = $1 AND o.user_id = u.id),"
		      " EXISTS(SELECT 1 FROM bans b WHERE b.meeting_id = $1 AND b.user_id = u.id), false, 0"
		      " FROM users u WHERE u.id IN (SELECT user_id FROM organisers WHERE meeting_id = $1"
		      " UNION SELECT user_id FROM members WHERE meeting_id = $1) ORDER BY u.name COLLATE \"C\", u.id",
		      "i", meeting_id);
	if (r < 0)
		person_list_free(ret);
	return r;
}

static int pg_ban_add(struct store *s, int64_t meeting_id, int64_t user_id, int64_t by, const char *reason, int64_t at)
{
	int r = exec_(s, "INSERT INTO bans(meeting_id, user_id, by_user, reason, at) VALUES($1, $2, $3, $4, $5)"
		      " ON CONFLICT DO NOTHING", "iiisi", meeting_id, user_id, by, reason, at);
	return r < 0 ? r : r == 0 ? -EEXIST : 0;
}

static int pg_is_banned(struct store *s, int64_t meeting_id, int64_t user_id)
{
	return exists_(s, "SELECT 1 FROM bans WHERE meeting_id = $1 AND user_id = $2", meeting_id, user_id);
}

static int fill_ban(const PGresult *res, int row, void *out)
{
	struct ban *b = out;
	bool oom = false;

	b->user_id = col_i(res, row, 0);
	b->name = col_str(res, row, 1, &oom);
	b->by_user = col_i(res, row, 2);
	b->reason = col_str(res, row, 3, &oom);
	b->at = col_i(res, row, 4);
	return oom ? -ENOMEM : 0;
}

static int pg_bans(struct store *s, int64_t meeting_id, struct ban_list *ret)
{
	int r = list_(s, ret, fill_ban, "SELECT b.user_id, u.name, b.by_user, b.reason, b.at FROM bans b"
		      " JOIN users u ON u.id = b.user_id WHERE b.meeting_id = $1 ORDER BY b.at, b.user_id", "i",
		      meeting_id);
	if (r < 0)
		ban_list_free(ret);
	return r;
}

/* ------------------------------------------------------------- attendance */

static int pg_attendance_open(struct store *s, int64_t meeting_id, int64_t user_id, int64_t at, int64_t *ret_id)
{
	return insert_id_(s, ret_id, "INSERT INTO attendance(meeting_id, user_id, join_at, node)"
			  " VALUES($1, $2, $3, nullif($4, '')) RETURNING id", "iiis", meeting_id, user_id, at,
			  node_(s));
}

static int pg_attendance_close(struct store *s, int64_t id, int64_t at)
{
	int r = exec_(s, "UPDATE attendance SET leave_at = greatest(join_at, $1) WHERE id = $2 AND leave_at IS NULL",
		      "ii", at, id);
	return r < 0 ? r : 0;
}

static int pg_attendance_close_dangling(struct store *s, int64_t at)
{
	/* this node's rows only (and those of no node): another live node's are its own */
	return exec_(s, "UPDATE attendance SET leave_at = greatest(join_at, $1) WHERE leave_at IS NULL"
		     " AND (node IS NULL OR node = $2)", "is", at, node_(s));
}

static int fill_attendee(const PGresult *res, int row, void *out)
{
	struct attendee *a = out;
	bool oom = false;

	a->user_id = col_i(res, row, 0);
	a->name = col_str(res, row, 1, &oom);
	a->email = col_str(res, row, 2, &oom);
	a->first_join = col_i(res, row, 3);
	a->last_leave = col_i(res, row, 4);
	a->duration_ms = col_i(res, row, 5);
	a->joins = col_i(res, row, 6);
	a->organiser = col_b(res, row, 7);
	a->online = col_b(res, row, 8);
	return oom ? -ENOMEM : 0;
}

static int fill_span(const PGresult *res, int row, void *out)
{
	struct attendance_span *a = out;

	a->id = col_i(res, row, 0);
	a->user_id = col_i(res, row, 1);
	a->join_at = col_i(res, row, 2);
	a->leave_at = col_i(res, row, 3);	/* NULL reads as 0: still there */
	return 0;
}

static int pg_attendance(struct store *s, int64_t meeting_id, int64_t now, struct attendance_list *ret)
{
	struct { struct attendance_span *v; size_t n; } rows = { 0 };
	size_t k = 0;
	int r;

	r = list_(s, ret, fill_attendee,
		  "SELECT a.user_id, u.name, u.email, min(a.join_at) AS first_join,"
		  " max(coalesce(a.leave_at, $2)), sum(coalesce(a.leave_at, $2) - a.join_at), count(*),"
		  " EXISTS(SELECT 1 FROM organisers o WHERE o.meeting_id = $1 AND o.user_id = a.user_id),"
		  " bool_or(a.leave_at IS NULL)"
		  " FROM attendance a JOIN users u ON u.id = a.user_id WHERE a.meeting_id = $1"
		  " GROUP BY a.user_id, u.name, u.email ORDER BY first_join, a.user_id", "ii", meeting_id, now);
	if (r == 0)
		r = list_(s, &rows, fill_span,
			  "SELECT id, user_id, join_at, leave_at FROM attendance WHERE meeting_id = $1 ORDER BY id",
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

static int pg_chat_add(struct store *s, int64_t meeting_id, int64_t user_id, const char *text, int64_t at,
		       int64_t *ret_id)
{
	return insert_id_(s, ret_id, "INSERT INTO chat(meeting_id, user_id, content, at) VALUES($1, $2, $3, $4)"
			  " RETURNING id", "iisi", meeting_id, user_id, text, at);
}

static int pg_chat_add_system(struct store *s, int64_t meeting_id, int64_t about, const char *text,
			      enum audience audience, int64_t at, int64_t *ret_id)
{
	return insert_id_(s, ret_id, "INSERT INTO chat(meeting_id, user_id, content, at, kind, audience)"
			  " VALUES($1, $2, $3, $4, 'system', $5) RETURNING id",
			  "iisii", meeting_id, about, text, at, (int64_t)audience);
}

static int pg_event_next_offset(struct store *s, int64_t meeting_id, uint64_t *ret)
{
	/* the row stays locked until the caller's commit: the next appender of this meeting waits for it */
	int err;
	_cleanup_res_ PGresult *res = row_(s, &err, "INSERT INTO event_counters(meeting_id, last)"
					   " VALUES($1, (SELECT coalesce(max(seq), 0) + 1 FROM events"
					   " WHERE meeting_id = $1))"
					   " ON CONFLICT(meeting_id) DO UPDATE SET last = event_counters.last + 1"
					   " RETURNING last", "i", meeting_id);

	if (!res)
		return err;
	*ret = (uint64_t)col_i(res, 0, 0);
	return 0;
}

static int pg_notify(struct store *s, const char *channel, const char *payload)
{
	int r = exec_(s, "SELECT pg_notify($1, $2)", "ss", channel, payload);
	return r < 0 ? r : 0;
}

static int pg_event_append(struct store *s, int64_t meeting_id, uint64_t offset, const char *type,
			   const char *body, enum audience audience, int64_t at)
{
	int r = exec_(s, "INSERT INTO events(meeting_id, seq, type, body, at, audience)"
		      " VALUES($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
		      "iissii", meeting_id, (int64_t)offset, type, body, at, (int64_t)audience);
	return r < 0 ? r : r == 0 ? -EEXIST : 0;
}

static int pg_event_last_offset(struct store *s, int64_t meeting_id, uint64_t *ret)
{
	return meeting_offset_(s, "SELECT coalesce(max(seq), 0) FROM events WHERE meeting_id = $1", meeting_id, ret);
}

static int pg_events_since(struct store *s, int64_t meeting_id, uint64_t offset,
			   int (*fn)(void *ud, uint64_t offset, enum audience audience, const char *body), void *ud)
{
	/*
	 * In batches, each read whole before fn sees its rows (fn may call
	 * back into the store, on the same connection); the next batch starts
	 * after the last offset seen, so an append meanwhile is read too.
	 */
	for (;;) {
		int err = 0, n;
		_cleanup_res_ PGresult *res = run_(s, &err, "SELECT seq, body, audience FROM events"
						   " WHERE meeting_id = $1 AND seq > $2 ORDER BY seq LIMIT $3", "iii",
						   meeting_id, (int64_t)offset, (int64_t)REPLAY_BATCH);

		if (!res)
			return err;
		n = PQntuples(res);
		for (int i = 0; i < n; i++) {
			offset = (uint64_t)col_i(res, i, 0);
			if (fn(ud, offset, (enum audience)col_i(res, i, 2), PQgetvalue(res, i, 1)) < 0)
				return 0;
		}
		if (n < REPLAY_BATCH)
			return 0;
	}
}

static int fill_event(const PGresult *res, int row, void *out)
{
	struct event_row *e = out;
	bool oom = false;

	e->offset = (uint64_t)col_i(res, row, 0);
	e->body = col_str(res, row, 1, &oom);
	return oom ? -ENOMEM : 0;
}

static int pg_events_of_type(struct store *s, int64_t meeting_id, const char *type, struct event_list *ret)
{
	int r = list_(s, ret, fill_event, "SELECT seq, body FROM events WHERE meeting_id = $1 AND type = $2"
		      " ORDER BY seq", "is", meeting_id, type);
	if (r < 0)
		event_list_free(ret);
	return r;
}

static int pg_events_trim(struct store *s, int64_t meeting_id, uint64_t upto)
{
	int r = exec_(s, "DELETE FROM events WHERE meeting_id = $1 AND seq <= $2", "ii", meeting_id, (int64_t)upto);
	return r < 0 ? r : 0;
}

static int pg_event_floor(struct store *s, int64_t meeting_id, uint64_t *ret)
{
	return meeting_offset_(s, "SELECT coalesce(min(seq) - 1, 0) FROM events WHERE meeting_id = $1", meeting_id,
			       ret);
}

/* --------------------------------------------------------------- machines */

static int pg_machine_create(struct store *s, const char *name, const char *token_hash, int64_t at, int64_t *ret_id)
{
	return insert_id_(s, ret_id, "INSERT INTO machines(name, token_hash, created_at) VALUES($1, $2, $3)"
			  " ON CONFLICT DO NOTHING RETURNING id", "ssi", name, token_hash, at);
}

static int pg_machine_by_token(struct store *s, const char *token_hash, int64_t *ret_id, char **ret_name)
{
	int err;
	bool oom = false;
	_cleanup_res_ PGresult *res =
		row_(s, &err, "SELECT id, name FROM machines WHERE token_hash = $1 AND NOT revoked", "s", token_hash);

	if (!res)
		return err;
	*ret_id = col_i(res, 0, 0);
	*ret_name = col_str(res, 0, 1, &oom);
	return oom ? -ENOMEM : 0;
}

static int pg_machine_seen(struct store *s, int64_t id, const char *boot_id, const char *version, int64_t at)
{
	int r = exec_(s, "UPDATE machines SET last_seen = $1, boot_id = coalesce($2, boot_id),"
		      " agent_version = coalesce($3, agent_version) WHERE id = $4", "issi", at, boot_id, version, id);
	return r < 0 ? r : 0;
}

static int pg_machine_spool_dropped(struct store *s, int64_t id, int64_t dropped, int64_t *ret_before)
{
	int err;
	_cleanup_res_ PGresult *res = row_(s, &err, "SELECT spool_dropped FROM machines WHERE id = $1", "i", id);

	if (!res)
		return err;
	*ret_before = col_i(res, 0, 0);
	err = exec_(s, "UPDATE machines SET spool_dropped = $1, spool_dropped_new = $2 WHERE id = $3", "iii", dropped,
		    dropped >= *ret_before ? dropped - *ret_before : dropped, id);
	return err < 0 ? err : 0;
}

static int fill_machine(const PGresult *res, int row, void *out)
{
	struct machine *m = out;
	bool oom = false;

	m->id = col_i(res, row, 0);
	m->name = col_str(res, row, 1, &oom);
	m->created_at = col_i(res, row, 2);
	m->last_seen = col_i(res, row, 3);
	m->boot_id = col_str(res, row, 4, &oom);
	m->agent_version = col_str(res, row, 5, &oom);
	m->revoked = col_b(res, row, 6);
	m->online = col_b(res, row, 7);
	m->offline_reason = col_str(res, row, 8, &oom);
	m->state_at = col_i(res, row, 9);
	m->users_json = col_str(res, row, 10, &oom);
	m->spool_dropped = col_i(res, row, 11);
	m->grp = col_str(res, row, 12, &oom);
	m->policy_source = col_str(res, row, 13, &oom);
	m->policy_version = col_i(res, row, 14);
	m->policy_error = col_str(res, row, 15, &oom);
	m->policy_at = col_i(res, row, 16);
	m->spool_dropped_new = col_i(res, row, 17);
	m->kernel = col_str(res, row, 18, &oom);
	m->status_json = col_str(res, row, 19, &oom);
	m->status_at = col_i(res, row, 20);
	m->last_event_at = col_i(res, row, 21);
	return oom ? -ENOMEM : 0;
}

static int pg_machines(struct store *s, struct machine_list *ret)
{
	int r = list_(s, ret, fill_machine, "SELECT id, name, created_at, last_seen, boot_id, agent_version, revoked,"
		      " online, offline_reason, state_at, users, spool_dropped, grp, policy_source, policy_version,"
		      " policy_error, policy_at, spool_dropped_new, kernel, status_json, status_at, last_event_at"
		      " FROM machines ORDER BY name COLLATE \"C\"", "");
	if (r < 0)
		machine_list_free(ret);
	return r;
}

static int pg_machine_status(struct store *s, int64_t id, const char *kernel, const char *status_json, int64_t at)
{
	int r = exec_(s, "UPDATE machines SET kernel = $1, status_json = $2, status_at = $3 WHERE id = $4", "ssii",
		      kernel, status_json, at, id);
	return r < 0 ? r : 0;
}

static int pg_machine_event_at(struct store *s, int64_t id, int64_t at)
{
	int r = exec_(s, "UPDATE machines SET last_event_at = greatest(coalesce(last_event_at, 0), $1) WHERE id = $2",
		      "ii", at, id);
	return r < 0 ? r : 0;
}

static int pg_machine_state(struct store *s, int64_t id, bool online, const char *reason, const char *users_json,
			    int64_t at)
{
	/* offline only from the node that holds it: the agent may have moved to another node meanwhile */
	int r = exec_(s, "UPDATE machines SET online = $1, offline_reason = $2, state_at = $3,"
		      " users = coalesce($4, users), last_seen = $3,"
		      " node = CASE WHEN $1 THEN nullif($6, '') ELSE node END"
		      " WHERE id = $5 AND ($1 OR node IS NULL OR node = $6)",
		      "bsisis", (int)online, online ? NULL : reason, at, users_json, id, node_(s));
	return r < 0 ? r : 0;
}

static int pg_machines_reset(struct store *s, const char *reason, int64_t at)
{
	return exec_(s, "UPDATE machines SET online = false, offline_reason = $1, state_at = $2 WHERE online"
		     " AND (node IS NULL OR node = $3)", "sis", reason, at, node_(s));
}

static int pg_monitor_set(struct store *s, int64_t user_id, bool monitored, const char *reason, int64_t machine_id,
			  int64_t at)
{
	int r = exec_(s, "INSERT INTO monitor_state(user_id, monitored, reason, machine_id, at)"
		      " VALUES($1, $2, $3, $4, $5) ON CONFLICT(user_id) DO UPDATE SET monitored = excluded.monitored,"
		      " reason = excluded.reason, machine_id = excluded.machine_id, at = excluded.at",
		      "ibsIi", user_id, (int)monitored, reason, machine_id, at);
	return r < 0 ? r : 0;
}

static int fill_monitor(const PGresult *res, int row, void *out)
{
	struct monitor_row *m = out;
	bool oom = false;

	m->user_id = col_i(res, row, 0);
	m->monitored = col_b(res, row, 1);
	m->reason = col_str(res, row, 2, &oom);
	m->machine_id = col_i(res, row, 3);
	m->at = col_i(res, row, 4);
	return oom ? -ENOMEM : 0;
}

static int pg_monitor_states(struct store *s, struct monitor_list *ret)
{
	int r = list_(s, ret, fill_monitor,
		      "SELECT user_id, monitored, reason, machine_id, at FROM monitor_state ORDER BY user_id", "");
	if (r < 0)
		monitor_list_free(ret);
	return r;
}

static int pg_monitor_reset(struct store *s, const char *reason, int64_t at)
{
	return exec_(s, "UPDATE monitor_state SET monitored = false, reason = $1, at = $2 WHERE monitored", "si",
		     reason, at);
}

static int pg_machine_revoke(struct store *s, const char *name)
{
	int r = exec_(s, "UPDATE machines SET revoked = true WHERE name = $1", "s", name);
	return r < 0 ? r : r == 0 ? -ENOENT : 0;
}

static int pg_agent_event_claim(struct store *s, int64_t machine_id, const char *event_id, int64_t at)
{
	return exec_(s, "INSERT INTO agent_events(machine_id, event_id, at) VALUES($1, $2, $3) ON CONFLICT DO NOTHING",
		     "isi", machine_id, event_id, at);
}

/* ----------------------------------------------------------------- policy */

static int pg_policy_add(struct store *s, const char *grp, const char *author, const char *note,
			 const char *files_json, int64_t rolled_back_from, int64_t at, int64_t *ret_version)
{
	/* two nodes computing the same version: the second inserts nothing, -EEXIST (store.h) */
	return insert_id_(s, ret_version,
			  "INSERT INTO policy_bundles(version, grp, author, note, at, files, rolled_back_from)"
			  " SELECT coalesce(max(version), 0) + 1, $1, $2, $3, $4, $5, $6 FROM policy_bundles"
			  " ON CONFLICT DO NOTHING RETURNING version", "sssisI", grp, author, note, at, files_json,
			  rolled_back_from);
}

#define BUNDLE_COLS "SELECT version, grp, author, note, at, rolled_back_from, files FROM policy_bundles "

static int fill_bundle(const PGresult *res, int row, void *out)
{
	struct policy_bundle *b = out;
	bool oom = false;

	b->version = col_i(res, row, 0);
	b->grp = col_str(res, row, 1, &oom);
	b->author = col_str(res, row, 2, &oom);
	b->note = col_str(res, row, 3, &oom);
	b->at = col_i(res, row, 4);
	b->rolled_back_from = col_i(res, row, 5);
	if (PQnfields(res) > 6)
		b->files_json = col_str(res, row, 6, &oom);
	return oom ? -ENOMEM : 0;
}

static int bundle_one_(struct store *s, struct policy_bundle *ret, const char *sql, const char *fmt, ...)
{
	va_list ap;
	int err = 0;

	memset(ret, 0, sizeof(*ret));
	va_start(ap, fmt);
	_cleanup_res_ PGresult *res = runv(s, &err, sql, fmt, ap);
	va_end(ap);
	if (!res)
		return err;
	if (PQntuples(res) == 0)
		return -ENOENT;
	err = fill_bundle(res, 0, ret);
	if (err < 0)
		policy_bundle_clear(ret);
	return err;
}

static int pg_policy_get(struct store *s, int64_t version, struct policy_bundle *ret)
{
	return bundle_one_(s, ret, BUNDLE_COLS "WHERE version = $1", "i", version);
}

static int pg_policy_latest(struct store *s, const char *grp, struct policy_bundle *ret)
{
	return bundle_one_(s, ret, BUNDLE_COLS "WHERE grp = $1 ORDER BY version DESC LIMIT 1", "s", grp);
}

static int pg_policies(struct store *s, const char *grp, struct policy_bundle_list *ret)
{
	int r = list_(s, ret, fill_bundle,
		      "SELECT version, grp, author, note, at, rolled_back_from FROM policy_bundles"
		      " WHERE $1::text IS NULL OR grp = $1 ORDER BY version DESC", "s", grp);
	if (r < 0)
		policy_bundle_list_free(ret);
	return r;
}

static int pg_machine_set_group(struct store *s, const char *name, const char *grp)
{
	int r = exec_(s, "UPDATE machines SET grp = $1 WHERE name = $2", "ss", grp, name);
	return r < 0 ? r : r == 0 ? -ENOENT : 0;
}

static int pg_machine_group(struct store *s, int64_t id, char **ret_grp)
{
	int err;
	bool oom = false;
	_cleanup_res_ PGresult *res =
		row_(s, &err, "SELECT coalesce(grp, '" POLICY_GROUP_DEFAULT "') FROM machines WHERE id = $1", "i", id);

	if (!res)
		return err;
	*ret_grp = col_str(res, 0, 0, &oom);
	return oom ? -ENOMEM : 0;
}

static int pg_machine_policy_state(struct store *s, int64_t id, const char *source, int64_t version,
				   const char *error, int64_t at)
{
	int r = exec_(s, "UPDATE machines SET policy_source = $1, policy_version = $2, policy_error = $3,"
		      " policy_at = $4 WHERE id = $5", "sIsii", source, version, error, at, id);
	return r < 0 ? r : r == 0 ? -ENOENT : 0;
}

/* ------------------------------------------------------------- recordings */

#define REC_COLS \
	"SELECT r.id, r.user_id, u.name, r.local_user, r.kind, r.program, r.exe, r.argv, r.pid," \
	" r.rule_id, r.rule_title, r.layer, r.start_at, r.end_at, r.duration_ms, r.calls, r.machine_id," \
	" r.detail, m.name FROM recordings r LEFT JOIN users u ON u.id = r.user_id" \
	" LEFT JOIN machines m ON m.id = r.machine_id "

static int fill_recording(const PGresult *res, int row, void *out)
{
	struct recording *r = out;
	bool oom = false;

	r->id = col_i(res, row, 0);
	r->user_id = col_i(res, row, 1);	/* NULL: 0 */
	r->name = col_str(res, row, 2, &oom);
	r->local_user = col_str(res, row, 3, &oom);
	r->kind = col_str(res, row, 4, &oom);
	r->program = col_str(res, row, 5, &oom);
	r->exe = col_str(res, row, 6, &oom);
	r->argv_json = col_str(res, row, 7, &oom);
	r->pid = col_i(res, row, 8);
	r->rule_id = col_str(res, row, 9, &oom);
	r->rule_title = col_str(res, row, 10, &oom);
	r->layer = col_str(res, row, 11, &oom);
	r->start_at = col_i(res, row, 12);
	r->end_at = col_i(res, row, 13);
	r->duration_ms = col_null(res, row, 14) ? -1 : col_i(res, row, 14);
	r->calls = col_null(res, row, 15) ? -1 : col_i(res, row, 15);
	r->machine_id = col_i(res, row, 16);
	r->detail_json = col_str(res, row, 17, &oom);
	r->machine = col_str(res, row, 18, &oom);
	return oom ? -ENOMEM : 0;
}

#define recordings_(s, l, sql, fmt, ...) ({ \
	int r_ = list_((s), (l), fill_recording, (sql), (fmt), ##__VA_ARGS__); \
	if (r_ < 0) \
		recording_list_free(l); \
	r_; })

static int pg_recording_begin(struct store *s, const struct capture *c, int64_t *ret_id)
{
	int err, r = exec_(s,
		      "INSERT INTO recordings(machine_id, capture, user_id, local_user, kind, program, exe, argv, pid,"
		      " rule_id, rule_title, layer, start_at, detail)"
		      " VALUES($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)"
		      " ON CONFLICT(machine_id, capture) DO NOTHING",
		      "isIsssssisssis", c->machine_id, c->capture, c->user_id, c->local_user, c->kind, c->program,
		      c->exe, c->argv_json, c->pid, c->rule_id, c->rule_title, c->layer, c->at, c->detail_json);

	if (r < 0)
		return r;
	_cleanup_res_ PGresult *res = row_(s, &err, "SELECT id FROM recordings WHERE machine_id = $1 AND capture = $2",
					   "is", c->machine_id, c->capture);
	if (!res)
		return err;
	*ret_id = col_i(res, 0, 0);
	return r;	/* 1: new, 0: already there */
}

static int pg_recording_end(struct store *s, const struct capture *c, int64_t *ret_id)
{
	int64_t id;
	int r = pg_recording_begin(s, &(struct capture){
		.machine_id = c->machine_id, .user_id = c->user_id, .local_user = c->local_user,
		.capture = c->capture, .kind = c->kind, .program = c->program, .exe = c->exe,
		.argv_json = c->argv_json, .rule_id = c->rule_id, .rule_title = c->rule_title,
		.layer = c->layer, .pid = c->pid, .detail_json = c->detail_json,
		.at = c->at - (c->duration_ms > 0 ? c->duration_ms : 0) }, &id);
	if (r < 0)
		return r;
	r = exec_(s, "UPDATE recordings SET end_at = greatest(start_at, $1), duration_ms = $2, calls = $3"
		  " WHERE id = $4", "iiii", c->at, c->duration_ms, c->calls, id);
	if (r < 0)
		return r;
	*ret_id = id;
	return 0;
}

static int pg_recording_get(struct store *s, int64_t id, struct recording *ret)
{
	int err;
	_cleanup_res_ PGresult *res = row_(s, &err, REC_COLS "WHERE r.id = $1", "i", id);

	if (!res)
		return err;
	memset(ret, 0, sizeof(*ret));
	err = fill_recording(res, 0, ret);
	if (err < 0)
		recording_clear(ret);
	return err;
}

static int pg_recordings_ongoing(struct store *s, int64_t user_id, struct recording_list *ret)
{
	return recordings_(s, ret, REC_COLS "WHERE r.user_id = $1 AND r.end_at IS NULL ORDER BY r.start_at, r.id",
			   "i", user_id);
}

static int pg_recordings_close_stale(struct store *s, int64_t machine_id, const char *boot_id, int64_t at,
				     struct recording_list *ret_closed)
{
	int r = recordings_(s, ret_closed, REC_COLS "WHERE r.machine_id = $1 AND r.end_at IS NULL"
			    " AND NOT starts_with(r.capture, $2::text || ':') ORDER BY r.id",
			    "is", machine_id, boot_id);
	if (r < 0)
		return r;
	r = exec_(s, "UPDATE recordings SET end_at = greatest(start_at, $3) WHERE machine_id = $1 AND end_at IS NULL"
		  " AND NOT starts_with(capture, $2::text || ':')", "isi", machine_id, boot_id, at);
	if (r < 0)
		recording_list_free(ret_closed);
	return r < 0 ? r : 0;
}

static int pg_recording_link(struct store *s, int64_t recording_id, int64_t meeting_id)
{
	return exec_(s, "INSERT INTO recording_meetings(recording_id, meeting_id) VALUES($1, $2)"
		     " ON CONFLICT DO NOTHING", "ii", recording_id, meeting_id);
}

static int pg_recordings_of_meeting(struct store *s, int64_t meeting_id, struct recording_list *ret)
{
	return recordings_(s, ret, REC_COLS "WHERE r.id IN (SELECT recording_id FROM recording_meetings"
			   " WHERE meeting_id = $1) ORDER BY r.start_at, r.id", "i", meeting_id);
}

static int fill_id(const PGresult *res, int row, void *out)
{
	*(int64_t *)out = col_i(res, row, 0);
	return 0;
}

static int pg_recording_meetings(struct store *s, int64_t recording_id, struct id_list *ret)
{
	int r = list_(s, ret, fill_id,
		      "SELECT rm.meeting_id FROM recording_meetings rm JOIN meetings m ON m.id = rm.meeting_id"
		      " WHERE rm.recording_id = $1 AND m.end_at IS NULL ORDER BY rm.meeting_id", "i", recording_id);
	if (r < 0)
		id_list_free(ret);
	return r;
}

static int pg_recordings_live_of_meeting(struct store *s, int64_t meeting_id, struct recording_list *ret)
{
	return recordings_(s, ret, REC_COLS "WHERE r.end_at IS NULL AND r.id IN"
			   " (SELECT recording_id FROM recording_meetings WHERE meeting_id = $1)"
			   " ORDER BY r.start_at, r.id", "i", meeting_id);
}

/* ------------------------------------------------------------ lobby scale */

/* ASCII case folding, as SQLite's NOCASE */
#define NOCASE(x) "lower((" x ") COLLATE \"C\")"

/* The meeting's people with their group: 0 organisers, 1 online, 2 the rest. */
#define PEOPLE_CTE \
	"WITH p AS (SELECT u.id, u.name, u.email, u.picture," \
	" EXISTS(SELECT 1 FROM organisers o WHERE o.meeting_id = $1 AND o.user_id = u.id) AS org," \
	" EXISTS(SELECT 1 FROM bans b WHERE b.meeting_id = $1 AND b.user_id = u.id) AS ban," \
	" EXISTS(SELECT 1 FROM attendance a WHERE a.meeting_id = $1 AND a.user_id = u.id" \
	" AND a.leave_at IS NULL) AS onl" \
	" FROM users u WHERE u.id IN (SELECT user_id FROM organisers WHERE meeting_id = $1" \
	" UNION SELECT user_id FROM members WHERE meeting_id = $1))," \
	" q AS (SELECT *, CASE WHEN org THEN 0 WHEN onl THEN 1 ELSE 2 END AS grp FROM p) " \
	"SELECT id, name, email, picture, org, ban, onl, grp FROM q "

static int pg_people_page(struct store *s, int64_t meeting_id, int after_grp, int64_t after_id, unsigned limit,
			  struct person_list *ret)
{
	/* keyset paging: the cursor names the last row seen; its name is read back from users */
	int r = list_(s, ret, fill_person,
		      PEOPLE_CTE "WHERE $2::int < 0 OR grp > $2::int OR (grp = $2::int AND ("
		      NOCASE("name") " > (SELECT " NOCASE("name") " FROM users WHERE id = $3::bigint)"
		      " OR (" NOCASE("name") " = (SELECT " NOCASE("name") " FROM users WHERE id = $3::bigint)"
		      " AND id > $3::bigint))) ORDER BY grp, " NOCASE("name") ", id LIMIT $4",
		      "iiii", meeting_id, (int64_t)after_grp, after_id, (int64_t)limit);
	if (r < 0)
		person_list_free(ret);
	return r;
}

static int pg_person(struct store *s, int64_t meeting_id, int64_t user_id, struct person *ret)
{
	int err;
	_cleanup_res_ PGresult *res = row_(s, &err, PEOPLE_CTE "WHERE id = $2", "ii", meeting_id, user_id);

	if (!res)
		return err;
	memset(ret, 0, sizeof(*ret));
	err = fill_person(res, 0, ret);
	if (err < 0)
		person_clear(ret);
	return err;
}

static int pg_people_count(struct store *s, int64_t meeting_id, int64_t *ret_total, int64_t *ret_online)
{
	int err;
	_cleanup_res_ PGresult *res = row_(s, &err, "SELECT count(*), count(*) FILTER (WHERE EXISTS(SELECT 1"
					   " FROM attendance a WHERE a.meeting_id = $1 AND a.user_id = p.user_id"
					   " AND a.leave_at IS NULL)) FROM (SELECT user_id FROM organisers"
					   " WHERE meeting_id = $1 UNION SELECT user_id FROM members"
					   " WHERE meeting_id = $1) p",
					   "i", meeting_id);

	if (!res)
		return err;
	*ret_total = col_i(res, 0, 0);
	*ret_online = col_i(res, 0, 1);
	return 0;
}

static int fill_chat_line(const PGresult *res, int row, void *out)
{
	struct chat_line *c = out;
	bool oom = false;

	c->id = col_i(res, row, 0);
	c->kind = strcmp(PQgetvalue(res, row, 1), "system") == 0 ? CHAT_SYSTEM : CHAT_USER;
	c->user_id = col_i(res, row, 2);
	c->name = col_str(res, row, 3, &oom);
	c->text = col_str(res, row, 4, &oom);
	c->at = col_i(res, row, 5);
	c->cid = col_str(res, row, 6, &oom);
	return oom ? -ENOMEM : 0;
}

static int pg_chat_page(struct store *s, int64_t meeting_id, bool organiser, int64_t before_id, unsigned limit,
			struct chat_list *ret)
{
	int r = list_(s, ret, fill_chat_line,
		      "SELECT c.id, c.kind, c.user_id, u.name, c.content, c.at, c.cid FROM chat c"
		      " JOIN users u ON u.id = c.user_id WHERE c.meeting_id = $1 AND (c.audience = 0 OR $2::boolean)"
		      " AND ($3::bigint = 0 OR c.id < $3::bigint) ORDER BY c.id DESC LIMIT $4",
		      "ibii", meeting_id, (int)organiser, before_id, (int64_t)limit);
	if (r < 0)
		chat_list_free(ret);
	return r;
}

static int pg_chat_add_cid(struct store *s, int64_t meeting_id, int64_t user_id, const char *text, const char *cid,
			   uint64_t offset, int64_t at, int64_t *ret_id)
{
	return insert_id_(s, ret_id, "INSERT INTO chat(meeting_id, user_id, content, at, cid, event_offset)"
			  " VALUES($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING RETURNING id",
			  "iisisi", meeting_id, user_id, text, at, cid, (int64_t)offset);
}

static int pg_chat_find_cid(struct store *s, int64_t meeting_id, int64_t user_id, const char *cid, int64_t *ret_id,
			    uint64_t *ret_offset)
{
	int err;
	_cleanup_res_ PGresult *res = row_(s, &err, "SELECT id, coalesce(event_offset, 0) FROM chat"
					   " WHERE meeting_id = $1 AND user_id = $2 AND cid = $3", "iis",
					   meeting_id, user_id, cid);

	if (!res)
		return err;
	*ret_id = col_i(res, 0, 0);
	*ret_offset = (uint64_t)col_i(res, 0, 1);
	return 0;
}

static int pg_chat_count(struct store *s, int64_t meeting_id, int64_t *ret)
{
	return meeting_int_(s, "SELECT count(*) FROM chat WHERE meeting_id = $1", meeting_id, ret);
}

/* ------------------------------------------------------------------ nodes */

static int pg_node_hello(struct store *s, const char *name, int64_t at, int64_t *ret_last_heartbeat)
{
	struct pg_store *ps = PS(s);
	char *n = strdup(name);
	int err;

	if (!n)
		return -ENOMEM;
	free(ps->node);
	ps->node = n;
	/* the earlier run's heartbeat (NULL when none) before this one overwrites it */
	_cleanup_res_ PGresult *res = row_(s, &err, "WITH old AS (SELECT heartbeat_at FROM nodes WHERE name = $1)"
					   " INSERT INTO nodes(name, started_at, heartbeat_at) VALUES($1, $2, $2)"
					   " ON CONFLICT(name) DO UPDATE SET started_at = $2, heartbeat_at = $2"
					   " RETURNING (SELECT heartbeat_at FROM old)", "si", name, at);
	if (!res)
		return err;
	*ret_last_heartbeat = col_i(res, 0, 0);
	return 0;
}

static int pg_node_heartbeat(struct store *s, int64_t at)
{
	/* a row another node took away as dead comes back (xmax 0: inserted): this node is alive after all */
	int err;
	_cleanup_res_ PGresult *res = row_(s, &err, "INSERT INTO nodes(name, started_at, heartbeat_at)"
					   " VALUES($1, $2, $2) ON CONFLICT(name) DO UPDATE SET heartbeat_at = $2"
					   " RETURNING (xmax = 0)", "si", node_(s), at);

	if (!res)
		return err;
	return col_b(res, 0, 0) ? 1 : 0;
}

static int pg_node_claim_dead(struct store *s, int64_t before, char **ret_name, int64_t *ret_heartbeat)
{
	int err;
	bool oom = false;
	/* SKIP LOCKED: two nodes sweeping at once claim different dead nodes, never the same one twice */
	_cleanup_res_ PGresult *res = row_(s, &err, "DELETE FROM nodes WHERE name = (SELECT name FROM nodes"
					   " WHERE heartbeat_at < $1 AND name <> $2 ORDER BY name LIMIT 1"
					   " FOR UPDATE SKIP LOCKED) RETURNING name, heartbeat_at", "is", before,
					   node_(s));

	if (!res)
		return err == -ENOENT ? 0 : err;
	*ret_name = col_str(res, 0, 0, &oom);
	*ret_heartbeat = col_i(res, 0, 1);
	return oom ? -ENOMEM : 1;
}

static int pg_node_release(struct store *s, const char *name, const char *reason, int64_t at,
			   struct id_list *ret_users)
{
	bool self = strcmp(name, node_(s)) == 0;
	int r, closed = 0;

	r = exec_(s, "UPDATE machines SET online = false, offline_reason = $1, state_at = $2 WHERE online"
		  " AND (node = $3 OR ($4 AND node IS NULL))", "sisb", reason, at, name, (int)self);
	if (r >= 0)
		r = closed = exec_(s, "UPDATE attendance SET leave_at = greatest(join_at, $1) WHERE leave_at IS NULL"
				   " AND (node = $2 OR ($3 AND node IS NULL))", "isb", at, name, (int)self);
	if (r >= 0)
		r = list_(s, ret_users, fill_id, "WITH gone AS (DELETE FROM node_monitors WHERE node = $1"
			  " RETURNING user_id) SELECT DISTINCT user_id FROM gone ORDER BY user_id", "s", name);
	if (r < 0)
		id_list_free(ret_users);
	return r < 0 ? r : closed;
}

static int pg_monitor_local(struct store *s, int64_t user_id, bool on, int64_t machine_id)
{
	int r;

	if (on)
		r = exec_(s, "INSERT INTO node_monitors(node, user_id, machine_id) VALUES($1, $2, $3)"
			  " ON CONFLICT(node, user_id) DO UPDATE SET machine_id = excluded.machine_id", "siI",
			  node_(s), user_id, machine_id);
	else
		r = exec_(s, "DELETE FROM node_monitors WHERE node = $1 AND user_id = $2", "si", node_(s), user_id);
	return r < 0 ? r : 0;
}

static int pg_monitor_settle(struct store *s, int64_t user_id, bool hint, const char *reason, int64_t machine_id,
			     int64_t at, bool *ret_monitored)
{
	bool was, now;
	int err, r;

	/* the account's row, locked: flips of one account are serialised across nodes */
	r = exec_(s, "INSERT INTO monitor_state(user_id, monitored, reason, at) VALUES($1, false, 'no_agent', $2)"
		  " ON CONFLICT(user_id) DO NOTHING", "ii", user_id, at);
	if (r < 0)
		return r;
	{
		_cleanup_res_ PGresult *res = row_(s, &err, "SELECT monitored, EXISTS(SELECT 1 FROM node_monitors"
						   " WHERE user_id = $1) FROM monitor_state WHERE user_id = $1"
						   " FOR UPDATE", "i", user_id);
		if (!res)
			return err;
		was = col_b(res, 0, 0);
		now = col_b(res, 0, 1);
	}
	*ret_monitored = now;
	if (was == now)
		return 0;
	r = pg_monitor_set(s, user_id, now, now ? NULL : reason, machine_id, at);
	return r < 0 ? r : 1;
}

static int pg_monitor_get(struct store *s, int64_t user_id, struct monitor_row *ret)
{
	int err;
	_cleanup_res_ PGresult *res = row_(s, &err, "SELECT user_id, monitored, reason, machine_id, at"
					   " FROM monitor_state WHERE user_id = $1", "i", user_id);

	memset(ret, 0, sizeof(*ret));
	ret->user_id = user_id;
	if (!res)
		return err == -ENOENT ? 0 : err;
	fill_monitor(res, 0, ret);
	return 0;
}

static int pg_attendance_open_meetings(struct store *s, int64_t user_id, struct id_list *ret)
{
	int r = list_(s, ret, fill_id, "SELECT DISTINCT a.meeting_id FROM attendance a JOIN meetings m"
		      " ON m.id = a.meeting_id WHERE a.user_id = $1 AND a.leave_at IS NULL AND m.end_at IS NULL"
		      " ORDER BY a.meeting_id", "i", user_id);
	if (r < 0)
		id_list_free(ret);
	return r;
}

/* ------------------------------------------------ several nodes: web state */

static int pg_ping(struct store *s)
{
	int err;
	_cleanup_res_ PGresult *res = row_(s, &err, "SELECT 1", "");

	return res ? 0 : err;
}

static int pg_oidc_pending_put(struct store *s, const struct oidc_pending *p, int64_t ttl_ms, unsigned max,
			       int64_t now)
{
	int r = exec_(s, "DELETE FROM oidc_pending WHERE created < $1", "i", now - ttl_ms);

	if (r >= 0)
		r = exec_(s, "DELETE FROM oidc_pending WHERE state IN (SELECT state FROM oidc_pending"
			  " ORDER BY created DESC, state OFFSET $1)", "i", (int64_t)(max ? max - 1 : 0));
	if (r >= 0)
		r = exec_(s, "INSERT INTO oidc_pending(state, nonce, verifier, return_to, created)"
			  " VALUES($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING", "ssssi", p->state, p->nonce,
			  p->verifier, p->return_to, p->created);
	return r < 0 ? r : r == 0 ? -EEXIST : 0;
}

static int pg_oidc_pending_take(struct store *s, const char *state, struct oidc_pending *ret)
{
	int err;
	/* DELETE ... RETURNING: of two nodes taking one state at once, one gets the row */
	_cleanup_res_ PGresult *res = row_(s, &err, "DELETE FROM oidc_pending WHERE state = $1"
					   " RETURNING nonce, verifier, return_to, created", "s", state);

	if (!res)
		return err;
	memset(ret, 0, sizeof(*ret));
	snprintf(ret->state, sizeof(ret->state), "%s", state);
	snprintf(ret->nonce, sizeof(ret->nonce), "%s", PQgetvalue(res, 0, 0));
	snprintf(ret->verifier, sizeof(ret->verifier), "%s", PQgetvalue(res, 0, 1));
	snprintf(ret->return_to, sizeof(ret->return_to), "%s", PQgetvalue(res, 0, 2));
	ret->created = col_i(res, 0, 3);
	return 0;
}

/* the bucket's tokens now: refilled since `at` at per_s ($3), capped at burst ($2); $4 is now */
#define REFILLED(t) "LEAST($2::float8, " t ".tokens + GREATEST(0, $4::bigint - " t ".at) * $3::float8 / 1000.0)"

static int pg_rate_bucket(struct store *s, const char *id, double per_s, double burst, int64_t now, char op,
			  double *ret_tokens)
{
	char b[32], p[32];
	int err;
	/* a bucket left alone this long is full again: the row may go */
	int64_t expires = now + (int64_t)(burst / per_s * 1000.0) + 1;

	snprintf(b, sizeof(b), "%.17g", burst);
	snprintf(p, sizeof(p), "%.17g", per_s);
	if (op == 't') {
		/* one statement, under the row's lock: two nodes never both take the last token */
		_cleanup_res_ PGresult *res = row_(
			s, &err,
			"INSERT INTO rate_buckets AS r(id, tokens, at, expires) VALUES($1, $2::float8 - 1, $4, $5)"
			" ON CONFLICT(id) DO UPDATE SET tokens = " REFILLED("r") " - 1,"
			" at = GREATEST(r.at, $4::bigint), expires = $5"
			" WHERE " REFILLED("r") " >= 1 RETURNING tokens + 1",
			"sssii", id, b, p, now, expires);
		if (res) {
			*ret_tokens = strtod(PQgetvalue(res, 0, 0), NULL);
			return 1;
		}
		if (err != -ENOENT)
			return err;
		/* refused: how many there are, for Retry-After */
		op = 'p';
	}
	if (op == 'p') {
		_cleanup_res_ PGresult *res = row_(s, &err, "SELECT " REFILLED("r") " FROM rate_buckets r"
						   " WHERE id = $1", "sssi", id, b, p, now);
		if (!res && err != -ENOENT)
			return err;
		*ret_tokens = res ? strtod(PQgetvalue(res, 0, 0), NULL) : burst;
		return *ret_tokens >= 1.0;
	}
	err = exec_(s, "UPDATE rate_buckets r SET tokens = LEAST($2::float8, " REFILLED("r") " + 1),"
		    " at = GREATEST(r.at, $4::bigint) WHERE id = $1", "sssi", id, b, p, now);
	*ret_tokens = burst;
	return err < 0 ? err : 1;
}

static int pg_rate_purge(struct store *s, int64_t now)
{
	return exec_(s, "DELETE FROM rate_buckets WHERE expires < $1", "i", now);
}

/* ------------------------------------------------------------ open/close */

static void pg_close(struct store *s)
{
	struct pg_store *ps = PS(s);

	if (!ps)
		return;
	PQfinish(ps->conn);
	if (ps->conninfo)
		explicit_bzero(ps->conninfo, strlen(ps->conninfo));	/* it may hold a password */
	free(ps->conninfo);
	free(ps->node);
	free(ps);
}

/* ----------------------------------------------------------- observations */

/*
 * One round trip for the whole batch (up to 256 events, on the event-loop
 * thread): the bodies, each a JSON text, go as one JSON array that the
 * database splits in order; a json (not jsonb) element keeps its text as is.
 */
static int pg_observations_add(struct store *s, int64_t machine_id, int64_t at, const struct observation_in *v,
			       size_t n)
{
	_cleanup_free_ char *arr = NULL;
	size_t len = 3, off = 0;
	int r;

	for (size_t i = 0; i < n; i++)
		len += strlen(v[i].body) + 1;
	if (!(arr = malloc(len)))
		return -ENOMEM;
	arr[off++] = '[';
	for (size_t i = 0; i < n; i++) {
		size_t b = strlen(v[i].body);

		if (i)
			arr[off++] = ',';
		memcpy(arr + off, v[i].body, b);
		off += b;
	}
	memcpy(arr + off, "]", 2);
	r = exec_(s, "INSERT INTO observations(machine_id, at, body) SELECT $1, $2, e.value::text"
		  " FROM json_array_elements($3::json) WITH ORDINALITY AS e(value, n) ORDER BY e.n", "iis",
		  machine_id, at, arr);
	return r < 0 ? r : 0;
}

static int pg_observations_purge(struct store *s, int64_t before, int64_t max_rows)
{
	int old = exec_(s, "DELETE FROM observations WHERE at < $1", "i", before), over;

	if (old < 0)
		return old;
	over = exec_(s, "DELETE FROM observations WHERE id <= coalesce((SELECT id FROM observations"
		     " ORDER BY id DESC LIMIT 1 OFFSET $1), 0)", "i", max_rows);
	return over < 0 ? over : old + over;
}

static int fill_observation(const PGresult *res, int row, void *out)
{
	struct observation *o = out;
	bool oom = false;

	o->id = col_i(res, row, 0);
	o->machine_id = col_i(res, row, 1);
	o->machine = col_str(res, row, 2, &oom);
	o->at = col_i(res, row, 3);
	o->body = col_str(res, row, 4, &oom);
	return oom ? -ENOMEM : 0;
}

static int pg_observations_page(struct store *s, int64_t since, const char *machine, const char *grp,
				int64_t after_id, unsigned limit, struct observation_list *ret)
{
	int r = list_(s, ret, fill_observation,
		      "SELECT o.id, o.machine_id, m.name, o.at, o.body FROM observations o"
		      " JOIN machines m ON m.id = o.machine_id WHERE o.id > $1 AND o.at >= $2"
		      " AND ($3::text IS NULL OR m.name = $3)"
		      " AND ($4::text IS NULL OR coalesce(m.grp, '" POLICY_GROUP_DEFAULT "') = $4)"
		      " ORDER BY o.id LIMIT $5",
		      "iissi", after_id, since, machine, grp, (int64_t)limit);
	if (r < 0)
		observation_list_free(ret);
	return r;
}

/* ------------------------------------------------------------ lobby join */

static int pg_lobby_access(struct store *s, const char *code, int64_t user_id, struct lobby_access *ret)
{
	bool oom = false;
	int err;
	/* MEETING_COLS (0-7), the user (8-13), its standing (14-16), recording (17); as pg_meeting_by_code */
	PGresult *res = row_(s, &err,
			     "SELECT m.id, m.code, m.title, m.link, m.created_by, m.start_at, coalesce(m.end_at, 0),"
			     " m.join_policy = 'domain', u.id, u.username, u.email, u.name, u.picture, u.is_admin,"
			     " EXISTS(SELECT 1 FROM bans b WHERE b.meeting_id = m.id AND b.user_id = $2),"
			     " EXISTS(SELECT 1 FROM organisers o WHERE o.meeting_id = m.id AND o.user_id = $2),"
			     " EXISTS(SELECT 1 FROM members e WHERE e.meeting_id = m.id AND e.user_id = $2),"
			     " EXISTS(SELECT 1 FROM recordings r WHERE r.user_id = $2 AND r.end_at IS NULL)"
			     " FROM meetings m LEFT JOIN users u ON u.id = $2"
			     " WHERE m.code = $1 ORDER BY m.end_at IS NOT NULL, m.id DESC LIMIT 1",
			     "si", code, user_id);

	memset(ret, 0, sizeof(*ret));
	if (!res)
		return err;
	err = fill_meeting(res, 0, &ret->meeting);
	if (!col_null(res, 0, 8)) {
		ret->user.id = col_i(res, 0, 8);
		ret->user.username = col_str(res, 0, 9, &oom);
		ret->user.email = col_str(res, 0, 10, &oom);
		ret->user.name = col_str(res, 0, 11, &oom);
		ret->user.picture = col_str(res, 0, 12, &oom);
		ret->user.is_admin = col_b(res, 0, 13);
	}
	ret->banned = col_b(res, 0, 14);
	ret->organiser = col_b(res, 0, 15);
	ret->member = col_b(res, 0, 16);
	ret->recording = col_b(res, 0, 17);
	PQclear(res);
	if (err < 0 || oom) {
		meeting_clear(&ret->meeting);
		user_clear(&ret->user);
		return -ENOMEM;
	}
	return 0;
}

static const struct store_ops pg_ops = {
	.close = pg_close, .begin = pg_begin, .commit = pg_commit, .rollback = pg_rollback,
	.meta_get = pg_meta_get, .meta_set = pg_meta_set,
	.user_create = pg_user_create, .user_get = pg_user_get, .user_find = pg_user_find,
	.user_find_oidc = pg_user_find_oidc, .user_link_oidc = pg_user_link_oidc,
	.user_update_profile = pg_user_update_profile, .user_password_hash = pg_user_password_hash,
	.user_set_password = pg_user_set_password, .user_set_admin = pg_user_set_admin,
	.session_put = pg_session_put, .session_get = pg_session_get, .session_touch = pg_session_touch,
	.session_delete = pg_session_delete, .session_purge = pg_session_purge,
	.meeting_create = pg_meeting_create, .meeting_get = pg_meeting_get, .meeting_by_code = pg_meeting_by_code,
	.meeting_end = pg_meeting_end, .meeting_list = pg_meeting_list, .organiser_add = pg_organiser_add,
	.is_organiser = pg_is_organiser, .member_add = pg_member_add, .is_member = pg_is_member,
	.people = pg_people, .ban_add = pg_ban_add, .is_banned = pg_is_banned, .bans = pg_bans,
	.attendance_open = pg_attendance_open, .attendance_close = pg_attendance_close,
	.attendance_close_dangling = pg_attendance_close_dangling, .attendance = pg_attendance,
	.chat_add = pg_chat_add, .event_append = pg_event_append,
	.event_last_offset = pg_event_last_offset, .events_since = pg_events_since,
	.events_of_type = pg_events_of_type, .chat_add_system = pg_chat_add_system,
	.machine_state = pg_machine_state, .machines_reset = pg_machines_reset,
	.monitor_set = pg_monitor_set, .monitor_states = pg_monitor_states, .monitor_reset = pg_monitor_reset,
	.machine_create = pg_machine_create, .machine_by_token = pg_machine_by_token,
	.machine_seen = pg_machine_seen, .machines = pg_machines, .machine_revoke = pg_machine_revoke,
	.machine_spool_dropped = pg_machine_spool_dropped,
	.machine_status = pg_machine_status, .machine_event_at = pg_machine_event_at,
	.agent_event_claim = pg_agent_event_claim,
	.recording_begin = pg_recording_begin, .recording_end = pg_recording_end, .recording_get = pg_recording_get,
	.recordings_ongoing = pg_recordings_ongoing, .recordings_close_stale = pg_recordings_close_stale,
	.recording_link = pg_recording_link, .recordings_of_meeting = pg_recordings_of_meeting,
	.recording_meetings = pg_recording_meetings,
	.user_set_email_verified = pg_user_set_email_verified, .user_email_verified = pg_user_email_verified,
	.session_delete_user = pg_session_delete_user,
	.people_page = pg_people_page, .person = pg_person, .people_count = pg_people_count,
	.recordings_live_of_meeting = pg_recordings_live_of_meeting, .chat_page = pg_chat_page,
	.chat_add_cid = pg_chat_add_cid, .chat_find_cid = pg_chat_find_cid, .chat_count = pg_chat_count,
	.events_trim = pg_events_trim, .event_floor = pg_event_floor,
	.policy_add = pg_policy_add, .policy_get = pg_policy_get, .policy_latest = pg_policy_latest,
	.policies = pg_policies, .machine_set_group = pg_machine_set_group, .machine_group = pg_machine_group,
	.machine_policy_state = pg_machine_policy_state,
	.event_next_offset = pg_event_next_offset, .notify = pg_notify, .node_hello = pg_node_hello,
	.node_heartbeat = pg_node_heartbeat, .node_claim_dead = pg_node_claim_dead, .node_release = pg_node_release,
	.monitor_local = pg_monitor_local, .monitor_settle = pg_monitor_settle, .monitor_get = pg_monitor_get,
	.attendance_open_meetings = pg_attendance_open_meetings,
	.ping = pg_ping, .oidc_pending_put = pg_oidc_pending_put, .oidc_pending_take = pg_oidc_pending_take,
	.rate_bucket = pg_rate_bucket, .rate_purge = pg_rate_purge,
	.observations_add = pg_observations_add, .observations_purge = pg_observations_purge,
	.observations_page = pg_observations_page,
	.lobby_access = pg_lobby_access,
};

/* One simple-protocol command (several statements allowed); 0 or -errno, the database's message in err. */
static int simple_(PGconn *c, const char *sql, char *err, size_t errlen)
{
	_cleanup_res_ PGresult *res = PQexec(c, sql);
	ExecStatusType st = PQresultStatus(res);

	if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
		return 0;
	snprintf(err, errlen, "%s", res ? PQresultErrorMessage(res) : PQerrorMessage(c));
	err[strcspn(err, "\n")] = '\0';
	return err_of(res);
}

/* The schema's version (0: none yet), read inside the migration transaction. */
static int schema_version(PGconn *c, int *ret, char *err, size_t errlen)
{
	_cleanup_res_ PGresult *res = PQexec(c, "SELECT coalesce(max(version), 0) FROM schema_version");

	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		snprintf(err, errlen, "%s", PQresultErrorMessage(res));
		err[strcspn(err, "\n")] = '\0';
		return -EIO;
	}
	*ret = (int)col_i(res, 0, 0);
	return 0;
}

/* Run the missing migrations, each in its own transaction; nodes starting together take turns. */
static int migrate(PGconn *c, char *err, size_t errlen)
{
	int r = simple_(c, "SET client_min_messages = warning;"
			"CREATE TABLE IF NOT EXISTS schema_version(version integer PRIMARY KEY, at bigint NOT NULL)",
			err, errlen);

	for (int v = 0; r == 0;) {
		char sql[160];

		if ((r = simple_(c, "BEGIN; SELECT pg_advisory_xact_lock(1936746616)", err, errlen)) < 0 ||
		    (r = schema_version(c, &v, err, errlen)) < 0)
			break;
		if (v > (int)ARRAY_SIZE(migrations)) {
			snprintf(err, errlen, "schema version %d written by a newer sphinx-server (this one knows %zu)",
				 v, ARRAY_SIZE(migrations));
			r = -EPROTO;
			break;
		}
		if (v == (int)ARRAY_SIZE(migrations))
			return simple_(c, "COMMIT", err, errlen);
		snprintf(sql, sizeof(sql), "INSERT INTO schema_version(version, at)"
			 " VALUES(%d, (extract(epoch FROM now()) * 1000)::bigint)", v + 1);
		if ((r = simple_(c, migrations[v], err, errlen)) < 0 || (r = simple_(c, sql, err, errlen)) < 0 ||
		    (r = simple_(c, "COMMIT", err, errlen)) < 0)
			break;
	}
	PQclear(PQexec(c, "ROLLBACK"));
	return r < 0 ? r : -EIO;
}

int store_pg_open(const char *conninfo, char *err, size_t errlen, struct store **ret)
{
	struct pg_store *ps = calloc(1, sizeof(*ps));
	int r;

	if (!ps || !(ps->conninfo = strdup(conninfo))) {
		free(ps);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	ps->base.ops = &pg_ops;
	ps->conn = connect_(conninfo);
	if (!ps->conn || PQstatus(ps->conn) != CONNECTION_OK) {
		const char *msg = ps->conn ? PQerrorMessage(ps->conn) : "out of memory";
		snprintf(err, errlen, "cannot connect: %s", msg);
		err[strcspn(err, "\n")] = '\0';
		pg_close(&ps->base);
		return -ECONNREFUSED;
	}
	r = migrate(ps->conn, err, errlen);
	if (r < 0) {
		pg_close(&ps->base);
		return r;
	}
	*ret = &ps->base;
	return 0;
}
