// SPDX-License-Identifier: GPL-2.0-only
/*
 * sphinx-policy: the policy author's tool.
 *
 *   sphinx-policy check FILE|DIR...          load each path, show every error
 *   sphinx-policy test POLICY EVENTS.jsonl   which rules fire for each event
 *   sphinx-policy list POLICY                the rules, one per line
 *   sphinx-policy prefixes POLICY            the device prefixes the kernel watches
 *   sphinx-policy exec-names POLICY          the programs whose exec wakes the agent
 *
 * Everything here is presentation: loading and matching are the library's
 * (policy.h), the very code the agent runs, so a policy that passes here
 * behaves the same on the machines. Exit status: 0 fine, 1 errors found,
 * 2 usage.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cleanup.h"
#include "policy.h"

#define EXIT_USAGE	2
#define MAX_LINE	(1u << 20)	/* one JSONL event */
#define MAX_MATCHES	64
#define MAX_ARGS	128	/* "argv" elements of one event line */

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: sphinx-policy COMMAND ARGS...\n"
		"\n"
		"Check Meeting Sphinx signature policies and try them on events.\n"
		"\n"
		"Commands:\n"
		"  check FILE|DIR...          load each policy; print 'PATH: N rules OK',\n"
		"                             or every error as file:line:col: message\n"
		"  test POLICY EVENTS.jsonl   for each event (one JSON object per line, '-' for\n"
		"                             stdin) print the rules that fire, best first\n"
		"  list POLICY                print each rule's id, category, kind, level, title\n"
		"  prefixes POLICY            print the device path prefixes the agent watches\n"
		"  exec-names POLICY          print the program names whose exec wakes the agent\n"
		"                             at once ('ffmpeg*': names starting so), then, as\n"
		"                             '# batched: ID', the rules that also match others\n"
		"\n"
		"Options:\n"
		"  -h, --help                 show this help\n"
		"\n"
		"A POLICY is a YAML file or a directory of *.yml / *.yaml files.\n"
		"Exit status: 0 success, 1 errors found, 2 usage error.\n");
}

static void print_diags(const struct policy_diags *diags)
{
	char buf[1024];

	for (size_t i = 0; i < diags->count; i++)
		fprintf(stderr, "%s\n", policy_diag_format(&diags->items[i], buf, sizeof(buf)));
}

/* Load @path, printing every error; NULL on failure. */
static struct policy *load_or_report(const char *path)
{
	struct policy_diags diags = {};
	struct policy *policy = NULL;
	int r;

	r = policy_load(path, &policy, &diags);
	print_diags(&diags);
	if (r < 0 && diags.count == 0)
		fprintf(stderr, "%s: %s\n", path, strerror(-r));
	policy_diags_clear(&diags);
	return r < 0 ? NULL : policy;
}

/* ---------------------------------------------------------------- check */

/* Rules that loaded but need a log source the agent does not produce. */
static void print_dormant(const struct policy *policy)
{
	for (size_t i = 0; i < policy_rule_count(policy); i++) {
		const struct policy_rule *r = policy_rule_at(policy, i);

		if (r->needs)
			printf("%s:%u: %s loaded, never fires: needs %s\n", r->file, r->line,
			       r->id, r->needs);
	}
}

static int cmd_check(int argc, char **argv)
{
	int ret = EXIT_SUCCESS;

	if (argc < 1) {
		fprintf(stderr, "sphinx-policy check: expected FILE|DIR...\n");
		return EXIT_USAGE;
	}
	for (int i = 0; i < argc; i++) {
		struct policy *policy = load_or_report(argv[i]);

		if (!policy) {
			ret = EXIT_FAILURE;
			continue;
		}
		print_dormant(policy);
		printf("%s: %zu rules OK\n", argv[i], policy_rule_count(policy));
		policy_free(policy);
	}
	return ret;
}

/* ----------------------------------------------------------------- test */

/*
 * One line into @buf (without the newline). Returns its length, -1 at end
 * of input, or -2 for a line over MAX_LINE bytes (skipped to its end).
 */
static long read_line(FILE *f, char *buf)
{
	size_t n = 0;
	int ch;

	while ((ch = getc(f)) != EOF && ch != '\n') {
		if (n == MAX_LINE) {
			while ((ch = getc(f)) != EOF && ch != '\n')
				;
			return -2;
		}
		buf[n++] = (char)ch;
	}
	if (ch == EOF && n == 0)
		return -1;
	buf[n] = '\0';
	return (long)n;
}

