// SPDX-License-Identifier: GPL-2.0-only
/*
 * Policy loading: every key, every modifier, multi-document files,
 * directories, and malformed input of every kind with the exact
 * file:line:col and wording of each error.
 */
#include "test_policy_util.h"

#include <fcntl.h>
#include <sys/stat.h>

/* A minimal valid rule; tests append or vary lines. */
#define RULE_HEAD(id) \
	"id: " id "\n" \
	"title: A rule\n" \
	"logsource:\n" \
	"  category: process_creation\n"

/* ------------------------------------------------------------ valid input */

static void test_minimal_rule_defaults(void **state)
{
	struct policy *p = load_ok(
		RULE_HEAD("t.min")
		"detection:\n"
		"  selection:\n"
		"    Image: /usr/bin/x\n"
		"  condition: selection\n");
	const struct policy_rule *r;

	assert_int_equal(policy_rule_count(p), 1);
	r = policy_rule_at(p, 0);
	assert_string_equal(r->id, "t.min");
	assert_string_equal(r->title, "A rule");
	assert_null(r->description);
	assert_int_equal(r->category, POLICY_CAT_PROCESS_CREATION);
	assert_int_equal(r->level, POLICY_LEVEL_MEDIUM);
	assert_int_equal(r->kind, POLICY_KIND_AUTO);	/* no kind: the call rate decides */
	assert_int_equal(r->action, POLICY_ACTION_ALERT);
	assert_null(r->needs);
	assert_int_equal(r->threshold_calls, 5);
	assert_int_equal(r->threshold_window_ms, 2000);
	assert_int_equal(r->line, 1);
	assert_non_null(strstr(r->file, "/t.yml"));
	assert_ptr_equal(policy_find_rule(p, "t.min"), r);
	assert_null(policy_find_rule(p, "t.other"));
	assert_null(policy_rule_at(p, 1));
	policy_free(p);
}

static void test_every_key(void **state)
{
	struct policy *p = load_ok(
		"id: t.Every_key-1.0\n"
		"title: Every key\n"
		"description: |\n"
		"  Two lines\n"
		"  of text.\n"
		"level: critical\n"
		"status: experimental\n"
		"author: Someone\n"
		"date: 2024/01/02\n"
		"modified: 2024-02-03\n"
		"references:\n"
		"  - https://example.org/\n"
		"tags: [attack.collection, attack.t1113]\n"
		"falsepositives:\n"
		"  - none\n"
		"fields: [Image, CommandLine]\n"
		"related:\n"
		"  - id: 0b4d7a9e-0000-4000-8000-000000000000\n"
		"    type: similar\n"
		"logsource:\n"
		"  category: screen_capture\n"
		"  product: linux\n"
		"  service: x11\n"
		"  definition: uprobes on libX11\n"
		"kind: auto\n"
		"action: kill\n"
		"threshold:\n"
		"  calls: 10\n"
		"  window: 500ms\n"
		"detection:\n"
		"  selection:\n"
		"    Api: XShmGetImage\n"
		"  condition: selection\n");
	const struct policy_rule *r = policy_rule_at(p, 0);

	assert_string_equal(r->id, "t.Every_key-1.0");
	assert_string_equal(r->description, "Two lines\nof text.\n");
	assert_int_equal(r->level, POLICY_LEVEL_CRITICAL);
	assert_int_equal(r->category, POLICY_CAT_SCREEN_CAPTURE);
	assert_int_equal(r->kind, POLICY_KIND_AUTO);
	assert_int_equal(r->action, POLICY_ACTION_KILL);
	assert_int_equal(r->threshold_calls, 10);
	assert_int_equal(r->threshold_window_ms, 500);
	policy_free(p);
}

static void test_levels_kinds_actions(void **state)
{
	static const struct {
		const char *level, *kind, *action;
		enum policy_level l;
		enum policy_kind k;
		enum policy_action a;
	} cases[] = {
		{ "informational", "recording", "alert", POLICY_LEVEL_INFORMATIONAL,
		  POLICY_KIND_RECORDING, POLICY_ACTION_ALERT },
		{ "low", "screenshot", "kill", POLICY_LEVEL_LOW, POLICY_KIND_SCREENSHOT,
		  POLICY_ACTION_KILL },
		{ "medium", "auto", "alert", POLICY_LEVEL_MEDIUM, POLICY_KIND_AUTO,
		  POLICY_ACTION_ALERT },
		{ "high", "recording", "alert", POLICY_LEVEL_HIGH, POLICY_KIND_RECORDING,
		  POLICY_ACTION_ALERT },
		{ "critical", "auto", "kill", POLICY_LEVEL_CRITICAL, POLICY_KIND_AUTO,
		  POLICY_ACTION_KILL },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char yaml[512];
		struct policy *p;
		const struct policy_rule *r;

		snprintf(yaml, sizeof(yaml),
			 "id: t.l\ntitle: t\nlevel: %s\nkind: %s\naction: %s\n"
			 "logsource: {category: file_access}\n"
			 "detection: {s: {TargetFilename: /dev/fb0}, condition: s}\n",
			 cases[i].level, cases[i].kind, cases[i].action);
		p = load_ok(yaml);
		r = policy_rule_at(p, 0);
		assert_int_equal(r->level, cases[i].l);
		assert_int_equal(r->kind, cases[i].k);
		assert_int_equal(r->action, cases[i].a);
		policy_free(p);
	}
}

