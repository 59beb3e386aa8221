// SPDX-License-Identifier: GPL-2.0-only
/*
 * One YAML file → rules. libyaml's document API loads each document (one
 * rule) as a node tree; this file walks that tree by schema and compiles
 * the rule (see policy_internal.h for the compiled form).
 *
 * Keys are recognised by tables (struct key_def): a map is first sorted
 * into "which table entry has which value node" — reporting unknown keys
 * with a did-you-mean, duplicates and non-string keys — and the entries
 * are then parsed in table order, so logsource is known before kind, and
 * kind before threshold. `detection` is handed to policy_detection.c.
 *
 * Every error is reported with the libyaml mark of the offending node
 * (converted to 1-based line and column), and parsing carries on, so one
 * pass finds every problem in the file; each document's errors are then
 * put in line order. A rule that had any error is dropped; the caller
 * (policy_load.c) fails the whole load.
 *
 * Bounds: strings POLICY_MAX_STRING bytes, ids POLICY_MAX_ID, rules
 * POLICY_MAX_RULES; a YAML syntax error ends the file (libyaml cannot
 * resynchronise) but the documents before it still count.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "cleanup.h"
#include "policy_internal.h"
#include "util.h"

/* ------------------------------------------------------------ reporting */

static void verror_at(struct policy_rule_ctx *c, yaml_mark_t mark, const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));

static void verror_at(struct policy_rule_ctx *c, yaml_mark_t mark, const char *fmt, va_list ap)
{
	char msg[512];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	policy_error(c->l, c->file, (unsigned)mark.line + 1, (unsigned)mark.column + 1, "%s", msg);
}

void rule_error_mark(struct policy_rule_ctx *c, yaml_mark_t mark, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	verror_at(c, mark, fmt, ap);
	va_end(ap);
}

void rule_error(struct policy_rule_ctx *c, const yaml_node_t *node, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	verror_at(c, node->start_mark, fmt, ap);
	va_end(ap);
}

yaml_mark_t policy_yaml_mark_inside(const yaml_node_t *node, size_t offset)
{
	yaml_mark_t m = node->start_mark;
	yaml_scalar_style_t style;

	/* Offset 0 is the scalar itself: point at its start, quote and all. */
	if (node->type != YAML_SCALAR_NODE || node->end_mark.line != m.line || offset == 0)
		return m;
	style = node->data.scalar.style;
	if (style == YAML_SINGLE_QUOTED_SCALAR_STYLE || style == YAML_DOUBLE_QUOTED_SCALAR_STYLE)
		m.column++;
	else if (style != YAML_PLAIN_SCALAR_STYLE)
		return m;
	m.column += offset;
	return m;
}

/* ---------------------------------------------------------- node access */

