// SPDX-License-Identifier: GPL-2.0-only
/*
 * policy_exec_names(): the program names an exec must have for the exec
 * rules to match (the agent's wake-up table). Each form the reader accepts
 * gives its name, each it cannot read leaves the rule batched, and over
 * the default policy every exec a rule matches is covered by the names
 * unless that rule is listed as batched.
 */
#include <strings.h>

#include "cleanup.h"
#include "test_policy_util.h"

#define HEAD \
	"id: t.n\n" \
	"title: t\n" \
	"logsource: {category: process_creation}\n" \
	"detection:\n"

/* The names and batched ids of @policy, each joined with single spaces. */
static void names_of(const struct policy *p, char *names, char *batched, size_t len)
{
	char **n = NULL, **b = NULL;
	int count = policy_exec_names(p, &n, &b);

	assert_true(count >= 0);
	names[0] = batched[0] = '\0';
	for (int i = 0; i < count; i++)
		snprintf(names + strlen(names), len - strlen(names), "%s%s", i ? " " : "", n[i]);
	assert_null(n[count]);
	for (size_t i = 0; b[i]; i++)
		snprintf(batched + strlen(batched), len - strlen(batched), "%s%s", i ? " " : "", b[i]);
	policy_strv_free(n);
	policy_strv_free(b);
}

static void test_forms(void **state)
{
	static const struct {
		const char *detection;	/* YAML lines under detection: */
		const char *names;
		bool batched;
	} cases[] = {
		{ "  s: {Image: /usr/bin/OBS}\n  condition: s\n", "obs", false },
		{ "  s: {Image|endswith: [/obs, /peek]}\n  condition: s\n", "obs peek", false },
		{ "  s: {Image: '*/grim'}\n  condition: s\n", "grim", false },
		{ "  s: {Image|re: '/(ffmpeg|avconv)[^/]*$'}\n  condition: s\n",
		  "ffmpeg* avconv*", false },
		{ "  s: {Image|re: '/import(-im[0-9]+\\.q[0-9]+)?$'}\n  condition: s\n",
		  "import*", false },
		{ "  s: {Image|re: '^/usr/bin/xwd$'}\n  condition: s\n", "xwd", false },
		{ "  s: {Comm: obs}\n  condition: s\n", "obs", false },
		{ "  s: {Comm|startswith: ffm}\n  condition: s\n", "ffm*", false },
		{ "  s: {Comm: 'ffm*'}\n  condition: s\n", "ffm*", false },
		/* Say nothing of the basename: batched, no name. */
		{ "  s: {Image|contains: ffmpeg}\n  condition: s\n", "", true },
		{ "  s: {Image|startswith: /usr/bin/obs}\n  condition: s\n", "", true },
		{ "  s: {Image|endswith: obs}\n  condition: s\n", "", true },
		{ "  s: {Image: '*/ffmpeg*'}\n  condition: s\n", "", true },
		{ "  s: {Image|re: '/ffmpeg.*$'}\n  condition: s\n", "", true },
		{ "  s: {Image|re: '/ffmpeg[a-z/]*$'}\n  condition: s\n", "", true },
		{ "  s: {Image|re: '/ffmpeg$|/obs$'}\n  condition: s\n", "", true },
		{ "  s: {Image|re: '/ffmpeg'}\n  condition: s\n", "", true },
		{ "  s: {CommandLine|contains: x11grab}\n  condition: s\n", "", true },
		{ "  s: {Image|endswith: /obs}\n  condition: not s\n", "", true },
		/* AND: one side naming programs is enough; the narrowest wins. */
		{ "  s: {Image|contains: ff, Image|endswith: /ffmpeg, CommandLine: x}\n"
		  "  condition: s\n", "ffmpeg", false },
		{ "  a: {Image|endswith: [/a, /b]}\n  b: {Image|endswith: /b}\n"
		  "  condition: a and b\n", "b", false },
		{ "  a: {Image|endswith: /xwd}\n  f: {CommandLine|contains: -root}\n"
		  "  condition: a and not f\n", "xwd", false },
		/* |all: one value naming the program is enough. */
		{ "  s: {Image|all: ['*/obs', '/usr/*']}\n  condition: s\n", "obs", false },
		/* OR and lists of maps: every branch must name; else partial. */
		{ "  a: {Image|endswith: /kazam}\n  b: {CommandLine|contains: kazam}\n"
		  "  condition: 1 of them\n", "kazam", true },
		{ "  s:\n    - {Image|endswith: /scrot}\n    - {CommandLine|contains: maim}\n"
		  "  condition: s\n", "scrot", true },
		{ "  s:\n    - {Image|endswith: /scrot}\n    - {Comm: maim}\n"
		  "  condition: s\n", "scrot maim", false },
	};
	char yaml[1024], names[512], batched[512];

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct policy *p;

		snprintf(yaml, sizeof(yaml), HEAD "%s", cases[i].detection);
		p = load_ok(yaml);
		names_of(p, names, batched, sizeof(names));
		if (strcmp(names, cases[i].names) != 0 ||
		    (batched[0] != '\0') != cases[i].batched)
			fail_msg("case %zu (%s): names '%s' batched '%s', expected '%s' %s", i,
				 cases[i].detection, names, batched, cases[i].names,
				 cases[i].batched ? "batched" : "not batched");
		policy_free(p);
	}
}