static bool is_blank(const char *s)
{
	return s[strspn(s, " \t\r")] == '\0';
}

static void print_match(unsigned long line, const struct policy_event *ev,
			const struct policy_rule *r)
{
	printf("%lu: %s %s \"%s\" kind=%s level=%s\n", line, policy_category_name(ev->category),
	       r->id, r->title, policy_kind_name(r->kind), policy_level_name(r->level));
}

/* Match one event line; false (and a message) when the line is bad. */
static bool test_line(const struct policy *policy, const char *events_path, unsigned long lineno,
		      const char *line, bool *matched)
{
	const struct policy_rule *all[MAX_MATCHES], *best;
	const char *args[MAX_ARGS];
	struct policy_event ev;
	json_error_t jerr;
	char err[256];
	json_t *obj;
	size_t n;

	obj = json_loads(line, JSON_REJECT_DUPLICATES, &jerr);
	if (!obj) {
		fprintf(stderr, "%s:%lu: invalid JSON at column %d: %s\n", events_path, lineno,
			jerr.column, jerr.text);
		return false;
	}
	if (policy_event_from_json(obj, &ev, err, sizeof(err)) < 0 ||
	    policy_event_argv_from_json(obj, &ev, args, MAX_ARGS, err, sizeof(err)) < 0) {
		fprintf(stderr, "%s:%lu: %s\n", events_path, lineno, err);
		json_decref(obj);
		return false;
	}
	best = policy_match(policy, &ev);
	*matched = best != NULL;
	if (!best) {
		printf("%lu: %s no match\n", lineno, policy_category_name(ev.category));
	} else {
		/* The rule the agent acts on first, then any others in load order. */
		print_match(lineno, &ev, best);
		n = policy_match_all(policy, &ev, all, MAX_MATCHES);
		for (size_t i = 0; i < n && i < MAX_MATCHES; i++)
			if (all[i] != best)
				print_match(lineno, &ev, all[i]);
	}
	json_decref(obj);
	return true;
}

static int cmd_test(int argc, char **argv)
{
	_cleanup_free_ char *buf = NULL;
	unsigned long lineno = 0, events = 0, matched = 0, errors = 0;
	struct policy *policy;
	FILE *in;
	long len;

	if (argc != 2) {
		fprintf(stderr, "sphinx-policy test: expected POLICY EVENTS.jsonl\n");
		return EXIT_USAGE;
	}
	buf = malloc(MAX_LINE + 1);
	if (!buf) {
		fprintf(stderr, "sphinx-policy: out of memory\n");
		return EXIT_FAILURE;
	}
	policy = load_or_report(argv[0]);
	if (!policy)
		return EXIT_FAILURE;
	in = strcmp(argv[1], "-") == 0 ? stdin : fopen(argv[1], "re");
	if (!in) {
		fprintf(stderr, "%s: %s\n", argv[1], strerror(errno));
		policy_free(policy);
		return EXIT_FAILURE;
	}
	while ((len = read_line(in, buf)) != -1) {
		bool hit = false;

		lineno++;
		if (len == -2) {
			fprintf(stderr, "%s:%lu: line longer than %u bytes\n", argv[1], lineno,
				MAX_LINE);
			errors++;
			continue;
		}
		if (is_blank(buf))
			continue;
		events++;
		if (!test_line(policy, argv[1], lineno, buf, &hit))
			errors++;
		matched += hit;
	}
	if (ferror(in)) {
		fprintf(stderr, "%s: read error\n", argv[1]);
		errors++;
	}
	if (in != stdin)
		fclose(in);
	printf("%lu events, %lu matched, %lu errors\n", events, matched, errors);
	policy_free(policy);
	return errors ? EXIT_FAILURE : EXIT_SUCCESS;
}

/* ----------------------------------------------------------------- list */

/* What `list` shows as a rule's category: "-" for one that never fires. */
static const char *rule_category(const struct policy_rule *r)
{
	return r->needs ? "-" : policy_category_name(r->category);
}