bool policy_yaml_is_null(const yaml_node_t *n)
{
	static const char *const nulls[] = { "", "~", "null", "Null", "NULL" };
	const char *v;

	if (n->type != YAML_SCALAR_NODE)
		return false;
	if (n->tag && strcmp((const char *)n->tag, YAML_NULL_TAG) == 0)
		return true;
	if (n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return false;
	v = (const char *)n->data.scalar.value;
	for (size_t i = 0; i < ARRAY_SIZE(nulls); i++)
		if (strcmp(v, nulls[i]) == 0)
			return true;
	return false;
}

const char *policy_yaml_kind(const yaml_node_t *n)
{
	switch (n->type) {
	case YAML_SCALAR_NODE:
		return policy_yaml_is_null(n) ? "null" : "a string";
	case YAML_SEQUENCE_NODE:
		return "a sequence";
	case YAML_MAPPING_NODE:
		return "a map";
	default:
		return "nothing";
	}
}

yaml_node_t *policy_yaml_node(struct policy_rule_ctx *c, int idx)
{
	return yaml_document_get_node(c->doc, idx);
}

const char *policy_yaml_string(struct policy_rule_ctx *c, const yaml_node_t *n, const char *what)
{
	const char *v;

	if (n->type != YAML_SCALAR_NODE || policy_yaml_is_null(n)) {
		rule_error(c, n, "expected a string for '%s', got %s", what,
			   policy_yaml_kind(n));
		return NULL;
	}
	v = (const char *)n->data.scalar.value;
	if (strlen(v) != n->data.scalar.length) {
		rule_error(c, n, "'%s' contains a NUL byte", what);
		return NULL;
	}
	if (n->data.scalar.length > POLICY_MAX_STRING) {
		rule_error(c, n, "'%s' is longer than %d bytes", what, POLICY_MAX_STRING);
		return NULL;
	}
	return v;
}

static char *dup_string(struct policy_rule_ctx *c, const yaml_node_t *n, const char *what)
{
	const char *v = policy_yaml_string(c, n, what);
	char *copy;

	if (!v)
		return NULL;
	copy = strdup(v);
	if (!copy)
		c->oom = true;
	return copy;
}

/* "a, b, c or d" into @buf. */
static const char *join_names(const struct policy_names *t, char *buf, size_t len)
{
	size_t used = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < t->n && used < len; i++) {
		const char *sep = i == 0 ? "" : i + 1 == t->n ? " or " : ", ";
		int r = snprintf(buf + used, len - used, "%s%s", sep, t->names[i]);

		if (r < 0)
			break;
		used += (size_t)r;
	}
	return buf;
}

/* One of a table's names, with a did-you-mean when it is not. */
static int get_enum(struct policy_rule_ctx *c, const yaml_node_t *n, const char *what,
		    const struct policy_names *t, unsigned *ret)
{
	const char *v = policy_yaml_string(c, n, what), *hint;
	char expected[160];

	if (!v)
		return -EINVAL;
	if (policy_names_lookup(t, v, ret) == 0)
		return 0;
	hint = policy_suggest(v, t->names, t->n);
	join_names(t, expected, sizeof(expected));
	if (hint)
		rule_error(c, n, "unknown %s '%.64s' (did you mean '%s'?); expected %s", what, v,
			   hint, expected);
	else
		rule_error(c, n, "unknown %s '%.64s'; expected %s", what, v, expected);
	return -EINVAL;
}

/* --------------------------------------------------------------- key tables */

#define MAX_KEYS	32	/* entries in a key table */

struct key_def {
	const char *name;
	bool required;
	/* NULL: accepted and ignored (Sigma metadata). */
	void (*parse)(struct policy_rule_ctx *c, yaml_node_t *value);
};

/*
 * Sort @map's pairs into found[i] (value node for keys[i]) and found_key[i]
 * (its key node), reporting non-string, unknown and duplicate keys. @where
 * names the enclosing key in messages ("" at top level). False if @map is
 * not a map (reported).
 */
