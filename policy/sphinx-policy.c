// SPDX-License-Identifier: GPL-2.0-only
/*
 * sphinx-policy: the policy author's tool.
 *
 *   sphinx-policy check FILE|DIR...          load each path, show every error
 *   sphinx-policy test POLICY EVENTS.jsonl   which rules fire for each event
 *   sphinx-policy test POLICY --server URL --token-file F [--since 7d]
 *                                            the same on what opted-in machines sent
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
#include <strings.h>
#include <time.h>

#include <curl/curl.h>
#include <jansson.h>

#include "cleanup.h"
#include "policy.h"
#include "util.h"

#define EXIT_USAGE	2
#define MAX_LINE	(1u << 20)	/* one JSONL event */
#define MAX_MATCHES	64
#define MAX_ARGS	128	/* "argv" elements of one event line */
#define MAX_MACHINES_NAMED 32	/* per rule in the summary, then "N+" */
#define MAX_PAGE	(8u << 20)	/* one page of GET /api/admin/observations */
#define PROTO_ORIGIN_MAX 4608	/* " machine=... at=... program=<path> pid=..." */

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
		"                             stdin) print the rules that fire, best first, then\n"
		"                             per rule how many events (and machines) it fired on\n"
		"  test POLICY --server URL --token-file FILE [--since 7d] [--machine NAME]\n"
		"                             [--group G] [--ca-file PEM]\n"
		"                             the same on the observations the server keeps\n"
		"                             (machines with share_observations = yes); FILE\n"
		"                             holds a signed-in admin's session token; PEM, the\n"
		"                             CA of an https:// server (default: the system's).\n"
		"                             Only events that fire are printed, with machine,\n"
		"                             time, program and pid. `sphinx-server observations\n"
		"                             export | sphinx-policy test POLICY -` is the same\n"
		"                             without the network\n"
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
 * A replay: the counters, and per rule the events it fired on and on which
 * machines (export lines name one), for the summary.
 */
struct rule_tally {
	unsigned long events;
	size_t n_machines;
	char *machines[MAX_MACHINES_NAMED];
	bool more_machines;
};

struct replay {
	const struct policy *policy;
	const char *name;		/* of the input, in messages */
	unsigned long lineno, events, matched, errors;
	bool quiet_misses;		/* export lines: print only what fires */
	struct rule_tally *tally;	/* one per rule, in load order */
};

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

/*
 * Where an exported event comes from, appended to its match lines:
 * " machine=lab-1 at=2026-12-03T16:30:05Z program=/usr/bin/x pid=42"
 * ("" for a line that names no machine, as --record writes them).
 */
static void origin_of(json_t *obj, const struct policy_event *ev, char *buf, size_t len)
{
	const char *machine = json_string_value(json_object_get(obj, "machine"));
	json_t *ts = json_object_get(obj, "ts"), *pid = json_object_get(obj, "pid");
	const char *program = policy_event_get(ev, "Image");
	char at[32] = "?";

	buf[0] = '\0';
	if (!machine)
		return;
	if (json_is_integer(ts) && json_integer_value(ts) > 0) {
		time_t t = (time_t)(json_integer_value(ts) / 1000000000);
		struct tm tm;

		if (gmtime_r(&t, &tm))
			strftime(at, sizeof(at), "%Y-%m-%dT%H:%M:%SZ", &tm);
	}
	snprintf(buf, len, " machine=%s at=%s program=%s pid=%lld", machine, at,
		 program && *program ? program : "?",
		 json_is_integer(pid) ? (long long)json_integer_value(pid) : -1ll);
}

static void print_match(unsigned long line, const struct policy_event *ev,
			const struct policy_rule *r, const char *origin)
{
	printf("%lu: %s %s \"%s\" kind=%s level=%s%s\n", line, policy_category_name(ev->category),
	       r->id, r->title, policy_kind_name(r->kind), policy_level_name(r->level), origin);
}

/* Count one firing of @r, on @machine (NULL: none named). */
static void tally(struct replay *st, const struct policy_rule *r, const char *machine)
{
	struct rule_tally *t = NULL;

	for (size_t i = 0; i < policy_rule_count(st->policy); i++)
		if (policy_rule_at(st->policy, i) == r)
			t = &st->tally[i];
	if (!t)
		return;
	t->events++;
	if (!machine)
		return;
	for (size_t i = 0; i < t->n_machines; i++)
		if (strcmp(t->machines[i], machine) == 0)
			return;
	if (t->n_machines == MAX_MACHINES_NAMED || !(t->machines[t->n_machines] = strdup(machine)))
		t->more_machines = true;
	else
		t->n_machines++;
}

