// SPDX-License-Identifier: GPL-2.0-only
/*
 * Unit tests (cmocka) for sphinx-server's pure helpers: config parsing and
 * validation, static path checks and MIME types, password hashing and
 * account-name rules, session hashing, meeting title/link validation,
 * ID-token claim checks through jwks_verify_id_token's refusals.
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

#include "auth_local.h"
#include "config.h"
#include "http.h"
#include "jwks.h"
#include "log.h"
#include "meeting.h"
#include "ratelimit.h"
#include "server.h"
#include "web_session.h"

void server_check_stop(void) {}

static void test_config_defaults_valid(void **state)
{
	struct config c;
	char err[256];

	assert_int_equal(config_init(&c), 0);
	assert_int_equal(config_validate(&c, err, sizeof(err)), 0);
	assert_int_equal(c.port, 8080);
	assert_int_equal(c.ws_max_message, 65536);
	assert_int_equal(c.ws_ping_ms, 15000);
	assert_string_equal(c.agent_user_map, "username");
	assert_false(c.signup);
	config_free(&c);
}

static void test_config_errors_name_the_key(void **state)
{
	struct config c;
	char err[256];

	config_init(&c);
	assert_int_equal(config_set(&c, "port", "70000", err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "port"));
	assert_int_equal(config_set(&c, "nope", "1", err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "unknown key 'nope'"));
	assert_int_equal(config_set(&c, "session_idle", "soon", err, sizeof(err)), -EINVAL);
	assert_int_equal(config_set(&c, "signup", "maybe", err, sizeof(err)), -EINVAL);
	assert_int_equal(config_set(&c, "ws_max_message", "100000", err, sizeof(err)), -EINVAL);
	assert_int_equal(config_set(&c, "session_idle", "90m", err, sizeof(err)), 0);
	assert_int_equal(c.session_idle_ms, 90 * 60 * 1000);
	assert_int_equal(config_set(&c, "agent_user_map", "email@", err, sizeof(err)), 0);
	assert_int_equal(config_validate(&c, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "agent_user_map"));
	config_set(&c, "agent_user_map", "email@example.org", err, sizeof(err));
	config_set(&c, "ws_timeout", "10s", err, sizeof(err));
	assert_int_equal(config_validate(&c, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "ws_timeout"));
	config_free(&c);
}

static void test_config_file_lines(void **state)
{
	char path[] = "/tmp/sphinx-conf-XXXXXX", err[256];
	int fd = mkstemp(path);
	struct config c;
	const char text[] = "# comment\n\n  port = 9000  \nweb_root = \" /srv/web \"\nthis is wrong\n";

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, sizeof(text) - 1), (ssize_t)sizeof(text) - 1);
	close(fd);
	config_init(&c);
	assert_int_equal(config_load(&c, path, err, sizeof(err)), -EINVAL);
	assert_int_equal(c.port, 9000);
	assert_string_equal(c.web_root, " /srv/web ");
	assert_non_null(strstr(err, ":5: expected 'key = value'"));
	unlink(path);
	assert_true(config_load(&c, path, err, sizeof(err)) < 0);
	config_free(&c);
}

static void test_static_paths(void **state)
{
	static const char *const bad[] = { "/../etc/passwd", "/a/../../b", "/./x", "//etc", "/a//b", "/a\\b",
					   "/a\x01", "relative", "/..", "/." };
	static const char *const good[] = { "/", "/index.html", "/js/app.js", "/a/b.c/d", "/..a", "/a..",
					    "/.well-known/x" };

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_non_null(static_check_path(bad[i]));
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		assert_null(static_check_path(good[i]));
	assert_string_equal(static_mime("/a/b.JS"), "text/javascript; charset=utf-8");
	assert_string_equal(static_mime("/index.html"), "text/html; charset=utf-8");
	assert_string_equal(static_mime("/x.svg"), "image/svg+xml");
	assert_string_equal(static_mime("/noext"), "application/octet-stream");
	assert_string_equal(static_mime("/dir.d/noext"), "application/octet-stream");
}

static void test_passwords(void **state)
{
	unsigned long long ops;
	size_t mem;
	char hash[128];

	assert_int_equal(auth_local_costs("min", &ops, &mem), 0);
	assert_int_equal(auth_local_costs("bogus", &ops, &mem), -EINVAL);
	assert_int_equal(auth_local_hash("correct horse", ops, mem, hash), 0);
	assert_non_null(strstr(hash, "$argon2id$"));
	assert_int_equal(auth_local_verify(hash, "correct horse", ops, mem), 0);
	assert_int_equal(auth_local_verify(hash, "wrong horse", ops, mem), -EACCES);
	assert_int_equal(auth_local_verify(NULL, "whatever", ops, mem), -EACCES);
	assert_null(auth_local_check_username("alice.b-c_1"));
	assert_non_null(auth_local_check_username("Alice"));
	assert_non_null(auth_local_check_username(".alice"));
	assert_non_null(auth_local_check_username(""));
	assert_non_null(auth_local_check_password("short"));
	assert_null(auth_local_check_password("long enough"));
}

static void test_web_session_hash(void **state)
{
	char h[65], t1[64], t2[64];

	web_session_hash("abc", h);
	assert_string_equal(h, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	web_session_random_token(t1, sizeof(t1), 32);
	web_session_random_token(t2, sizeof(t2), 32);
	assert_int_equal(strlen(t1), 43);
	assert_string_not_equal(t1, t2);
}

static void test_meeting_fields(void **state)
{
	assert_null(meeting_check_title("Linear algebra"));
	assert_non_null(meeting_check_title(""));
	assert_non_null(meeting_check_title(NULL));
	assert_non_null(meeting_check_title("a\nb"));
	assert_null(meeting_check_link("https://teams.example/l/meetup-join/19%3a"));
	assert_non_null(meeting_check_link("javascript:alert(1)"));
	assert_non_null(meeting_check_link("https://x.example/\"><script>"));
	assert_non_null(meeting_check_link("https://x.example/a b"));
}

static void test_id_token_malformed(void **state)
{
	struct id_token_expect e = { .issuer = "https://idp.example", .client_id = "c", .nonce = "n",
				     .jwks_uri = "http://127.0.0.1:1/jwks", .now_s = 1700000000 };
	json_t *claims = NULL;
	const char *why = NULL;

	assert_int_equal(jwks_verify_id_token("not a token", &e, &claims, &why), -EACCES);
	assert_string_equal(why, "malformed token");
	/* header {"alg":"none"} . payload {} . empty signature */
	assert_int_equal(jwks_verify_id_token("eyJhbGciOiJub25lIn0.e30.", &e, &claims, &why), -EACCES);
	assert_null(claims);
	/* {"alg":"HS256"}: refused before any key is fetched */
	assert_int_equal(jwks_verify_id_token("eyJhbGciOiJIUzI1NiJ9.e30.c2ln", &e, &claims, &why), -EACCES);
	assert_string_equal(why, "algorithm not allowed (only RS256 and ES256)");
}