static bool sort_keys(struct policy_rule_ctx *c, yaml_node_t *map, const char *where,
		      const struct key_def *keys, size_t n_keys,
		      yaml_node_t **found, yaml_node_t **found_key)
{
	const char *names[MAX_KEYS];
	const char *in = *where ? " in '" : "", *in_end = *where ? "'" : "";

	if (map->type != YAML_MAPPING_NODE) {
		if (*where)
			rule_error(c, map, "expected a map for '%s', got %s", where,
				   policy_yaml_kind(map));
		else
			rule_error(c, map, "expected a map (one rule per YAML document), got %s",
				   policy_yaml_kind(map));
		return false;
	}
	for (size_t i = 0; i < n_keys; i++) {
		names[i] = keys[i].name;
		found[i] = found_key[i] = NULL;
	}
	for (yaml_node_pair_t *p = map->data.mapping.pairs.start;
	     p < map->data.mapping.pairs.top; p++) {
		yaml_node_t *k = policy_yaml_node(c, p->key), *v = policy_yaml_node(c, p->value);
		const char *name, *hint;
		size_t i;

		if (!k || !v)
			continue;
		if (k->type != YAML_SCALAR_NODE || policy_yaml_is_null(k)) {
			rule_error(c, k, "expected a string key%s%s%s, got %s", in, where, in_end,
				   policy_yaml_kind(k));
			continue;
		}
		name = (const char *)k->data.scalar.value;
		for (i = 0; i < n_keys; i++)
			if (strcmp(name, keys[i].name) == 0)
				break;
		if (i == n_keys) {
			hint = policy_loader_quiet(c->l) ? NULL
							 : policy_suggest(name, names, n_keys);
			if (hint)
				rule_error(c, k, "unknown key '%.64s'%s%s%s (did you mean '%s'?)",
					   name, in, where, in_end, hint);
			else
				rule_error(c, k, "unknown key '%.64s'%s%s%s", name, in, where,
					   in_end);
			continue;
		}
		if (found[i]) {
			rule_error(c, k, "duplicate key '%s' (first at line %zu)", name,
				   found_key[i]->start_mark.line + 1);
			continue;
		}
		found[i] = v;
		found_key[i] = k;
	}
	return true;
}

/* Sort then parse in table order; report missing required keys at @map. */
static void parse_keys(struct policy_rule_ctx *c, yaml_node_t *map, const char *where,
		       const struct key_def *keys, size_t n_keys)
{
	yaml_node_t *found[MAX_KEYS], *found_key[MAX_KEYS];

	if (!sort_keys(c, map, where, keys, n_keys, found, found_key))
		return;
	for (size_t i = 0; i < n_keys; i++) {
		if (!found[i]) {
			if (keys[i].required && *where)
				rule_error(c, map, "missing required key '%s' in '%s'",
					   keys[i].name, where);
			else if (keys[i].required)
				rule_error(c, map, "missing required key '%s'", keys[i].name);
			continue;
		}
		if (keys[i].parse)
			keys[i].parse(c, found[i]);
	}
}

/* ------------------------------------------------------- simple rule keys */

static void parse_id(struct policy_rule_ctx *c, yaml_node_t *n)
{
	const char *v = policy_yaml_string(c, n, "id");
	const struct policy_rule *first;

	if (!v)
		return;
	if (!*v || strlen(v) > POLICY_MAX_ID) {
		rule_error(c, n, "'id' must be 1 to %d characters", POLICY_MAX_ID);
		return;
	}
	if (v[strspn(v, POLICY_NAME_CHARS)]) {
		rule_error(c, n, "invalid id '%s': use only letters, digits, '.', '_' and '-'", v);
		return;
	}
	first = policy_find_rule(c->policy, v);
	if (first) {
		rule_error(c, n, "duplicate id '%s' (first defined at %s:%u)", v, first->file,
			   first->line);
		return;
	}
	c->rule->id = strdup(v);
	if (!c->rule->id)
		c->oom = true;
}

static void parse_title(struct policy_rule_ctx *c, yaml_node_t *n)
{
	c->rule->title = dup_string(c, n, "title");
}

static void parse_description(struct policy_rule_ctx *c, yaml_node_t *n)
{
	if (!policy_yaml_is_null(n))
		c->rule->description = dup_string(c, n, "description");
}

static void parse_level(struct policy_rule_ctx *c, yaml_node_t *n)
{
	unsigned v;

	if (get_enum(c, n, "level", &policy_level_names, &v) == 0)
		c->rule->level = (enum policy_level)v;
}

static void parse_action(struct policy_rule_ctx *c, yaml_node_t *n)
{
	unsigned v;

	if (get_enum(c, n, "action", &policy_action_names, &v) == 0)
		c->rule->action = (enum policy_action)v;
}

static void parse_kind(struct policy_rule_ctx *c, yaml_node_t *n)
{
	unsigned v;

	if (get_enum(c, n, "kind", &policy_kind_names, &v) < 0) {
		c->kind_bad = true;
		return;
	}
	c->rule->kind = (enum policy_kind)v;
}