/* Match one event line; false (and a message) when the line is bad. */
static bool test_line(struct replay *st, const char *line, bool *matched)
{
	const struct policy_rule *all[MAX_MATCHES], *best;
	const char *args[MAX_ARGS], *machine;
	struct policy_event ev;
	json_error_t jerr;
	char err[256], origin[PROTO_ORIGIN_MAX];
	json_t *obj;
	size_t n;

	obj = json_loads(line, JSON_REJECT_DUPLICATES, &jerr);
	if (!obj) {
		fprintf(stderr, "%s:%lu: invalid JSON at column %d: %s\n", st->name, st->lineno,
			jerr.column, jerr.text);
		return false;
	}
	if (policy_event_from_json(obj, &ev, err, sizeof(err)) < 0 ||
	    policy_event_argv_from_json(obj, &ev, args, MAX_ARGS, err, sizeof(err)) < 0) {
		fprintf(stderr, "%s:%lu: %s\n", st->name, st->lineno, err);
		json_decref(obj);
		return false;
	}
	machine = json_string_value(json_object_get(obj, "machine"));
	origin_of(obj, &ev, origin, sizeof(origin));
	best = policy_match(st->policy, &ev);
	*matched = best != NULL;
	if (!best) {
		if (!st->quiet_misses && !machine)
			printf("%lu: %s no match\n", st->lineno, policy_category_name(ev.category));
	} else {
		/* The rule the agent acts on first, then any others in load order. */
		print_match(st->lineno, &ev, best, origin);
		tally(st, best, machine);
		n = policy_match_all(st->policy, &ev, all, MAX_MATCHES);
		for (size_t i = 0; i < n && i < MAX_MATCHES; i++) {
			if (all[i] == best)
				continue;
			print_match(st->lineno, &ev, all[i], origin);
			tally(st, all[i], machine);
		}
	}
	json_decref(obj);
	return true;
}

/* Every line of @in through test_line(); line numbers go on from the last call. */
static void replay_stream(struct replay *st, FILE *in, char *buf)
{
	long len;

	while ((len = read_line(in, buf)) != -1) {
		bool hit = false;

		st->lineno++;
		if (len == -2) {
			fprintf(stderr, "%s:%lu: line longer than %u bytes\n", st->name, st->lineno,
				MAX_LINE);
			st->errors++;
			continue;
		}
		if (is_blank(buf))
			continue;
		st->events++;
		if (!test_line(st, buf, &hit))
			st->errors++;
		st->matched += hit;
	}
	if (ferror(in)) {
		fprintf(stderr, "%s: read error\n", st->name);
		st->errors++;
	}
}

/* The closing lines: the totals, then per rule that fired, how often and where. */
static void print_summary(const struct replay *st)
{
	printf("%lu events, %lu matched, %lu errors\n", st->events, st->matched, st->errors);
	for (size_t i = 0; i < policy_rule_count(st->policy); i++) {
		const struct rule_tally *t = &st->tally[i];

		if (!t->events)
			continue;
		printf("rule %s: fired on %lu event%s", policy_rule_at(st->policy, i)->id,
		       t->events, t->events == 1 ? "" : "s");
		if (t->n_machines) {
			printf(", %zu%s machine%s:", t->n_machines, t->more_machines ? "+" : "",
			       t->n_machines == 1 && !t->more_machines ? "" : "s");
			for (size_t m = 0; m < t->n_machines; m++)
				printf(" %s", t->machines[m]);
		}
		putchar('\n');
	}
}

static void replay_free(struct replay *st)
{
	for (size_t i = 0; st->tally && i < policy_rule_count(st->policy); i++)
		for (size_t m = 0; m < st->tally[i].n_machines; m++)
			free(st->tally[i].machines[m]);
	free(st->tally);
	policy_free((struct policy *)st->policy);
}

/* ------------------------------------------------------ test --server */

struct fetch {
	char *body;
	size_t len;
	bool too_big;
	char next[24];			/* X-Sphinx-Next-After: the next page's cursor */
};

static size_t on_body(char *data, size_t size, size_t n, void *ud)
{
	struct fetch *f = ud;
	size_t len = size * n;
	char *b;

	if (f->len + len > MAX_PAGE) {
		f->too_big = true;
		return 0;
	}
	b = realloc(f->body, f->len + len + 1);
	if (!b)
		return 0;
	memcpy(b + f->len, data, len);
	f->body = b;
	f->len += len;
	f->body[f->len] = '\0';
	return len;
}