static void test_ratelimit_bucket(void **state)
{
	const struct rate_rule r = { "t:bucket", 2.0, 3, false };	/* 3 at once, then one per 500 ms */
	int64_t t = 1000000, retry = -1;

	ratelimit_reset();
	for (int i = 0; i < 3; i++)
		assert_true(ratelimit_take(&r, "a", t, NULL));
	assert_false(ratelimit_take(&r, "a", t, &retry));
	assert_int_equal(retry, 500);
	/* another key and the same key under another rule are separate buckets */
	assert_true(ratelimit_take(&r, "b", t, NULL));
	const struct rate_rule other = { "t:other", 2.0, 3, false };
	assert_true(ratelimit_take(&other, "a", t, NULL));
	/* peek neither takes nor lies */
	assert_false(ratelimit_peek(&r, "a", t + 499, &retry));
	assert_int_equal(retry, 1);
	assert_true(ratelimit_peek(&r, "a", t + 500, NULL));
	assert_true(ratelimit_peek(&r, "a", t + 500, NULL));
	assert_true(ratelimit_take(&r, "a", t + 500, NULL));
	assert_false(ratelimit_take(&r, "a", t + 500, NULL));
	/* a full refill never exceeds burst */
	for (int i = 0; i < 3; i++)
		assert_true(ratelimit_take(&r, "a", t + 100000, NULL));
	assert_false(ratelimit_take(&r, "a", t + 100000, NULL));
	/* a switched-off rule allows everything */
	const struct rate_rule off = { "t:off", 0, 0, false };
	for (int i = 0; i < 100; i++)
		assert_true(ratelimit_take(&off, "a", t, NULL));
}

static void test_ratelimit_bounded(void **state)
{
	const struct rate_rule r = { "t:bounded", 1.0 / 3600, 2, false };
	char key[32];
	int64_t t = 5000000;
	int refused = 0;

	ratelimit_reset();
	/* far more keys than slots: the table stays the same size and keeps working */
	for (int i = 0; i < 4 * RATELIMIT_SLOTS; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		assert_true(ratelimit_take(&r, key, t, NULL));
	}
	/* a key just used is still limited (the newest are not the ones evicted) */
	assert_true(ratelimit_take(&r, "victim", t, NULL));
	assert_true(ratelimit_take(&r, "victim", t, NULL));
	assert_false(ratelimit_take(&r, "victim", t, NULL));
	/* entries that refilled expire: a fresh key always finds room */
	const struct rate_rule fast = { "t:fast", 1000, 1, false };
	for (int i = 0; i < 2 * RATELIMIT_SLOTS; i++) {
		snprintf(key, sizeof(key), "f%d", i);
		if (!ratelimit_take(&fast, key, t + 10 + i, NULL))
			refused++;
	}
	assert_int_equal(refused, 0);
}

static void test_http_too_many(void **state)
{
	struct http_req *r = calloc(1, sizeof(*r));
	json_t *j;

	assert_non_null(r);
	assert_int_equal(http_too_many(r, 1001, "sign-in from this address"), 0);
	assert_int_equal(r->status, 429);
	assert_int_equal(r->nhdr, 1);
	assert_string_equal(r->hdr_name[0], "retry-after:");
	assert_string_equal(r->hdr_val[0], "2");	/* rounded up */
	j = json_loads(r->resp, 0, NULL);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "error")), "rate_limited");
	assert_int_equal(json_integer_value(json_object_get(j, "retry_after")), 2);
	assert_non_null(strstr(json_string_value(json_object_get(j, "message")), "sign-in from this address"));
	json_decref(j);
	http_req_free(r);
}

