// SPDX-License-Identifier: GPL-2.0-only
/*
 * Matching: case rules and `cased`, wildcards and escapes, null and absent
 * fields, lists and `|all`, maps and lists of maps, regexes, numbers, the
 * condition operators and their precedence, best-rule choice, events and
 * their JSON form, the device prefix table.
 */
#include "test_policy_util.h"

#define HEAD(cat) \
	"id: t.m\n" \
	"title: t\n" \
	"logsource: {category: " cat "}\n" \
	"detection:\n"

/* Does a one-rule process_creation policy match the event? */
static bool matches(const struct policy *p, const struct policy_event *ev)
{
	return policy_match(p, ev) != NULL;
}

/* A policy whose single selection is @sel (YAML lines under "  s:"). */
static struct policy *one_selection(const char *sel)
{
	char yaml[2048];

	snprintf(yaml, sizeof(yaml), HEAD("process_creation") "  s:\n%s  condition: s\n", sel);
	return load_ok(yaml);
}

static bool field_matches(const char *sel, const char *field, const char *value)
{
	struct policy *p = one_selection(sel);
	struct policy_event ev;
	bool r;

	policy_event_init(&ev, POLICY_CAT_PROCESS_CREATION);
	if (value)
		assert_int_equal(policy_event_set(&ev, field, value), 0);
	r = matches(p, &ev);
	policy_free(p);
	return r;
}

/* ------------------------------------------------------------ comparisons */

static void test_plain_is_case_insensitive(void **state)
{
	assert_true(field_matches("    Image: /usr/bin/ffmpeg\n", "Image", "/usr/bin/ffmpeg"));
	assert_true(field_matches("    Image: /usr/bin/ffmpeg\n", "Image", "/USR/bin/FFmpeg"));
	assert_false(field_matches("    Image: /usr/bin/ffmpeg\n", "Image", "/usr/bin/ffmpeg2"));
	assert_false(field_matches("    Image: /usr/bin/ffmpeg\n", "Image", "/usr/bin/ffmpe"));
	assert_true(field_matches("    Image|cased: /usr/bin/FFmpeg\n", "Image", "/usr/bin/FFmpeg"));
	assert_false(field_matches("    Image|cased: /usr/bin/FFmpeg\n", "Image", "/usr/bin/ffmpeg"));
}

static void test_contains_startswith_endswith(void **state)
{
	assert_true(field_matches("    C|contains: X11GRAB\n", "C", "ffmpeg -f x11grab -i :0"));
	assert_false(field_matches("    C|contains|cased: X11GRAB\n", "C", "ffmpeg -f x11grab"));
	assert_true(field_matches("    C|contains|cased: x11grab\n", "C", "ffmpeg -f x11grab"));
	assert_true(field_matches("    C|startswith: FFMPEG \n", "C", "ffmpeg -i a"));
	assert_false(field_matches("    C|startswith: ffmpeg\n", "C", "/usr/bin/ffmpeg"));
	assert_false(field_matches("    C|startswith|cased: FF\n", "C", "ffmpeg"));
	assert_true(field_matches("    Image|endswith: /OBS\n", "Image", "/usr/bin/obs"));
	assert_false(field_matches("    Image|endswith: /obs\n", "Image", "/usr/bin/obsidian"));
	assert_false(field_matches("    Image|endswith: /usr/bin/obs\n", "Image", "obs"));
	assert_false(field_matches("    Image|endswith|cased: /OBS\n", "Image", "/usr/bin/obs"));
	/* No wildcards in these: '*' is just a character. */
	assert_true(field_matches("    C|contains: 'a*b'\n", "C", "xa*by"));
	assert_false(field_matches("    C|contains: 'a*b'\n", "C", "xaZZby"));
	/* An empty needle matches any present value. */
	assert_true(field_matches("    C|contains: ''\n", "C", "anything"));
}

