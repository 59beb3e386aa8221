// SPDX-License-Identifier: GPL-2.0-only
/*
 * Policy bundles (policy/policy_bundle.c), the check the server makes on a
 * push and the agent before it keeps one: names that could leave the
 * directory or that policy_load() would not read are refused; a bundle
 * read from a directory holds what policy_load() reads there and nothing
 * else; a bundle with errors fails with every error named by the bundle's
 * own file names, never the temporary directory; a good one counts its
 * rules; the check leaves nothing behind.
 */
#include <dirent.h>
#include <sys/stat.h>

#include "test_policy_util.h"
#include "policy_bundle.h"

#define RULE(id, prog)                                                                      \
	"id: " id "\ntitle: t\nlogsource: { category: process_creation, product: linux }\n" \
	"detection:\n  sel:\n    Image|endswith: /" prog "\n  condition: sel\n"

static json_t *bundle1(const char *name, const char *text)
{
	return json_pack("[{s:s, s:s}]", "name", name, "text", text);
}

/* entries of dir besides . and .. */
static int entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	assert_non_null(d);
	while ((de = readdir(d)))
		n += strcmp(de->d_name, ".") && strcmp(de->d_name, "..");
	closedir(d);
	return n;
}

static void test_names(void **state)
{
	static const char *const good[] = { "a.yml", "10-exec.yaml", "A_b-c.d.yml" };
	static const char *const bad[] = { "", ".hidden.yml", "../x.yml", "a/b.yml", "x.yml/", "x.txt",
					   "x.yml.bak", "sp ace.yml", "nul\x01.yml", ".yml" };
	char longname[POLICY_BUNDLE_NAME_MAX + 2];

	for (size_t i = 0; i < sizeof(good) / sizeof(*good); i++)
		assert_true(policy_bundle_name_ok(good[i]));
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++)
		assert_false(policy_bundle_name_ok(bad[i]));
	memset(longname, 'a', sizeof(longname));
	memcpy(longname + POLICY_BUNDLE_NAME_MAX - 4, ".yml", 5);
	assert_int_equal(strlen(longname), POLICY_BUNDLE_NAME_MAX);
	assert_true(policy_bundle_name_ok(longname));	/* exactly the limit */
	memmove(longname + 1, longname, POLICY_BUNDLE_NAME_MAX + 1);
	assert_false(policy_bundle_name_ok(longname));	/* one over */
	assert_false(policy_bundle_name_ok(NULL));
}

