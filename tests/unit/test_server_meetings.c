// SPDX-License-Identifier: GPL-2.0-only
/*
 * Unit tests (cmocka) for meeting codes and the meetings table of the
 * SQLite store: codes are unguessable and typed forgivingly, a code is
 * unique among ongoing meetings only (an ended one's may come back), and
 * a database written by the previous schema (version 3, six-digit codes)
 * migrates without losing a row or breaking a foreign key.
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
#include <sodium.h>
#include <sqlite3.h>

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
	static const char *const same[] = { "abc-defg-hij", "ABC-DEFG-HIJ", "abcdefghij", "abc defg hij", "Abc-Defghij" };
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

	assert_int_equal(store_sqlite_open(dir, false, &s), 0);
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
	assert_int_equal(store_call(s, meeting_create, "zzz-zzzz-zzz", "Other", NULL, JOIN_ANYONE, olga, 50, &third), 0);
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_codes_are_long_and_random),
		cmocka_unit_test(test_codes_typed_forgivingly),
		cmocka_unit_test(test_code_unique_among_ongoing_only),
		cmocka_unit_test(test_migration_keeps_old_meetings),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