static void test_only_exec_rules(void **state)
{
	struct policy *p = load_ok("id: t.f\ntitle: t\nlogsource: {category: screen_capture}\n"
				   "detection:\n  s: {Image|endswith: /obs}\n  condition: s\n");
	char names[64], batched[64];

	names_of(p, names, batched, sizeof(names));
	assert_string_equal(names, "");
	assert_string_equal(batched, "");
	policy_free(p);
}

/* Does one of @names ("obs", "ffmpeg*") cover the task name of @image? */
static bool covered(char **names, const char *image)
{
	const char *base = strrchr(image, '/');
	char comm[16];

	snprintf(comm, sizeof(comm), "%s", base ? base + 1 : image);
	for (size_t i = 0; names[i]; i++) {
		size_t len = strlen(names[i]);

		if (names[i][len - 1] == '*') {
			len = len - 1 < 15 ? len - 1 : 15;
			if (strncasecmp(comm, names[i], len) == 0)
				return true;
		} else if (strncasecmp(comm, names[i], 15) == 0 && (len >= 15 || !comm[len])) {
			return true;
		}
	}
	return false;
}

static void test_default_policy_covers_its_matches(void **state)
{
	static const struct {
		const char *image, *cmdline;
	} execs[] = {
		{ "/usr/bin/ffmpeg", "ffmpeg -f x11grab -i :0 out.mkv" },
		{ "/opt/bin/ffmpeg-6.1", "ffmpeg-6.1 -f kmsgrab -i - out.mkv" },
		{ "/usr/bin/gst-launch-1.0", "gst-launch-1.0 ximagesrc ! fakesink" },
		{ "/usr/bin/import-im6.q16", "import -window root shot.png" },
		{ "/usr/bin/xwd", "xwd -root -out a.xwd" },
		{ "/usr/bin/vokoscreenNG", "vokoscreenNG" },
		{ "/usr/bin/simplescreenrecorder", "simplescreenrecorder" },
		{ "/usr/bin/gpu-screen-recorder", "gpu-screen-recorder -w screen" },
		{ "/usr/bin/magick", "magick import -window root a.png" },
		{ "/usr/bin/python3", "python3 /usr/bin/kazam" },
	};
	struct policy *p = NULL;
	char **names = NULL, **batched = NULL;

	assert_int_equal(policy_load(default_policy_dir(), &p, NULL), 0);
	assert_true(policy_exec_names(p, &names, &batched) > 0);
	for (size_t i = 0; i < ARRAY_SIZE(execs); i++) {
		struct policy_event ev;
		const struct policy_rule *r;
		bool in_batched = false;

		make_event(&ev, POLICY_CAT_PROCESS_CREATION, "Image", execs[i].image,
			   "CommandLine", execs[i].cmdline, NULL);
		r = policy_match(p, &ev);
		if (!r)
			fail_msg("%s: no default rule matches", execs[i].cmdline);
		for (size_t b = 0; batched[b]; b++)
			in_batched |= strcmp(batched[b], r->id) == 0;
		if (!in_batched && !covered(names, execs[i].image))
			fail_msg("%s matches %s, which is not batched, but no name covers it",
				 execs[i].image, r->id);
	}
	policy_strv_free(names);
	policy_strv_free(batched);
	policy_free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_forms),
		cmocka_unit_test(test_only_exec_rules),
		cmocka_unit_test(test_default_policy_covers_its_matches),
	};

	return cmocka_run_group_tests_name("policy_exec_names", tests, scratch_setup,
					   scratch_teardown);
}