static void test_validate(void **state)
{
	char err[256];
	json_t *b;

	b = bundle1("../evil.yml", "x");
	assert_int_equal(policy_bundle_validate(b, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "\"name\""));
	json_decref(b);
	b = json_pack("[{s:s, s:s}, {s:s, s:s}]", "name", "a.yml", "text", "", "name", "a.yml", "text", "");
	assert_int_equal(policy_bundle_validate(b, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "a.yml: named twice");
	json_decref(b);
	b = json_pack("[{s:s, s:i}]", "name", "a.yml", "text", 3);
	assert_int_equal(policy_bundle_validate(b, err, sizeof(err)), -EINVAL);
	json_decref(b);
	b = json_array();
	assert_int_equal(policy_bundle_validate(b, err, sizeof(err)), -EINVAL);
	json_decref(b);
	assert_int_equal(policy_bundle_validate(NULL, err, sizeof(err)), -EINVAL);
	b = bundle1("a.yml", RULE("t.a", "a"));
	assert_int_equal(policy_bundle_validate(b, err, sizeof(err)), 0);
	json_decref(b);
}

/* A bundle over POLICY_BUNDLE_MAX_JSON is refused, though each file is within its own limit. */
static void test_total_limit(void **state)
{
	size_t each = POLICY_BUNDLE_MAX_JSON / 4;
	char *big = malloc(each + 1), err[256];
	json_t *b = json_array();

	memset(big, '#', each);
	big[each] = '\0';
	for (int i = 0; i < 5; i++) {
		char name[16];
		snprintf(name, sizeof(name), "f%d.yml", i);
		json_array_append_new(b, json_pack("{s:s, s:s}", "name", name, "text", big));
	}
	assert_int_equal(policy_bundle_validate(b, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "over the limit"));
	json_array_remove(b, 4);
	json_array_remove(b, 3);
	assert_int_equal(policy_bundle_validate(b, err, sizeof(err)), 0);
	json_decref(b);
	free(big);
}

/* What policy_load reads in a directory, in name order; other files left out. */
static void test_from_dir(void **state)
{
	char err[256];
	json_t *b = NULL;

	scratch_write("b.yml", RULE("t.b", "b"), strlen(RULE("t.b", "b")));
	scratch_write("a.yaml", RULE("t.a", "a"), strlen(RULE("t.a", "a")));
	scratch_write(".hidden.yml", "x", 1);
	scratch_write("README", "x", 1);
	assert_int_equal(policy_bundle_from_dir(scratch_dir, &b, err, sizeof(err)), 0);
	assert_int_equal(json_array_size(b), 2);
	assert_string_equal(json_string_value(json_object_get(json_array_get(b, 0), "name")), "a.yaml");
	assert_string_equal(json_string_value(json_object_get(json_array_get(b, 1), "text")),
			    RULE("t.b", "b"));
	json_decref(b);
	/* a rule file policy_load would read but a bundle cannot carry: refused, named */
	scratch_write("sp ace.yml", "x", 1);
	assert_int_equal(policy_bundle_from_dir(scratch_dir, &b, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "sp ace.yml"));
	for (const char *const *n = (const char *const[]){ "b.yml", "a.yaml", ".hidden.yml", "README",
							    "sp ace.yml", NULL };
	     *n; n++) {
		char p[512];
		snprintf(p, sizeof(p), "%s/%s", scratch_dir, *n);
		assert_int_equal(unlink(p), 0);
	}
	assert_int_equal(policy_bundle_from_dir(scratch_dir, &b, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "no *.yml"));
}

static void test_check(void **state)
{
	struct policy_diags diags = {};
	size_t rules = 0;
	char err[256], line[512];
	json_t *b = json_pack("[{s:s, s:s}, {s:s, s:s}]", "name", "a.yml", "text", RULE("t.a", "a"), "name",
			      "z.yml", "text", "id: t.z\ntitle: z\nlevle: high\n");

	assert_int_equal(policy_bundle_check(b, scratch_dir, &rules, &diags, err, sizeof(err)), -EINVAL);
	assert_true(diags.count >= 1);
	/* every error named as the bundle names it, not as the temporary directory did */
	bool levle = false;
	for (size_t i = 0; i < diags.count; i++) {
		policy_diag_format(&diags.items[i], line, sizeof(line));
		assert_true(strncmp(line, "z.yml:", 6) == 0);
		levle |= strcmp(line, "z.yml:3:1: unknown key 'levle' (did you mean 'level'?)") == 0;
	}
	assert_true(levle);
	char *joined = policy_diags_join(&diags);
	assert_non_null(joined);
	assert_non_null(strstr(joined, "z.yml:3:1: unknown key 'levle'"));
	assert_null(strstr(joined, scratch_dir));
	free(joined);
	policy_diags_clear(&diags);
	assert_int_equal(entries(scratch_dir), 0);	/* nothing left behind */
	json_array_remove(b, 1);
	assert_int_equal(policy_bundle_check(b, scratch_dir, &rules, &diags, err, sizeof(err)), 0);
	assert_int_equal(rules, 1);
	assert_int_equal(diags.count, 0);
	assert_int_equal(entries(scratch_dir), 0);
	json_decref(b);
}

/* write refuses to write over anything, and removes what it wrote on failure */
static void test_write(void **state)
{
	char dir[512], err[256];
	json_t *b = bundle1("a.yml", RULE("t.a", "a"));
	struct policy *p = NULL;

	snprintf(dir, sizeof(dir), "%s/w", scratch_dir);
	assert_int_equal(policy_bundle_write(dir, b, true, err, sizeof(err)), 0);
	assert_int_equal(policy_bundle_load(dir, &p, NULL), 0);
	assert_int_equal(policy_rule_count(p), 1);
	policy_free(p);
	assert_int_equal(policy_bundle_write(dir, b, true, err, sizeof(err)), -EEXIST);
	assert_int_equal(policy_bundle_remove(dir), 0);
	json_decref(b);
	b = json_pack("[{s:s, s:s}, {s:s, s:s}]", "name", "a.yml", "text", "x", "name", "../b.yml", "text", "y");
	assert_int_equal(policy_bundle_write(dir, b, true, err, sizeof(err)), -EINVAL);
	assert_int_equal(access(dir, F_OK), -1);
	json_decref(b);
	assert_int_equal(entries(scratch_dir), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_validate),
		cmocka_unit_test(test_total_limit),
		cmocka_unit_test_setup_teardown(test_from_dir, scratch_setup, scratch_teardown),
		cmocka_unit_test_setup_teardown(test_check, scratch_setup, scratch_teardown),
		cmocka_unit_test_setup_teardown(test_write, scratch_setup, scratch_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
