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
#include <errno.h>
#include <fnmatch.h>
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

static bool value_matches(const struct policy_value *v, bool cased, const char *s)
{
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
	}
	return false;
}

static bool field_matches(const struct policy_field_match *m, const struct policy_event *ev)
{
	const char *s = policy_event_get(ev, m->field);

	for (size_t i = 0; i < m->n_values; i++) {
		const struct policy_value *v = &m->values[i];
		bool hit = s ? value_matches(v, m->cased, s) : v->op == POLICY_OP_NULL;

		if (hit != m->all)
			return hit;	/* any: first hit wins; all: first miss loses */
	}
	return m->all;
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
