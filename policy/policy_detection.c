// SPDX-License-Identifier: GPL-2.0-only
/*
 * A rule's `detection` map → struct policy_detection: named selections
 * compiled for the matcher, and the condition parsed over their names.
 *
 *   detection:
 *     selection:                  # a map: every entry must match
 *       Image|endswith: /ffmpeg
 *       CommandLine|re: ' -f +x11grab'
 *     filter:                     # a list of maps: any map may match
 *       - User: root
 *       - Uid|lt: 1000
 *     condition: selection and not filter
 *
 * A key "Field|mod|mod" is split at '|'; each modifier is looked up in a
 * table that says whether it picks the comparison (contains, re, gt, ...)
 * or sets a flag (all, cased, i), and illegal combinations are refused
 * here, once, so the matcher never checks them. Each value is compiled
 * into a struct policy_value: plain values become an exact literal or,
 * when they hold Sigma wildcards, an fnmatch(3) pattern with '[' and ']'
 * escaped; regexes are regcomp()ed; numbers parsed. Errors name the
 * exact node, or the modifier's column inside the key, and parsing goes
 * on to report the rest.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "policy_internal.h"

#define MAX_MODIFIERS	8

/* ------------------------------------------------------------ values */

enum {
	MOD_ALL = 1 << 0,
	MOD_CASED = 1 << 1,
	MOD_ICASE = 1 << 2,	/* re|i */
};

static const struct modifier {
	const char *name;
	enum policy_op op;	/* POLICY_OP_EQUAL: a flag, see @flag */
	unsigned flag;
} modifiers[] = {
	{ "contains", POLICY_OP_CONTAINS, 0 },
	{ "startswith", POLICY_OP_STARTSWITH, 0 },
	{ "endswith", POLICY_OP_ENDSWITH, 0 },
	{ "re", POLICY_OP_RE, 0 },
	{ "gt", POLICY_OP_GT, 0 },
	{ "gte", POLICY_OP_GTE, 0 },
	{ "lt", POLICY_OP_LT, 0 },
	{ "lte", POLICY_OP_LTE, 0 },
	{ "all", POLICY_OP_EQUAL, MOD_ALL },
	{ "cased", POLICY_OP_EQUAL, MOD_CASED },
	{ "i", POLICY_OP_EQUAL, MOD_ICASE },
};

static bool op_is_numeric(enum policy_op op)
{
	return op == POLICY_OP_GT || op == POLICY_OP_GTE || op == POLICY_OP_LT ||
	       op == POLICY_OP_LTE;
}

/* A parsed "Field|mod|mod" key. */
struct field_key {
	char field[POLICY_MAX_NAME + 1];
	enum policy_op op;
	const char *op_name;	/* the modifier that set op, or NULL */
	unsigned flags;
};

/*
 * Sigma's escapes: "\*", "\?" and "\\" stand for the character itself; any
 * other backslash is literal. Writes the unescaped literal to @lit and the
 * fnmatch(3) pattern (with '[' and ']' escaped) to @glob, both at least
 * 2 * strlen(s) + 1 bytes; returns true when there is an unescaped wildcard.
 */
static bool sigma_translate(const char *s, char *lit, char *glob)
{
	bool wild = false;

	for (; *s; s++) {
		if (*s == '\\' && (s[1] == '*' || s[1] == '?' || s[1] == '\\')) {
			*glob++ = '\\';
			*glob++ = s[1];
			*lit++ = s[1];
			s++;
		} else if (*s == '\\' || *s == '[' || *s == ']') {
			*glob++ = '\\';
			*glob++ = *s;
			*lit++ = *s;
		} else {
			wild |= *s == '*' || *s == '?';
			*glob++ = *s;
			*lit++ = *s;
		}
	}
	*lit = *glob = '\0';
	return wild;
}

