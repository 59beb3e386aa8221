// SPDX-License-Identifier: GPL-2.0-only
/*
 * Unit tests (cmocka) for meeting codes and the store: codes are
 * unguessable and typed forgivingly, a code is unique among ongoing
 * meetings only (an ended one's may come back), a database written by the
 * previous schema (version 3, six-digit codes) migrates without losing a
 * row or breaking a foreign key, and the list operations answer typed rows
 * (store.h) with the orders, groupings and "not known" values their
 * contracts state. Past opening the database, the store tests speak only
 * through struct store_ops: they hold for every back end.
 *
 * The back end is chosen by the environment: SPHINX_TEST_STORE=postgresql
 * with SPHINX_TEST_PG=<libpq connection string> runs the same tests on
 * PostgreSQL (tests/integration/server_pg.sh starts a private cluster and
 * does so), each test on an emptied database; unset, on SQLite in a
 * temporary directory. The SQLite migration test has a PostgreSQL twin
 * (schema_version, a newer schema refused), and PostgreSQL alone has the
 * tests of an unreachable database, of a connection lost mid-way and of
 * several nodes on one database (two store handles, two node names).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include <libpq-fe.h>
#include <sodium.h>
#include <sqlite3.h>

#include "cleanup.h"
#include "meeting_code.h"
#include "server.h"
#include "store.h"

void server_check_stop(void) {}

static char *temp_dir(void)
{
	char *d = strdup("/tmp/sphinx-unit-XXXXXX");
	assert_non_null(d);
	assert_non_null(mkdtemp(d));
	return d;
}

static void remove_dir(char *d)
{
	char cmd[256];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", d);
	assert_int_equal(system(cmd), 0);
	free(d);
}

/* SPHINX_TEST_PG when the tests run on PostgreSQL, else NULL (SQLite) */
static const char *pg_conninfo(void)
{
	const char *b = getenv("SPHINX_TEST_STORE");

	if (!b || strcmp(b, "postgresql"))
		return NULL;
	assert_non_null(getenv("SPHINX_TEST_PG"));
	return getenv("SPHINX_TEST_PG");
}

/* One statement on a connection of the test's own, beside the store's: 0 when it succeeded. */
static int pg_admin(const char *sql)
{
	PGconn *c = PQconnectdb(pg_conninfo());
	PGresult *res;
	int r;

	assert_int_equal(PQstatus(c), CONNECTION_OK);
	res = PQexec(c, sql);
	r = PQresultStatus(res) == PGRES_COMMAND_OK || PQresultStatus(res) == PGRES_TUPLES_OK ? 0 : -1;
	if (r)
		print_message("# %s: %s", sql, PQresultErrorMessage(res));
	PQclear(res);
	PQfinish(c);
	return r;
}

/* An empty store of the back end under test (dir: SQLite's data directory). */
static void store_open_fresh(const char *dir, struct store **s)
{
	char err[256] = "";

	if (!pg_conninfo()) {
		assert_int_equal(store_sqlite_open(dir, false, s), 0);
		return;
	}
	assert_int_equal(
		pg_admin("SET client_min_messages = warning; DROP SCHEMA public CASCADE; CREATE SCHEMA public"), 0);
	if (store_pg_open(pg_conninfo(), err, sizeof(err), s) < 0)
		fail_msg("store_pg_open: %s", err);
}

static void test_codes_are_long_and_random(void **state)
{
	char a[MEETING_CODE_SIZE], b[MEETING_CODE_SIZE], n[MEETING_CODE_SIZE];

	meeting_code_generate(a);
	meeting_code_generate(b);
	assert_int_equal(strlen(a), MEETING_CODE_LEN);
	assert_true(a[3] == '-' && a[8] == '-');
	for (int i = 0; i < MEETING_CODE_LEN; i++)
		assert_true(i == 3 || i == 8 || (a[i] >= 'a' && a[i] <= 'z'));
	assert_string_not_equal(a, b);
	/* the canonical form is a fixed point */
	assert_true(meeting_code_normalize(a, n));
	assert_string_equal(a, n);
}