static void test_wildcards(void **state)
{
	assert_true(field_matches("    Image: '/usr/*/ffmpeg'\n", "Image", "/usr/local/bin/FFMPEG"));
	assert_true(field_matches("    Image: '*ffmpeg*'\n", "Image", "/opt/ffmpeg-6/bin/x"));
	assert_false(field_matches("    Image: '/usr/*/ffmpeg'\n", "Image", "/opt/bin/ffmpeg"));
	assert_true(field_matches("    Image: '/dev/fb?'\n", "Image", "/dev/fb0"));
	assert_false(field_matches("    Image: '/dev/fb?'\n", "Image", "/dev/fb10"));
	assert_false(field_matches("    Image|cased: '*FFMPEG'\n", "Image", "/usr/bin/ffmpeg"));
	/* Escaped wildcards are literal. */
	assert_true(field_matches("    C: 'a\\*b'\n", "C", "a*b"));
	assert_false(field_matches("    C: 'a\\*b'\n", "C", "axb"));
	assert_true(field_matches("    C: 'what\\?'\n", "C", "what?"));
	assert_false(field_matches("    C: 'what\\?'\n", "C", "whatX"));
	assert_true(field_matches("    C: 'x\\*y*'\n", "C", "x*yzzz"));
	/*
	 * A backslash before anything else is itself; "\\\\" is one backslash,
	 * so a path ending in a backslash and a wildcard is written "\\\\*".
	 */
	assert_true(field_matches("    C: 'C:\\Windows\\*'\n", "C", "C:\\Windows*"));
	assert_false(field_matches("    C: 'C:\\Windows\\*'\n", "C", "C:\\Windows\\x"));
	assert_true(field_matches("    C: 'C:\\Windows\\\\*'\n", "C", "C:\\Windows\\x"));
	assert_true(field_matches("    C: 'a\\\\*'\n", "C", "a\\zzz"));
	/* Brackets are not fnmatch classes here. */
	assert_true(field_matches("    C: '[ab]*'\n", "C", "[ab]cd"));
	assert_false(field_matches("    C: '[ab]*'\n", "C", "acd"));
	assert_true(field_matches("    C: '[ab]'\n", "C", "[AB]"));
}

static void test_null_and_absent(void **state)
{
	assert_true(field_matches("    ParentImage: null\n", "ParentImage", NULL));
	assert_true(field_matches("    ParentImage: null\n", "ParentImage", ""));
	assert_false(field_matches("    ParentImage: null\n", "ParentImage", "/sbin/init"));
	assert_true(field_matches("    ParentImage: ~\n", "ParentImage", ""));
	assert_true(field_matches("    ParentImage:\n", "ParentImage", NULL));
	/* A quoted 'null' is the string. */
	assert_true(field_matches("    X: 'null'\n", "X", "NULL"));
	assert_false(field_matches("    X: 'null'\n", "X", NULL));
	/* Absent fields match nothing but null, whatever the comparison. */
	assert_false(field_matches("    X: ''\n", "X", NULL));
	assert_true(field_matches("    X: ''\n", "X", ""));
	assert_false(field_matches("    X|re: '^$'\n", "X", NULL));
	assert_false(field_matches("    X|contains: ''\n", "X", NULL));
	assert_false(field_matches("    X: '*'\n", "X", NULL));
	assert_true(field_matches("    X: '*'\n", "X", ""));
	/* An unknown field name is no error; it just is never there. */
	assert_false(field_matches("    NoSuchField: x\n", "Image", "x"));
	/* null in a list: absent, or the other value. */
	assert_true(field_matches("    X: [null, a]\n", "X", NULL));
	assert_true(field_matches("    X: [null, a]\n", "X", "A"));
	assert_false(field_matches("    X: [null, a]\n", "X", "b"));
}

static void test_lists_and_all(void **state)
{
	const char *any = "    C|contains: [x11grab, kmsgrab]\n";
	const char *all = "    C|contains|all: [ffmpeg, x11grab]\n";

	assert_true(field_matches(any, "C", "ffmpeg -f kmsgrab"));
	assert_true(field_matches(any, "C", "ffmpeg -f x11grab"));
	assert_false(field_matches(any, "C", "ffmpeg -f v4l2"));
	assert_true(field_matches(all, "C", "ffmpeg -f x11grab"));
	assert_false(field_matches(all, "C", "avconv -f x11grab"));
	assert_false(field_matches(all, "C", "ffmpeg -f v4l2"));
	assert_false(field_matches(all, "C", NULL));
	assert_true(field_matches("    C|all: ['*a*', '*b*']\n", "C", "xbxa"));
	/* Numbers are strings unless a numeric modifier says otherwise. */
	assert_true(field_matches("    Uid: [0, 1000]\n", "Uid", "1000"));
	assert_false(field_matches("    Uid: 1000\n", "Uid", "01000"));
	assert_true(field_matches("    Success: true\n", "Success", "true"));
}