static int compile_plain(struct policy_rule_ctx *c, struct policy_value *v, const char *s)
{
	size_t n = 2 * strlen(s) + 1;
	_cleanup_free_ char *lit = malloc(n), *glob = malloc(n);

	if (!lit || !glob)
		return -ENOMEM;
	if (sigma_translate(s, lit, glob)) {
		v->op = POLICY_OP_GLOB;
		v->text = TAKE_PTR(glob);
	} else {
		v->op = POLICY_OP_EQUAL;
		v->text = TAKE_PTR(lit);
	}
	v->len = strlen(v->text);
	return 0;
}

/*
 * glibc's regcomp() copies a repeated sub-expression once per copy it needs
 * ("a+" is "aa*", "a{3,5}" five copies) and copies the copies when
 * repetitions nest, so its time and memory are the product of the nested
 * counts: the 31 bytes "a++++++++++++++++++++++++++++++" took minutes and
 * gigabytes; and the optional copies of "{0,m}" cost it m squared
 * ("a{0,12264}": 16 s and 1.2 GB). Refuse, with the reason, a bound over
 * _POSIX_RE_DUP_MAX (255) and a pattern whose compiled size would exceed
 * POLICY_MAX_REGEX_COPIES atoms: an atom ('\' escape, bracket expression
 * or character) counts 1, a group the sum of what it holds, and a
 * quantifier multiplies ('+' by 2, '{n,m}' by m, '{n,}' by n + 1, '*' and
 * '?' by 1), stacked ones ("a+{3}") too. NULL when acceptable.
 */
#define POLICY_MAX_REGEX_COPIES	4096
#define POLICY_MAX_REGEX_BOUND	255	/* _POSIX_RE_DUP_MAX: what every regcomp() must take */
#define POLICY_MAX_REGEX_DEPTH	32

/* The copies a quantifier at *p makes of its atom (0: no quantifier); *p moves past it. */
static unsigned long quantifier_copies(const char **p)
{
	const char *q = *p;
	unsigned long lo = 0, hi = 0;

	if (*q == '*' || *q == '?') {
		*p = q + 1;
		return 1;
	}
	if (*q == '+') {
		*p = q + 1;
		return 2;
	}
	if (*q != '{' || !((q[1] >= '0' && q[1] <= '9') || q[1] == ','))
		return 0;	/* a '{' starting no bound is a literal ("{,m}" is {0,m}) */
	for (q++; *q >= '0' && *q <= '9'; q++)
		lo = lo < 100000 ? lo * 10 + (unsigned long)(*q - '0') : lo;
	hi = lo;
	if (*q == ',') {
		hi = 0;
		for (q++; *q >= '0' && *q <= '9'; q++)
			hi = hi < 100000 ? hi * 10 + (unsigned long)(*q - '0') : hi;
	}
	if (*q != '}')
		return 0;
	*p = q + 1;
	if (lo > POLICY_MAX_REGEX_BOUND || hi > POLICY_MAX_REGEX_BOUND)
		return ULONG_MAX;	/* refused by the caller */
	if (!hi)	/* {n,}: n copies then a star */
		hi = lo + 1;
	return hi;
}