static void test_every_modifier(void **state)
{
	struct policy *p = load_ok(
		RULE_HEAD("t.mods")
		"detection:\n"
		"  sel_plain:\n"
		"    Image: '/usr/*/ff?peg'\n"
		"    Comm: 'a\\*b'\n"
		"    ParentImage: null\n"
		"    User: ''\n"
		"    Uid: 1000\n"
		"  sel_str:\n"
		"    CommandLine|contains: x11grab\n"
		"    CommandLine|startswith: ffmpeg\n"
		"    CommandLine|endswith: .mkv\n"
		"    CommandLine|contains|all: [ffmpeg, '-f']\n"
		"    CommandLine|contains|cased: X11\n"
		"    Image|cased: /usr/bin/FFmpeg\n"
		"    Image|endswith|cased|all: [peg, mpeg]\n"
		"  sel_re:\n"
		"    CommandLine|re: '^ffmpeg( |$)'\n"
		"    Comm|re|i: '^FF'\n"
		"  sel_num:\n"
		"    Uid|gt: 0\n"
		"    Uid|gte: -1\n"
		"    Pid|lt: 99999999999\n"
		"    Pid|lte: '+5'\n"
		"  condition: 1 of sel_*\n");

	policy_free(p);
}

static void test_multi_document(void **state)
{
	struct policy *p = load_ok(
		"---\n"
		RULE_HEAD("t.one")			/* line 2 */
		"detection: {s: {Image: a}, condition: s}\n"
		"---\n"
		"# a comment\n"
		RULE_HEAD("t.two")			/* line 9 */
		"detection: {s: {Image: b}, condition: s}\n"
		"...\n"
		"---\n"
		RULE_HEAD("t.three")			/* line 16 */
		"detection: {s: {Image: c}, condition: s}\n"
		"---\n");

	assert_int_equal(policy_rule_count(p), 3);
	assert_string_equal(policy_rule_at(p, 0)->id, "t.one");
	assert_int_equal(policy_rule_at(p, 0)->line, 2);
	assert_string_equal(policy_rule_at(p, 1)->id, "t.two");
	assert_int_equal(policy_rule_at(p, 1)->line, 9);
	assert_string_equal(policy_rule_at(p, 2)->id, "t.three");
	assert_int_equal(policy_rule_at(p, 2)->line, 16);
	policy_free(p);
}

static void test_empty_file(void **state)
{
	struct policy *p = load_ok("# nothing here\n");

	assert_int_equal(policy_rule_count(p), 0);
	policy_free(p);
}

static void test_directory_in_name_order(void **state)
{
	struct policy_diags diags = {};
	struct policy *p = NULL;

	assert_int_equal(policy_load(fixture("dir-ok"), &p, &diags), 0);
	assert_int_equal(diags.count, 0);
	/* 10-exec.yml (two documents), then 20-api.yaml; hidden and .txt skipped. */
	assert_int_equal(policy_rule_count(p), 3);
	assert_string_equal(policy_rule_at(p, 0)->id, "fixture.exec.a");
	assert_string_equal(policy_rule_at(p, 1)->id, "fixture.exec.b");
	assert_string_equal(policy_rule_at(p, 2)->id, "fixture.api");
	assert_non_null(strstr(policy_rule_at(p, 0)->file, "dir-ok/10-exec.yml"));
	assert_non_null(strstr(policy_rule_at(p, 2)->file, "dir-ok/20-api.yaml"));
	policy_free(p);
}

static void test_load_paths_as_one_set(void **state)
{
	char first[512], second[512];
	const char *paths[2] = { first, second };
	struct policy_diags diags = {};
	struct policy *p = NULL;

	/* fixture() returns a static buffer: copy each. */
	snprintf(first, sizeof(first), "%s", fixture("dir-ok"));
	snprintf(second, sizeof(second), "%s", fixture("single.yml"));
	assert_int_equal(policy_load_paths(paths, 2, &p, &diags), 0);
	assert_int_equal(policy_rule_count(p), 4);
	assert_string_equal(policy_rule_at(p, 3)->id, "fixture.single");
	policy_free(p);

	/* The same directory twice: every id is a duplicate the second time. */
	paths[1] = paths[0];
	assert_int_equal(policy_load_paths(paths, 2, &p, &diags), -EINVAL);
	assert_int_equal(diags.count, 3);
	assert_non_null(strstr(diags.items[0].message, "duplicate id 'fixture.exec.a'"));
	policy_diags_clear(&diags);
}