static void test_maps_and_list_of_maps(void **state)
{
	struct policy *p = one_selection(
		"    - Image|endswith: /ffmpeg\n"
		"      CommandLine|contains: x11grab\n"
		"    - Image|endswith: /obs\n");
	struct policy_event ev;

	make_event(&ev, POLICY_CAT_PROCESS_CREATION, "Image", "/usr/bin/ffmpeg",
		   "CommandLine", "ffmpeg -f x11grab", NULL);
	assert_true(matches(p, &ev));
	make_event(&ev, POLICY_CAT_PROCESS_CREATION, "Image", "/usr/bin/ffmpeg",
		   "CommandLine", "ffmpeg -i a.mp4", NULL);
	assert_false(matches(p, &ev));
	make_event(&ev, POLICY_CAT_PROCESS_CREATION, "Image", "/usr/bin/obs", NULL);
	assert_true(matches(p, &ev));
	make_event(&ev, POLICY_CAT_PROCESS_CREATION, "CommandLine", "x11grab", NULL);
	assert_false(matches(p, &ev));
	policy_free(p);
}

static void test_regex(void **state)
{
	const char *grab = "    C|re: '(^| )-f +(x11grab|kmsgrab|fbdev)( |$)'\n";

	assert_true(field_matches(grab, "C", "ffmpeg -f x11grab -i :0"));
	assert_true(field_matches(grab, "C", "ffmpeg -y -f  kmsgrab"));
	assert_false(field_matches(grab, "C", "ffmpeg -f x11grabber"));
	assert_false(field_matches(grab, "C", "ffmpeg -f X11GRAB"));	/* case-sensitive */
	assert_false(field_matches(grab, "C", "ffmpeg -i x11grab.mkv"));
	assert_true(field_matches("    C|re|i: '^FFMPEG'\n", "C", "ffmpeg -f x11grab"));
	/* Unanchored: a match anywhere counts. */
	assert_true(field_matches("    C|re: 'grab'\n", "C", "x11grab"));
}

static void test_numeric(void **state)
{
	assert_true(field_matches("    Uid|lt: 1000\n", "Uid", "999"));
	assert_false(field_matches("    Uid|lt: 1000\n", "Uid", "1000"));
	assert_true(field_matches("    Uid|lte: 1000\n", "Uid", "1000"));
	assert_true(field_matches("    Uid|gt: 0\n", "Uid", "1"));
	assert_false(field_matches("    Uid|gt: 0\n", "Uid", "0"));
	assert_true(field_matches("    Uid|gte: 0\n", "Uid", "0"));
	assert_true(field_matches("    X|lt: -5\n", "X", "-6"));
	assert_true(field_matches("    Calls|gte: 5\n", "Calls", "12"));
	/* Compared as numbers, not strings. */
	assert_true(field_matches("    Calls|gte: 5\n", "Calls", "10"));
	/* A field that is not a whole number never matches. */
	assert_false(field_matches("    Uid|lt: 1000\n", "Uid", "abc"));
	assert_false(field_matches("    Uid|lt: 1000\n", "Uid", ""));
	assert_false(field_matches("    Uid|lt: 1000\n", "Uid", " 5"));
	assert_false(field_matches("    Uid|lt: 1000\n", "Uid", "5x"));
	assert_false(field_matches("    Uid|lt: 1000\n", "Uid", "99999999999999999999"));
	assert_false(field_matches("    Uid|lt: 1000\n", "Uid", NULL));
	/* Lists of bounds: any, or all of them. */
	assert_true(field_matches("    Uid|gt|all: [10, 20]\n", "Uid", "21"));
	assert_false(field_matches("    Uid|gt|all: [10, 20]\n", "Uid", "15"));
	assert_true(field_matches("    Uid|gt: [10, 20]\n", "Uid", "15"));
}