static const char *regex_too_costly(const char *s)
{
	static const char *const too_big =
		"it would compile to more than 4096 copies of its parts (repetitions multiply "
		"when nested or stacked, as in '(a{100}){50}' or 'a+++++++++++++')";
	unsigned long size[POLICY_MAX_REGEX_DEPTH + 1] = { 0 };
	unsigned depth = 0;

	for (const char *p = s; *p;) {
		unsigned long atom = 1, copies;

		if (*p == '(') {
			if (++depth > POLICY_MAX_REGEX_DEPTH)
				return "groups nested more than 32 deep";
			size[depth] = 0;
			p++;
			continue;
		}
		if (*p == ')' && depth) {
			atom = size[depth--];
			atom = atom ? atom : 1;
			p++;
		} else if (*p == '\\' && p[1]) {
			p += 2;
		} else if (*p == '[') {
			p++;
			if (*p == '^')
				p++;
			if (*p == ']')
				p++;
			while (*p && *p != ']') {	/* "[:alpha:]" inside: past its own ']' */
				if (*p == '[' && (p[1] == ':' || p[1] == '.' || p[1] == '=')) {
					p += 2 + strcspn(p + 2, "]");
					if (*p)
						p++;
				} else {
					p++;
				}
			}
			if (*p)
				p++;
		} else {	/* one character; a leading quantifier is regcomp()'s to judge */
			p++;
		}
		while ((copies = quantifier_copies(&p))) {
			if (copies == ULONG_MAX)
				return "a repetition bound over 255 ('{n}', '{n,m}')";
			atom *= copies;
			if (atom > POLICY_MAX_REGEX_COPIES)
				return too_big;
		}
		size[depth] += atom;
		if (size[depth] > POLICY_MAX_REGEX_COPIES)
			return too_big;
	}
	return NULL;
}

static int compile_regex(struct policy_rule_ctx *c, struct policy_value *v, const yaml_node_t *n,
			 const char *s, unsigned flags)
{
	const char *why = regex_too_costly(s);
	char msg[128];
	int r;

	if (why) {
		rule_error(c, n, "regular expression '%.80s' refused: %s", s, why);
		return -EINVAL;
	}
	v->re = malloc(sizeof(*v->re));
	if (!v->re)
		return -ENOMEM;
	r = regcomp(v->re, s, REG_EXTENDED | REG_NOSUB | (flags & MOD_ICASE ? REG_ICASE : 0));
	if (r != 0) {
		regerror(r, v->re, msg, sizeof(msg));
		free(v->re);
		v->re = NULL;
		rule_error(c, n, "bad regular expression '%.80s': %s", s, msg);
		return -EINVAL;
	}
	return 0;
}

/* Count one more compiled value against the per-rule and global caps. */
static bool take_value_budget(struct policy_rule_ctx *c, const yaml_node_t *n)
{
	if (++c->n_values == POLICY_MAX_RULE_VALUES + 1)
		rule_error(c, n, "more than %d values in one rule", POLICY_MAX_RULE_VALUES);
	if (++c->l->n_values == POLICY_MAX_VALUES + 1)
		rule_error(c, n, "more than %d values in the whole policy", POLICY_MAX_VALUES);
	return c->n_values <= POLICY_MAX_RULE_VALUES && c->l->n_values <= POLICY_MAX_VALUES;
}

/*
 * Compile one scalar @n for @key into @v. -EINVAL (reported), -E2BIG (the
 * value budget is spent, reported: stop parsing the rule) or -ENOMEM.
 */
static int compile_value(struct policy_rule_ctx *c, const struct field_key *key,
			 const char *key_text, const yaml_node_t *n, struct policy_value *v)
{
	const char *s;

	if (!take_value_budget(c, n))
		return -E2BIG;
	if (policy_yaml_is_null(n)) {
		if (key->op_name) {
			rule_error(c, n, "null cannot be used with modifier '%s' in '%s'",
				   key->op_name, key_text);
			return -EINVAL;
		}
		v->op = POLICY_OP_NULL;
		return 0;
	}
	if (n->type != YAML_SCALAR_NODE) {
		rule_error(c, n, "expected a string, number or null for '%s', got %s",
			   key_text, policy_yaml_kind(n));
		return -EINVAL;
	}
	s = policy_yaml_string(c, n, key_text);
	if (!s)
		return -EINVAL;
	if (op_is_numeric(key->op)) {
		v->op = key->op;
		if (!policy_parse_i64(s, &v->number)) {
			rule_error(c, n, "expected an integer for '%s', got '%.64s'",
				   key_text, s);
			return -EINVAL;
		}
		return 0;
	}
	switch (key->op) {
	case POLICY_OP_EQUAL:
		return compile_plain(c, v, s);
	case POLICY_OP_RE:
		v->op = POLICY_OP_RE;
		/* The source too: policy_exec_names() reads simple forms of it. */
		v->text = strdup(s);
		if (!v->text)
			return -ENOMEM;
		v->len = strlen(s);
		return compile_regex(c, v, n, s, key->flags);
	default:
		v->op = key->op;
		v->text = strdup(s);
		if (!v->text)
			return -ENOMEM;
		v->len = strlen(s);
		return 0;
	}
}