static void test_errors_in_several_files(void **state)
{
	struct policy_diags diags = {};
	struct policy *p = NULL;
	char buf[1024];

	assert_int_equal(policy_load(fixture("dir-errors"), &p, &diags), -EINVAL);
	assert_null(p);
	assert_int_equal(diags.count, 3);
	policy_diag_format(&diags.items[0], buf, sizeof(buf));
	assert_non_null(strstr(buf, "dir-errors/a.yml:3:1: unknown key 'levle' (did you mean 'level'?)"));
	policy_diag_format(&diags.items[1], buf, sizeof(buf));
	assert_non_null(strstr(buf, "dir-errors/a.yml:14:8: unknown level 'urgent'; expected "
			       "informational, low, medium, high or critical"));
	policy_diag_format(&diags.items[2], buf, sizeof(buf));
	assert_non_null(strstr(buf, "dir-errors/b.yml:7:14: condition: unknown selection "
			       "'selction' (did you mean 'selection'?)"));
	policy_diags_clear(&diags);
}

static void test_duplicate_ids_across_files(void **state)
{
	struct policy_diags diags = {};
	struct policy *p = NULL;
	char buf[1024], want[2048];

	assert_int_equal(policy_load(fixture("dir-dup"), &p, &diags), -EINVAL);
	assert_int_equal(diags.count, 1);
	snprintf(want, sizeof(want), "%s/b.yml:1:5: duplicate id 'fixture.dup' (first defined "
		 "at %s/a.yml:1)", fixture("dir-dup"), fixture("dir-dup"));
	assert_string_equal(policy_diag_format(&diags.items[0], buf, sizeof(buf)), want);
	policy_diags_clear(&diags);
}

static void test_diags_may_be_null(void **state)
{
	struct policy *p = NULL;

	assert_int_equal(load_yaml("id: [\n", &p, NULL), -EINVAL);
	assert_null(p);
}

/* ------------------------------------------------------------ YAML errors */

static void test_yaml_syntax_errors(void **state)
{
	expect_errors("id: x\ntitle: [unclosed\nlevel: high\n",
		      "3:6: YAML syntax error: did not find expected ',' or ']' "
		      "(while parsing a flow sequence at line 2, column 8)");
	expect_errors("id: x\ntitle: a\n  bad: indent\n",
		      "3:6: YAML syntax error: mapping values are not allowed in this context");
	expect_errors("id: x\n\ttitle: y\n",
		      "2:1: YAML syntax error: found a tab character that violates indentation "
		      "(while scanning a plain scalar at line 1, column 5)");
	expect_errors("id: *nope\n", "1:5: YAML syntax error: found undefined alias");
	expect_errors("id: x\ntitle: \"a\xff\"\n",
		      "2:10: YAML: invalid leading UTF-8 octet (byte 0xff)");
}

static void test_rules_before_a_syntax_error_still_checked(void **state)
{
	expect_errors(
		RULE_HEAD("t.first")
		"levle: high\n"
		"detection: {s: {Image: a}, condition: s}\n"
		"---\n"
		"id: [\n",
		"5:1: unknown key 'levle' (did you mean 'level'?)",
		"9:1: YAML syntax error: did not find expected node content "
		"(while parsing a flow node at line 9, column 1)");
}

static void test_document_not_a_map(void **state)
{
	expect_errors("- id: x\n", "1:1: expected a map (one rule per YAML document), got a sequence");
	expect_errors("just a string\n",
		      "1:1: expected a map (one rule per YAML document), got a string");
}

/* ------------------------------------------------------------ key errors */

static void test_wrong_types(void **state)
{
	expect_errors(
		"id: t.types\n"
		"title: [a, b]\n"
		"description: {x: y}\n"
		"level: [high]\n"
		"logsource: process_creation\n"
		"detection: [selection]\n",
		"2:8: expected a string for 'title', got a sequence",
		"3:14: expected a string for 'description', got a map",
		"4:8: expected a string for 'level', got a sequence",
		"5:12: expected a map for 'logsource', got a string",
		"6:12: expected a map for 'detection', got a sequence");
	expect_errors(
		"id:\n"
		"title: ~\n"
		"logsource: {category: file_access}\n"
		"kind: auto\n"
		"threshold: {calls: many, window: 2 parsecs}\n"
		"detection: {s: {TargetFilename: a}, condition: s}\n",
		"1:4: expected a string for 'id', got null",
		"2:8: expected a string for 'title', got null",
		"5:20: expected a whole number from 1 to 1000000 for 'calls', got 'many'",
		"5:34: expected a duration from 1ms to 1h like '2s' or '500ms' for 'window', "
		"got '2 parsecs'");
}

