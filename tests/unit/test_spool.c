// SPDX-License-Identifier: GPL-2.0-only
/*
 * The agent's spool on a real directory: order, acks, survival across a
 * reopen (an agent restart), the bound and its drop counter; and what it
 * refuses to trust: a directory that is a symbolic link, writable by
 * others or owned by someone else, symbolic links planted as entries or
 * as temporary files, and malformed entries, which are set aside so that
 * the events after them are still delivered.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <errno.h>
#include <string.h>
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "spool.h"

static char dir[64], outside[64];

static int setup(void **state)
{
	snprintf(dir, sizeof(dir), "/tmp/sphinx-spool-XXXXXX");
	snprintf(outside, sizeof(outside), "/tmp/sphinx-outside-XXXXXX");
	return mkdtemp(dir) && mkdtemp(outside) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[160];

	snprintf(cmd, sizeof(cmd), "rm -rf %s %s", dir, outside);
	return system(cmd);
}

/* A capture event as the agent spools it, numbered @n. */
static const char *ev(int n)
{
	static char buf[4][128];
	static int turn;
	char *b = buf[turn++ % 4];

	snprintf(b, sizeof(buf[0]), "{\"type\":\"capture.begin\",\"v\":1,\"id\":\"boot:%d\"}", n);
	return b;
}