/* ------------------------------------------------------------- logsource */

/*
 * Sigma's logsource names what produced the event. Ours (a category of
 * policy_category_names, product linux) and auditd's (service auditd, read
 * as EXECVE records: see policy_detection.c) fire; any other source loads
 * but never fires, and rule->needs says which source it wanted. A near
 * miss of one of ours ("process_creaton", "linx") is an error instead: a
 * typo must not quietly switch a rule off.
 */
static void parse_category(struct policy_rule_ctx *c, yaml_node_t *n)
{
	const char *v = policy_yaml_string(c, n, "category");
	unsigned cat;

	if (!v)
		return;
	if (policy_names_lookup(&policy_category_names, v, &cat) == 0) {
		c->rule->category = (enum policy_category)cat;
		c->category_ok = true;
	} else if (policy_suggest(v, policy_category_names.names, policy_category_names.n)) {
		get_enum(c, n, "category", &policy_category_names, &cat);	/* reports */
	} else {
		c->ls_category = v;
	}
}

static void parse_product(struct policy_rule_ctx *c, yaml_node_t *n)
{
	static const char *const linux_name[] = { "linux" };
	const char *v = policy_yaml_string(c, n, "product");

	c->ls_product_given = v != NULL;
	if (!v || strcmp(v, "linux") == 0)
		return;
	if (policy_suggest(v, linux_name, 1))
		rule_error(c, n, "unknown product '%.64s' (did you mean 'linux'?)", v);
	else
		c->ls_product = v;
}

static void parse_service(struct policy_rule_ctx *c, yaml_node_t *n)
{
	c->ls_service = policy_yaml_string(c, n, "service");
}

static const struct key_def logsource_keys[] = {
	{ "category", false, parse_category },
	{ "product", false, parse_product },
	{ "service", false, parse_service },
	{ "definition", false, NULL },
};

static void set_needs(struct policy_rule_ctx *c, const char *what, const char *name)
{
	char buf[128];

	snprintf(buf, sizeof(buf), "%s '%.64s'", what, name);
	c->rule->needs = strdup(buf);
	if (!c->rule->needs)
		c->oom = true;
}

static void parse_logsource(struct policy_rule_ctx *c, yaml_node_t *n)
{
	size_t errors = c->l->n_errors;

	parse_keys(c, n, "logsource", logsource_keys, ARRAY_SIZE(logsource_keys));
	if (c->l->n_errors != errors)
		return;
	if (c->ls_product) {
		set_needs(c, "product", c->ls_product);
	} else if (c->ls_category) {
		set_needs(c, "category", c->ls_category);
	} else if (c->category_ok) {
		return;		/* one of ours; a service alongside says nothing more */
	} else if (c->ls_service && strcmp(c->ls_service, "auditd") == 0) {
		c->rule->category = POLICY_CAT_PROCESS_CREATION;
		c->category_ok = true;
		c->auditd = true;
	} else if (c->ls_service) {
		set_needs(c, "service", c->ls_service);
	} else if (c->ls_product_given) {
		c->rule->needs = strdup("every log of product 'linux' (the logsource names no "
					"category or service)");
		if (!c->rule->needs)
			c->oom = true;
	} else {
		rule_error(c, n, "'logsource' needs a 'category' (process_creation, file_access "
			   "or screen_capture), 'service: auditd' or a 'product'");
	}
	/* A rule that never fires gets no category: keep it out of the index. */
	if (c->rule->needs)
		c->category_ok = false;
}

/* ------------------------------------------------------------- threshold */

#define THRESHOLD_MAX_CALLS	1000000
#define THRESHOLD_MAX_WINDOW_MS	3600000