static void test_threshold_limits(void **state)
{
	expect_errors(
		"id: t.thr\ntitle: t\nlogsource: {category: file_access}\nkind: auto\n"
		"threshold:\n"
		"  calls: 0\n"
		"  window: 0ms\n"
		"  burst: 3\n"
		"detection: {s: {TargetFilename: a}, condition: s}\n",
		"6:10: expected a whole number from 1 to 1000000 for 'calls', got '0'",
		"7:11: expected a duration from 1ms to 1h like '2s' or '500ms' for 'window', got '0ms'",
		"8:3: unknown key 'burst' in 'threshold'");
	expect_errors(
		"id: t.thr\ntitle: t\nlogsource: {category: file_access}\nkind: auto\n"
		"threshold: {calls: 1000001, window: 2h}\n"
		"detection: {s: {TargetFilename: a}, condition: s}\n",
		"5:20: expected a whole number from 1 to 1000000 for 'calls', got '1000001'",
		"5:37: expected a duration from 1ms to 1h like '2s' or '500ms' for 'window', got '2h'");
}

static void test_unknown_keys(void **state)
{
	expect_errors(
		RULE_HEAD("t.unknown")
		"levle: high\n"
		"frobnicate: yes\n"
		"detection: {s: {Image: a}, condition: s}\n",
		"5:1: unknown key 'levle' (did you mean 'level'?)",
		"6:1: unknown key 'frobnicate'");
	expect_errors(
		"id: t.unknown\ntitle: t\n"
		"logsource:\n"
		"  categroy: process_creation\n"
		"detection: {s: {Image: a}, condition: s}\n",
		"4:3: unknown key 'categroy' in 'logsource' (did you mean 'category'?)");
	expect_errors(
		"id: t.nosource\ntitle: t\n"
		"logsource:\n"
		"  definition: nothing\n"
		"detection: {s: {Image: a}, condition: s}\n",
		"4:3: 'logsource' needs a 'category' (process_creation, file_access or "
		"screen_capture), 'service: auditd' or a 'product'");
}

static void test_missing_required_keys(void **state)
{
	expect_errors("description: nothing else\n",
		      "1:1: missing required key 'id'",
		      "1:1: missing required key 'title'",
		      "1:1: missing required key 'logsource'",
		      "1:1: missing required key 'detection'");
	expect_errors(
		RULE_HEAD("t.nocond")
		"detection:\n"
		"  selection: {Image: a}\n",
		"6:3: missing required key 'condition' in 'detection'");
	expect_errors(
		RULE_HEAD("t.nosel")
		"detection:\n"
		"  condition: selection\n",
		"6:3: 'detection' has no selections, only a condition");
}

static void test_bad_values(void **state)
{
	expect_errors(
		"id: 'has space'\n"
		"title: t\n"
		"level: hgih\n"
		"action: block\n"
		"kind: movie\n"
		"logsource: {category: process_creaton, product: linx}\n"
		"detection: {s: {Image: a}, condition: s}\n",
		"1:5: invalid id 'has space': use only letters, digits, '.', '_' and '-'",
		"3:8: unknown level 'hgih' (did you mean 'high'?); expected informational, low, "
		"medium, high or critical",
		"4:9: unknown action 'block'; expected alert or kill",
		"5:7: unknown kind 'movie'; expected recording, screenshot or auto",
		"6:23: unknown category 'process_creaton' (did you mean 'process_creation'?); "
		"expected process_creation, file_access or screen_capture",
		"6:49: unknown product 'linx' (did you mean 'linux'?)");
}

static void test_kind_and_threshold_rules(void **state)
{
	struct policy *p;

	/* An exec signature may leave the kind to the calls the process makes. */
	p = load_ok(
		RULE_HEAD("t.kind")
		"kind: auto\n"
		"threshold: {calls: 3, window: 1s}\n"
		"detection: {s: {Image: a}, condition: s}\n");
	assert_int_equal(policy_rule_at(p, 0)->kind, POLICY_KIND_AUTO);
	assert_int_equal(policy_rule_at(p, 0)->threshold_calls, 3);
	policy_free(p);
	expect_errors(
		"id: t.thr\ntitle: t\nlogsource: {category: screen_capture}\n"
		"kind: recording\n"
		"threshold: {calls: 3}\n"
		"detection: {s: {Api: XGetImage}, condition: s}\n",
		"5:12: 'threshold' is only used by rules of kind 'auto' (this one is 'recording')");
}

