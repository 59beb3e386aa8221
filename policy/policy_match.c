// SPDX-License-Identifier: GPL-2.0-only
/*
 * Matching events against loaded rules. This runs for every exec on the
 * machine, so everything it needs was prepared at load (policy_parse.c):
 * literals are unescaped, wildcards are fnmatch(3) patterns, regexes are
 * compiled, numbers are parsed, and each category has its own rule list.
 * Nothing here allocates or logs (glibc's regexec() may allocate inside).
 *
 * Semantics, innermost first:
 *   value     one comparison: equal / glob / contains / startswith /
 *             endswith (ASCII case-insensitive unless `cased`), regex,
 *             numeric gt/gte/lt/lte, or null (field absent or empty);
 *   field     any value matches (all of them with `|all`); an absent
 *             field matches only null values;
 *   map       every field entry matches;
 *   selection any of its maps matches;
 *   rule      its condition over the selections: the tree policy_condition.c
 *             parsed, evaluated here with short-circuits and each selection
 *             memoised in two 64-bit masks on the stack (a rule has at most
 *             POLICY_MAX_SELECTIONS), so a selection named twice is matched
 *             once and nothing is allocated.
 * The best rule is the highest level, then the first loaded.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "policy_internal.h"

bool policy_parse_i64(const char *s, int64_t *ret)
{
	char *end;
	long long v;

	/* strtoll() would also skip leading blanks: a field " 5" is no number. */
	if (!(*s == '-' || *s == '+' || (*s >= '0' && *s <= '9')))
		return false;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || *end || end == s)
		return false;
	*ret = v;
	return true;
}

static bool cidr_matches(const struct policy_value *v, const char *s)
{
	unsigned char a[16];
	unsigned full = v->prefix / 8, rest = v->prefix % 8;

	if (inet_pton(v->family, s, a) != 1)
		return false;
	if (memcmp(a, v->addr, full) != 0)
		return false;
	return rest == 0 || ((a[full] ^ v->addr[full]) & (0xff00u >> rest) & 0xff) == 0;
}

static bool value_matches(const struct policy_value *v, bool cased, const char *s,
			  const struct policy_event *ev)
{
	const char *other;
	size_t len;
	int64_t n;

	switch (v->op) {
	case POLICY_OP_NULL:
		return *s == '\0';
	case POLICY_OP_EQUAL:
		return cased ? strcmp(s, v->text) == 0 : strcasecmp(s, v->text) == 0;
	case POLICY_OP_GLOB:
		return fnmatch(v->text, s, cased ? 0 : FNM_CASEFOLD) == 0;
	case POLICY_OP_CONTAINS:
		return (cased ? strstr(s, v->text) : strcasestr(s, v->text)) != NULL;
	case POLICY_OP_STARTSWITH:
		return cased ? strncmp(s, v->text, v->len) == 0
			     : strncasecmp(s, v->text, v->len) == 0;
	case POLICY_OP_ENDSWITH:
		len = strlen(s);
		if (len < v->len)
			return false;
		s += len - v->len;
		return cased ? strcmp(s, v->text) == 0 : strcasecmp(s, v->text) == 0;
	case POLICY_OP_RE:
		return regexec(v->re, s, 0, NULL, 0) == 0;
	case POLICY_OP_GT:
		return policy_parse_i64(s, &n) && n > v->number;
	case POLICY_OP_GTE:
		return policy_parse_i64(s, &n) && n >= v->number;
	case POLICY_OP_LT:
		return policy_parse_i64(s, &n) && n < v->number;
	case POLICY_OP_LTE:
		return policy_parse_i64(s, &n) && n <= v->number;
	case POLICY_OP_EXISTS:
		return v->number;
	case POLICY_OP_CIDR:
		return cidr_matches(v, s);
	case POLICY_OP_FIELDREF:
		other = ev ? policy_event_get(ev, v->text) : NULL;
		return other && (cased ? strcmp(s, other) == 0 : strcasecmp(s, other) == 0);
	}
	return false;
}

/* An absent field satisfies only null and "exists: false". */
static bool absent_matches(const struct policy_value *v)
{
	return v->op == POLICY_OP_NULL || (v->op == POLICY_OP_EXISTS && !v->number);
}

/* A keyword: any field of the event (and, for auditd rules, the EXECVE record). */
static bool keyword_matches(const struct policy_field_match *m, const struct policy_value *v,
			    const struct policy_event *ev)
{
	char argc[24];

	if (m->src == POLICY_FIELD_ANY) {
		for (size_t i = 0; i < ev->n_fields; i++)
			if (value_matches(v, m->cased, ev->fields[i].value, ev))
				return true;
		return false;
	}
	if (ev->category != POLICY_CAT_PROCESS_CREATION)
		return false;
	snprintf(argc, sizeof(argc), "%zu", ev->argc);
	if (value_matches(v, m->cased, "EXECVE", ev) || value_matches(v, m->cased, argc, ev))
		return true;
	for (size_t i = 0; i < ev->argc; i++)
		if (value_matches(v, m->cased, ev->argv[i], ev))
			return true;
	return false;
}