static void write_at(const char *d, const char *name, const char *text, size_t len)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", d, name);
	f = fopen(path, "we");
	assert_non_null(f);
	assert_int_equal(fwrite(text, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

static char *entry_path(uint64_t seq, char *buf, size_t len)
{
	snprintf(buf, len, "%s/%020llu.json", dir, (unsigned long long)seq);
	return buf;
}

static unsigned count_in(const char *d)
{
	DIR *dd = opendir(d);
	struct dirent *de;
	unsigned n = 0;

	assert_non_null(dd);
	while ((de = readdir(dd)))
		n += de->d_name[0] != '.';
	closedir(dd);
	return n;
}

static struct spool *open_ok(uint64_t max)
{
	struct spool *s = NULL;
	char err[512] = "";

	if (spool_open(dir, max, &s, err, sizeof(err)) != 0)
		fail_msg("spool_open(%s): %s", dir, err);
	return s;
}

static void expect_next(struct spool *s, uint64_t after, uint64_t want_seq, const char *want)
{
	uint64_t seq = 0;
	char *json = NULL;

	assert_int_equal(spool_next(s, after, &seq, &json, NULL), 0);
	assert_int_equal(seq, want_seq);
	assert_string_equal(json, want);
	free(json);
}

static void order_ack_and_restart(void **state)
{
	struct spool *s = open_ok(100);
	uint64_t seq;

	assert_int_equal(spool_append(s, ev(1), &seq), 0);
	assert_int_equal(seq, 1);
	assert_int_equal(spool_append(s, ev(2), NULL), 0);
	assert_int_equal(spool_append(s, ev(3), NULL), 0);
	expect_next(s, 0, 1, ev(1));
	expect_next(s, 1, 2, ev(2));
	spool_ack(s, 2);
	expect_next(s, 1, 3, ev(3));
	assert_int_equal(spool_count(s), 2);
	spool_close(s);

	/* An agent restart: what was not acked is still there, in order, and
	 * new events number after it. */
	s = open_ok(100);
	assert_int_equal(spool_count(s), 2);
	expect_next(s, 0, 1, ev(1));
	assert_int_equal(spool_append(s, ev(4), &seq), 0);
	assert_int_equal(seq, 4);
	spool_ack(s, 1);
	spool_ack(s, 3);
	spool_ack(s, 4);
	spool_ack(s, 99);	/* unknown: ignored */
	assert_int_equal(spool_count(s), 0);
	uint64_t none;
	char *json;
	assert_int_equal(spool_next(s, 0, &none, &json, NULL), -ENOENT);
	spool_close(s);
}

static void bound_drops_oldest_and_counts(void **state)
{
	struct spool *s = open_ok(3);

	for (int i = 1; i <= 5; i++)
		assert_int_equal(spool_append(s, ev(i), NULL), 0);
	assert_int_equal(spool_count(s), 3);
	assert_int_equal(spool_dropped(s), 2);
	expect_next(s, 0, 3, ev(3));
	spool_close(s);
	/* The count of dropped events survives a restart too. */
	s = open_ok(3);
	assert_int_equal(spool_dropped(s), 2);
	spool_close(s);
}

/*
 * 300 entries the server could never acknowledge (more than the uplink's
 * 256 in-flight slots), then good events: every bad one is set aside with
 * a reason, the good ones come out in order, bad/ keeps SPOOL_BAD_MAX.
 */
static void malformed_entries_do_not_block_the_good_ones(void **state)
{
	static const char *const bad[] = {
		"not json at all", "{\"type\":\"capture.begin\",\"v\":1}",
		"{\"type\":\"capture.begin\",\"v\":2,\"id\":\"x\"}", "{\"type\":\"hello\",\"v\":1,\"id\":\"x\"}",
		"[1,2,3]", "{\"type\":\"capture.end\",\"v\":1,\"id\":\"a\",\"id\":\"b\"}",
		"{\"type\":\"capture.end\",\"v\":1,\"id\":\"\"}", "{\"type\":\"capture.begin\",\"v\":1,\"id\":\"trunc",
	};
	char name[64], path[256], *json = NULL, *big;
	struct spool_reject rej;
	unsigned rejects = 0, kept = 0, calls = 0;
	uint64_t seq, after = 0;
	struct spool *s;
	int r;

	big = malloc(SPOOL_EVENT_MAX + 128);
	assert_non_null(big);
	snprintf(big, SPOOL_EVENT_MAX + 128, "{\"type\":\"capture.begin\",\"v\":1,\"id\":\"big\",\"pad\":\"%0*d\"}",
		 SPOOL_EVENT_MAX, 0);
	for (int i = 1; i <= 300; i++) {
		snprintf(name, sizeof(name), "%020d.json", i);
		if (i == 7)
			write_at(dir, name, "", 0);			/* empty */
		else if (i == 8)
			write_at(dir, name, big, strlen(big));		/* over 64 KiB */
		else if (i == 9)
			assert_int_equal(mkfifo(entry_path(i, path, sizeof(path)), 0600), 0);
		else if (i == 10)
			assert_int_equal(mkdir(entry_path(i, path, sizeof(path)), 0700), 0);
		else
			write_at(dir, name, bad[i % 8], strlen(bad[i % 8]));
	}
	free(big);
	s = open_ok(10000);
	assert_int_equal(spool_append(s, ev(1), &seq), 0);
	assert_int_equal(seq, 301);
	assert_int_equal(spool_append(s, ev(2), NULL), 0);
	assert_int_equal(spool_append(s, ev(3), NULL), 0);

	/* What the uplink does: take the next, set aside the bad, send the good. */
	for (int want = 1; want <= 3; want++) {
		while ((r = spool_next(s, after, &seq, &json, &rej)) == -EBADMSG) {
			assert_true(strlen(rej.name) > 0 && strlen(rej.why) > 0);
			rejects++;
			kept += rej.kept;
			assert_true(++calls < 1000);
		}
		assert_int_equal(r, 0);
		assert_int_equal(seq, 300 + want);
		assert_string_equal(json, ev(want));
		free(json);
		after = seq;
	}
	assert_int_equal(spool_next(s, after, &seq, &json, &rej), -ENOENT);
	assert_int_equal(rejects, 300);
	assert_int_equal(kept, SPOOL_BAD_MAX);
	assert_int_equal(spool_count(s), 3);
	snprintf(path, sizeof(path), "%s/bad", dir);
	assert_int_equal(count_in(path), SPOOL_BAD_MAX);
	/* In the spool: the three good events, bad/ and nothing else. */
	assert_int_equal(count_in(dir), 4);
	spool_close(s);
}

static void why_names(const char *err, const char *what)
{
	if (!strstr(err, what) || !strstr(err, dir))
		fail_msg("error '%s' should name %s and '%s'", err, dir, what);
}

static void symlinked_dir_refused(void **state)
{
	struct spool *s = NULL;
	char link[96], err[512] = "";

	snprintf(link, sizeof(link), "%s/spool", outside);
	assert_int_equal(symlink(dir, link), 0);
	assert_true(spool_open(link, 100, &s, err, sizeof(err)) < 0);
	assert_null(s);
	if (!strstr(err, link) || !strstr(err, "symbolic link"))
		fail_msg("error '%s' should name %s and say it is a symbolic link", err, link);
}

static void group_or_world_writable_dir_refused(void **state)
{
	struct spool *s = NULL;
	char err[512] = "";

	assert_int_equal(chmod(dir, 0770), 0);
	assert_true(spool_open(dir, 100, &s, err, sizeof(err)) < 0);
	why_names(err, "writable by its group");
	assert_int_equal(chmod(dir, 0703), 0);
	assert_true(spool_open(dir, 100, &s, err, sizeof(err)) < 0);
	why_names(err, "writable by everyone");
	assert_null(s);
	/* The repair the message names works. */
	assert_int_equal(chmod(dir, 0700), 0);
	s = open_ok(100);
	spool_close(s);
}

static void foreign_owner_refused(void **state)
{
	struct spool *s = NULL;
	char err[512] = "";

	if (geteuid() != 0)
		skip();		/* only root can give the directory away */
	assert_int_equal(chown(dir, 65534, 65534), 0);
	assert_true(spool_open(dir, 100, &s, err, sizeof(err)) < 0);
	assert_null(s);
	why_names(err, "owned by uid 65534");
}

static void symlinked_bad_dir_refused(void **state)
{
	struct spool *s = NULL;
	char link[96], err[512] = "";

	snprintf(link, sizeof(link), "%s/bad", dir);
	assert_int_equal(symlink(outside, link), 0);
	assert_true(spool_open(dir, 100, &s, err, sizeof(err)) < 0);
	why_names(err, "bad: is a symbolic link");
}

/* An entry that is a link to a file elsewhere is never read through. */
static void symlinked_entry_refused(void **state)
{
	char target[128], path[256], *json = NULL;
	struct spool_reject rej;
	struct stat st;
	uint64_t seq;
	struct spool *s;

	write_at(outside, "secret.json", ev(42), strlen(ev(42)));
	snprintf(target, sizeof(target), "%s/secret.json", outside);
	assert_int_equal(symlink(target, entry_path(1, path, sizeof(path))), 0);
	s = open_ok(100);
	assert_int_equal(spool_next(s, 0, &seq, &json, &rej), -EBADMSG);
	assert_null(json);
	assert_string_equal(rej.name, "00000000000000000001.json");
	assert_string_equal(rej.why, "a symbolic link");
	assert_true(rej.kept);
	assert_int_equal(spool_next(s, 0, &seq, &json, &rej), -ENOENT);
	/* The link itself was moved aside; its target is untouched. */
	snprintf(path, sizeof(path), "%s/bad/00000000000000000001.json", dir);
	assert_int_equal(lstat(path, &st), 0);
	assert_true(S_ISLNK(st.st_mode));
	assert_int_equal(stat(target, &st), 0);
	assert_int_equal(st.st_size, strlen(ev(42)));
	spool_close(s);
}

/* A link planted where the next event's temporary file goes is not written through. */
static void planted_temporary_link_not_followed(void **state)
{
	char victim[128], path[256], buf[64] = "";
	struct spool *s = open_ok(100);
	FILE *f;

	write_at(outside, "victim", "precious\n", 9);
	snprintf(victim, sizeof(victim), "%s/victim", outside);
	snprintf(path, sizeof(path), "%s/00000000000000000001.json.tmp", dir);
	assert_int_equal(symlink(victim, path), 0);
	assert_int_equal(spool_append(s, ev(1), NULL), 0);
	f = fopen(victim, "re");
	assert_non_null(f);
	assert_non_null(fgets(buf, sizeof(buf), f));
	fclose(f);
	assert_string_equal(buf, "precious\n");
	expect_next(s, 0, 1, ev(1));
	spool_close(s);
}

/* What the server could never acknowledge is refused at the door too. */
static void append_refuses_what_the_server_cannot_ack(void **state)
{
	struct spool *s = open_ok(100);
	char *big = malloc(SPOOL_EVENT_MAX + 64);

	assert_non_null(big);
	assert_int_equal(spool_append(s, "{\"n\":1}", NULL), -EINVAL);
	assert_int_equal(spool_append(s, "not json", NULL), -EINVAL);
	snprintf(big, SPOOL_EVENT_MAX + 64, "{\"type\":\"capture.end\",\"v\":1,\"id\":\"x\",\"p\":\"%0*d\"}",
		 SPOOL_EVENT_MAX, 0);
	assert_int_equal(spool_append(s, big, NULL), -EMSGSIZE);
	free(big);
	assert_int_equal(spool_count(s), 0);
	spool_close(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(order_ack_and_restart, setup, teardown),
		cmocka_unit_test_setup_teardown(bound_drops_oldest_and_counts, setup, teardown),
		cmocka_unit_test_setup_teardown(malformed_entries_do_not_block_the_good_ones, setup, teardown),
		cmocka_unit_test_setup_teardown(symlinked_dir_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(group_or_world_writable_dir_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(foreign_owner_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(symlinked_bad_dir_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(symlinked_entry_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(planted_temporary_link_not_followed, setup, teardown),
		cmocka_unit_test_setup_teardown(append_refuses_what_the_server_cannot_ack, setup, teardown),
	};

	return cmocka_run_group_tests_name("spool", tests, NULL, NULL);
}