static void test_duplicate_keys_and_ids(void **state)
{
	char want[1024];

	expect_errors(
		RULE_HEAD("t.dupkey")
		"level: low\n"
		"level: high\n"
		"detection: {s: {Image: a}, condition: s}\n",
		"6:1: duplicate key 'level' (first at line 5)");
	snprintf(want, sizeof(want), "7:5: duplicate id 't.same' (first defined at %s/t.yml:1)",
		 scratch_dir);
	expect_errors(
		RULE_HEAD("t.same")
		"detection: {s: {Image: a}, condition: s}\n"
		"---\n"
		RULE_HEAD("t.same")
		"detection: {s: {Image: b}, condition: s}\n",
		want);
}

static void test_string_limits(void **state)
{
	char yaml[8192], id[200];

	memset(id, 'a', 129);
	id[129] = '\0';
	snprintf(yaml, sizeof(yaml), RULE_HEAD("%s") "detection: {s: {Image: a}, condition: s}\n", id);
	expect_errors(yaml, "1:5: 'id' must be 1 to 128 characters");

	snprintf(yaml, sizeof(yaml), "id: t.nul\ntitle: \"a\\0b\"\nlogsource: {category: file_access}\n"
		 "detection: {s: {TargetFilename: a}, condition: s}\n");
	expect_errors(yaml, "2:8: 'title' contains a NUL byte");

	memset(yaml, 0, sizeof(yaml));
	snprintf(yaml, sizeof(yaml), "id: t.long\ntitle: ");
	memset(yaml + strlen(yaml), 'x', 4097);
	strncat(yaml, "\nlogsource: {category: file_access}\n"
		"detection: {s: {TargetFilename: a}, condition: s}\n", sizeof(yaml) - strlen(yaml) - 1);
	expect_errors(yaml, "2:8: 'title' is longer than 4096 bytes");
}

/* ------------------------------------------------------ detection errors */

static void test_unknown_modifiers(void **state)
{
	expect_errors(
		RULE_HEAD("t.mod")
		"detection:\n"
		"  selection:\n"
		"    Image|endwith: /ffmpeg\n"
		"    Comm|xyzzy: a\n"
		"    'User|contains|startwith': a\n"
		"  condition: selection\n",
		"7:11: unknown modifier 'endwith' (did you mean 'endswith'?)",
		"8:10: unknown modifier 'xyzzy'",
		"9:20: unknown modifier 'startwith' (did you mean 'startswith'?)");
}

static void test_modifier_combinations(void **state)
{
	expect_errors(
		RULE_HEAD("t.combo")
		"detection:\n"
		"  selection:\n"
		"    Image|contains|endswith: a\n"
		"    Image|all|all: [a]\n"
		"    Image|re|cased: a\n"
		"    Uid|gt|cased: 1\n"
		"    Image|i: a\n"
		"    Image|: a\n"
		"    'Bad Field': a\n"
		"    Image|contains: null\n"
		"    Uid|lt: [1, abc]\n"
		"    Image: []\n"
		"    Comm|contains: {a: b}\n"
		"  condition: selection\n",
		"7:20: modifiers 'contains' and 'endswith' cannot be combined",
		"8:15: modifier 'all' given twice",
		"9:5: modifier 'cased' does not apply to 're' (regular expressions are "
		"case-sensitive unless '|i'; numbers have no case)",
		"10:5: modifier 'cased' does not apply to 'gt' (regular expressions are "
		"case-sensitive unless '|i'; numbers have no case)",
		"11:5: modifiers 'i', 'm' and 's' only apply to 're'",
		"12:11: empty modifier in 'Image|'",
		"13:5: invalid field name 'Bad Field': use 1 to 64 letters, digits, '.', '_' or '-'",
		"14:21: null cannot be used with modifier 'contains' in 'Image|contains'",
		"15:17: expected an integer for 'Uid|lt', got 'abc'",
		"16:12: empty list for 'Image'",
		"17:20: expected a string, number, null or a list of them for 'Comm|contains', "
		"got a map");
}

static void test_bad_regex(void **state)
{
	expect_errors(
		RULE_HEAD("t.re")
		"detection:\n"
		"  selection:\n"
		"    CommandLine|re: '-f (x11grab'\n"
		"    Image|re: ['^ok$', 'a{2,1}']\n"
		"  condition: selection\n",
		"7:21: bad regular expression '-f (x11grab': Unmatched ( or \\(",
		"8:24: bad regular expression 'a{2,1}': Invalid content of \\{\\}");
}