/* ------------------------------------------------------------ field keys */

static bool valid_name(const char *s, size_t len)
{
	static const char ok[] = POLICY_NAME_CHARS;

	if (len == 0 || len > POLICY_MAX_NAME)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!memchr(ok, s[i], sizeof(ok) - 1))
			return false;
	return true;
}

static int add_modifier(struct policy_rule_ctx *c, const yaml_node_t *kn, size_t offset,
			const char *mod, size_t len, struct field_key *key)
{
	yaml_mark_t at = policy_yaml_mark_inside(kn, offset);
	char name[POLICY_MAX_NAME + 1];
	const char *names[ARRAY_SIZE(modifiers)];
	const struct modifier *m = NULL;
	const char *hint;

	if (len == 0 || len > POLICY_MAX_NAME) {
		rule_error_mark(c, at, "%s modifier in '%.80s'", len ? "over-long" : "empty",
				(const char *)kn->data.scalar.value);
		return -EINVAL;
	}
	memcpy(name, mod, len);
	name[len] = '\0';
	for (size_t i = 0; i < ARRAY_SIZE(modifiers); i++) {
		names[i] = modifiers[i].name;
		if (strcmp(modifiers[i].name, name) == 0)
			m = &modifiers[i];
	}
	if (!m) {
		hint = policy_suggest(name, names, ARRAY_SIZE(modifiers));
		if (hint)
			rule_error_mark(c, at, "unknown modifier '%s' (did you mean '%s'?)",
					name, hint);
		else
			rule_error_mark(c, at, "unknown modifier '%s'", name);
		return -EINVAL;
	}
	if ((key->flags & m->flag) || (key->op_name && strcmp(key->op_name, m->name) == 0)) {
		rule_error_mark(c, at, "modifier '%s' given twice", name);
		return -EINVAL;
	}
	if (m->op != POLICY_OP_EQUAL && key->op_name) {
		rule_error_mark(c, at, "modifiers '%s' and '%s' cannot be combined",
				key->op_name, m->name);
		return -EINVAL;
	}
	if (m->op != POLICY_OP_EQUAL) {
		key->op = m->op;
		key->op_name = m->name;
	}
	key->flags |= m->flag;
	return 0;
}

/* "Field|mod|mod" → @key; the modifiers' combination is checked here. */
static int parse_field_key(struct policy_rule_ctx *c, const yaml_node_t *kn, struct field_key *key)
{
	const char *text = (const char *)kn->data.scalar.value;
	const char *bar = strchr(text, '|');
	size_t flen = bar ? (size_t)(bar - text) : strlen(text);
	unsigned n_mods = 0;

	*key = (struct field_key) { .op = POLICY_OP_EQUAL };
	if (!valid_name(text, flen)) {
		rule_error(c, kn, "invalid field name '%.*s': use 1 to %d letters, digits, "
			   "'.', '_' or '-'", (int)(flen > 64 ? 64 : flen), text,
			   POLICY_MAX_NAME);
		return -EINVAL;
	}
	memcpy(key->field, text, flen);
	key->field[flen] = '\0';
	while (bar) {
		const char *mod = bar + 1;
		int r;

		bar = strchr(mod, '|');
		if (++n_mods > MAX_MODIFIERS) {
			rule_error(c, kn, "more than %d modifiers", MAX_MODIFIERS);
			return -EINVAL;
		}
		r = add_modifier(c, kn, (size_t)(mod - text), mod,
				 bar ? (size_t)(bar - mod) : strlen(mod), key);
		if (r < 0)
			return r;
	}
	if ((key->flags & MOD_CASED) && (key->op == POLICY_OP_RE || op_is_numeric(key->op))) {
		rule_error(c, kn, "modifier 'cased' does not apply to '%s' (regular "
			   "expressions are case-sensitive unless '|i'; numbers have no case)",
			   key->op_name);
		return -EINVAL;
	}
	if ((key->flags & MOD_ICASE) && key->op != POLICY_OP_RE) {
		rule_error(c, kn, "modifier 'i' only applies to 're'");
		return -EINVAL;
	}
	return 0;
}