/* ------------------------------------------------------------- condition */

/*
 * Selections sel_a, sel_b, x_c, x_d test fields A..D for "y"; each case's
 * truth table over the 16 assignments is checked against a C expression.
 */
#define COND_FN(name, expr) \
	static bool name(bool a, bool b, bool c, bool d) \
	{ \
		(void)a; (void)b; (void)c; (void)d; \
		return (expr); \
	}

COND_FN(c_or_and, a || (b && c))
COND_FN(c_and_or, (a && b) || c)
COND_FN(c_not_and, !a && b)
COND_FN(c_not_paren, !(a && b))
COND_FN(c_not_or_not, !a || !b)
COND_FN(c_not_not, a)
COND_FN(c_and4, a && b && c && d)
COND_FN(c_or4, a || b || c || d)
COND_FN(c_mixed, a && (b || c) && !d)
COND_FN(c_two_groups, (a || b) && (c || d))
COND_FN(c_two_ands, (a && b) || (c && d))
COND_FN(c_one_sel_not, (a || b) && !d)
COND_FN(c_not_one, !(a || b))
COND_FN(c_not_all_and, !(a && b) && c)
COND_FN(c_one_or_all, a || b || (c && d))
COND_FN(c_parens, a && d)
COND_FN(c_never, false)

static const struct {
	const char *condition;
	bool (*expect)(bool a, bool b, bool c, bool d);
} cond_cases[] = {
	{ "sel_a or sel_b and x_c or x_d and not x_d", c_or_and },
	{ "sel_a and sel_b or x_c or x_d and not x_d", c_and_or },
	{ "not sel_a and sel_b or x_c and not x_c or x_d and not x_d", c_not_and },
	{ "not (sel_a and sel_b) or (x_c and not x_c and x_d)", c_not_paren },
	{ "not sel_a or not sel_b or (x_c and x_d and not x_d)", c_not_or_not },
	{ "not not sel_a or sel_b and not sel_b or x_c and not x_c or x_d and not x_d", c_not_not },
	{ "sel_a and sel_b and x_c and x_d", c_and4 },
	{ "sel_a or sel_b or x_c or x_d", c_or4 },
	{ "1 of them", c_or4 },
	{ "all of them", c_and4 },
	{ "sel_a and (sel_b or x_c) and not x_d", c_mixed },
	{ "(sel_a or sel_b) and (x_c or x_d)", c_two_groups },
	{ "sel_a and sel_b or x_c and x_d", c_two_ands },
	{ "all of sel_* or all of x_*", c_two_ands },
	{ "1 of sel_* and not x_d or x_c and not x_c", c_one_sel_not },
	{ "not 1 of sel_* or x_c and x_d and not x_d", c_not_one },
	{ "not all of sel_* and x_c or x_d and not x_d", c_not_all_and },
	{ "1 of sel_? or all of x_*", c_one_or_all },
	{ "(((sel_a))) and ((x_d)) or sel_b and x_c and not x_c", c_parens },
	{ "sel_a and sel_a and not sel_a and 1 of them", c_never },
};

static void test_condition_semantics(void **state)
{
	char yaml[1024];

	for (size_t i = 0; i < sizeof(cond_cases) / sizeof(cond_cases[0]); i++) {
		const char *cond = cond_cases[i].condition;
		struct policy *p;

		snprintf(yaml, sizeof(yaml), HEAD("process_creation")
			 "  sel_a: {A: y}\n  sel_b: {B: y}\n  x_c: {C: y}\n  x_d: {D: y}\n"
			 "  condition: '%s'\n", cond);
		p = load_ok(yaml);
		for (unsigned bits = 0; bits < 16; bits++) {
			struct policy_event ev;
			bool a = bits & 1, b = bits & 2, c = bits & 4, d = bits & 8;

			make_event(&ev, POLICY_CAT_PROCESS_CREATION, "A", a ? "y" : "n",
				   "B", b ? "y" : "n", "C", c ? "y" : "n", "D", d ? "y" : "n", NULL);
			if (matches(p, &ev) != cond_cases[i].expect(a, b, c, d))
				fail_msg("'%s' with a=%d b=%d c=%d d=%d", cond, a, b, c, d);
		}
		policy_free(p);
	}
}