static void test_cookie_exact_names(void **state)
{
	const char *host = "__Host-sphinx_session";
	char v[64];

	assert_int_equal(web_session_cookie_parse("a=1; __Host-sphinx_session=good; b=2", host, v, sizeof(v)), 0);
	assert_string_equal(v, "good");
	/* a longer name that contains ours is another cookie, whichever comes first */
	assert_int_equal(web_session_cookie_parse("x__Host-sphinx_session=evil; __Host-sphinx_session=good", host,
						  v, sizeof(v)), 0);
	assert_string_equal(v, "good");
	assert_int_equal(web_session_cookie_parse("x__Host-sphinx_session=evil", host, v, sizeof(v)), -ENOENT);
	assert_int_equal(web_session_cookie_parse("sphinx_session_x=evil", "sphinx_session", v, sizeof(v)), -ENOENT);
	assert_int_equal(web_session_cookie_parse("a=sphinx_session=evil", "sphinx_session", v, sizeof(v)), -ENOENT);
	/* spaces around, an empty value, no value, and a value too long */
	assert_int_equal(web_session_cookie_parse("  sphinx_session = v1 ;x=2", "sphinx_session", v, sizeof(v)), 0);
	assert_string_equal(v, "v1");
	assert_int_equal(web_session_cookie_parse("sphinx_session=", "sphinx_session", v, sizeof(v)), 0);
	assert_string_equal(v, "");
	assert_int_equal(web_session_cookie_parse("sphinx_session; y=1", "sphinx_session", v, sizeof(v)), -ENOENT);
	assert_int_equal(web_session_cookie_parse("s=0123456789", "s", v, 5), -E2BIG);
	assert_int_equal(web_session_cookie_parse("", "s", v, sizeof(v)), -ENOENT);
	/* names are case-sensitive */
	assert_int_equal(web_session_cookie_parse("SPHINX_SESSION=evil", "sphinx_session", v, sizeof(v)), -ENOENT);
}

static void test_local_redirect_paths(void **state)
{
	static const char *const good[] = { "/", "/#/m/abc-defg-hij", "/a/b?x=1&y=2", "/caf%C3%A9" };
	static const char *const bad[] = {
		"", "//evil.example", "/\\evil.example", "\\/evil.example", "/\t/evil.example", "/%09/evil.example",
		"/%2F/evil.example", "/%2f%2fevil.example", "/%5Cevil.example", "/%252F/evil.example",
		"/%0d%0aSet-Cookie:x",
		"https://evil.example", "evil.example", "/ /x", "/a\x7f", "/%", "/%zz", "/%00", "/a//b",
	};
	char longp[300];

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		assert_true(http_local_path(good[i]));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (http_local_path(bad[i]))
			fail_msg("accepted as a local path: '%s'", bad[i]);
	}
	memset(longp, 'a', sizeof(longp) - 1);
	longp[0] = '/';
	longp[sizeof(longp) - 1] = '\0';
	assert_false(http_local_path(longp));
}

static void test_log_escape(void **state)
{
	char out[64];

	assert_int_equal(log_escape("alice", out, sizeof(out)), 5);
	assert_string_equal(out, "alice");
	log_escape("x\nsphinx: info: forged", out, sizeof(out));
	assert_string_equal(out, "x\\nsphinx: info: forged");
	log_escape("a\\b\tc\r\x1b[31m\x7f", out, sizeof(out));
	assert_string_equal(out, "a\\\\b\\tc\\r\\x1b[31m\\x7f");
	log_escape("caf\xc3\xa9", out, sizeof(out));	/* UTF-8 passes */
	assert_string_equal(out, "caf\xc3\xa9");
	/* cut at a whole escape, never half of one */
	assert_int_equal(log_escape("ab\n", out, 4), 2);
	assert_string_equal(out, "ab");
}

int main(void)
{
	static struct server s;
	static struct config cfg;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_config_defaults_valid),
		cmocka_unit_test(test_config_errors_name_the_key),
		cmocka_unit_test(test_config_file_lines),
		cmocka_unit_test(test_static_paths),
		cmocka_unit_test(test_passwords),
		cmocka_unit_test(test_web_session_hash),
		cmocka_unit_test(test_meeting_fields),
		cmocka_unit_test(test_id_token_malformed),
		cmocka_unit_test(test_ratelimit_bucket),
		cmocka_unit_test(test_ratelimit_bounded),
		cmocka_unit_test(test_http_too_many),
		cmocka_unit_test(test_cookie_exact_names),
		cmocka_unit_test(test_local_redirect_paths),
		cmocka_unit_test(test_log_escape),
	};

	if (sodium_init() < 0)
		return 1;
	config_init(&cfg);
	s.cfg = &cfg;
	srv = &s;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
