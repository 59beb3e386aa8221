// SPDX-License-Identifier: GPL-2.0-only
/*
 * Which program names an exec must have for a process_creation rule to
 * match it: the kernel wakes the agent at once for those execs and lets
 * every other exec record wait for the next poll (policy.h,
 * policy_exec_names()).
 *
 * A name is read from what a rule says of the exec'd file's basename:
 *
 *   Image: /usr/bin/obs, Image|endswith: /obs, Image: '*' '/obs'  -> obs
 *   Image|re: '/(ffmpeg|avconv)[^/]*$'                    -> ffmpeg*, avconv*
 *   Comm: obs -> obs;  Comm|startswith: ffm -> ffm*
 *
 * A regex is read only in the form  ... '/' ALT REST '$'  with no top-level
 * '|', where ALT is a literal or a group of literal alternatives and REST
 * cannot match '/' (so the basename starts with ALT; an empty REST means it
 * is ALT). Anything else on Image (contains, startswith, a suffix without
 * '/', another regex) and every other field says nothing about the name.
 *
 * Over a condition: a selection's maps are OR'ed (every map must name its
 * programs), a map's entries AND'ed (one entry naming programs is enough),
 * `or` unites, `and` takes the narrowest side that names programs, `not`
 * names none. Where some way to match names no program, the rule is
 * "batched": it still matches, after the poll. The names of its other
 * branches are kept (a rule matching "/usr/bin/kazam" or "python3 kazam"
 * wakes at once for the first form).
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "policy_internal.h"

/* The names one part of a rule requires, and whether it also matches
 * execs of any name (then the names are a partial list). */
struct names {
	struct policy_strv v;
	bool any;
};

static void names_clear(struct names *n)
{
	policy_strv_free(n->v.items);
	*n = (struct names){};
}

/* Add @len bytes of @s lowered, with a trailing '*' when @prefix. */
static int names_add(struct names *n, const char *s, size_t len, bool prefix)
{
	char buf[POLICY_MAX_NAME + 2];

	if (len == 0 || len > POLICY_MAX_NAME)
		return 0;
	for (size_t i = 0; i < len; i++) {
		/* '*' marks a prefix; '/' cannot be in a file name. */
		if (s[i] == '*' || s[i] == '/' || s[i] == '\0')
			return 0;
		buf[i] = (char)tolower((unsigned char)s[i]);
	}
	if (prefix)
		buf[len++] = '*';
	return policy_strv_add(&n->v, buf, len);
}

static int names_merge(struct names *into, const struct names *from)
{
	for (size_t i = 0; i < from->v.n; i++) {
		int r = policy_strv_add(&into->v, from->v.items[i], strlen(from->v.items[i]));

		if (r < 0)
			return r;
	}
	into->any |= from->any;
	return 0;
}

/* ------------------------------------------------------ regular expressions */

/* A character that stands for itself in an ERE (not a file name's '/'). */
static bool re_literal(const char *p, size_t *len)
{
	if (p[0] == '\\' && p[1] && ispunct((unsigned char)p[1]) && p[1] != '/') {
		*len = 2;
		return true;
	}
	*len = 1;
	return isalnum((unsigned char)p[0]) || p[0] == '_' || p[0] == '-';
}

static bool re_quantifier(char c)
{
	return c == '*' || c == '+' || c == '?' || c == '{';
}

/* Copy the literal at @p (escapes undone) to @out; its length in *@used. */
static size_t re_take_literal(const char *p, char *out, size_t cap, size_t *used)
{
	size_t n = 0, i = 0, step;

	while (p[i] && re_literal(p + i, &step) && n < cap) {
		/* A quantified last character is not certain: leave it out. */
		if (re_quantifier(p[i + step]))
			break;
		out[n++] = p[i + step - 1];
		i += step;
	}
	*used = i;
	return n;
}

/* A bracket expression at @p that cannot match '/': its length, or 0. */
static size_t re_bracket_no_slash(const char *p)
{
	bool negated = p[1] == '^', slash = false;
	size_t i = negated ? 2 : 1;

	if (p[i] == ']')
		i++;
	for (; p[i] && p[i] != ']'; i++) {
		if (p[i] == '[')
			return 0;	/* [:class:], [=e=], [.c.]: not read */
		if (p[i] == '/')
			slash = true;
		if (p[i] == '-' && i > 1 && p[i + 1] && p[i + 1] != ']' &&
		    (unsigned char)p[i - 1] < '/' && (unsigned char)p[i + 1] > '/')
			slash = true;	/* a range over '/' */
	}
	if (p[i] != ']' || slash != negated)
		return 0;
	return i + 1;
}