/* ------------------------------------------------------------- best rule */

static const char *const ranked_policy =
	"id: r.low\ntitle: low\nlevel: low\nlogsource: {category: process_creation}\n"
	"detection: {s: {Image|endswith: /ffmpeg}, condition: s}\n"
	"---\n"
	"id: r.high-a\ntitle: high a\nlevel: high\nlogsource: {category: process_creation}\n"
	"detection: {s: {CommandLine|contains: x11grab}, condition: s}\n"
	"---\n"
	"id: r.high-b\ntitle: high b\nlevel: high\nlogsource: {category: process_creation}\n"
	"detection: {s: {CommandLine|contains: '-f'}, condition: s}\n"
	"---\n"
	"id: r.medium\ntitle: medium\nlogsource: {category: process_creation}\n"
	"detection: {s: {Image|contains: ff}, condition: s}\n"
	"---\n"
	"id: r.api\ntitle: api\nlevel: critical\nlogsource: {category: screen_capture}\n"
	"detection: {s: {Image|endswith: /ffmpeg}, condition: s}\n";

static void test_best_rule(void **state)
{
	struct policy *p = load_ok(ranked_policy);
	const struct policy_rule *all[8];
	struct policy_event ev;

	/* Highest level wins; between the two highs, the first loaded. */
	make_event(&ev, POLICY_CAT_PROCESS_CREATION, "Image", "/usr/bin/ffmpeg",
		   "CommandLine", "ffmpeg -f x11grab", NULL);
	check_best(p, &ev, "r.high-a");
	assert_int_equal(policy_match_all(p, &ev, all, 8), 4);
	assert_string_equal(all[0]->id, "r.low");
	assert_string_equal(all[1]->id, "r.high-a");
	assert_string_equal(all[2]->id, "r.high-b");
	assert_string_equal(all[3]->id, "r.medium");
	/* Fewer slots than matches: the count is still the total. */
	assert_int_equal(policy_match_all(p, &ev, all, 2), 4);
	assert_int_equal(policy_match_all(p, &ev, NULL, 0), 4);

	make_event(&ev, POLICY_CAT_PROCESS_CREATION, "Image", "/usr/bin/ffmpeg",
		   "CommandLine", "ffmpeg -i a.mp4", NULL);
	check_best(p, &ev, "r.medium");

	/* Only the event's category is tried. */
	make_event(&ev, POLICY_CAT_FILE_ACCESS, "Image", "/usr/bin/ffmpeg", NULL);
	check_best(p, &ev, NULL);
	assert_int_equal(policy_match_all(p, &ev, all, 8), 0);
	make_event(&ev, POLICY_CAT_SCREEN_CAPTURE, "Image", "/usr/bin/ffmpeg", NULL);
	check_best(p, &ev, "r.api");

	/* Out-of-range categories and a NULL policy match nothing. */
	ev.category = POLICY_CAT__MAX;
	check_best(p, &ev, NULL);
	assert_null(policy_match(NULL, &ev));
	policy_free(p);
}

/* ---------------------------------------------------------------- events */

static void test_event_fields(void **state)
{
	struct policy_event ev;
	char names[POLICY_EVENT_MAX_FIELDS + 1][8];

	policy_event_init(&ev, POLICY_CAT_FILE_ACCESS);
	assert_null(policy_event_get(&ev, "Image"));
	assert_int_equal(policy_event_set(&ev, "Image", "/a"), 0);
	assert_int_equal(policy_event_set(&ev, "Image", "/b"), 0);
	assert_int_equal(ev.n_fields, 1);
	assert_string_equal(policy_event_get(&ev, "Image"), "/b");
	assert_null(policy_event_get(&ev, "image"));	/* names are exact */
	assert_int_equal(policy_event_set(&ev, "X", NULL), -EINVAL);
	for (int i = 1; i < POLICY_EVENT_MAX_FIELDS; i++) {
		snprintf(names[i], sizeof(names[i]), "F%d", i);
		assert_int_equal(policy_event_set(&ev, names[i], "v"), 0);
	}
	assert_int_equal(policy_event_set(&ev, "OneTooMany", "v"), -E2BIG);
	/* Replacing still works when full. */
	assert_int_equal(policy_event_set(&ev, "Image", "/c"), 0);
}