static int cmd_list(int argc, char **argv)
{
	struct policy *policy;
	int w_id = 2, w_cat = 8;

	if (argc != 1) {
		fprintf(stderr, "sphinx-policy list: expected POLICY\n");
		return EXIT_USAGE;
	}
	policy = load_or_report(argv[0]);
	if (!policy)
		return EXIT_FAILURE;
	for (size_t i = 0; i < policy_rule_count(policy); i++) {
		const struct policy_rule *r = policy_rule_at(policy, i);
		int l_id = (int)strlen(r->id);
		int l_cat = (int)strlen(rule_category(r));

		w_id = l_id > w_id ? l_id : w_id;
		w_cat = l_cat > w_cat ? l_cat : w_cat;
	}
	printf("%-*s  %-*s  %-10s  %-13s  %s\n", w_id, "ID", w_cat, "CATEGORY", "KIND", "LEVEL",
	       "TITLE");
	for (size_t i = 0; i < policy_rule_count(policy); i++) {
		const struct policy_rule *r = policy_rule_at(policy, i);

		printf("%-*s  %-*s  %-10s  %-13s  %s\n", w_id, r->id, w_cat,
		       rule_category(r), policy_kind_name(r->kind),
		       policy_level_name(r->level), r->title);
	}
	policy_free(policy);
	return EXIT_SUCCESS;
}

/* ------------------------------------------------------------- prefixes */

static int cmd_prefixes(int argc, char **argv)
{
	struct policy *policy;
	char **prefixes = NULL;
	int n;

	if (argc != 1) {
		fprintf(stderr, "sphinx-policy prefixes: expected POLICY\n");
		return EXIT_USAGE;
	}
	policy = load_or_report(argv[0]);
	if (!policy)
		return EXIT_FAILURE;
	n = policy_device_prefixes(policy, &prefixes);
	policy_free(policy);
	if (n < 0) {
		fprintf(stderr, "sphinx-policy: %s\n", strerror(-n));
		return EXIT_FAILURE;
	}
	for (int i = 0; i < n; i++)
		printf("%s\n", prefixes[i]);
	policy_strv_free(prefixes);
	return EXIT_SUCCESS;
}

/* ----------------------------------------------------------- exec-names */

static int cmd_exec_names(int argc, char **argv)
{
	struct policy *policy;
	char **names = NULL, **batched = NULL;
	int n;

	if (argc != 1) {
		fprintf(stderr, "sphinx-policy exec-names: expected POLICY\n");
		return EXIT_USAGE;
	}
	policy = load_or_report(argv[0]);
	if (!policy)
		return EXIT_FAILURE;
	n = policy_exec_names(policy, &names, &batched);
	policy_free(policy);
	if (n < 0) {
		fprintf(stderr, "sphinx-policy: %s\n", strerror(-n));
		return EXIT_FAILURE;
	}
	for (int i = 0; i < n; i++)
		printf("%s\n", names[i]);
	for (size_t i = 0; batched[i]; i++)
		printf("# batched: %s\n", batched[i]);
	policy_strv_free(names);
	policy_strv_free(batched);
	return EXIT_SUCCESS;
}

/* ----------------------------------------------------------------- main */

static const struct command {
	const char *name;
	int (*run)(int argc, char **argv);
} commands[] = {
	{ "check", cmd_check },
	{ "test", cmd_test },
	{ "list", cmd_list },
	{ "prefixes", cmd_prefixes },
	{ "exec-names", cmd_exec_names },
};

/*
 * Options, before the command and again after it ("check --help",
 * "check -- -odd-name.yml"). Returns the index of the first operand, or
 * -1 after printing the help, -2 after a usage error.
 */
static int parse_options(int argc, char **argv)
{
	static const struct option options[] = {
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	int opt;

	/* '+': stop at the first operand, as POSIX says. */
	while ((opt = getopt_long(argc, argv, "+h", options, NULL)) != -1) {
		switch (opt) {
		case 'h':
			usage(stdout);
			return -1;
		default:
			usage(stderr);
			return -2;
		}
	}
	return optind;
}

int main(int argc, char **argv)
{
	const struct command *cmd = NULL;
	int first;

	first = parse_options(argc, argv);
	if (first < 0)
		return first == -1 ? EXIT_SUCCESS : EXIT_USAGE;
	if (first >= argc) {
		usage(stderr);
		return EXIT_USAGE;
	}
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
		if (strcmp(argv[first], commands[i].name) == 0)
			cmd = &commands[i];
	if (!cmd) {
		fprintf(stderr, "sphinx-policy: unknown command '%s' (try --help)\n", argv[first]);
		return EXIT_USAGE;
	}
	/* The command's own arguments, with the command name as their argv[0]. */
	argc -= first;
	argv += first;
	optind = 0;	/* 0: glibc re-initialises for the new argv */
	first = parse_options(argc, argv);
	if (first < 0)
		return first == -1 ? EXIT_SUCCESS : EXIT_USAGE;
	return cmd->run(argc - first, argv + first);
}