/* --------------------------------------------------------------- selections */

/* One "Field|mods: value(s)" entry into @m. */
static int parse_field_match(struct policy_rule_ctx *c, yaml_node_t *kn, yaml_node_t *vn,
			     struct policy_field_match *m)
{
	const char *key_text = (const char *)kn->data.scalar.value;
	struct field_key key;
	yaml_node_item_t *items = NULL;
	size_t n = 1;
	int r, ret = 0;

	r = parse_field_key(c, kn, &key);
	if (r < 0)
		return r;
	m->field = strdup(key.field);
	if (!m->field)
		return -ENOMEM;
	m->cased = key.flags & MOD_CASED;
	m->all = key.flags & MOD_ALL;
	if (vn->type == YAML_SEQUENCE_NODE) {
		items = vn->data.sequence.items.start;
		n = (size_t)(vn->data.sequence.items.top - items);
		if (n == 0) {
			rule_error(c, vn, "empty list for '%s'", key_text);
			return -EINVAL;
		}
	} else if (vn->type != YAML_SCALAR_NODE) {
		rule_error(c, vn, "expected a string, number, null or a list of them for '%s', "
			   "got %s", key_text, policy_yaml_kind(vn));
		return -EINVAL;
	}
	if (n > POLICY_MAX_RULE_VALUES) {
		rule_error(c, vn, "more than %d values in one rule", POLICY_MAX_RULE_VALUES);
		return -EINVAL;
	}
	m->values = calloc(n, sizeof(*m->values));
	if (!m->values)
		return -ENOMEM;
	m->n_values = n;
	for (size_t i = 0; i < n; i++) {
		yaml_node_t *item = items ? policy_yaml_node(c, items[i]) : vn;

		r = item ? compile_value(c, &key, key_text, item, &m->values[i]) : -EINVAL;
		if (r == -ENOMEM || r == -E2BIG)
			return r;
		if (r < 0)
			ret = r;	/* keep going: report every bad value */
	}
	return ret;
}

static int parse_selection_map(struct policy_rule_ctx *c, const char *sel_name, yaml_node_t *map,
			       struct policy_selection_map *out)
{
	yaml_node_pair_t *pairs = map->data.mapping.pairs.start;
	size_t n = (size_t)(map->data.mapping.pairs.top - pairs);
	int ret = 0;

	if (n == 0) {
		rule_error(c, map, "empty map in selection '%s'", sel_name);
		return -EINVAL;
	}
	/* Events have POLICY_EVENT_MAX_FIELDS fields; this also bounds the
	 * duplicate check below. */
	if (n > POLICY_MAX_MAP_ENTRIES) {
		rule_error(c, map, "more than %d entries in one map of selection '%s'",
			   POLICY_MAX_MAP_ENTRIES, sel_name);
		return -EINVAL;
	}
	out->matches = calloc(n, sizeof(*out->matches));
	if (!out->matches)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		yaml_node_t *k = policy_yaml_node(c, pairs[i].key);
		yaml_node_t *v = policy_yaml_node(c, pairs[i].value);
		int r;