static void test_event_json(void **state)
{
	struct policy_event ev, back;
	char err[256];
	json_t *obj;

	make_event(&ev, POLICY_CAT_SCREEN_CAPTURE, "Api", "XShmGetImage", "Target", "root",
		   "Calls", "7", NULL);
	obj = policy_event_to_json(&ev);
	assert_non_null(obj);
	assert_string_equal(json_string_value(json_object_get(obj, "category")), "screen_capture");
	assert_int_equal(policy_event_from_json(obj, &back, err, sizeof(err)), 0);
	assert_int_equal(back.category, POLICY_CAT_SCREEN_CAPTURE);
	assert_int_equal(back.n_fields, 3);
	assert_string_equal(policy_event_get(&back, "Target"), "root");
	json_decref(obj);

	/* Invalid UTF-8 in a value is sent with '?' instead. */
	make_event(&ev, POLICY_CAT_PROCESS_CREATION, "CommandLine", "a\xff" "b", NULL);
	obj = policy_event_to_json(&ev);
	assert_non_null(obj);
	assert_string_equal(json_string_value(json_object_get(json_object_get(obj, "fields"),
							      "CommandLine")), "a?b");
	json_decref(obj);
}

static void test_event_from_json(void **state)
{
	static const struct {
		const char *json, *error;
	} bad[] = {
		{ "[]", "expected a JSON object" },
		{ "{}", "missing string member 'category'" },
		{ "{\"category\": 3}", "missing string member 'category'" },
		{ "{\"category\": \"exec\"}", "unknown category 'exec' (expected process_creation, "
		  "file_access or screen_capture)" },
		{ "{\"category\": \"file_access\", \"fields\": []}", "'fields' must be an object" },
		{ "{\"category\": \"file_access\", \"fields\": {\"A\": [1]}}",
		  "field 'A': expected a string, number or boolean" },
	};
	struct policy_event ev;
	char err[256], big[4096];
	json_t *obj;
	size_t n;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		obj = json_loads(bad[i].json, 0, NULL);
		assert_non_null(obj);
		assert_int_equal(policy_event_from_json(obj, &ev, err, sizeof(err)), -EINVAL);
		assert_string_equal(err, bad[i].error);
		json_decref(obj);
	}

	/* Numbers and booleans become strings; null is an absent field. */
	obj = json_loads("{\"category\": \"process_creation\", \"extra\": 1, \"fields\": "
			 "{\"Uid\": 1000, \"Success\": false, \"ParentImage\": null}}", 0, NULL);
	assert_int_equal(policy_event_from_json(obj, &ev, err, sizeof(err)), 0);
	assert_string_equal(policy_event_get(&ev, "Uid"), "1000");
	assert_string_equal(policy_event_get(&ev, "Success"), "false");
	assert_null(policy_event_get(&ev, "ParentImage"));
	json_decref(obj);

	/* No fields at all is an event with none. */
	obj = json_loads("{\"category\": \"file_access\"}", 0, NULL);
	assert_int_equal(policy_event_from_json(obj, &ev, err, sizeof(err)), 0);
	assert_int_equal(ev.n_fields, 0);
	json_decref(obj);

	/* Too many fields. */
	n = (size_t)snprintf(big, sizeof(big), "{\"category\": \"file_access\", \"fields\": {");
	for (int i = 0; i <= POLICY_EVENT_MAX_FIELDS; i++)
		n += (size_t)snprintf(big + n, sizeof(big) - n, "%s\"F%d\": \"v\"", i ? ", " : "", i);
	snprintf(big + n, sizeof(big) - n, "}}");
	obj = json_loads(big, 0, NULL);
	assert_int_equal(policy_event_from_json(obj, &ev, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "more than 24 fields");
	json_decref(obj);
}

