/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What the policy modules share and nobody else sees.
 *
 * A loaded rule's detection is compiled once, at load, into flat arrays:
 *
 *   policy_detection ── selections[] ── maps[] (OR) ── matches[] (AND)
 *                    └─ condition (a tree over selection indices)
 *
 * and every policy_value is ready to compare: literals unescaped, globs
 * turned into fnmatch(3) patterns, regexes compiled, numbers parsed. The
 * match path (policy_match.c) therefore neither parses nor allocates.
 *
 * Loading (policy_load.c → policy_parse.c → policy_condition.c) reports
 * problems through one policy_loader, which keeps the error count even
 * when the caller passed no diagnostics list. The calls run one way:
 *
 *   policy_load ─→ policy_parse ─→ policy_detection ─→ policy_condition
 *        └──────────────┴─→ policy_rules (the container)
 *   policy_match (matcher + condition evaluator) ─→ policy_rules' data
 *
 * Owns: no state (types and prototypes). Callers: policy_*.c only; nothing
 * outside policy/ includes it.
 */
#ifndef SPHINX_POLICY_INTERNAL_H
#define SPHINX_POLICY_INTERNAL_H

#include <regex.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <yaml.h>

#include "policy.h"

/* Caps beyond those in policy.h; docs/policy.md lists them all. */
#define POLICY_MAX_SELECTIONS	64	/* per rule: the evaluator memoises in a u64 */
#define POLICY_MAX_MAP_ENTRIES	64	/* "Field|mod: value" entries in one map */
#define POLICY_MAX_RULE_VALUES	4096	/* compiled values in one rule */
#define POLICY_MAX_VALUES	65536	/* compiled values in a whole policy */
#define POLICY_MAX_STRING	4096	/* bytes in any one YAML string */
#define POLICY_MAX_ID		128	/* bytes in a rule id */
#define POLICY_MAX_NAME		64	/* bytes in a selection or field name */
#define POLICY_MAX_CONDITION	1024	/* bytes in a condition */
#define POLICY_MAX_COND_DEPTH	32	/* nesting of (), not */
#define POLICY_MAX_DIAGS	500	/* errors kept before giving up */
#define POLICY_MAX_RE_PIECES	65536	/* regex pieces in a whole policy (policy_regex.c) */

/* What ids, selection names and field names are made of. */
#define POLICY_NAME_CHARS \
	"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-"

/* ---------------------------------------------------------- compiled rule */

enum policy_op {
	POLICY_OP_NULL,		/* field absent or empty */
	POLICY_OP_EQUAL,	/* whole value, no wildcard */
	POLICY_OP_GLOB,		/* whole value with * or ?: fnmatch(3) */
	POLICY_OP_CONTAINS,
	POLICY_OP_STARTSWITH,
	POLICY_OP_ENDSWITH,
	POLICY_OP_RE,		/* POSIX ERE, compiled */
	POLICY_OP_GT,
	POLICY_OP_GTE,
	POLICY_OP_LT,
	POLICY_OP_LTE,
	POLICY_OP_EXISTS,	/* number: 1 the field must be present, 0 absent */
	POLICY_OP_CIDR,		/* an IPv4 / IPv6 address inside addr/prefix */
	POLICY_OP_FIELDREF,	/* equals the value of the field named by text */
};

struct policy_value {
	enum policy_op op;
	char *text;		/* literal, glob, RE source or field name; NULL: NULL/numbers */
	size_t len;		/* strlen(text) */
	int64_t number;		/* GT..LTE, EXISTS */
	regex_t *re;		/* RE */
	int family;		/* CIDR: AF_INET or AF_INET6 */
	unsigned prefix;	/* CIDR: network bits */
	unsigned char addr[16];	/* CIDR: network address */
	/*
	 * This value and the next are forms of one written value (windash,
	 * base64offset): either counts, also under `all`.
	 */
	bool alt_next;
};

/*
 * Where an entry's field comes from. Rules of our categories and Sigma's
 * process_creation name event fields; keywords (a selection that lists
 * bare values, or a key '|mod' without a field) search every field; rules
 * written for auditd (logsource service auditd) read the exec as auditd's
 * EXECVE record: type is "EXECVE", argc and a0, a1, ... the arguments.
 */
enum policy_field_src {
	POLICY_FIELD_NAMED,	/* the event field @field */
	POLICY_FIELD_ANY,	/* keyword: any field of the event */
	POLICY_FIELD_ANY_EXECVE,	/* keyword in an auditd rule: type, argc, any argument */
	POLICY_FIELD_ARG,	/* auditd aN: argv[arg] */
	POLICY_FIELD_ARGC,	/* auditd argc */
	POLICY_FIELD_EXECVE,	/* auditd type: always "EXECVE" */
	POLICY_FIELD_NONE,	/* auditd field an EXECVE record never has */
};

