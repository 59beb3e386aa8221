/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Helpers shared by the policy unit tests (header-only: each test is one
 * binary). YAML under test is written to a scratch file so it goes through
 * the real policy_load(), file reading and all; errors are compared in
 * full, "line:col: message", against the exact list expected.
 *
 * Fixture and default-policy paths are relative to the repository root
 * (where tests/run starts us); POLICY_TEST_DATA and POLICY_DEFAULT_DIR
 * override them.
 */
#ifndef TEST_POLICY_UTIL_H
#define TEST_POLICY_UTIL_H

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

#include "policy.h"

static char scratch_dir[256];

static inline const char *test_data_dir(void)
{
	const char *d = getenv("POLICY_TEST_DATA");

	return d ? d : "tests/unit/policy-data";
}

static inline const char *default_policy_dir(void)
{
	const char *d = getenv("POLICY_DEFAULT_DIR");

	return d ? d : "policy/default";
}

/* A path under the fixtures directory, in a static buffer. */
static inline const char *fixture(const char *name)
{
	static char buf[512];

	snprintf(buf, sizeof(buf), "%s/%s", test_data_dir(), name);
	return buf;
}

static inline int scratch_setup(void **state)
{
	const char *tmp = getenv("TMPDIR");

	snprintf(scratch_dir, sizeof(scratch_dir), "%s/policy-test.XXXXXX", tmp ? tmp : "/tmp");
	return mkdtemp(scratch_dir) ? 0 : -1;
}

static inline int scratch_teardown(void **state)
{
	return rmdir(scratch_dir);
}

/* Write @text to the scratch file @name; returns its path (static buffer). */
static inline const char *scratch_write(const char *name, const char *text, size_t len)
{
	static char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", scratch_dir, name);
	f = fopen(path, "we");
	assert_non_null(f);
	assert_int_equal(fwrite(text, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
	return path;
}

static inline void scratch_remove(const char *name)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/%s", scratch_dir, name);
	unlink(path);
}

/* Load @yaml as scratch file "t.yml". Returns policy_load()'s result. */
static inline int load_yaml(const char *yaml, struct policy **ret, struct policy_diags *diags)
{
	const char *path = scratch_write("t.yml", yaml, strlen(yaml));
	int r = policy_load(path, ret, diags);

	scratch_remove("t.yml");
	return r;
}

/* Load @yaml, which must be valid; the caller frees the policy. */
static inline struct policy *load_ok(const char *yaml)
{
	struct policy_diags diags = {};
	struct policy *p = NULL;
	char buf[1024];
	int r = load_yaml(yaml, &p, &diags);

	for (size_t i = 0; i < diags.count; i++)
		print_error("unexpected: %s\n", policy_diag_format(&diags.items[i], buf, sizeof(buf)));
	assert_int_equal(r, 0);
	assert_int_equal(diags.count, 0);
	policy_diags_clear(&diags);
	return p;
}

/*
 * Load @yaml, which must fail with exactly the errors given (each
 * "line:col: message", NULL-terminated), in this order, in file "t.yml".
 */
static inline void expect_errors_v(const char *yaml, const char *const *expected)
{
	struct policy_diags diags = {};
	struct policy *p = NULL;
	char buf[1024];
	size_t n = 0, prefix;
	int r = load_yaml(yaml, &p, &diags);
	bool ok = true;

	while (expected[n])
		n++;
	prefix = strlen(scratch_dir) + strlen("/t.yml:");
	if (diags.count != n)
		ok = false;
	for (size_t i = 0; i < diags.count; i++) {
		const char *got = policy_diag_format(&diags.items[i], buf, sizeof(buf));

		got = strlen(got) > prefix ? got + prefix : got;
		if (*got == ' ')
			got++;	/* "file: message", no position */
		if (i >= n || strcmp(got, expected[i]) != 0) {
			print_error("error %zu: got      '%s'\n", i, got);
			if (i < n)
				print_error("error %zu: expected '%s'\n", i, expected[i]);
			ok = false;
		}
	}
	for (size_t i = diags.count; i < n; i++)
		print_error("error %zu: missing  '%s'\n", i, expected[i]);
	policy_diags_clear(&diags);
	assert_int_equal(r, -EINVAL);
	assert_null(p);
	assert_true(ok);
}

#define expect_errors(yaml, ...) \
	expect_errors_v(yaml, (const char *const[]){ __VA_ARGS__, NULL })

/* An event from name/value pairs, NULL-terminated; strings are borrowed. */
static inline void make_event(struct policy_event *ev, enum policy_category cat, ...)
{
	va_list ap;
	const char *name;

	policy_event_init(ev, cat);
	va_start(ap, cat);
	while ((name = va_arg(ap, const char *))) {
		const char *value = va_arg(ap, const char *);

		assert_int_equal(policy_event_set(ev, name, value), 0);
	}
	va_end(ap);
}

/* The id of the best rule for the event, or NULL. */
static inline const char *best_id(const struct policy *p, const struct policy_event *ev)
{
	const struct policy_rule *r = policy_match(p, ev);

	return r ? r->id : NULL;
}

static inline void check_best(const struct policy *p, const struct policy_event *ev,
			      const char *want)
{
	const char *got = best_id(p, ev);

	if (!want && got)
		fail_msg("expected no match, got %s", got);
	if (want && !got)
		fail_msg("expected %s, got no match", want);
	if (want)
		assert_string_equal(got, want);
}

#endif