static size_t on_header(char *data, size_t size, size_t n, void *ud)
{
	static const char name[] = "x-sphinx-next-after:";
	struct fetch *f = ud;
	size_t len = size * n, skip = sizeof(name) - 1;

	if (len > skip && strncasecmp(data, name, skip) == 0) {
		while (skip < len && data[skip] == ' ')
			skip++;
		len -= skip;
		while (len && (data[skip + len - 1] == '\r' || data[skip + len - 1] == '\n'))
			len--;
		if (len < sizeof(f->next) && strspn(data + skip, "0123456789") >= len) {
			memcpy(f->next, data + skip, len);
			f->next[len] = '\0';
		}
	}
	return size * n;
}

/* The token file's first line, trimmed: 0, or -errno with a message printed. */
static int read_token(const char *path, char *buf, size_t len)
{
	_cleanup_fclose_ FILE *f = fopen(path, "re");

	if (!f || !fgets(buf, (int)len, f)) {
		fprintf(stderr, "sphinx-policy: --token-file %s: %s\n", path,
			f ? "empty" : strerror(errno));
		return -EINVAL;
	}
	buf[strcspn(buf, "\r\n")] = '\0';
	if (!buf[0] || strpbrk(buf, " \t;")) {
		fprintf(stderr, "sphinx-policy: --token-file %s: expected one session token on its "
			"first line\n", path);
		return -EINVAL;
	}
	return 0;
}

/* The server's error answer, {"error","message"}, as one line. */
static void print_http_error(const char *url, long status, const struct fetch *f)
{
	json_t *j = f->body ? json_loads(f->body, 0, NULL) : NULL;
	const char *msg = json_string_value(json_object_get(j, "message"));

	fprintf(stderr, "sphinx-policy: %s: HTTP %ld%s%s\n", url, status, msg ? ": " : "",
		msg ? msg : "");
	if (status == 401)
		fprintf(stderr, "sphinx-policy: the token is not a signed-in session "
			"(sign in again)\n");
	json_decref(j);
}

/*
 * Replay every page of GET /api/admin/observations. 0, or -1 after a
 * message (the server cannot be reached, refuses, or answers nonsense).
 */
struct server_query {
	const char *url, *since, *machine, *grp;
	const char *ca_file;		/* NULL: the system's CAs */
};

static int replay_server(struct replay *st, const struct server_query *q, const char *token,
			 char *buf)
{
	_cleanup_free_ char *cookie = NULL, *esc_since = NULL, *esc_machine = NULL;
	_cleanup_free_ char *esc_grp = NULL;
	const char *server = q->url;
	char after[24] = "0", url[2048];
	CURL *curl = curl_easy_init();
	size_t slen = strlen(server);
	int ret = 0;

	if (!curl)
		return -1;
	while (slen && server[slen - 1] == '/')
		slen--;
	/* the server's session cookie: __Host- prefixed under TLS (server/main.c) */
	if (asprintf(&cookie, "%s=%s", strncmp(server, "https://", 8) == 0 ?
		     "__Host-sphinx_session" : "sphinx_session", token) < 0)
		cookie = NULL;
	esc_since = q->since ? curl_easy_escape(curl, q->since, 0) : NULL;
	esc_machine = q->machine ? curl_easy_escape(curl, q->machine, 0) : NULL;
	esc_grp = q->grp ? curl_easy_escape(curl, q->grp, 0) : NULL;
	while (ret == 0 && cookie) {
		struct fetch f = {};
		FILE *in;
		long status = 0;
		CURLcode rc;

		snprintf(url, sizeof(url), "%.*s/api/admin/observations?after=%s%s%s%s%s%s%s",
			 (int)slen, server, after, esc_since ? "&since=" : "",
			 esc_since ? esc_since : "", esc_machine ? "&machine=" : "",
			 esc_machine ? esc_machine : "", esc_grp ? "&group=" : "",
			 esc_grp ? esc_grp : "");
		curl_easy_reset(curl);
		curl_easy_setopt(curl, CURLOPT_URL, url);
		curl_easy_setopt(curl, CURLOPT_COOKIE, cookie);
		curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
		curl_easy_setopt(curl, CURLOPT_WRITEDATA, &f);
		curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
		curl_easy_setopt(curl, CURLOPT_HEADERDATA, &f);
		curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
		if (q->ca_file)
			curl_easy_setopt(curl, CURLOPT_CAINFO, q->ca_file);
		curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, 10L);
		curl_easy_setopt(curl, CURLOPT_TIMEOUT, 120L);
		rc = curl_easy_perform(curl);
		curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
		if (rc != CURLE_OK) {
			fprintf(stderr, "sphinx-policy: %s: %s\n", url,
				f.too_big ? "a page larger than " STR(MAX_PAGE) " bytes"
					  : curl_easy_strerror(rc));
			ret = -1;
		} else if (status != 200) {
			print_http_error(url, status, &f);
			ret = -1;
		} else if (f.len && (in = fmemopen(f.body, f.len, "r"))) {
			replay_stream(st, in, buf);
			fclose(in);
		}
		free(f.body);
		if (!f.next[0] || strcmp(f.next, after) == 0)
			break;
		snprintf(after, sizeof(after), "%s", f.next);
	}
	curl_free(esc_since);
	curl_free(esc_machine);
	curl_free(esc_grp);
	esc_since = esc_machine = esc_grp = NULL;
	curl_easy_cleanup(curl);
	return cookie ? ret : -1;
}

