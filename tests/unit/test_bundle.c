// SPDX-License-Identifier: GPL-2.0-only
/*
 * The agent's last good server bundle (agent/bundle.c) on a real
 * directory: a good bundle is kept as a link to its version directory and
 * loads back; a broken one is refused with every file:line:col and the
 * link, the bundle it names and its rules stay as they were, with no
 * staging directory left; a new version replaces the old one's directory;
 * the version already kept, sent again, is loaded as it is; leftovers of a
 * crash are cleared; a real directory where the link goes is not replaced;
 * a message without a valid version or group is refused.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "bundle.h"
#include "policy.h"

static char root[64], dir[128];

#define RULE(id, prog)                                                                      \
	"id: " id "\ntitle: t\nlogsource: { category: process_creation, product: linux }\n" \
	"detection:\n  sel:\n    Image|endswith: /" prog "\n  condition: sel\n"

static int setup(void **state)
{
	snprintf(root, sizeof(root), "/tmp/sphinx-bundle-XXXXXX");
	if (!mkdtemp(root))
		return -1;
	/* a parent that does not exist yet: the first install makes it */
	snprintf(dir, sizeof(dir), "%s/state/policy", root);
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	return system(cmd);
}

static json_t *msg(int version, const char *text)
{
	return json_pack("{s:i, s:s, s:s, s:[{s:s, s:s}]}", "version", version, "group", "lab-101", "note", "n",
			 "files", "name", "a.yml", "text", text);
}

/* root/state/NAME exists */
static bool there(const char *name)
{
	char p[256];

	snprintf(p, sizeof(p), "%s/state/%s", root, name);
	return access(p, F_OK) == 0;
}

/* install version v with text: the return value; *policy freed */
static int install(int v, const char *text, char **error)
{
	struct policy *p = NULL;
	struct bundle_info info = {};
	json_t *m = msg(v, text);
	int r = bundle_install(dir, m, &p, &info, error);

	json_decref(m);
	if (r == 0) {
		assert_non_null(p);
		assert_int_equal(info.version, v);
		assert_string_equal(info.group, "lab-101");
	} else {
		assert_null(p);
	}
	policy_free(p);
	return r;
}

static void test_keep_refuse_replace(void **state)
{
	struct policy *p = NULL;
	struct bundle_info info = {};
	char err[512], link[64], *error = NULL;
	ssize_t n;

	assert_int_equal(bundle_load_last_good(dir, &p, &info, err, sizeof(err)), -ENOENT);
	assert_int_equal(install(3, RULE("t.a", "a"), &error), 0);
	assert_null(error);
	n = readlink(dir, link, sizeof(link) - 1);
	assert_true(n > 0);
	link[n] = '\0';
	assert_string_equal(link, "policy.v3");
	assert_int_equal(bundle_load_last_good(dir, &p, &info, err, sizeof(err)), 0);
	assert_int_equal(info.version, 3);
	assert_non_null(policy_find_rule(p, "t.a"));
	policy_free(p);

	/* broken: refused with the exact error, everything as it was */
	assert_int_equal(install(4, "id: t.b\ntitle: b\nlevle: high\n", &error), -EINVAL);
	assert_non_null(error);
	assert_non_null(strstr(error, "a.yml:3:1: unknown key 'levle' (did you mean 'level'?)"));
	assert_null(strstr(error, root));	/* named as the bundle names it */
	free(error);
	error = NULL;
	assert_false(there("policy.v4"));
	assert_false(there("policy.new"));
	assert_int_equal(bundle_load_last_good(dir, &p, &info, err, sizeof(err)), 0);
	assert_int_equal(info.version, 3);
	policy_free(p);

	/* a newer one replaces it; the old version's directory goes */
	assert_int_equal(install(5, RULE("t.c", "c"), &error), 0);
	assert_false(there("policy.v3"));
	assert_true(there("policy.v5"));
	assert_int_equal(bundle_load_last_good(dir, &p, &info, err, sizeof(err)), 0);
	assert_int_equal(info.version, 5);
	assert_null(policy_find_rule(p, "t.a"));
	assert_non_null(policy_find_rule(p, "t.c"));
	policy_free(p);

	/* the same version again: loaded as kept, not rewritten under the link */
	assert_int_equal(install(5, "not even YAML: [", &error), 0);
	assert_true(there("policy.v5"));
}

static void test_crash_leftovers(void **state)
{
	char p[256], *error = NULL;

	assert_int_equal(install(1, RULE("t.a", "a"), &error), 0);
	/* a staging directory and a half-written version directory from a crash */
	snprintf(p, sizeof(p), "%s/state/policy.new", root);
	assert_int_equal(mkdir(p, 0755), 0);
	snprintf(p, sizeof(p), "%s/state/policy.v2", root);
	assert_int_equal(mkdir(p, 0755), 0);
	snprintf(p, sizeof(p), "%s/state/policy.v2/junk.yml", root);
	fclose(fopen(p, "w"));
	assert_int_equal(install(2, RULE("t.b", "b"), &error), 0);
	assert_false(there("policy.new"));
	assert_false(there("policy.v2/junk.yml"));
}

static void test_refusals(void **state)
{
	char p[256], *error = NULL;
	struct policy *pol = NULL;
	struct bundle_info info = {};
	json_t *m = json_pack("{s:i, s:s, s:[]}", "version", 1, "group", "bad group", "files");

	assert_int_equal(bundle_install(dir, m, &pol, &info, &error), -EINVAL);
	assert_non_null(strstr(error, "\"group\""));
	free(error);
	json_decref(m);
	m = json_pack("{s:i, s:s, s:[{s:s, s:s}]}", "version", 1, "group", "g", "files", "name", "../x.yml",
		      "text", "");
	assert_int_equal(bundle_install(dir, m, &pol, &info, &error), -EINVAL);
	assert_non_null(strstr(error, "\"name\""));
	free(error);
	json_decref(m);
	/* a directory where the link goes (made by hand): not replaced, said so */
	snprintf(p, sizeof(p), "%s/state", root);
	assert_int_equal(mkdir(p, 0755), 0);
	assert_int_equal(mkdir(dir, 0755), 0);
	assert_int_equal(install(1, RULE("t.a", "a"), &error), -EEXIST);
	assert_non_null(strstr(error, "not the link"));
	free(error);
	assert_false(there("policy.v1"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_keep_refuse_replace, setup, teardown),
		cmocka_unit_test_setup_teardown(test_crash_leftovers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refusals, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