static void test_selection_shapes(void **state)
{
	expect_errors(
		RULE_HEAD("t.shape")
		"detection:\n"
		"  keywords:\n"
		"    - x11grab\n"
		"  scalar: x\n"
		"  empty_list: []\n"
		"  empty_map: {}\n"
		"  and: {Image: a}\n"
		"  'bad name': {Image: a}\n"
		"  condition: keywords\n",
		"8:11: expected a map or a list of maps for selection 'scalar', got a string",
		"9:15: empty selection 'empty_list'",
		"10:14: empty map in selection 'empty_map'",
		"11:3: 'and' is a condition keyword and cannot name a selection",
		"12:3: invalid selection name 'bad name': use 1 to 64 letters, digits, '.', '_' or '-'");
	expect_errors(
		RULE_HEAD("t.dupsel")
		"detection:\n"
		"  selection: {Image: a}\n"
		"  selection: {Image: b}\n"
		"  other:\n"
		"    Image: a\n"
		"    Image: b\n"
		"  condition: selection\n"
		"  condition: other\n",
		"7:3: duplicate selection 'selection' (first at line 6)",
		"10:5: duplicate key 'Image' (first at line 9)",
		"12:3: duplicate key 'condition' (first at line 11)");
}

static void test_value_budget(void **state)
{
	/*
	 * Aliases make a short file expand to many values: 60 x 100 > 4096.
	 * The error lands on the value that broke the budget: the anchored
	 * list's 97th element, where the 41st alias led.
	 */
	char yaml[16384];
	size_t n;

	n = (size_t)snprintf(yaml, sizeof(yaml), RULE_HEAD("t.bomb") "detection:\n"
			     "  a:\n    Image: &v [");
	for (int i = 0; i < 100; i++)
		n += (size_t)snprintf(yaml + n, sizeof(yaml) - n, "%sv%d", i ? ", " : "", i);
	n += (size_t)snprintf(yaml + n, sizeof(yaml) - n, "]\n  b:\n");
	for (int i = 0; i < 60; i++)
		n += (size_t)snprintf(yaml + n, sizeof(yaml) - n, "    - Image: *v\n");
	snprintf(yaml + n, sizeof(yaml) - n, "  condition: a or b\n");
	expect_errors(yaml, "7:486: more than 4096 values in one rule");
}

static void test_too_many_map_entries(void **state)
{
	char yaml[8192];
	size_t n = (size_t)snprintf(yaml, sizeof(yaml), RULE_HEAD("t.wide") "detection:\n  s:\n");

	for (int i = 0; i < 65; i++)
		n += (size_t)snprintf(yaml + n, sizeof(yaml) - n, "    F%d: a\n", i);
	snprintf(yaml + n, sizeof(yaml) - n, "  condition: s\n");
	expect_errors(yaml, "7:5: more than 64 entries in one map of selection 's'");
}

static void test_too_many_selections(void **state)
{
	char yaml[8192];
	size_t n = (size_t)snprintf(yaml, sizeof(yaml), RULE_HEAD("t.sels") "detection:\n");

	for (int i = 0; i < 65; i++)
		n += (size_t)snprintf(yaml + n, sizeof(yaml) - n, "  s%d: {Image: a}\n", i);
	snprintf(yaml + n, sizeof(yaml) - n, "  condition: 1 of them\n");
	expect_errors(yaml, "70:3: more than 64 selections in one rule");
}

/* ------------------------------------------------------- condition errors */

static void test_condition_errors(void **state)
{
	static const struct {
		const char *condition;
		const char *error;
	} cases[] = {
		{ "''", "8:14: condition: empty expression" },
		{ "selction", "8:14: condition: unknown selection 'selction' (did you mean 'selection'?)" },
		{ "(selection", "8:24: condition: expected ')', got the end of the condition" },
		{ "'(selection or (filter)'", "8:37: condition: expected ')', got the end of the condition" },
		{ "selection)", "8:23: condition: expected 'and', 'or' or the end of the condition, got ')'" },
		{ "selection filter",
		  "8:24: condition: expected 'and', 'or' or the end of the condition, got 'filter'" },
		{ "selection and",
		  "8:27: condition: expected a selection name, '(', 'not', '1 of' or 'all of', "
		  "got the end of the condition" },
		{ "selection and or filter",
		  "8:28: condition: expected a selection name, '(', 'not', '1 of' or 'all of', got 'or'" },
		{ "1 of sel_*", "8:14: condition: '1 of sel_*' matches no selection" },
		{ "all of x*", "8:14: condition: 'all of x*' matches no selection" },
		{ "1 selection", "8:16: condition: expected 'of' after '1', got 'selection'" },
		{ "2 of them", "8:14: condition: only '1 of' and 'all of' are supported" },
		{ "select*", "8:14: condition: 'select*' is a pattern: write '1 of select*' or 'all of select*'" },
		{ "them", "8:14: condition: 'them' needs '1 of' or 'all of' before it" },
		{ "1 of (selection)", "8:19: condition: expected a selection name pattern or 'them', got '('" },
		{ "selection | count() > 5", "8:24: condition: aggregations ('| count() ...') are not supported" },
		{ "selection and not filter @",
		  "8:39: condition: expected 'and', 'or' or the end of the condition, got '@'" },
		{ "not not not",
		  "8:25: condition: expected a selection name, '(', 'not', '1 of' or 'all of', "
		  "got the end of the condition" },
	};
	char yaml[1024], want[512];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(yaml, sizeof(yaml),
			 RULE_HEAD("t.cond")
			 "detection:\n"
			 "  selection: {Image: a}\n"
			 "  filter: {Image: b}\n"
			 "  condition: %s\n", cases[i].condition);
		snprintf(want, sizeof(want), "%s", cases[i].error);
		expect_errors(yaml, want);
	}
}