/* True when the ERE fragment @p[0..@len) can match no string holding '/'. */
static bool re_no_slash(const char *p, size_t len)
{
	for (size_t i = 0; i < len;) {
		size_t step;

		if (p[i] == '[') {
			step = re_bracket_no_slash(p + i);
			if (!step)
				return false;
		} else if (p[i] == '\\') {
			if (!re_literal(p + i, &step))
				return false;
		} else if (p[i] == '.' || p[i] == '/' || p[i] == '^' || p[i] == '$') {
			return false;
		} else {
			step = 1;	/* literals, groups, '|' in a group, quantifiers */
		}
		i += step;
	}
	return true;
}

/* Where the last '/' outside brackets and groups is, or -1; -1 too when a
 * top-level '|' makes the expression an alternation. */
static long re_last_slash(const char *re, size_t len)
{
	long slash = -1;
	int depth = 0;

	for (size_t i = 0; i < len; i++) {
		size_t step;

		if (re[i] == '\\') {
			i++;
		} else if (re[i] == '[') {
			step = re_bracket_no_slash(re + i);
			if (!step)	/* skip to its end whatever it holds */
				while (i + 1 < len && re[i + 1] != ']')
					i++;
			else
				i += step - 1;
		} else if (re[i] == '(') {
			depth++;
		} else if (re[i] == ')') {
			depth--;
		} else if (re[i] == '|' && depth == 0) {
			return -1;
		} else if (re[i] == '/' && depth == 0) {
			slash = (long)i;
		}
	}
	return slash;
}

static int re_names(const char *re, struct names *out)
{
	char lit[8][POLICY_MAX_NAME];
	size_t lens[8], n_alt = 0, len = strlen(re), used;
	const char *p, *rest;
	long slash;
	int r;

	if (len < 2 || re[len - 1] != '$' || re[len - 2] == '\\')
		goto any;
	slash = re_last_slash(re, len - 1);
	if (slash < 0)
		goto any;
	p = re + slash + 1;
	if (*p == '(') {
		for (p++;; p++) {
			if (n_alt == 8)
				goto any;
			lens[n_alt] = re_take_literal(p, lit[n_alt], POLICY_MAX_NAME, &used);
			if (!lens[n_alt++])
				goto any;
			p += used;
			if (*p == ')')
				break;
			if (*p != '|')
				goto any;
		}
		p++;
		if (re_quantifier(*p))
			goto any;
	} else {
		lens[0] = re_take_literal(p, lit[0], POLICY_MAX_NAME, &used);
		if (!lens[n_alt++])
			goto any;
		p += used;
	}
	rest = p;
	if (!re_no_slash(rest, (size_t)(re + len - 1 - rest)))
		goto any;
	for (size_t i = 0; i < n_alt; i++) {
		r = names_add(out, lit[i], lens[i], rest != re + len - 1);
		if (r < 0)
			return r;
	}
	return 0;
any:
	out->any = true;
	return 0;
}

/* ------------------------------------------------------------ rule parts */

static bool glob_literal(const char *s)
{
	return !strpbrk(s, "*?[\\");
}

static int image_value_names(const struct policy_value *v, struct names *out)
{
	const char *base = v->text ? strrchr(v->text, '/') : NULL;

	switch (v->op) {
	case POLICY_OP_EQUAL:
		base = base ? base + 1 : v->text;
		return names_add(out, base, strlen(base), false);
	case POLICY_OP_ENDSWITH:
	case POLICY_OP_GLOB:
		/* "/obs" or "*" "/obs": the basename is obs. */
		if (base && glob_literal(base + 1))
			return names_add(out, base + 1, strlen(base + 1), false);
		break;
	case POLICY_OP_RE:
		return re_names(v->text, out);
	default:
		break;
	}
	out->any = true;
	return 0;
}