static void test_codes_typed_forgivingly(void **state)
{
	static const char *const same[] = { "abc-defg-hij", "ABC-DEFG-HIJ", "abcdefghij", "abc defg hij",
					    "Abc-Defghij" };
	static const char *const bad[] = { "", "abc-defg-hi", "abc-defg-hijk", "abc-defg-hi1", "abc-defg-hi/",
					   "12345", "1234567", "abc-defg-hij/../x", "abc\tdefg-hij", "../../etc" };
	char n[MEETING_CODE_SIZE];

	for (size_t i = 0; i < sizeof(same) / sizeof(same[0]); i++) {
		assert_true(meeting_code_normalize(same[i], n));
		assert_string_equal(n, "abc-defg-hij");
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_false(meeting_code_normalize(bad[i], n));
	/* meetings made before the long codes keep their six digits */
	assert_true(meeting_code_normalize("401338", n));
	assert_string_equal(n, "401338");
	assert_false(meeting_code_normalize(NULL, n));
}

static int64_t user(struct store *s, const char *name)
{
	char email[64];
	int64_t id;

	snprintf(email, sizeof(email), "%s@example.org", name);
	assert_int_equal(store_call(s, user_create, name, email, name, NULL, NULL, NULL, NULL, 1, &id), 0);
	return id;
}

static void test_code_unique_among_ongoing_only(void **state)
{
	char *dir = temp_dir();
	struct store *s;
	struct meeting m = { 0 };
	int64_t olga, first, second, third;

	store_open_fresh(dir, &s);
	olga = user(s, "olga");
	assert_int_equal(store_call(s, meeting_create, "abc-defg-hij", "One", NULL, JOIN_ANYONE, olga, 10, &first), 0);
	/* two ongoing meetings never share a code */
	assert_int_equal(store_call(s, meeting_create, "abc-defg-hij", "Two", NULL, JOIN_ANYONE, olga, 11, &second),
			 -EEXIST);
	assert_int_equal(store_call(s, meeting_end, first, 20), 0);
	/* once it ended, the code may be drawn again, and the code names the ongoing meeting */
	assert_int_equal(store_call(s, meeting_create, "abc-defg-hij", "Two", NULL, JOIN_DOMAIN, olga, 30, &second), 0);
	assert_int_equal(store_call(s, meeting_by_code, "abc-defg-hij", &m), 0);
	assert_int_equal(m.id, second);
	assert_int_equal(m.join_policy, JOIN_DOMAIN);
	meeting_clear(&m);
	/* with none ongoing, the latest that ended */
	assert_int_equal(store_call(s, meeting_end, second, 40), 0);
	assert_int_equal(store_call(s, meeting_create, "zzz-zzzz-zzz", "Other", NULL, JOIN_ANYONE, olga, 50, &third),
			 0);
	assert_int_equal(store_call(s, meeting_by_code, "abc-defg-hij", &m), 0);
	assert_int_equal(m.id, second);
	meeting_clear(&m);
	store_call(s, close);
	remove_dir(dir);
}

static int count(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st;
	int n = -1;

	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	if (sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return n;
}

/*
 * PostgreSQL: opening a store already at the current version migrates
 * nothing and keeps every row; a schema newer than the server's is refused.
 */
static void test_migration_pg(void)
{
	char err[256] = "";
	struct store *s;
	struct meeting m = { 0 };
	int64_t olga, id;

	store_open_fresh(NULL, &s);
	olga = user(s, "olga");
	assert_int_equal(store_call(s, meeting_create, "old-meet-ing", "Old lecture", NULL, JOIN_ANYONE, olga, 1, &id),
			 0);
	store_call(s, close);
	assert_int_equal(store_pg_open(pg_conninfo(), err, sizeof(err), &s), 0);
	assert_int_equal(store_call(s, meeting_by_code, "old-meet-ing", &m), 0);
	assert_string_equal(m.title, "Old lecture");
	assert_int_equal(store_call(s, is_organiser, m.id, olga), 1);
	meeting_clear(&m);
	store_call(s, close);
	/* one row per version, none twice */
	assert_int_equal(pg_admin("DO $$ BEGIN IF (SELECT count(*) <> max(version) FROM schema_version) THEN"
				  " RAISE 'schema_version has gaps or repeats'; END IF; END $$"), 0);
	assert_int_equal(pg_admin("INSERT INTO schema_version(version, at) VALUES(999, 0)"), 0);
	assert_int_equal(store_pg_open(pg_conninfo(), err, sizeof(err), &s), -EPROTO);
	assert_non_null(strstr(err, "newer"));
}

/* tests/unit/server-data/sphinx-v3.sql: a dump of a database the previous server wrote */
static void test_migration_keeps_old_meetings(void **state)
{
	char *dir = temp_dir(), path[256], *sql = NULL;
	FILE *f = fopen("tests/unit/server-data/sphinx-v3.sql", "re");
	size_t cap = 0;
	ssize_t n;
	sqlite3 *db;
	struct store *s;
	struct meeting m = { 0 };

	if (pg_conninfo()) {
		if (f)
			fclose(f);
		remove_dir(dir);
		test_migration_pg();
		return;
	}
	assert_non_null(f);
	n = getdelim(&sql, &cap, '\0', f);
	fclose(f);
	assert_true(n > 0);
	snprintf(path, sizeof(path), "%s/sphinx.db", dir);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(count(db, "PRAGMA user_version"), 3);
	sqlite3_close(db);
	free(sql);

	assert_int_equal(store_sqlite_open(dir, false, &s), 0);
	assert_int_equal(store_call(s, meeting_by_code, "401338", &m), 0);
	assert_string_equal(m.title, "Old lecture");
	assert_int_equal(m.join_policy, JOIN_ANYONE);
	assert_int_equal(store_call(s, is_member, m.id, 2), 1);
	assert_int_equal(store_call(s, is_organiser, m.id, 1), 1);
	meeting_clear(&m);
	store_call(s, close);

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_true(count(db, "PRAGMA user_version") >= 4);
	assert_int_equal(count(db, "SELECT count(*) FROM pragma_foreign_key_check"), 0);
	assert_int_equal(count(db, "SELECT count(*) FROM meetings"), 1);
	sqlite3_close(db);
	remove_dir(dir);
}

/* ------------------------------------------------------- typed list rows */

struct fixture {
	char *dir;
	struct store *s;
	int64_t olga, alice, bob, meeting;
};

/* olga organises "Rows" (id meeting); alice and bob are members; bob is banned */
static struct fixture *fixture_new(void)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	f->dir = temp_dir();
	store_open_fresh(f->dir, &f->s);
	f->olga = user(f->s, "olga");
	f->alice = user(f->s, "alice");
	f->bob = user(f->s, "Bob");
	assert_int_equal(store_call(f->s, meeting_create, "row-rows-row", "Rows", NULL, JOIN_ANYONE, f->olga, 100,
				    &f->meeting), 0);
	assert_int_equal(store_call(f->s, member_add, f->meeting, f->alice, 110), 0);
	assert_int_equal(store_call(f->s, member_add, f->meeting, f->bob, 120), 0);
	assert_int_equal(store_call(f->s, ban_add, f->meeting, f->bob, f->olga, "noise", 130), 0);
	return f;
}

static void fixture_free(struct fixture *f)
{
	store_call(f->s, close);
	remove_dir(f->dir);
	free(f);
}

static void test_people_rows(void **state)
{
	struct fixture *f = fixture_new();
	struct person_list l = { 0 };
	struct person p = { 0 };
	int64_t att;

	/* people: by name (binary), flags filled */
	assert_int_equal(store_call(f->s, people, f->meeting, &l), 0);
	assert_int_equal(l.n, 3);
	assert_string_equal(l.v[0].name, "Bob");
	assert_true(l.v[0].banned && !l.v[0].organiser);
	assert_string_equal(l.v[0].email, "Bob@example.org");
	assert_null(l.v[0].picture);
	assert_string_equal(l.v[2].name, "olga");
	assert_true(l.v[2].organiser && !l.v[2].banned);
	person_list_free(&l);
	assert_null(l.v);
	assert_int_equal(l.n, 0);

	/* people_page: organisers (grp 0), online (1), the rest (2); then by name, case-insensitive */
	assert_int_equal(store_call(f->s, attendance_open, f->meeting, f->alice, 200, &att), 0);
	assert_int_equal(store_call(f->s, people_page, f->meeting, -1, 0, 10, &l), 0);
	assert_int_equal(l.n, 3);
	assert_int_equal(l.v[0].id, f->olga);
	assert_int_equal(l.v[0].grp, 0);
	assert_int_equal(l.v[1].id, f->alice);
	assert_int_equal(l.v[1].grp, 1);
	assert_true(l.v[1].online);
	assert_int_equal(l.v[2].id, f->bob);
	assert_int_equal(l.v[2].grp, 2);
	assert_false(l.v[2].online);
	person_list_free(&l);
	/* the page after alice's cursor holds bob alone */
	assert_int_equal(store_call(f->s, people_page, f->meeting, 1, f->alice, 10, &l), 0);
	assert_int_equal(l.n, 1);
	assert_int_equal(l.v[0].id, f->bob);
	person_list_free(&l);

	assert_int_equal(store_call(f->s, person, f->meeting, f->alice, &p), 0);
	assert_string_equal(p.name, "alice");
	assert_true(p.online && !p.organiser && !p.banned);
	assert_int_equal(p.grp, 1);
	person_clear(&p);
	assert_null(p.name);
	assert_int_equal(store_call(f->s, person, f->meeting, 9999, &p), -ENOENT);
	fixture_free(f);
}

static void test_attendance_rows(void **state)
{
	struct fixture *f = fixture_new();
	struct attendance_list l = { 0 };
	int64_t a1, a2, o1;

	assert_int_equal(store_call(f->s, attendance_open, f->meeting, f->olga, 150, &o1), 0);
	assert_int_equal(store_call(f->s, attendance_open, f->meeting, f->alice, 200, &a1), 0);
	assert_int_equal(store_call(f->s, attendance_close, a1, 260), 0);
	assert_int_equal(store_call(f->s, attendance_open, f->meeting, f->alice, 300, &a2), 0);
	assert_int_equal(store_call(f->s, attendance, f->meeting, 1000, &l), 0);

	/* by first arrival, each with only their own stays, in id order */
	assert_int_equal(l.n, 2);
	assert_int_equal(l.nspans, 3);
	assert_int_equal(l.v[0].user_id, f->olga);
	assert_true(l.v[0].organiser && l.v[0].online);
	assert_int_equal(l.v[0].nspans, 1);
	assert_int_equal(l.v[0].spans[0].id, o1);
	assert_int_equal(l.v[0].spans[0].leave_at, 0);	/* still there */
	assert_int_equal(l.v[1].user_id, f->alice);
	assert_string_equal(l.v[1].name, "alice");
	assert_int_equal(l.v[1].first_join, 200);
	assert_int_equal(l.v[1].last_leave, 1000);	/* an open stay lasts until now */
	assert_int_equal(l.v[1].duration_ms, 60 + 700);
	assert_int_equal(l.v[1].joins, 2);
	assert_int_equal(l.v[1].nspans, 2);
	assert_int_equal(l.v[1].spans[0].id, a1);
	assert_int_equal(l.v[1].spans[0].leave_at, 260);
	assert_int_equal(l.v[1].spans[1].id, a2);
	assert_int_equal(l.v[1].spans[1].user_id, f->alice);
	attendance_list_free(&l);
	assert_null(l.spans);
	fixture_free(f);
}

static void test_chat_rows(void **state)
{
	struct fixture *f = fixture_new();
	struct chat_list l = { 0 };
	int64_t c1, c2, n1;

	assert_int_equal(store_call(f->s, chat_add_cid, f->meeting, f->alice, "first", "c-1", 1, 500, &c1), 0);
	assert_int_equal(store_call(f->s, chat_add_system, f->meeting, f->alice, "alice is recording",
				    AUDIENCE_ORGANISERS, 510, &n1), 0);
	assert_int_equal(store_call(f->s, chat_add_cid, f->meeting, f->olga, "second", NULL, 3, 520, &c2), 0);

	/* organisers: every line, newest first; a notice names the user it is about */
	assert_int_equal(store_call(f->s, chat_page, f->meeting, true, 0, 10, &l), 0);
	assert_int_equal(l.n, 3);
	assert_int_equal(l.v[0].id, c2);
	assert_int_equal(l.v[0].kind, CHAT_USER);
	assert_null(l.v[0].cid);
	assert_int_equal(l.v[1].id, n1);
	assert_int_equal(l.v[1].kind, CHAT_SYSTEM);
	assert_int_equal(l.v[1].user_id, f->alice);
	assert_string_equal(l.v[1].text, "alice is recording");
	assert_int_equal(l.v[2].id, c1);
	assert_string_equal(l.v[2].name, "alice");
	assert_string_equal(l.v[2].cid, "c-1");
	assert_int_equal(l.v[2].at, 500);
	chat_list_free(&l);

	/* attendees never see organiser-only notices; paging goes back from before_id */
	assert_int_equal(store_call(f->s, chat_page, f->meeting, false, c2, 10, &l), 0);
	assert_int_equal(l.n, 1);
	assert_int_equal(l.v[0].id, c1);
	chat_list_free(&l);
	fixture_free(f);
}

static struct capture capture_of(int64_t machine, int64_t user, const char *capture, int64_t at)
{
	return (struct capture){ .machine_id = machine, .user_id = user, .local_user = "alice", .capture = capture,
				 .kind = "recording", .program = "ffmpeg", .exe = "/usr/bin/ffmpeg",
				 .argv_json = "[\"ffmpeg\"]", .rule_id = "r", .rule_title = "R", .layer = "exec",
				 .pid = 42, .at = at };
}

static void test_recording_rows(void **state)
{
	struct fixture *f = fixture_new();
	struct recording_list l = { 0 };
	struct recording r = { 0 };
	struct id_list ids = { 0 };
	struct capture c;
	int64_t machine, rec, rec2, rec3;

	assert_int_equal(store_call(f->s, machine_create, "lab-1", "hash", 10, &machine), 0);
	c = capture_of(machine, f->alice, "boot1:42:1", 1000);
	assert_int_equal(store_call(f->s, recording_begin, &c, &rec), 1);
	assert_int_equal(store_call(f->s, recording_link, rec, f->meeting), 1);
	assert_int_equal(store_call(f->s, recording_link, rec, f->meeting), 0);

	/* going on: end, duration and calls not known */
	assert_int_equal(store_call(f->s, recording_get, rec, &r), 0);
	assert_int_equal(r.user_id, f->alice);
	assert_string_equal(r.name, "alice");
	assert_string_equal(r.machine, "lab-1");
	assert_string_equal(r.argv_json, "[\"ffmpeg\"]");
	assert_null(r.detail_json);
	assert_int_equal(r.pid, 42);
	assert_int_equal(r.start_at, 1000);
	assert_int_equal(r.end_at, 0);
	assert_int_equal(r.duration_ms, -1);
	assert_int_equal(r.calls, -1);
	recording_clear(&r);
	assert_int_equal(store_call(f->s, recording_get, 9999, &r), -ENOENT);

	assert_int_equal(store_call(f->s, recordings_ongoing, f->alice, &l), 0);
	assert_int_equal(l.n, 1);
	recording_list_free(&l);
	assert_int_equal(store_call(f->s, recording_meetings, rec, &ids), 0);
	assert_int_equal(ids.n, 1);
	assert_int_equal(ids.v[0], f->meeting);
	id_list_free(&ids);

	/* an end: a screenshot's duration 0 is known, not "not known" */
	c = capture_of(machine, f->alice, "boot1:42:1", 1000);
	c.duration_ms = 0;
	c.calls = 1;
	assert_int_equal(store_call(f->s, recording_end, &c, &rec2), 0);
	assert_int_equal(rec2, rec);
	assert_int_equal(store_call(f->s, recordings_of_meeting, f->meeting, &l), 0);
	assert_int_equal(l.n, 1);
	assert_int_equal(l.v[0].end_at, 1000);
	assert_int_equal(l.v[0].duration_ms, 0);
	assert_int_equal(l.v[0].calls, 1);
	recording_list_free(&l);
	assert_int_equal(store_call(f->s, recordings_live_of_meeting, f->meeting, &l), 0);
	assert_int_equal(l.n, 0);
	recording_list_free(&l);

	/* no account matched: user 0, no name; closed by a later boot: end known, duration not */
	c = capture_of(machine, 0, "boot1:43:1", 2000);
	c.detail_json = "{\"api\":\"XGetImage\"}";
	assert_int_equal(store_call(f->s, recording_begin, &c, &rec3), 1);
	assert_int_equal(store_call(f->s, recordings_close_stale, machine, "boot2", 3000, &l), 0);
	assert_int_equal(l.n, 1);
	assert_int_equal(l.v[0].id, rec3);
	assert_int_equal(l.v[0].user_id, 0);
	assert_null(l.v[0].name);
	assert_string_equal(l.v[0].detail_json, "{\"api\":\"XGetImage\"}");
	recording_list_free(&l);
	assert_int_equal(store_call(f->s, recording_get, rec3, &r), 0);
	assert_int_equal(r.end_at, 3000);
	assert_int_equal(r.duration_ms, -1);
	recording_clear(&r);
	fixture_free(f);
}

static void test_other_rows(void **state)
{
	struct fixture *f = fixture_new();
	struct meeting_list on = { 0 }, past = { 0 };
	struct ban_list bans = { 0 };
	struct machine_list ms = { 0 };
	struct monitor_list mon = { 0 };
	struct event_list ev = { 0 };
	int64_t other, machine;

	/* meeting_list: ongoing and ended apart, with the caller's role; a banned user sees none */
	assert_int_equal(store_call(f->s, meeting_create, "end-endd-end", "Ended", "https://x.example", JOIN_DOMAIN,
				    f->olga, 50, &other), 0);
	assert_int_equal(store_call(f->s, meeting_end, other, 60), 0);
	assert_int_equal(store_call(f->s, meeting_list, f->olga, &on, &past), 0);
	assert_int_equal(on.n, 1);
	assert_int_equal(on.v[0].meeting.id, f->meeting);
	assert_true(on.v[0].organiser);
	assert_int_equal(on.v[0].meeting.end_at, 0);
	assert_int_equal(past.n, 1);
	assert_string_equal(past.v[0].meeting.link, "https://x.example");
	assert_int_equal(past.v[0].meeting.end_at, 60);
	assert_int_equal(past.v[0].meeting.join_policy, JOIN_DOMAIN);
	meeting_list_free(&on);
	meeting_list_free(&past);
	assert_int_equal(store_call(f->s, meeting_list, f->alice, &on, &past), 0);
	assert_int_equal(on.n, 1);
	assert_false(on.v[0].organiser);
	meeting_list_free(&on);
	meeting_list_free(&past);
	assert_int_equal(store_call(f->s, meeting_list, f->bob, &on, &past), 0);
	assert_int_equal(on.n + past.n, 0);

	assert_int_equal(store_call(f->s, bans, f->meeting, &bans), 0);
	assert_int_equal(bans.n, 1);
	assert_int_equal(bans.v[0].user_id, f->bob);
	assert_int_equal(bans.v[0].by_user, f->olga);
	assert_string_equal(bans.v[0].reason, "noise");
	assert_int_equal(bans.v[0].at, 130);
	ban_list_free(&bans);

	/* machines: "not known" until a hello and a state */
	assert_int_equal(store_call(f->s, machine_create, "lab-b", "h1", 10, &machine), 0);
	assert_int_equal(store_call(f->s, machine_create, "lab-a", "h2", 11, &other), 0);
	assert_int_equal(store_call(f->s, machine_state, machine, true, NULL, "[\"alice\"]", 20), 0);
	assert_int_equal(store_call(f->s, machines, &ms), 0);
	assert_int_equal(ms.n, 2);
	assert_string_equal(ms.v[0].name, "lab-a");
	assert_int_equal(ms.v[0].last_seen, 0);
	assert_int_equal(ms.v[0].state_at, 0);
	assert_null(ms.v[0].boot_id);
	assert_null(ms.v[0].users_json);
	assert_false(ms.v[0].online);
	assert_true(ms.v[1].online);
	assert_int_equal(ms.v[1].state_at, 20);
	assert_string_equal(ms.v[1].users_json, "[\"alice\"]");
	machine_list_free(&ms);

	assert_int_equal(store_call(f->s, monitor_set, f->alice, false, "silent", machine, 30), 0);
	assert_int_equal(store_call(f->s, monitor_states, &mon), 0);
	assert_int_equal(mon.n, 1);
	assert_int_equal(mon.v[0].user_id, f->alice);
	assert_false(mon.v[0].monitored);
	assert_string_equal(mon.v[0].reason, "silent");
	assert_int_equal(mon.v[0].machine_id, machine);
	monitor_list_free(&mon);

	/* events_of_type: that type only, in offset order, bodies as appended */
	assert_int_equal(store_call(f->s, event_append, f->meeting, 1, "monitor", "{\"a\":1}", AUDIENCE_ALL, 1), 0);
	assert_int_equal(store_call(f->s, event_append, f->meeting, 2, "chat", "{}", AUDIENCE_ALL, 2), 0);
	assert_int_equal(store_call(f->s, event_append, f->meeting, 3, "monitor", "{\"a\":3}", AUDIENCE_ALL, 3), 0);
	assert_int_equal(store_call(f->s, events_of_type, f->meeting, "monitor", &ev), 0);
	assert_int_equal(ev.n, 2);
	assert_int_equal(ev.v[0].offset, 1);
	assert_string_equal(ev.v[1].body, "{\"a\":3}");
	event_list_free(&ev);

	/* the free functions take NULL and zeroed lists */
	event_list_free(NULL);
	attendance_list_free(&(struct attendance_list){ 0 });
	recording_clear(NULL);
	fixture_free(f);
}

/*
 * The fleet view's columns: the agent's status report reads back as
 * stored, last_event_at only moves forward, spool_dropped_new is the
 * increase over the hello before (the count itself when it went down: a
 * new spool), and a machine without any of it has "not known" values.
 */
static void test_fleet_rows(void **state)
{
	struct fixture *f = fixture_new();
	struct machine_list ms = { 0 };
	int64_t machine, idle, before = -1;
	static const char st[] = "{\"arch\":\"x86_64\",\"layers\":[{\"name\":\"api\",\"state\":\"degraded\"}]}";

	(void)state;
	assert_int_equal(store_call(f->s, machine_create, "lab-f", "hf", 10, &machine), 0);
	assert_int_equal(store_call(f->s, machine_create, "lab-g", "hg", 11, &idle), 0);
	assert_int_equal(store_call(f->s, machine_status, machine, "6.18.0-test", st, 40), 0);
	assert_int_equal(store_call(f->s, machine_event_at, machine, 500), 0);
	assert_int_equal(store_call(f->s, machine_event_at, machine, 300), 0);	/* a replay: older */
	assert_int_equal(store_call(f->s, machine_spool_dropped, machine, 5, &before), 0);
	assert_int_equal(before, 0);
	assert_int_equal(store_call(f->s, machines, &ms), 0);
	assert_int_equal(ms.n, 2);
	assert_string_equal(ms.v[0].name, "lab-f");
	assert_string_equal(ms.v[0].kernel, "6.18.0-test");
	assert_string_equal(ms.v[0].status_json, st);
	assert_int_equal(ms.v[0].status_at, 40);
	assert_int_equal(ms.v[0].last_event_at, 500);
	assert_int_equal(ms.v[0].spool_dropped, 5);
	assert_int_equal(ms.v[0].spool_dropped_new, 5);
	assert_null(ms.v[1].kernel);
	assert_null(ms.v[1].status_json);
	assert_int_equal(ms.v[1].status_at, 0);
	assert_int_equal(ms.v[1].last_event_at, 0);
	assert_int_equal(ms.v[1].spool_dropped_new, 0);
	machine_list_free(&ms);

	/* the same count again: nothing new; a smaller one: a new spool, all of it new */
	assert_int_equal(store_call(f->s, machine_spool_dropped, machine, 5, &before), 0);
	assert_int_equal(store_call(f->s, machines, &ms), 0);
	assert_int_equal(ms.v[0].spool_dropped_new, 0);
	machine_list_free(&ms);
	assert_int_equal(store_call(f->s, machine_spool_dropped, machine, 2, &before), 0);
	assert_int_equal(before, 5);
	assert_int_equal(store_call(f->s, machines, &ms), 0);
	assert_int_equal(ms.v[0].spool_dropped, 2);
	assert_int_equal(ms.v[0].spool_dropped_new, 2);
	machine_list_free(&ms);
	fixture_free(f);
}

/*
 * Central policy: versions grow across groups by one, the newest of a group
 * is what it gets, a list never carries the files, a machine's group is
 * "default" until set, and its policy state reads back in the machine row.
 */
static void test_policy_rows(void **state)
{
	struct fixture *f = fixture_new();
	struct policy_bundle b = { 0 };
	struct policy_bundle_list l = { 0 };
	struct machine_list ms = { 0 };
	static const char a_yml[] = "[{\"name\":\"a.yml\",\"text\":\"x\"}]";
	int64_t v1, v2, v3, v4, machine;
	char *grp = NULL;

	(void)state;
	assert_int_equal(store_call(f->s, policy_latest, "default", &b), -ENOENT);
	assert_int_equal(store_call(f->s, policy_add, "default", "olga", "first", a_yml, 0, 100, &v1), 0);
	assert_int_equal(v1, 1);
	assert_int_equal(store_call(f->s, policy_add, "lab-101", "olga", NULL, "[]", 0, 110, &v2), 0);
	assert_int_equal(store_call(f->s, policy_add, "default", NULL, "second", "[{\"name\":\"b.yml\"}]", 0, 120,
				    &v3), 0);
	assert_int_equal(store_call(f->s, policy_add, "default", "olga", "undo", a_yml, v3, 130, &v4), 0);
	assert_int_equal(v2, 2);
	assert_int_equal(v3, 3);
	assert_int_equal(v4, 4);

	assert_int_equal(store_call(f->s, policy_latest, "default", &b), 0);
	assert_int_equal(b.version, 4);
	assert_int_equal(b.rolled_back_from, 3);
	assert_string_equal(b.files_json, a_yml);
	policy_bundle_clear(&b);
	assert_int_equal(store_call(f->s, policy_latest, "lab-101", &b), 0);
	assert_int_equal(b.version, 2);
	assert_null(b.note);
	policy_bundle_clear(&b);
	assert_int_equal(store_call(f->s, policy_get, 3, &b), 0);
	assert_string_equal(b.grp, "default");
	assert_null(b.author);
	assert_string_equal(b.note, "second");
	assert_int_equal(b.at, 120);
	assert_int_equal(b.rolled_back_from, 0);
	policy_bundle_clear(&b);
	assert_int_equal(store_call(f->s, policy_get, 99, &b), -ENOENT);

	assert_int_equal(store_call(f->s, policies, NULL, &l), 0);
	assert_int_equal(l.n, 4);
	assert_int_equal(l.v[0].version, 4);
	assert_int_equal(l.v[3].version, 1);
	assert_null(l.v[0].files_json);
	policy_bundle_list_free(&l);
	assert_int_equal(store_call(f->s, policies, "default", &l), 0);
	assert_int_equal(l.n, 3);
	assert_string_equal(l.v[2].note, "first");
	policy_bundle_list_free(&l);

	assert_int_equal(store_call(f->s, machine_create, "lab-p", "hp", 10, &machine), 0);
	assert_int_equal(store_call(f->s, machine_group, machine, &grp), 0);
	assert_string_equal(grp, "default");
	free(grp);
	assert_int_equal(store_call(f->s, machine_set_group, "lab-p", "lab-101"), 0);
	assert_int_equal(store_call(f->s, machine_set_group, "nobody", "lab-101"), -ENOENT);
	assert_int_equal(store_call(f->s, machine_group, machine, &grp), 0);
	assert_string_equal(grp, "lab-101");
	free(grp);
	assert_int_equal(store_call(f->s, machine_policy_state, machine, "server", 2, "a.yml:3:1: bad", 200), 0);
	assert_int_equal(store_call(f->s, machines, &ms), 0);
	assert_int_equal(ms.n, 1);
	assert_string_equal(ms.v[0].grp, "lab-101");
	assert_string_equal(ms.v[0].policy_source, "server");
	assert_int_equal(ms.v[0].policy_version, 2);
	assert_string_equal(ms.v[0].policy_error, "a.yml:3:1: bad");
	assert_int_equal(ms.v[0].policy_at, 200);
	machine_list_free(&ms);
	assert_int_equal(store_call(f->s, machine_policy_state, machine, "local", 0, NULL, 210), 0);
	assert_int_equal(store_call(f->s, machine_set_group, "lab-p", NULL), 0);
	assert_int_equal(store_call(f->s, machines, &ms), 0);
	assert_null(ms.v[0].grp);
	assert_int_equal(ms.v[0].policy_version, 0);
	assert_null(ms.v[0].policy_error);
	assert_string_equal(ms.v[0].policy_source, "local");
	machine_list_free(&ms);
	policy_bundle_list_free(NULL);
	fixture_free(f);
}

struct replay {
	uint64_t next;		/* the offset expected next */
	size_t seen, stop_after;
	bool in_order;
};

static int replay_one(void *ud, uint64_t offset, enum audience audience, const char *body)
{
	struct replay *r = ud;
	char want[32];

	snprintf(want, sizeof(want), "{\"n\":%llu}", (unsigned long long)offset);
	if (offset != r->next || strcmp(body, want) || audience != (offset % 7 ? AUDIENCE_ALL : AUDIENCE_ORGANISERS))
		r->in_order = false;
	r->next++;
	return ++r->seen == r->stop_after ? -1 : 0;
}

/*
 * events_since: every event after the offset, in order, with its audience
 * and body, however long the log (more than a back end reads at once);
 * the callback stops it; the floor moves with events_trim.
 */
static void test_event_replay(void **state)
{
	struct fixture *f = fixture_new();
	struct replay r = { .next = 2, .in_order = true };
	uint64_t last = 0, floor = 1;
	char body[32];

	assert_int_equal(store_call(f->s, begin), 0);
	for (uint64_t o = 1; o <= 2500; o++) {
		snprintf(body, sizeof(body), "{\"n\":%llu}", (unsigned long long)o);
		assert_int_equal(store_call(f->s, event_append, f->meeting, o, "chat", body,
					    o % 7 ? AUDIENCE_ALL : AUDIENCE_ORGANISERS, (int64_t)o), 0);
	}
	assert_int_equal(store_call(f->s, commit), 0);
	/* an offset taken already is a conflict */
	assert_int_equal(store_call(f->s, event_append, f->meeting, 7, "chat", "{}", AUDIENCE_ALL, 1), -EEXIST);
	assert_int_equal(store_call(f->s, event_last_offset, f->meeting, &last), 0);
	assert_int_equal(last, 2500);

	assert_int_equal(store_call(f->s, events_since, f->meeting, 1, replay_one, &r), 0);
	assert_true(r.in_order);
	assert_int_equal(r.seen, 2499);
	r = (struct replay){ .next = 1001, .in_order = true, .stop_after = 1500 };
	assert_int_equal(store_call(f->s, events_since, f->meeting, 1000, replay_one, &r), 0);
	assert_true(r.in_order);
	assert_int_equal(r.seen, 1500);

	assert_int_equal(store_call(f->s, event_floor, f->meeting, &floor), 0);
	assert_int_equal(floor, 0);
	assert_int_equal(store_call(f->s, events_trim, f->meeting, 2000), 0);
	assert_int_equal(store_call(f->s, event_floor, f->meeting, &floor), 0);
	assert_int_equal(floor, 2000);
	r = (struct replay){ .next = 2001, .in_order = true };
	assert_int_equal(store_call(f->s, events_since, f->meeting, 0, replay_one, &r), 0);
	assert_true(r.in_order);
	assert_int_equal(r.seen, 500);
	fixture_free(f);
}

/* PostgreSQL: a database that cannot be reached is -ECONNREFUSED with libpq's reason, at once */
static void test_pg_unreachable(void **state)
{
	char conninfo[512], err[256] = "";
	struct store *s = NULL;

	/* the same server, a database that does not exist */
	snprintf(conninfo, sizeof(conninfo), "%s dbname=no_such_sphinx_db", pg_conninfo());
	assert_int_equal(store_pg_open(conninfo, err, sizeof(err), &s), -ECONNREFUSED);
	assert_non_null(strstr(err, "no_such_sphinx_db"));
	assert_null(s);
}

/* Ask the server to end every other connection to this database (the store's). */
static void kill_store_connection(void)
{
	assert_int_equal(pg_admin("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
				  " WHERE datname = current_database() AND pid <> pg_backend_pid()"), 0);
}

/*
 * PostgreSQL: when the connection goes away, operations fail with -EIO
 * (never a crash, never a success that was not committed); a transaction
 * that lost its connection cannot commit, nor reconnect half-way; then
 * the store reconnects by itself and what was committed before is there.
 */
static void test_pg_reconnects(void **state)
{
	struct store *s;
	struct user u = { 0 };
	int64_t olga, id, r = -EIO;

	store_open_fresh(NULL, &s);
	olga = user(s, "olga");
	assert_int_equal(store_call(s, meeting_create, "new-meet-ing", "New", NULL, JOIN_ANYONE, olga, 1, &id), 0);

	kill_store_connection();
	assert_int_equal(store_call(s, user_get, olga, &u), -EIO);
	/* the next operation reconnects (then, while the database stays away, every 100 ms doubling to 5 s) */
	for (int i = 0; i < 100 && r == -EIO; i++) {
		r = store_call(s, user_get, olga, &u);
		if (r == -EIO)
			usleep(50 * 1000);
	}
	assert_int_equal(r, 0);
	assert_string_equal(u.name, "olga");
	user_clear(&u);
	assert_int_equal(store_call(s, is_organiser, id, olga), 1);

	/* a transaction whose connection went: its statements fail, commit fails, the row is not there */
	assert_int_equal(store_call(s, begin), 0);
	assert_int_equal(store_call(s, meeting_create, "txn-meet-ing", "Tx", NULL, JOIN_ANYONE, olga, 2, &id), 0);
	kill_store_connection();
	assert_int_equal(store_call(s, member_add, id, olga, 3), -EIO);
	usleep(300 * 1000);	/* past the backoff: still no reconnect inside the lost transaction */
	assert_int_equal(store_call(s, is_member, id, olga), -EIO);
	assert_int_equal(store_call(s, commit), -EIO);
	store_call(s, rollback);
	r = -EIO;
	for (int i = 0; i < 100 && r == -EIO; i++) {
		usleep(50 * 1000);
		r = store_call(s, meeting_by_code, "txn-meet-ing", &(struct meeting){ 0 });
	}
	assert_int_equal(r, -ENOENT);
	store_call(s, close);
}

/*
 * PostgreSQL: a statement that fails for a reason other than an expected
 * conflict aborts the transaction (PostgreSQL's rule); its COMMIT then
 * reports failure (the database answers it with ROLLBACK) and nothing of
 * the transaction is there, so no caller acknowledges it.
 */
static void test_pg_aborted_tx(void **state)
{
	struct fixture *f = fixture_new();
	int64_t id;

	assert_int_equal(store_call(f->s, begin), 0);
	assert_int_equal(store_call(f->s, meeting_create, "tx2-meet-ing", "Tx", NULL, JOIN_ANYONE, f->olga, 1, &id), 0);
	/* no such meeting: a foreign key violation */
	assert_true(store_call(f->s, member_add, 999999, f->alice, 2) < 0);
	assert_int_equal(store_call(f->s, commit), -EIO);
	store_call(f->s, rollback);
	assert_int_equal(store_call(f->s, meeting_by_code, "tx2-meet-ing", &(struct meeting){ 0 }), -ENOENT);
	fixture_free(f);
}

/*
 * Both back ends: a statement that fails inside a transaction leaves
 * nothing committed by a later commit that reports success. An expected
 * conflict (-EEXIST) does not spoil the transaction: the rest commits.
 */
static void test_tx_after_conflict(void **state)
{
	struct fixture *f = fixture_new();
	int64_t id;

	assert_int_equal(store_call(f->s, begin), 0);
	assert_int_equal(store_call(f->s, ban_add, f->meeting, f->bob, f->olga, "again", 140), -EEXIST);
	assert_int_equal(store_call(f->s, organiser_add, f->meeting, f->olga, f->olga, 140), -EEXIST);
	assert_int_equal(store_call(f->s, meeting_create, "row-rows-row", "Dup", NULL, JOIN_ANYONE, f->olga, 140, &id),
			 -EEXIST);
	assert_int_equal(store_call(f->s, organiser_add, f->meeting, f->alice, f->olga, 150), 0);
	assert_int_equal(store_call(f->s, commit), 0);
	assert_int_equal(store_call(f->s, is_organiser, f->meeting, f->alice), 1);
	fixture_free(f);
}

/*
 * Both back ends: event offsets come from the store, one after the other
 * inside a transaction (its own appends counted), and a rollback gives them
 * back.
 */
static void test_event_next_offset(void **state)
{
	struct fixture *f = fixture_new();
	uint64_t o1 = 0, o2 = 0, o3 = 0;

	assert_int_equal(store_call(f->s, begin), 0);
	assert_int_equal(store_call(f->s, event_next_offset, f->meeting, &o1), 0);
	assert_int_equal(o1, 1);
	assert_int_equal(store_call(f->s, event_append, f->meeting, o1, "chat", "{}", AUDIENCE_ALL, 1), 0);
	assert_int_equal(store_call(f->s, event_next_offset, f->meeting, &o2), 0);
	assert_int_equal(o2, 2);
	assert_int_equal(store_call(f->s, event_append, f->meeting, o2, "chat", "{}", AUDIENCE_ALL, 2), 0);
	assert_int_equal(store_call(f->s, commit), 0);
	assert_int_equal(store_call(f->s, begin), 0);
	assert_int_equal(store_call(f->s, event_next_offset, f->meeting, &o3), 0);
	assert_int_equal(o3, 3);
	store_call(f->s, rollback);
	assert_int_equal(store_call(f->s, begin), 0);
	assert_int_equal(store_call(f->s, event_next_offset, f->meeting, &o3), 0);
	assert_int_equal(o3, 3);	/* the rolled-back one again: no hole in the log */
	assert_int_equal(store_call(f->s, event_append, f->meeting, o3, "chat", "{}", AUDIENCE_ALL, 3), 0);
	assert_int_equal(store_call(f->s, commit), 0);
	fixture_free(f);
}

/* A second handle on the same database: another node. */
static struct store *pg_node(const char *name, int64_t at)
{
	char err[256] = "";
	struct store *s = NULL;
	int64_t last = -1;

	if (store_pg_open(pg_conninfo(), err, sizeof(err), &s) < 0)
		fail_msg("store_pg_open: %s", err);
	assert_int_equal(store_call(s, node_hello, name, at, &last), 0);
	return s;
}

/*
 * PostgreSQL, several nodes: one event log (offsets of two nodes follow
 * each other); an account is monitored while any node reports it, and only
 * the last report's end flips it; a dead node is claimed once, and releasing
 * it touches its rows only (machines, attendance, reports), not another
 * node's; a node's heartbeat row taken away comes back, and says so.
 */
static void test_pg_nodes(void **state)
{
	struct fixture *f = fixture_new();
	struct store *a = pg_node("node-a", 1000), *b = pg_node("node-b", 1000);
	struct machine_list ml = { 0 };
	struct id_list users = { 0 };
	char *name = NULL;
	int64_t hb = 0, att_a, att_b, ma, mb;
	uint64_t o = 0;
	bool on = false;

	/* offsets: a then b then a, one sequence */
	for (int i = 0; i < 3; i++) {
		struct store *n = i == 1 ? b : a;
		assert_int_equal(store_call(n, begin), 0);
		assert_int_equal(store_call(n, event_next_offset, f->meeting, &o), 0);
		assert_int_equal(o, (uint64_t)i + 1);
		assert_int_equal(store_call(n, event_append, f->meeting, o, "chat", "{}", AUDIENCE_ALL, 1), 0);
		assert_int_equal(store_call(n, notify, "sphinx", "test"), 0);
		assert_int_equal(store_call(n, commit), 0);
	}

	/* monitored while any node reports the account */
	assert_int_equal(store_call(a, monitor_local, f->alice, true, 0), 0);
	assert_int_equal(store_call(a, monitor_settle, f->alice, true, NULL, 0, 10, &on), 1);
	assert_true(on);
	assert_int_equal(store_call(b, monitor_local, f->alice, true, 0), 0);
	assert_int_equal(store_call(b, monitor_settle, f->alice, true, NULL, 0, 11, &on), 0);
	assert_int_equal(store_call(a, monitor_local, f->alice, false, 0), 0);
	assert_int_equal(store_call(a, monitor_settle, f->alice, false, "shutdown", 0, 12, &on), 0);
	assert_true(on);	/* b still reports alice */

	/* rows of each node */
	assert_int_equal(store_call(a, machine_create, "lab-a", "ta", 1, &ma), 0);
	assert_int_equal(store_call(a, machine_create, "lab-b", "tb", 1, &mb), 0);
	assert_int_equal(store_call(a, machine_state, ma, true, NULL, NULL, 20), 0);
	assert_int_equal(store_call(b, machine_state, mb, true, NULL, NULL, 20), 0);
	/* a's old connection going offline must not take b's machine down (the agent moved to b) */
	assert_int_equal(store_call(a, machine_state, mb, false, "silent", NULL, 21), 0);
	assert_int_equal(store_call(a, machines, &ml), 0);
	assert_int_equal(ml.n, 2);
	assert_true(ml.v[1].online);
	machine_list_free(&ml);
	assert_int_equal(store_call(a, attendance_open, f->meeting, f->alice, 30, &att_a), 0);
	assert_int_equal(store_call(b, attendance_open, f->meeting, f->olga, 30, &att_b), 0);

	/* b is silent: a claims it, once */
	assert_int_equal(store_call(a, node_heartbeat, 5000), 0);
	assert_int_equal(store_call(a, node_claim_dead, 4000, &name, &hb), 1);
	assert_string_equal(name, "node-b");
	assert_int_equal(hb, 1000);
	free(name);
	assert_int_equal(store_call(a, node_claim_dead, 4000, &name, &hb), 0);
	assert_int_equal(store_call(a, node_release, "node-b", "silent", 1000, &users), 1);	/* olga's row */
	assert_int_equal(users.n, 1);
	assert_int_equal(users.v[0], f->alice);
	id_list_free(&users);
	assert_int_equal(store_call(a, monitor_settle, f->alice, false, "silent", 0, 40, &on), 1);
	assert_false(on);
	assert_int_equal(store_call(a, machines, &ml), 0);
	assert_int_equal(ml.n, 2);
	assert_true(ml.v[0].online);	/* lab-a: node-a's */
	assert_false(ml.v[1].online);	/* lab-b: node-b's, released */
	assert_string_equal(ml.v[1].offline_reason, "silent");
	machine_list_free(&ml);
	users = (struct id_list){ 0 };
	assert_int_equal(store_call(a, attendance_open_meetings, f->alice, &users), 0);
	assert_int_equal(users.n, 1);	/* node-a's row stays open */
	id_list_free(&users);
	assert_int_equal(store_call(a, attendance_open_meetings, f->olga, &users), 0);
	assert_int_equal(users.n, 0);	/* node-b's row closed */

	/* b was only stalled: its next heartbeat makes its row again, and says so */
	assert_int_equal(store_call(b, node_heartbeat, 6000), 1);
	assert_int_equal(store_call(b, node_heartbeat, 6001), 0);
	store_call(a, close);
	store_call(b, close);
	fixture_free(f);
}

/*
 * State every node shares (issue 13): the health ping, pending OpenID
 * Connect sign-ins (bounded, expiring, taken once) and, where the back end
 * shares them (PostgreSQL), the global rate limits' token buckets.
 */
static void test_web_state_rows(void **state)
{
	struct fixture *f = fixture_new();
	struct oidc_pending p = { .created = 1000 }, got;
	double t = 0;

	assert_int_equal(store_call(f->s, ping), 0);
	/* three sign-ins with room for two: the oldest goes */
	for (int i = 0; i < 3; i++) {
		snprintf(p.state, sizeof(p.state), "state-%d", i);
		snprintf(p.nonce, sizeof(p.nonce), "nonce-%d", i);
		snprintf(p.verifier, sizeof(p.verifier), "verifier-%d", i);
		snprintf(p.return_to, sizeof(p.return_to), "/back/%d", i);
		p.created = 1000 + i;
		assert_int_equal(store_call(f->s, oidc_pending_put, &p, 300000, 2, 1000 + i), 0);
	}
	assert_int_equal(store_call(f->s, oidc_pending_take, "state-0", &got), -ENOENT);
	assert_int_equal(store_call(f->s, oidc_pending_take, "state-1", &got), 0);
	assert_string_equal(got.nonce, "nonce-1");
	assert_string_equal(got.verifier, "verifier-1");
	assert_string_equal(got.return_to, "/back/1");
	assert_int_equal(got.created, 1001);
	/* once only */
	assert_int_equal(store_call(f->s, oidc_pending_take, "state-1", &got), -ENOENT);
	/* a later put drops what is older than the time to live */
	snprintf(p.state, sizeof(p.state), "state-late");
	p.created = 400000;
	assert_int_equal(store_call(f->s, oidc_pending_put, &p, 300000, 1024, 400000), 0);
	assert_int_equal(store_call(f->s, oidc_pending_take, "state-2", &got), -ENOENT);
	assert_int_equal(store_call(f->s, oidc_pending_take, "state-late", &got), 0);

	if (!f->s->ops->rate_bucket) {	/* one node (SQLite): the buckets stay in memory */
		assert_null(f->s->ops->rate_purge);
		fixture_free(f);
		return;
	}
	/* burst 2, one token back a second: take, take, refused (and how many there are) */
	assert_int_equal(store_call(f->s, rate_bucket, "k1", 1.0, 2.0, 10000, 't', &t), 1);
	assert_true(t > 1.99 && t < 2.01);
	assert_int_equal(store_call(f->s, rate_bucket, "k1", 1.0, 2.0, 10000, 't', &t), 1);
	assert_int_equal(store_call(f->s, rate_bucket, "k1", 1.0, 2.0, 10000, 't', &t), 0);
	assert_true(t < 0.01);
	assert_int_equal(store_call(f->s, rate_bucket, "k2", 1.0, 2.0, 10000, 'p', &t), 1);	/* other keys apart */
	/* half a second later half a token; a refund makes it one and a half */
	assert_int_equal(store_call(f->s, rate_bucket, "k1", 1.0, 2.0, 10500, 'p', &t), 0);
	assert_true(t > 0.49 && t < 0.51);
	assert_int_equal(store_call(f->s, rate_bucket, "k1", 1.0, 2.0, 10500, 'r', &t), 1);
	assert_int_equal(store_call(f->s, rate_bucket, "k1", 1.0, 2.0, 10500, 't', &t), 1);
	assert_int_equal(store_call(f->s, rate_bucket, "k1", 1.0, 2.0, 10500, 't', &t), 0);
	/* full again after two seconds: the row may go */
	assert_int_equal(store_call(f->s, rate_purge, 20000), 1);
	assert_int_equal(store_call(f->s, rate_bucket, "k1", 1.0, 2.0, 20000, 'p', &t), 1);
	assert_true(t > 1.99);
	fixture_free(f);
}

/*
 * Observations (issue 14): a batch is stored in order, paged by id with the
 * since and machine filters; purge drops rows received before the
 * retention's start, then all but the newest max_rows (0: all of them).
 */
static void test_observation_rows(void **state)
{
	struct fixture *f = fixture_new();
	struct observation_list l = { 0 };
	int64_t m1, m2;
	const struct observation_in batch[] = {
		{ "{\"category\":\"process_creation\",\"ts\":1}" },
		{ "{\"category\":\"process_creation\",\"ts\":2}" },
		{ "{\"category\":\"screen_capture\",\"ts\":3}" },
	};

	assert_int_equal(store_call(f->s, machine_create, "lab-1", "h1", 1, &m1), 0);
	assert_int_equal(store_call(f->s, machine_create, "lab-2", "h2", 1, &m2), 0);
	assert_int_equal(store_call(f->s, begin), 0);
	assert_int_equal(store_call(f->s, observations_add, m1, 1000, batch, 2), 0);
	assert_int_equal(store_call(f->s, commit), 0);
	assert_int_equal(store_call(f->s, observations_add, m2, 2000, batch + 2, 1), 0);
	assert_int_equal(store_call(f->s, observations_add, m1, 3000, batch, 1), 0);

	/* every row, in id order, with its machine's name */
	assert_int_equal(store_call(f->s, observations_page, 0, NULL, NULL, 0, 100, &l), 0);
	assert_int_equal(l.n, 4);
	assert_string_equal(l.v[0].machine, "lab-1");
	assert_string_equal(l.v[0].body, batch[0].body);
	assert_string_equal(l.v[1].body, batch[1].body);
	assert_string_equal(l.v[2].machine, "lab-2");
	assert_int_equal(l.v[2].at, 2000);
	assert_int_equal(l.v[2].machine_id, m2);
	assert_true(l.v[0].id < l.v[1].id && l.v[1].id < l.v[2].id && l.v[2].id < l.v[3].id);
	int64_t second = l.v[1].id;
	observation_list_free(&l);
	/* paging: after a cursor, at most limit */
	assert_int_equal(store_call(f->s, observations_page, 0, NULL, NULL, second, 1, &l), 0);
	assert_int_equal(l.n, 1);
	assert_string_equal(l.v[0].machine, "lab-2");
	observation_list_free(&l);
	/* since and machine */
	assert_int_equal(store_call(f->s, observations_page, 2000, NULL, NULL, 0, 100, &l), 0);
	assert_int_equal(l.n, 2);
	observation_list_free(&l);
	assert_int_equal(store_call(f->s, observations_page, 0, "lab-1", NULL, 0, 100, &l), 0);
	assert_int_equal(l.n, 3);
	for (size_t i = 0; i < l.n; i++)
		assert_string_equal(l.v[i].machine, "lab-1");
	observation_list_free(&l);
	assert_int_equal(store_call(f->s, observations_page, 0, "no-such", NULL, 0, 100, &l), 0);
	assert_int_equal(l.n, 0);
	/* group: lab-2 in room-b, lab-1 in none ("default") */
	assert_int_equal(store_call(f->s, machine_set_group, "lab-2", "room-b"), 0);
	assert_int_equal(store_call(f->s, observations_page, 0, NULL, "room-b", 0, 100, &l), 0);
	assert_int_equal(l.n, 1);
	assert_string_equal(l.v[0].machine, "lab-2");
	observation_list_free(&l);
	assert_int_equal(store_call(f->s, observations_page, 0, NULL, "default", 0, 100, &l), 0);
	assert_int_equal(l.n, 3);
	observation_list_free(&l);
	assert_int_equal(store_call(f->s, observations_page, 0, "lab-1", "room-b", 0, 100, &l), 0);
	assert_int_equal(l.n, 0);

	/* retention: the two rows received at 1000 go, nothing else */
	assert_int_equal(store_call(f->s, observations_purge, 2000, 1000), 2);
	assert_int_equal(store_call(f->s, observations_page, 0, NULL, NULL, 0, 100, &l), 0);
	assert_int_equal(l.n, 2);
	assert_int_equal(l.v[0].at, 2000);
	observation_list_free(&l);
	/* the row cap keeps the newest */
	assert_int_equal(store_call(f->s, observations_purge, 0, 1), 1);
	assert_int_equal(store_call(f->s, observations_page, 0, NULL, NULL, 0, 100, &l), 0);
	assert_int_equal(l.n, 1);
	assert_int_equal(l.v[0].at, 3000);
	observation_list_free(&l);
	assert_int_equal(store_call(f->s, observations_purge, 0, 0), 1);
	assert_int_equal(store_call(f->s, observations_page, 0, NULL, NULL, 0, 100, &l), 0);
	assert_int_equal(l.n, 0);
	fixture_free(f);
}

/* lobby_access against the ops it stands for, on the same rows */
static void check_access(struct store *s, const char *code, int64_t user_id)
{
	struct recording_list recs = { 0 };
	struct lobby_access a;
	struct meeting m = { 0 };
	struct user u = { 0 };

	assert_int_equal(store_call(s, lobby_access, code, user_id, &a), 0);
	assert_int_equal(store_call(s, meeting_by_code, code, &m), 0);
	assert_int_equal(a.meeting.id, m.id);
	assert_string_equal(a.meeting.code, m.code);
	assert_string_equal(a.meeting.title, m.title);
	assert_true(!a.meeting.link == !m.link);
	assert_int_equal(a.meeting.created_by, m.created_by);
	assert_int_equal(a.meeting.start_at, m.start_at);
	assert_int_equal(a.meeting.end_at, m.end_at);
	assert_int_equal(a.meeting.join_policy, m.join_policy);
	if (store_call(s, user_get, user_id, &u) == 0) {
		assert_int_equal(a.user.id, u.id);
		assert_string_equal(a.user.username, u.username);
		assert_string_equal(a.user.email, u.email);
		assert_string_equal(a.user.name, u.name);
		assert_true(!a.user.picture == !u.picture);
		assert_int_equal(a.user.is_admin, u.is_admin);
	} else {
		assert_int_equal(a.user.id, 0);
		assert_null(a.user.name);
	}
	assert_int_equal(a.banned, store_call(s, is_banned, m.id, user_id) == 1);
	assert_int_equal(a.organiser, store_call(s, is_organiser, m.id, user_id) == 1);
	assert_int_equal(a.member, store_call(s, is_member, m.id, user_id) == 1);
	assert_int_equal(store_call(s, recordings_ongoing, user_id, &recs), 0);
	assert_int_equal(a.recording, recs.n > 0);
	recording_list_free(&recs);
	meeting_clear(&a.meeting);
	user_clear(&a.user);
	meeting_clear(&m);
	user_clear(&u);
}

/*
 * A lobby join's one read (issue 13) answers what meeting_by_code, user_get,
 * is_banned, is_organiser and is_member answer: for an organiser, a member,
 * a banned member, a stranger and no user at all, and recordings_ongoing:
 * whether the user records now (alice from her recording's begin to its
 * end, not before nor after); of the ongoing meeting
 * of a code that an ended one had too, and of the ended one alone; and
 * -ENOENT for a code no meeting has.
 */
static void test_lobby_access(void **state)
{
	struct fixture *f = fixture_new();
	struct lobby_access a;
	struct capture c;
	int64_t carl = user(f->s, "carl"), second, machine, rec;

	assert_int_equal(store_call(f->s, user_set_admin, f->olga, true), 0);
	assert_int_equal(store_call(f->s, organiser_add, f->meeting, f->alice, f->olga, 140), 0);
	assert_int_equal(store_call(f->s, lobby_access, "row-rows-row", f->olga, &a), 0);
	assert_true(a.organiser && !a.member && !a.banned && a.user.is_admin);
	assert_string_equal(a.user.username, "olga");
	meeting_clear(&a.meeting);
	user_clear(&a.user);
	assert_int_equal(store_call(f->s, lobby_access, "row-rows-row", f->bob, &a), 0);
	assert_true(a.banned && a.member && !a.organiser && !a.user.is_admin);
	meeting_clear(&a.meeting);
	user_clear(&a.user);
	assert_int_equal(store_call(f->s, lobby_access, "row-rows-row", carl, &a), 0);
	assert_true(!a.banned && !a.member && !a.organiser && a.user.id == carl);
	meeting_clear(&a.meeting);
	user_clear(&a.user);
	for (int64_t who = f->olga; who <= carl + 1; who++)	/* carl + 1: no such user */
		check_access(f->s, "row-rows-row", who);
	assert_int_equal(store_call(f->s, machine_create, "lab-1", "hash", 10, &machine), 0);
	c = capture_of(machine, f->alice, "boot1:42:1", 1000);
	assert_int_equal(store_call(f->s, recording_begin, &c, &rec), 1);
	assert_int_equal(store_call(f->s, lobby_access, "row-rows-row", f->alice, &a), 0);
	assert_true(a.recording);
	meeting_clear(&a.meeting);
	user_clear(&a.user);
	for (int64_t who = f->olga; who <= carl + 1; who++)
		check_access(f->s, "row-rows-row", who);
	c.duration_ms = 5;
	c.calls = 1;
	assert_int_equal(store_call(f->s, recording_end, &c, &rec), 0);
	check_access(f->s, "row-rows-row", f->alice);

	/* the ended meeting while it is the only one, then the ongoing one that took its code */
	assert_int_equal(store_call(f->s, meeting_end, f->meeting, 200), 0);
	check_access(f->s, "row-rows-row", f->alice);
	assert_int_equal(store_call(f->s, meeting_create, "row-rows-row", "Again", "https://example.org/x", JOIN_DOMAIN,
				    carl, 300, &second), 0);
	assert_int_equal(store_call(f->s, lobby_access, "row-rows-row", carl, &a), 0);
	assert_int_equal(a.meeting.id, second);
	assert_int_equal(a.meeting.end_at, 0);
	assert_true(a.organiser && !a.member && !a.banned);
	meeting_clear(&a.meeting);
	user_clear(&a.user);
	for (int64_t who = f->olga; who <= carl + 1; who++)
		check_access(f->s, "row-rows-row", who);

	memset(&a, 0xff, sizeof(a));	/* a failure leaves it zeroed */
	assert_int_equal(store_call(f->s, lobby_access, "zzz-zzzz-zzz", f->olga, &a), -ENOENT);
	assert_int_equal(a.meeting.id, 0);
	assert_null(a.user.name);
	fixture_free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_codes_are_long_and_random),
		cmocka_unit_test(test_codes_typed_forgivingly),
		cmocka_unit_test(test_code_unique_among_ongoing_only),
		cmocka_unit_test(test_migration_keeps_old_meetings),
		cmocka_unit_test(test_people_rows),
		cmocka_unit_test(test_attendance_rows),
		cmocka_unit_test(test_chat_rows),
		cmocka_unit_test(test_recording_rows),
		cmocka_unit_test(test_other_rows),
		cmocka_unit_test(test_tx_after_conflict),
		cmocka_unit_test(test_web_state_rows),
		cmocka_unit_test(test_event_replay),
		cmocka_unit_test(test_policy_rows),
		cmocka_unit_test(test_fleet_rows),
		cmocka_unit_test(test_event_next_offset),
		cmocka_unit_test(test_observation_rows),
		cmocka_unit_test(test_lobby_access),
		cmocka_unit_test(test_pg_unreachable),
		cmocka_unit_test(test_pg_reconnects),
		cmocka_unit_test(test_pg_aborted_tx),
		cmocka_unit_test(test_pg_nodes),
	};

	/* the last four are PostgreSQL's own: run only there (never reported as a skip that passed) */
	size_t n = ARRAY_SIZE(tests) - (pg_conninfo() ? 0 : 4);

	if (sodium_init() < 0)
		return 1;
	return _cmocka_run_group_tests(pg_conninfo() ? "store_postgresql" : "store_sqlite", tests, n, NULL, NULL);
}