static int test_usage(void)
{
	fprintf(stderr, "sphinx-policy test: expected POLICY EVENTS.jsonl|-, or POLICY --server "
		"URL --token-file FILE [--since 7d] [--machine NAME] [--group G] "
		"[--ca-file PEM]\n");
	return EXIT_USAGE;
}

static int cmd_test(int argc, char **argv)
{
	static const struct option options[] = {
		{ "server", required_argument, NULL, 's' },
		{ "token-file", required_argument, NULL, 't' },
		{ "since", required_argument, NULL, 'S' },
		{ "machine", required_argument, NULL, 'm' },
		{ "group", required_argument, NULL, 'g' },
		{ "ca-file", required_argument, NULL, 'c' },
		{},
	};
	const char *server = NULL, *token_file = NULL, *since = NULL, *machine = NULL;
	const char *grp = NULL, *ca_file = NULL;
	_cleanup_free_ char *buf = NULL;
	struct replay st = {};
	char token[512];
	int opt, r = 0;

	/* argv[0] is the policy (getopt skips it as the program name); 0: glibc re-initialises */
	optind = 0;
	while ((opt = getopt_long(argc, argv, "", options, NULL)) != -1) {
		switch (opt) {
		case 's': server = optarg; break;
		case 't': token_file = optarg; break;
		case 'S': since = optarg; break;
		case 'm': machine = optarg; break;
		case 'g': grp = optarg; break;
		case 'c': ca_file = optarg; break;
		default: return test_usage();
		}
	}
	/* the server's options only with --server, which takes no EVENTS operand */
	if (server ? optind != argc || !token_file || argc < 1
		   : optind != argc - 1 || argc < 2 || token_file || since || machine || grp ||
			     ca_file)
		return test_usage();
	if (server && strncmp(server, "http://", 7) != 0 && strncmp(server, "https://", 8) != 0) {
		fprintf(stderr, "sphinx-policy: --server %s: expected http://HOST[:PORT] or "
			"https://...\n", server);
		return EXIT_USAGE;
	}
	if (token_file && read_token(token_file, token, sizeof(token)) < 0)
		return EXIT_FAILURE;
	buf = malloc(MAX_LINE + 1);
	if (!buf) {
		fprintf(stderr, "sphinx-policy: out of memory\n");
		return EXIT_FAILURE;
	}
	st.policy = load_or_report(argv[0]);
	if (!st.policy)
		return EXIT_FAILURE;
	st.tally = calloc(policy_rule_count(st.policy) + 1, sizeof(*st.tally));
	if (!st.tally) {
		replay_free(&st);
		return EXIT_FAILURE;
	}
	if (server) {
		st.name = server;
		st.quiet_misses = true;
		struct server_query q = { server, since, machine, grp, ca_file };

		r = replay_server(&st, &q, token, buf);
	} else {
		FILE *in = strcmp(argv[optind], "-") == 0 ? stdin : fopen(argv[optind], "re");

		st.name = argv[optind];
		if (!in) {
			fprintf(stderr, "%s: %s\n", argv[optind], strerror(errno));
			replay_free(&st);
			return EXIT_FAILURE;
		}
		replay_stream(&st, in, buf);
		if (in != stdin)
			fclose(in);
	}
	print_summary(&st);
	replay_free(&st);
	return r < 0 || st.errors ? EXIT_FAILURE : EXIT_SUCCESS;
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