/* The value @m reads from @ev, or NULL when absent; @buf holds a formatted one. */
static const char *field_value(const struct policy_field_match *m, const struct policy_event *ev,
			       char *buf, size_t len)
{
	bool exec = ev->category == POLICY_CAT_PROCESS_CREATION;

	switch (m->src) {
	case POLICY_FIELD_NAMED:
		return policy_event_get(ev, m->field);
	case POLICY_FIELD_ARG:
		return exec && m->arg < ev->argc ? ev->argv[m->arg] : NULL;
	case POLICY_FIELD_ARGC:
		if (!exec || !ev->argv)
			return NULL;
		snprintf(buf, len, "%zu", ev->argc);
		return buf;
	case POLICY_FIELD_EXECVE:
		return exec ? "EXECVE" : NULL;
	default:
		return NULL;
	}
}

static bool entry_matches(const struct policy_field_match *m, const char *s,
			  const struct policy_event *ev)
{
	bool keyword = m->src == POLICY_FIELD_ANY || m->src == POLICY_FIELD_ANY_EXECVE;

	for (size_t i = 0; i < m->n_values; ) {
		bool hit = false, more;

		do {	/* a written value and its variants count as one */
			const struct policy_value *v = &m->values[i];

			more = v->alt_next && i + 1 < m->n_values;
			i++;
			if (hit)
				continue;
			if (keyword)
				hit = ev && keyword_matches(m, v, ev);
			else
				hit = s ? value_matches(v, m->cased, s, ev) : absent_matches(v);
		} while (more);
		if (hit != m->all)
			return hit;	/* any: first hit wins; all: first miss loses */
	}
	return m->all;
}

bool policy_field_value_matches(const struct policy_field_match *m, const char *s)
{
	return entry_matches(m, s, NULL);
}

static bool field_matches(const struct policy_field_match *m, const struct policy_event *ev)
{
	char buf[24];

	return entry_matches(m, field_value(m, ev, buf, sizeof(buf)), ev);
}

bool policy_selection_matches(const struct policy_selection *sel, const struct policy_event *ev)
{
	for (size_t i = 0; i < sel->n_maps; i++) {
		const struct policy_selection_map *map = &sel->maps[i];
		size_t j;

		for (j = 0; j < map->n_matches; j++)
			if (!field_matches(&map->matches[j], ev))
				break;
		if (j == map->n_matches)
			return true;
	}
	return false;
}

/* ------------------------------------------------------------ evaluation */

struct eval {
	const struct policy_detection *d;
	const struct policy_event *ev;
	uint64_t done, value;	/* memo: selection i tried / matched */
};

static bool eval_node(struct eval *e, unsigned idx)
{
	const struct policy_cond_node *n = &e->d->condition->nodes[idx];
	uint64_t bit;

	switch (n->type) {
	case POLICY_COND_SELECTION:
		bit = UINT64_C(1) << n->selection;
		if (!(e->done & bit)) {
			e->done |= bit;
			if (policy_selection_matches(&e->d->selections[n->selection], e->ev))
				e->value |= bit;
		}
		return e->value & bit;
	case POLICY_COND_NOT:
		return !eval_node(e, n->kids[0]);
	case POLICY_COND_AND:
		for (unsigned i = 0; i < n->n_kids; i++)
			if (!eval_node(e, n->kids[i]))
				return false;
		return true;
	case POLICY_COND_OR:
		for (unsigned i = 0; i < n->n_kids; i++)
			if (eval_node(e, n->kids[i]))
				return true;
		return false;
	}
	return false;
}

bool policy_detection_matches(const struct policy_detection *d, const struct policy_event *ev)
{
	struct eval e = { .d = d, .ev = ev };

	if (!d || !d->condition)
		return false;
	return eval_node(&e, d->condition->root);
}

/* ---------------------------------------------------------------- rules */

const struct policy_rule *policy_match(const struct policy *policy, const struct policy_event *ev)
{
	const struct policy_rule *best = NULL;
	size_t n;
	const size_t *idx;

	if (!policy || (unsigned)ev->category >= POLICY_CAT__MAX)
		return NULL;
	n = policy->n_by_category[ev->category];
	idx = policy->by_category[ev->category];
	for (size_t i = 0; i < n; i++) {
		const struct policy_rule *r = &policy->rules[idx[i]];

		/* Only a strictly higher level can displace an earlier match. */
		if (best && r->level <= best->level)
			continue;
		if (!policy_detection_matches(r->detection, ev))
			continue;
		best = r;
		if (best->level == POLICY_LEVEL_CRITICAL)
			break;
	}
	return best;
}

size_t policy_match_all(const struct policy *policy, const struct policy_event *ev,
			const struct policy_rule **out, size_t max)
{
	size_t n, count = 0;
	const size_t *idx;

	if (!policy || (unsigned)ev->category >= POLICY_CAT__MAX)
		return 0;
	n = policy->n_by_category[ev->category];
	idx = policy->by_category[ev->category];
	for (size_t i = 0; i < n; i++) {
		const struct policy_rule *r = &policy->rules[idx[i]];

		if (!policy_detection_matches(r->detection, ev))
			continue;
		if (count < max && out)
			out[count] = r;
		count++;
	}
	return count;
}