static void parse_calls(struct policy_rule_ctx *c, yaml_node_t *n)
{
	const char *v = policy_yaml_string(c, n, "calls");
	uint64_t calls;

	if (!v)
		return;
	if (parse_u64(v, 1, THRESHOLD_MAX_CALLS, &calls) < 0) {
		rule_error(c, n, "expected a whole number from 1 to %d for 'calls', got '%.64s'",
			   THRESHOLD_MAX_CALLS, v);
		return;
	}
	c->rule->threshold_calls = (unsigned)calls;
}

static void parse_window(struct policy_rule_ctx *c, yaml_node_t *n)
{
	const char *v = policy_yaml_string(c, n, "window");
	uint64_t ms;

	if (!v)
		return;
	if (parse_duration_ms(v, &ms) < 0 || ms == 0 || ms > THRESHOLD_MAX_WINDOW_MS) {
		rule_error(c, n, "expected a duration from 1ms to 1h like '2s' or '500ms' for "
			   "'window', got '%.64s'", v);
		return;
	}
	c->rule->threshold_window_ms = ms;
}

static const struct key_def threshold_keys[] = {
	{ "calls", false, parse_calls },
	{ "window", false, parse_window },
};

static void parse_threshold(struct policy_rule_ctx *c, yaml_node_t *n)
{
	parse_keys(c, n, "threshold", threshold_keys, ARRAY_SIZE(threshold_keys));
	if (c->rule->kind != POLICY_KIND_AUTO && !c->kind_bad)
		rule_error(c, n, "'threshold' is only used by rules of kind 'auto' (this one is "
			   "'%s')", policy_kind_name(c->rule->kind));
}

/* ------------------------------------------------------------------ rules */

/* Processing order matters: logsource before kind, kind before threshold. */
static const struct key_def rule_keys[] = {
	{ "id", true, parse_id },
	{ "title", true, parse_title },
	{ "description", false, parse_description },
	{ "level", false, parse_level },
	{ "action", false, parse_action },
	{ "logsource", true, parse_logsource },
	{ "kind", false, parse_kind },
	{ "threshold", false, parse_threshold },
	{ "detection", true, policy_parse_detection },
	/* Sigma metadata: accepted and ignored. */
	{ "status", false, NULL },
	{ "author", false, NULL },
	{ "date", false, NULL },
	{ "modified", false, NULL },
	{ "references", false, NULL },
	{ "tags", false, NULL },
	{ "falsepositives", false, NULL },
	{ "fields", false, NULL },
	{ "related", false, NULL },
	{ "name", false, NULL },
	{ "taxonomy", false, NULL },
	{ "license", false, NULL },
	{ "scope", false, NULL },
	{ "simulation", false, NULL },
	{ "regression_tests_path", false, NULL },
};

_Static_assert(ARRAY_SIZE(rule_keys) <= MAX_KEYS, "rule_keys outgrew MAX_KEYS");

/*
 * Parse the document rooted at @root into @rule (zeroed by the caller).
 * Returns 0 when the rule is complete, -EINVAL when errors were reported
 * (the rule must then be cleared), -ENOMEM.
 */
static int parse_rule(struct policy_loader *l, const struct policy *policy, const char *file,
		      yaml_document_t *doc, yaml_node_t *root, struct policy_rule *rule)
{
	struct policy_rule_ctx c = {
		.l = l, .policy = policy, .file = file, .doc = doc, .rule = rule,
	};
	size_t errors = l->n_errors;

	rule->level = POLICY_LEVEL_MEDIUM;
	rule->kind = POLICY_KIND_AUTO;	/* a rule that does not say: the call rate decides */
	rule->action = POLICY_ACTION_ALERT;
	rule->threshold_calls = 5;
	rule->threshold_window_ms = 2000;
	rule->line = (unsigned)root->start_mark.line + 1;
	rule->file = strdup(file);
	if (!rule->file)
		return -ENOMEM;
	parse_keys(&c, root, "", rule_keys, ARRAY_SIZE(rule_keys));
	if (c.oom)
		return -ENOMEM;
	return l->n_errors == errors ? 0 : -EINVAL;
}