static int comm_value_names(const struct policy_value *v, struct names *out)
{
	size_t len = v->text ? strlen(v->text) : 0;

	switch (v->op) {
	case POLICY_OP_EQUAL:
		return names_add(out, v->text, len, false);
	case POLICY_OP_STARTSWITH:
		return names_add(out, v->text, len, true);
	case POLICY_OP_GLOB:
		/* "ffm*": a prefix; any other wildcard says too little. */
		if (len > 1 && v->text[len - 1] == '*' && strcspn(v->text, "*?[\\") == len - 1)
			return names_add(out, v->text, len - 1, true);
		break;
	default:
		break;
	}
	out->any = true;
	return 0;
}

static int field_names(const struct policy_field_match *m, struct names *out)
{
	bool image = strcmp(m->field, "Image") == 0, comm = strcmp(m->field, "Comm") == 0;

	if (!image && !comm) {
		out->any = true;
		return 0;
	}
	for (size_t i = 0; i < m->n_values; i++) {
		struct names one = {};
		int r = image ? image_value_names(&m->values[i], &one)
			      : comm_value_names(&m->values[i], &one);

		/* |all: one value that names programs is enough. */
		if (r == 0 && m->all && !one.any) {
			names_clear(out);
			r = names_merge(out, &one);
			names_clear(&one);
			return r;
		}
		if (r == 0)
			r = names_merge(out, &one);
		names_clear(&one);
		if (r < 0)
			return r;
	}
	return 0;
}

/* AND: the narrowest part naming programs; else all parts' partial names. */
static int and_pick(struct names *best, struct names *cand)
{
	if (!cand->any && (best->any || cand->v.n < best->v.n)) {
		names_clear(best);
		*best = *cand;
		*cand = (struct names){};
		return 0;
	}
	return best->any ? names_merge(best, cand) : 0;
}

static int map_names(const struct policy_selection_map *map, struct names *out)
{
	out->any = true;
	for (size_t i = 0; i < map->n_matches; i++) {
		struct names one = {};
		int r = field_names(&map->matches[i], &one);

		if (r == 0)
			r = and_pick(out, &one);
		names_clear(&one);
		if (r < 0)
			return r;
	}
	return 0;
}

static int selection_names(const struct policy_selection *sel, struct names *out)
{
	for (size_t i = 0; i < sel->n_maps; i++) {
		struct names one = {};
		int r = map_names(&sel->maps[i], &one);

		if (r == 0)
			r = names_merge(out, &one);
		names_clear(&one);
		if (r < 0)
			return r;
	}
	return 0;
}

static int cond_names(const struct policy_detection *d, unsigned node, struct names *out)
{
	const struct policy_cond_node *c = &d->condition->nodes[node];

	switch (c->type) {
	case POLICY_COND_SELECTION:
		return selection_names(&d->selections[c->selection], out);
	case POLICY_COND_NOT:
		out->any = true;
		return 0;
	case POLICY_COND_AND:
	case POLICY_COND_OR:
		out->any = c->type == POLICY_COND_AND;
		for (unsigned i = 0; i < c->n_kids; i++) {
			struct names one = {};
			int r = cond_names(d, c->kids[i], &one);

			if (r == 0)
				r = c->type == POLICY_COND_AND ? and_pick(out, &one)
							       : names_merge(out, &one);
			names_clear(&one);
			if (r < 0)
				return r;
		}
		return 0;
	}
	out->any = true;
	return 0;
}

static int strv_init(struct policy_strv *v)
{
	v->items = calloc(1, sizeof(*v->items));
	v->cap = 1;
	return v->items ? 0 : -ENOMEM;
}

int policy_exec_names(const struct policy *policy, char ***ret_names, char ***ret_batched)
{
	struct names all = {};
	struct policy_strv batched = {};
	int r = strv_init(&all.v);

	if (r == 0)
		r = strv_init(&batched);
	for (size_t i = 0; r == 0 && policy && i < policy->n_rules; i++) {
		const struct policy_rule *rule = &policy->rules[i];
		struct names one = {};

		/* A rule that never fires (rule->needs) needs no exec at all. */
		if (rule->category != POLICY_CAT_PROCESS_CREATION || rule->needs)
			continue;
		r = cond_names(rule->detection, rule->detection->condition->root, &one);
		if (r == 0 && one.any)
			r = policy_strv_add(&batched, rule->id, strlen(rule->id));
		if (r == 0)
			r = names_merge(&all, &one);
		names_clear(&one);
	}
	if (r < 0) {
		names_clear(&all);
		policy_strv_free(batched.items);
		return r;
	}
	*ret_names = all.v.items;
	*ret_batched = batched.items;
	return (int)all.v.n;
}