static void test_condition_nesting_limit(void **state)
{
	char yaml[1024], cond[200];
	int n = 0;

	for (int i = 0; i < 33; i++)
		cond[n++] = '(';
	n += snprintf(cond + n, sizeof(cond) - (size_t)n, "s");
	for (int i = 0; i < 33; i++)
		cond[n++] = ')';
	cond[n] = '\0';
	snprintf(yaml, sizeof(yaml), RULE_HEAD("t.deep") "detection:\n  s: {Image: a}\n"
		 "  condition: %s\n", cond);
	expect_errors(yaml, "7:46: condition: nested more than 32 deep");
}

static void test_condition_multiline_position(void **state)
{
	/* A folded condition: the position falls back to the scalar's start. */
	expect_errors(
		RULE_HEAD("t.fold")
		"detection:\n"
		"  selection: {Image: a}\n"
		"  condition: >\n"
		"    selection and\n"
		"    nothing\n",
		"7:14: condition: unknown selection 'nothing'");
}

static void test_unused_selection(void **state)
{
	expect_errors(
		RULE_HEAD("t.unused")
		"detection:\n"
		"  selection: {Image: a}\n"
		"  filter: {Image: b}\n"
		"  extra: {Image: c}\n"
		"  condition: selection\n",
		"7:3: selection 'filter' is not used by the condition",
		"8:3: selection 'extra' is not used by the condition");
}

/* ------------------------------------------------------------ set limits */

static void test_file_too_large(void **state)
{
	size_t len = POLICY_MAX_FILE_SIZE + 1;
	char *big = malloc(len);
	struct policy_diags diags = {};
	struct policy *p = NULL;
	const char *path;

	assert_non_null(big);
	memset(big, '#', len);
	for (size_t i = 79; i < len; i += 80)
		big[i] = '\n';
	path = scratch_write("big.yml", big, len);
	assert_int_equal(policy_load(path, &p, &diags), -EINVAL);
	assert_int_equal(diags.count, 1);
	assert_int_equal(diags.items[0].line, 0);
	assert_string_equal(diags.items[0].message, "file is larger than the limit of 1048576 bytes");
	policy_diags_clear(&diags);

	/* Exactly at the limit is fine. */
	path = scratch_write("big.yml", big, len - 1);
	assert_int_equal(policy_load(path, &p, &diags), 0);
	assert_int_equal(policy_rule_count(p), 0);
	policy_free(p);
	scratch_remove("big.yml");
	free(big);
}

static void test_too_many_rules(void **state)
{
	size_t cap = 200 * (POLICY_MAX_RULES + 2), n = 0;
	char *yaml = malloc(cap), want[128];

	assert_non_null(yaml);
	for (int i = 0; i <= POLICY_MAX_RULES; i++)
		n += (size_t)snprintf(yaml + n, cap - n,
				      "---\nid: r%d\ntitle: t\nlogsource: {category: file_access}\n"
				      "detection: {s: {TargetFilename: a}, condition: s}\n", i);
	/* Each rule is 5 lines; the extra one starts at line 5 * 4096 + 2. */
	snprintf(want, sizeof(want), "%d:1: too many rules: a policy holds at most 4096",
		 5 * POLICY_MAX_RULES + 2);
	expect_errors(yaml, want);
	free(yaml);
}