static void test_names(void **state)
{
	enum policy_category c;

	assert_string_equal(policy_category_name(POLICY_CAT_PROCESS_CREATION), "process_creation");
	assert_string_equal(policy_category_name(POLICY_CAT_FILE_ACCESS), "file_access");
	assert_string_equal(policy_category_name(POLICY_CAT_SCREEN_CAPTURE), "screen_capture");
	assert_null(policy_category_name(POLICY_CAT__MAX));
	assert_int_equal(policy_category_from_name("file_access", &c), 0);
	assert_int_equal(c, POLICY_CAT_FILE_ACCESS);
	assert_int_equal(policy_category_from_name("File_Access", &c), -EINVAL);
	assert_int_equal(policy_category_from_name(NULL, &c), -EINVAL);
	assert_string_equal(policy_kind_name(POLICY_KIND_AUTO), "auto");
	assert_null(policy_kind_name((enum policy_kind)7));
	assert_string_equal(policy_level_name(POLICY_LEVEL_INFORMATIONAL), "informational");
	assert_string_equal(policy_level_name(POLICY_LEVEL_CRITICAL), "critical");
	assert_null(policy_level_name((enum policy_level)5));
	assert_string_equal(policy_action_name(POLICY_ACTION_KILL), "kill");
	assert_null(policy_action_name((enum policy_action)2));
}

/* ------------------------------------------------------- device prefixes */

static void test_device_prefixes(void **state)
{
	struct policy *p = load_ok(
		HEAD("file_access")
		"  sel_a:\n"
		"    TargetFilename|startswith: [/dev/fb, /dev/dri/card]\n"
		"  sel_b:\n"
		"    - TargetFilename: '/dev/video*'\n"
		"    - TargetFilename: /dev/fb\n"			/* duplicate */
		"    - TargetFilename: '/dev/dri/render\\*D*'\n"	/* escape undone */
		"    - TargetFilename: '*/fb0'\n"			/* no prefix: skipped */
		"    - TargetFilename|contains: fb\n"			/* skipped */
		"    - TargetFilename|endswith: /card0\n"		/* skipped */
		"    - TargetFilename: null\n"				/* skipped */
		"    - OtherFile|startswith: /etc\n"			/* other field */
		"  condition: sel_a or not sel_b\n"
		"---\n"
		"id: t.exec\ntitle: t\nlogsource: {category: process_creation}\n"
		"detection: {s: {TargetFilename|startswith: /proc}, condition: s}\n");
	char **prefixes = NULL;
	int n = policy_device_prefixes(p, &prefixes);

	assert_int_equal(n, 4);
	assert_string_equal(prefixes[0], "/dev/fb");
	assert_string_equal(prefixes[1], "/dev/dri/card");
	assert_string_equal(prefixes[2], "/dev/video");
	assert_string_equal(prefixes[3], "/dev/dri/render*D");
	assert_null(prefixes[4]);
	policy_strv_free(prefixes);
	policy_free(p);

	/* No file_access rules: an empty, NULL-terminated list. */
	p = load_ok("# empty\n");
	assert_int_equal(policy_device_prefixes(p, &prefixes), 0);
	assert_null(prefixes[0]);
	policy_strv_free(prefixes);
	policy_strv_free(NULL);
	policy_free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain_is_case_insensitive),
		cmocka_unit_test(test_contains_startswith_endswith),
		cmocka_unit_test(test_wildcards),
		cmocka_unit_test(test_null_and_absent),
		cmocka_unit_test(test_lists_and_all),
		cmocka_unit_test(test_maps_and_list_of_maps),
		cmocka_unit_test(test_regex),
		cmocka_unit_test(test_numeric),
		cmocka_unit_test(test_condition_semantics),
		cmocka_unit_test(test_best_rule),
		cmocka_unit_test(test_event_fields),
		cmocka_unit_test(test_event_json),
		cmocka_unit_test(test_event_from_json),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_device_prefixes),
	};

	return cmocka_run_group_tests_name("policy_match", tests, scratch_setup, scratch_teardown);
}