/* One "Field|mod|mod: value(s)" entry. */
struct policy_field_match {
	char *field;
	enum policy_field_src src;
	unsigned arg;		/* POLICY_FIELD_ARG */
	bool cased;		/* case-sensitive compare */
	bool all;		/* every value must match, not any */
	size_t n_values;
	struct policy_value *values;
};

/* One map of a selection: all of its entries must match. */
struct policy_selection_map {
	size_t n_matches;
	struct policy_field_match *matches;
};

/* A named selection: any of its maps must match. */
struct policy_selection {
	char *name;
	size_t n_maps;
	struct policy_selection_map *maps;
};

enum policy_cond_type {
	POLICY_COND_SELECTION,
	POLICY_COND_NOT,
	POLICY_COND_AND,
	POLICY_COND_OR,
};

struct policy_cond_node {
	enum policy_cond_type type;
	unsigned selection;	/* SELECTION: index into detection->selections */
	unsigned n_kids;	/* NOT: 1; AND, OR: >= 1 */
	unsigned *kids;		/* indices into condition->nodes */
};

/* A parsed condition: nodes[root] is the top of the tree. */
struct policy_condition {
	size_t n_nodes;
	struct policy_cond_node *nodes;
	unsigned root;
	uint64_t used;		/* bit i: selection i is referenced */
};

struct policy_detection {
	size_t n_selections;
	struct policy_selection *selections;
	struct policy_condition *condition;
};

struct policy {
	size_t n_rules, cap_rules;
	struct policy_rule *rules;
	/* Per category, the indices of its rules in load order. */
	size_t n_by_category[POLICY_CAT__MAX];
	size_t *by_category[POLICY_CAT__MAX];
	uint32_t *id_slots;	/* id hash: rule index + 1, 0 = empty */
};

/* ---------------------------------------------- rule container (policy_rules.c) */

/*
 * Move @rule (complete, with a unique id) into @policy; @rule is zeroed.
 * 0, -EEXIST (id taken), -E2BIG (POLICY_MAX_RULES reached) or -ENOMEM.
 */
int policy_add_rule(struct policy *policy, struct policy_rule *rule);

void policy_detection_free(struct policy_detection *d);

/* A growing NULL-terminated string array (policy_devices.c). */
struct policy_strv {
	char **items;		/* NULL-terminated once anything is added */
	size_t n, cap;
};

/* Append a copy of @s[0..@len) unless empty or already there. 0 or -ENOMEM. */
int policy_strv_add(struct policy_strv *v, const char *s, size_t len);
void policy_rule_clear(struct policy_rule *rule);
/* Once every rule is in: the per-category index policy_match() walks.
 * 0 or -ENOMEM. */
int policy_build_index(struct policy *policy);

/* ------------------------------------------------------------- condition */

/* Where and why a condition failed to parse. */
struct policy_cond_error {
	size_t offset;		/* byte offset into the condition text */
	char message[256];
};

/*
 * Parse @text into a tree over the @n_names selection names (n_names <=
 * POLICY_MAX_SELECTIONS). 0 and *ret (free with policy_condition_free()),
 * -EINVAL with @err filled in, or -ENOMEM.
 */
int policy_condition_parse(const char *text, const char *const *names, size_t n_names,
			   struct policy_condition **ret, struct policy_cond_error *err);
void policy_condition_free(struct policy_condition *cond);

/* ---------------------------------------------------- matching (policy_match.c) */

/* Evaluate @d's condition for @ev; each selection is tried at most once. */
bool policy_detection_matches(const struct policy_detection *d, const struct policy_event *ev);

/*
 * A whole decimal integer with an optional sign, nothing before or after:
 * true and *ret, or false. Used for rule values and, per event, fields.
 */
bool policy_parse_i64(const char *s, int64_t *ret);

/* True when the string @s (a field's value, or NULL: absent) satisfies @m. */
bool policy_field_value_matches(const struct policy_field_match *m, const char *s);

/* True when @sel matches @ev (any map, all entries of it). */
bool policy_selection_matches(const struct policy_selection *sel, const struct policy_event *ev);

/* ------------------------------------------------- PCRE → ERE (policy_regex.c) */

/*
 * Rewrite Sigma's PCRE-flavoured @re as a POSIX ERE into @out (@outlen
 * bytes; 16 * strlen(@re) + 1 is always enough), adding REG_ICASE /
 * REG_NEWLINE to *@cflags for leading (?i) / (?m), and in *@pieces what
 * regcomp() will expand it to (each atom once per copy a repetition makes).
 * 0, or -EINVAL with what has no POSIX equivalent, or costs too much
 * (stacked quantifiers, {n,m} with m - n > 255, over 4096 pieces), in @err.
 */