static void test_too_many_files(void **state)
{
	struct policy_diags diags = {};
	struct policy *p = NULL;
	char name[32];

	for (int i = 0; i <= POLICY_MAX_FILES; i++) {
		snprintf(name, sizeof(name), "f%04d.yml", i);
		scratch_write(name, "", 0);
	}
	assert_int_equal(policy_load(scratch_dir, &p, &diags), -EINVAL);
	assert_int_equal(diags.count, 1);
	assert_string_equal(diags.items[0].message, "more than 1024 policy files in the directory");
	policy_diags_clear(&diags);
	for (int i = 0; i <= POLICY_MAX_FILES; i++) {
		snprintf(name, sizeof(name), "f%04d.yml", i);
		scratch_remove(name);
	}
}

static void test_io_errors(void **state)
{
	struct policy_diags diags = {};
	struct policy *p = NULL;
	char path[512];

	snprintf(path, sizeof(path), "%s/missing.yml", scratch_dir);
	assert_int_equal(policy_load(path, &p, &diags), -ENOENT);
	assert_int_equal(diags.count, 1);
	assert_string_equal(diags.items[0].message, "cannot read: No such file or directory");
	policy_diags_clear(&diags);

	assert_int_equal(policy_load("/dev/null", &p, &diags), -EINVAL);
	assert_string_equal(diags.items[0].message, "not a regular file");
	policy_diags_clear(&diags);
}

static void test_diag_format(void **state)
{
	struct policy_diag d = { .file = "f.yml", .line = 3, .column = 7, .message = "oops" };
	char buf[64];

	assert_string_equal(policy_diag_format(&d, buf, sizeof(buf)), "f.yml:3:7: oops");
	d.column = 0;
	assert_string_equal(policy_diag_format(&d, buf, sizeof(buf)), "f.yml:3: oops");
	d.line = 0;
	assert_string_equal(policy_diag_format(&d, buf, sizeof(buf)), "f.yml: oops");
	assert_string_equal(policy_diag_format(&d, buf, 4), "f.y");
}

static void test_many_errors_are_capped(void **state)
{
	size_t cap = 64 * 1024, n = 0;
	char *yaml = malloc(cap);
	struct policy_diags diags = {};
	struct policy *p = NULL;

	assert_non_null(yaml);
	n += (size_t)snprintf(yaml + n, cap - n, RULE_HEAD("t.many") "detection: {s: {Image: a}, condition: s}\n");
	for (int i = 0; i < 600; i++)
		n += (size_t)snprintf(yaml + n, cap - n, "bad%d: x\n", i);
	assert_int_equal(load_yaml(yaml, &p, &diags), -EINVAL);
	assert_int_equal(diags.count, 501);
	assert_string_equal(diags.items[500].message, "too many errors; giving up on reporting the rest");
	policy_diags_clear(&diags);
	free(yaml);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_minimal_rule_defaults),
		cmocka_unit_test(test_every_key),
		cmocka_unit_test(test_levels_kinds_actions),
		cmocka_unit_test(test_every_modifier),
		cmocka_unit_test(test_multi_document),
		cmocka_unit_test(test_empty_file),
		cmocka_unit_test(test_directory_in_name_order),
		cmocka_unit_test(test_load_paths_as_one_set),
		cmocka_unit_test(test_errors_in_several_files),
		cmocka_unit_test(test_duplicate_ids_across_files),
		cmocka_unit_test(test_diags_may_be_null),
		cmocka_unit_test(test_yaml_syntax_errors),
		cmocka_unit_test(test_rules_before_a_syntax_error_still_checked),
		cmocka_unit_test(test_document_not_a_map),
		cmocka_unit_test(test_wrong_types),
		cmocka_unit_test(test_threshold_limits),
		cmocka_unit_test(test_unknown_keys),
		cmocka_unit_test(test_missing_required_keys),
		cmocka_unit_test(test_bad_values),
		cmocka_unit_test(test_kind_and_threshold_rules),
		cmocka_unit_test(test_duplicate_keys_and_ids),
		cmocka_unit_test(test_string_limits),
		cmocka_unit_test(test_unknown_modifiers),
		cmocka_unit_test(test_modifier_combinations),
		cmocka_unit_test(test_bad_regex),
		cmocka_unit_test(test_selection_shapes),
		cmocka_unit_test(test_value_budget),
		cmocka_unit_test(test_too_many_map_entries),
		cmocka_unit_test(test_too_many_selections),
		cmocka_unit_test(test_condition_errors),
		cmocka_unit_test(test_condition_nesting_limit),
		cmocka_unit_test(test_condition_multiline_position),
		cmocka_unit_test(test_unused_selection),
		cmocka_unit_test(test_file_too_large),
		cmocka_unit_test(test_too_many_rules),
		cmocka_unit_test(test_too_many_files),
		cmocka_unit_test(test_io_errors),
		cmocka_unit_test(test_diag_format),
		cmocka_unit_test(test_many_errors_are_capped),
	};

	return cmocka_run_group_tests_name("policy_parse", tests, scratch_setup, scratch_teardown);
}