		if (!k || !v)
			continue;
		if (k->type != YAML_SCALAR_NODE || policy_yaml_is_null(k)) {
			rule_error(c, k, "expected a field name like 'Image|endswith', got %s",
				   policy_yaml_kind(k));
			ret = -EINVAL;
			continue;
		}
		for (size_t j = 0; j < i; j++) {
			yaml_node_t *prev = policy_yaml_node(c, pairs[j].key);

			if (prev && prev->type == YAML_SCALAR_NODE &&
			    strcmp((const char *)prev->data.scalar.value,
				   (const char *)k->data.scalar.value) == 0) {
				rule_error(c, k, "duplicate key '%.64s' (first at line %zu)",
					   (const char *)k->data.scalar.value,
					   prev->start_mark.line + 1);
				ret = -EINVAL;
				break;
			}
		}
		/* Entries are stored as they come so that free() sees them all. */
		r = parse_field_match(c, k, v, &out->matches[out->n_matches++]);
		if (r == -ENOMEM || r == -E2BIG)
			return r;
		if (r < 0)
			ret = r;
	}
	return ret;
}

static int parse_selection(struct policy_rule_ctx *c, yaml_node_t *n, struct policy_selection *sel)
{
	yaml_node_item_t *items;
	size_t count;
	int ret = 0;

	if (n->type == YAML_MAPPING_NODE) {
		sel->maps = calloc(1, sizeof(*sel->maps));
		if (!sel->maps)
			return -ENOMEM;
		sel->n_maps = 1;
		return parse_selection_map(c, sel->name, n, &sel->maps[0]);
	}
	if (n->type != YAML_SEQUENCE_NODE) {
		rule_error(c, n, "expected a map or a list of maps for selection '%s', got %s",
			   sel->name, policy_yaml_kind(n));
		return -EINVAL;
	}
	items = n->data.sequence.items.start;
	count = (size_t)(n->data.sequence.items.top - items);
	if (count == 0) {
		rule_error(c, n, "empty selection '%s'", sel->name);
		return -EINVAL;
	}
	sel->maps = calloc(count, sizeof(*sel->maps));
	if (!sel->maps)
		return -ENOMEM;
	for (size_t i = 0; i < count; i++) {
		yaml_node_t *item = policy_yaml_node(c, items[i]);
		int r;

		if (!item)
			continue;
		if (item->type != YAML_MAPPING_NODE) {
			rule_error(c, item, "selection '%s' must list maps (field: value), "
				   "got %s%s", sel->name, policy_yaml_kind(item),
				   item->type == YAML_SCALAR_NODE ? "; keyword searches are not "
				   "supported, use e.g. 'CommandLine|contains: [...]'" : "");
			ret = -EINVAL;
			continue;
		}
		r = parse_selection_map(c, sel->name, item, &sel->maps[sel->n_maps++]);
		if (r == -ENOMEM || r == -E2BIG)
			return r;
		if (r < 0)
			ret = r;
	}
	return ret;
}

/* Selection names must be usable in the condition. */
static bool check_selection_name(struct policy_rule_ctx *c, const yaml_node_t *k, const char *name)
{
	static const char *const keywords[] = { "and", "or", "not", "of", "all", "them", "1" };

	if (!valid_name(name, strlen(name))) {
		rule_error(c, k, "invalid selection name '%.64s': use 1 to %d letters, digits, "
			   "'.', '_' or '-'", name, POLICY_MAX_NAME);
		return false;
	}
	for (size_t i = 0; i < ARRAY_SIZE(keywords); i++) {
		if (strcmp(name, keywords[i]) == 0) {
			rule_error(c, k, "'%s' is a condition keyword and cannot name a selection",
				   name);
			return false;
		}
	}
	return true;
}

/* ------------------------------------------------------------- detection */