int policy_regex_translate(const char *re, char *out, size_t outlen, int *cflags,
			   size_t *pieces, char *err, size_t errlen);

/* --------------------------------------------------------------- loading */

struct policy_loader {
	struct policy_diags *diags;	/* may be NULL */
	size_t n_errors;		/* counted even without @diags */
	int io_error;			/* first non-content error, or 0 */
	size_t n_values;		/* compiled values so far (cap) */
	size_t n_re_pieces;		/* what the regexes so far expand to (cap) */
	bool rules_full;		/* POLICY_MAX_RULES reached and reported */
};

/*
 * Record an error at @file:@line:@col (1-based, 0 = unknown). Never fails:
 * an allocation failure is remembered in @l->io_error instead.
 */
void policy_error(struct policy_loader *l, const char *file, unsigned line, unsigned col,
		  const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* True when further errors would not be kept: skip costly hints. */
bool policy_loader_quiet(const struct policy_loader *l);

/* Put items [@first, count) in line, column order (stable). */
void policy_diags_sort(struct policy_diags *diags, size_t first);

/*
 * The candidate closest to @word by edit distance, if it is at most 2 (and
 * less than @word's length); NULL otherwise. For "did you mean" hints.
 */
const char *policy_suggest(const char *word, const char *const *candidates, size_t n);

/*
 * Parse one YAML file's contents (@buf, @len bytes, NUL-terminated) into
 * rules appended to @policy. Errors go to @l; a rule with errors is dropped
 * but the following documents are still read. Returns 0, or -ENOMEM.
 */
int policy_parse_buffer(struct policy_loader *l, struct policy *policy, const char *file,
			const char *buf, size_t len);

/* ------------------------------------------- parsing one rule (YAML) */

/* The state of parsing one rule document (policy_parse.c, policy_detection.c). */
struct policy_rule_ctx {
	struct policy_loader *l;
	const struct policy *policy;	/* the rules accepted so far */
	const char *file;
	yaml_document_t *doc;
	struct policy_rule *rule;
	size_t n_values;		/* compiled values in this rule */
	bool category_ok;		/* logsource parsed: rule->category is valid */
	bool auditd;			/* service auditd: fields are EXECVE's (a0, ...) */
	const char *ls_category;	/* logsource names not ours (borrowed), */
	const char *ls_product;		/* for rule->needs */
	const char *ls_service;
	bool ls_product_given;
	bool kind_bad;			/* kind given but wrong (reported) */
	bool oom;			/* an allocation failed: abandon the load */
};

/* Report an error at @node's start (or at @mark). */
void rule_error(struct policy_rule_ctx *c, const yaml_node_t *node, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void rule_error_mark(struct policy_rule_ctx *c, yaml_mark_t mark, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/*
 * The mark of byte @offset inside a scalar's value: exact for a one-line
 * plain or quoted scalar (escapes in double quotes aside), else the
 * scalar's own start.
 */
yaml_mark_t policy_yaml_mark_inside(const yaml_node_t *node, size_t offset);
/* A YAML null: plain "", "~", "null", "Null", "NULL", or tagged !!null. */
bool policy_yaml_is_null(const yaml_node_t *n);
/* "a string", "a sequence", "a map", "null": for "expected X, got Y". */
const char *policy_yaml_kind(const yaml_node_t *n);
yaml_node_t *policy_yaml_node(struct policy_rule_ctx *c, int idx);
/*
 * A scalar's text when it is a usable string: not null, no NUL byte
 * inside, at most POLICY_MAX_STRING bytes. Otherwise reports "expected a
 * string for '@what', got ..." and returns NULL. Borrowed from the document.
 */
const char *policy_yaml_string(struct policy_rule_ctx *c, const yaml_node_t *n, const char *what);

/* The `detection` map into c->rule->detection (policy_detection.c). */
void policy_parse_detection(struct policy_rule_ctx *c, yaml_node_t *n);

/* An enum's names, indexed by value (policy_names.c). */
struct policy_names {
	const char *const *names;
	size_t n;
};

extern const struct policy_names policy_category_names;
extern const struct policy_names policy_kind_names;
extern const struct policy_names policy_level_names;
extern const struct policy_names policy_action_names;

/* The value named @name: 0, or -EINVAL when the table has no such name. */
int policy_names_lookup(const struct policy_names *t, const char *name, unsigned *ret);

#endif