/* ------------------------------------------------------------- documents */

/* 1-based line and column of byte @offset in @buf. */
static void offset_to_position(const char *buf, size_t len, size_t offset, unsigned *line,
			       unsigned *col)
{
	*line = 1;
	*col = 1;
	for (size_t i = 0; i < offset && i < len; i++) {
		if (buf[i] == '\n') {
			(*line)++;
			*col = 1;
		} else {
			(*col)++;
		}
	}
}

static void report_yaml_error(struct policy_loader *l, const char *file, const yaml_parser_t *p,
			      const char *buf, size_t len)
{
	unsigned line, col;

	switch (p->error) {
	case YAML_MEMORY_ERROR:
		if (!l->io_error)
			l->io_error = -ENOMEM;
		policy_error(l, file, 0, 0, "out of memory while reading YAML");
		return;
	case YAML_READER_ERROR:
		offset_to_position(buf, len, p->problem_offset, &line, &col);
		if (p->problem_value != -1)
			policy_error(l, file, line, col, "YAML: %s (byte 0x%02x)", p->problem,
				     (unsigned)p->problem_value & 0xff);
		else
			policy_error(l, file, line, col, "YAML: %s", p->problem);
		return;
	default:
		break;
	}
	line = (unsigned)p->problem_mark.line + 1;
	col = (unsigned)p->problem_mark.column + 1;
	if (p->context)
		policy_error(l, file, line, col,
			     "YAML syntax error: %s (%s at line %zu, column %zu)",
			     p->problem ? p->problem : "unknown problem", p->context,
			     p->context_mark.line + 1, p->context_mark.column + 1);
	else
		policy_error(l, file, line, col, "YAML syntax error: %s",
			     p->problem ? p->problem : "unknown problem");
}

/* Parse one loaded document; 0 or -ENOMEM (content errors go to @l). */
static int parse_document(struct policy_loader *l, struct policy *policy, const char *file,
			  yaml_document_t *doc, yaml_node_t *root)
{
	struct policy_rule rule = {};
	size_t first;
	int r;

	/* An empty document ("---" with nothing after it) holds no rule. */
	if (root->type == YAML_SCALAR_NODE && policy_yaml_is_null(root))
		return 0;
	if (policy->n_rules >= POLICY_MAX_RULES) {
		if (!l->rules_full)
			policy_error(l, file, (unsigned)root->start_mark.line + 1,
				     (unsigned)root->start_mark.column + 1,
				     "too many rules: a policy holds at most %d", POLICY_MAX_RULES);
		l->rules_full = true;
		return -E2BIG;
	}
	first = l->diags ? l->diags->count : 0;
	r = parse_rule(l, policy, file, doc, root, &rule);
	if (l->diags)
		policy_diags_sort(l->diags, first);
	if (r == 0)
		r = policy_add_rule(policy, &rule);
	if (r < 0)
		policy_rule_clear(&rule);
	return r == -ENOMEM ? r : 0;
}

int policy_parse_buffer(struct policy_loader *l, struct policy *policy, const char *file,
			const char *buf, size_t len)
{
	yaml_parser_t parser;
	int r = 0;

	if (!yaml_parser_initialize(&parser))
		return -ENOMEM;
	yaml_parser_set_input_string(&parser, (const unsigned char *)buf, len);
	for (;;) {
		yaml_document_t doc;
		yaml_node_t *root;

		if (!yaml_parser_load(&parser, &doc)) {
			report_yaml_error(l, file, &parser, buf, len);
			break;
		}
		root = yaml_document_get_root_node(&doc);
		if (!root) {
			yaml_document_delete(&doc);
			break;	/* end of the stream */
		}
		r = parse_document(l, policy, file, &doc, root);
		yaml_document_delete(&doc);
		if (r < 0)
			break;
	}
	yaml_parser_delete(&parser);
	return r == -ENOMEM ? r : 0;
}