static void parse_condition(struct policy_rule_ctx *c, yaml_node_t *n, yaml_node_t **sel_keys)
{
	struct policy_detection *d = c->rule->detection;
	const char *names[POLICY_MAX_SELECTIONS];
	struct policy_cond_error err;
	const char *text = policy_yaml_string(c, n, "condition");
	int r;

	if (!text)
		return;
	for (size_t i = 0; i < d->n_selections; i++)
		names[i] = d->selections[i].name;
	r = policy_condition_parse(text, names, d->n_selections, &d->condition, &err);
	if (r == -ENOMEM) {
		c->oom = true;
		return;
	}
	if (r < 0) {
		rule_error_mark(c, policy_yaml_mark_inside(n, err.offset), "condition: %s",
				err.message);
		return;
	}
	for (size_t i = 0; i < d->n_selections; i++)
		if (!(d->condition->used & (UINT64_C(1) << i)))
			rule_error(c, sel_keys[i], "selection '%s' is not used by the condition",
				   d->selections[i].name);
}

void policy_parse_detection(struct policy_rule_ctx *c, yaml_node_t *n)
{
	yaml_node_t *sel_keys[POLICY_MAX_SELECTIONS], *cond = NULL;
	struct policy_detection *d;
	yaml_node_pair_t *pairs;
	size_t count;
	bool sel_errors = false;

	if (n->type != YAML_MAPPING_NODE) {
		rule_error(c, n, "expected a map for 'detection', got %s", policy_yaml_kind(n));
		return;
	}
	pairs = n->data.mapping.pairs.start;
	count = (size_t)(n->data.mapping.pairs.top - pairs);
	d = c->rule->detection = calloc(1, sizeof(*d));
	if (!d || !(d->selections = calloc(count ? count : 1, sizeof(*d->selections)))) {
		c->oom = true;
		return;
	}
	for (size_t i = 0; i < count; i++) {
		yaml_node_t *k = policy_yaml_node(c, pairs[i].key);
		yaml_node_t *v = policy_yaml_node(c, pairs[i].value);
		const char *name;
		struct policy_selection *sel;
		int r;

		if (!k || !v)
			continue;
		if (k->type != YAML_SCALAR_NODE || policy_yaml_is_null(k)) {
			rule_error(c, k, "expected a selection name in 'detection', got %s",
				   policy_yaml_kind(k));
			sel_errors = true;
			continue;
		}
		name = (const char *)k->data.scalar.value;
		if (strcmp(name, "condition") == 0) {
			if (cond)
				rule_error(c, k, "duplicate key 'condition' (first at line %zu)",
					   cond->start_mark.line + 1);
			else
				cond = v;
			continue;
		}
		if (!check_selection_name(c, k, name)) {
			sel_errors = true;
			continue;
		}
		for (size_t j = 0; j < d->n_selections; j++) {
			if (strcmp(d->selections[j].name, name) == 0) {
				rule_error(c, k, "duplicate selection '%s' (first at line %zu)",
					   name, sel_keys[j]->start_mark.line + 1);
				name = NULL;
				break;
			}
		}
		if (!name) {
			sel_errors = true;
			continue;
		}
		if (d->n_selections == POLICY_MAX_SELECTIONS) {
			rule_error(c, k, "more than %d selections in one rule",
				   POLICY_MAX_SELECTIONS);
			return;
		}
		sel_keys[d->n_selections] = k;
		sel = &d->selections[d->n_selections++];
		sel->name = strdup(name);
		if (!sel->name) {
			c->oom = true;
			return;
		}
		r = parse_selection(c, v, sel);
		if (r == -ENOMEM)
			c->oom = true;
		if (r == -ENOMEM || r == -E2BIG)
			return;
	}
	if (!cond) {
		rule_error(c, n, "missing required key 'condition' in 'detection'");
		return;
	}
	if (d->n_selections == 0) {
		if (!sel_errors)
			rule_error(c, n, "'detection' has no selections, only a condition");
		return;
	}
	/* A bad selection name would also be reported as unknown: once is enough. */
	if (!sel_errors)
		parse_condition(c, cond, sel_keys);
}
