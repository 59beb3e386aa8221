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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>

#include "cleanup.h"
#include "policy_internal.h"
#include "util.h"

#define MAX_MODIFIERS	8

/* ------------------------------------------------------------ values */

enum {
	MOD_ALL = 1 << 0,
	MOD_CASED = 1 << 1,
	MOD_ICASE = 1 << 2,	/* re|i */
	MOD_MULTILINE = 1 << 3,	/* re|m */
	MOD_DOTALL = 1 << 4,	/* re|s: POSIX '.' already matches a newline */
	MOD_WINDASH = 1 << 5,	/* '-' and '/' before an option: every dash variant */
	MOD_BASE64 = 1 << 6,
	MOD_BASE64OFFSET = 1 << 7,
	MOD_UTF16LE = 1 << 8,	/* before base64: the value as UTF-16 */
	MOD_UTF16BE = 1 << 9,
	MOD_UTF16 = 1 << 10,	/* UTF-16LE with a byte-order mark */
	MOD_EXPAND = 1 << 11,	/* refused: placeholders need a pipeline */
};

#define MOD_RE_FLAGS	(MOD_ICASE | MOD_MULTILINE | MOD_DOTALL)
#define MOD_ENCODINGS	(MOD_UTF16LE | MOD_UTF16BE | MOD_UTF16)
#define MOD_B64_ANY	(MOD_BASE64 | MOD_BASE64OFFSET)

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
	{ "exists", POLICY_OP_EXISTS, 0 },
	{ "cidr", POLICY_OP_CIDR, 0 },
	{ "fieldref", POLICY_OP_FIELDREF, 0 },
	{ "all", POLICY_OP_EQUAL, MOD_ALL },
	{ "cased", POLICY_OP_EQUAL, MOD_CASED },
	{ "i", POLICY_OP_EQUAL, MOD_ICASE },
	{ "m", POLICY_OP_EQUAL, MOD_MULTILINE },
	{ "s", POLICY_OP_EQUAL, MOD_DOTALL },
	{ "windash", POLICY_OP_EQUAL, MOD_WINDASH },
	{ "base64", POLICY_OP_EQUAL, MOD_BASE64 },
	{ "base64offset", POLICY_OP_EQUAL, MOD_BASE64OFFSET },
	{ "utf16le", POLICY_OP_EQUAL, MOD_UTF16LE },
	{ "wide", POLICY_OP_EQUAL, MOD_UTF16LE },
	{ "utf16be", POLICY_OP_EQUAL, MOD_UTF16BE },
	{ "utf16", POLICY_OP_EQUAL, MOD_UTF16 },
	{ "expand", POLICY_OP_EQUAL, MOD_EXPAND },
};

static bool op_is_numeric(enum policy_op op)
{
	return op == POLICY_OP_GT || op == POLICY_OP_GTE || op == POLICY_OP_LT ||
	       op == POLICY_OP_LTE;
}

/* A parsed "Field|mod|mod" key. */
struct field_key {
	char field[POLICY_MAX_NAME + 1];	/* "" for a keyword ('|all': [...]) */
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

static int compile_regex(struct policy_rule_ctx *c, struct policy_value *v, const yaml_node_t *n,
			 const char *s, unsigned flags)
{
	size_t len = 16 * strlen(s) + 1;
	_cleanup_free_ char *ere = malloc(len);
	int cflags = REG_EXTENDED | REG_NOSUB;
	size_t pieces = 0;
	char msg[128];
	int r;

	if (!ere)
		return -ENOMEM;
	cflags |= (flags & MOD_ICASE ? REG_ICASE : 0) | (flags & MOD_MULTILINE ? REG_NEWLINE : 0);
	if (policy_regex_translate(s, ere, len, &cflags, &pieces, msg, sizeof(msg)) < 0) {
		rule_error(c, n, "bad regular expression '%.80s': %s", s, msg);
		return -EINVAL;
	}
	c->l->n_re_pieces += pieces;
	if (c->l->n_re_pieces > POLICY_MAX_RE_PIECES) {
		rule_error(c, n, "the policy's regular expressions expand to more than %d pieces "
			   "(this one to %zu)", POLICY_MAX_RE_PIECES, pieces);
		return -EINVAL;
	}
	v->re = malloc(sizeof(*v->re));
	if (!v->re)
		return -ENOMEM;
	r = regcomp(v->re, ere, cflags);
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

static bool valid_name(const char *s, size_t len);

/* ------------------------------------------------- value transformations */

#define MAX_VARIANTS	15	/* windash (5) x base64offset (3) */

static const char *const dashes[] = { "-", "/", "\xe2\x80\x93", "\xe2\x80\x94", "\xe2\x80\x95" };

static bool is_word(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
	       ch == '_' || (unsigned char)ch >= 0x80;
}

/* Sigma's windash: every '-' or '/' that starts an option ("\B[-/]\b") as @dash. */
static char *windash(const char *s, const char *dash)
{
	char *out = malloc(3 * strlen(s) + 1), *o = out;

	if (!out)
		return NULL;
	for (const char *p = s; *p; p++) {
		if ((*p == '-' || *p == '/') && (p == s || !is_word(p[-1])) && is_word(p[1])) {
			memcpy(o, dash, strlen(dash));
			o += strlen(dash);
		} else {
			*o++ = *p;
		}
	}
	*o = '\0';
	return out;
}

static void b64(const unsigned char *in, size_t n, char *out)
{
	static const char tab[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t i;

	for (i = 0; i + 2 < n; i += 3) {
		*out++ = tab[in[i] >> 2];
		*out++ = tab[((in[i] & 3) << 4) | (in[i + 1] >> 4)];
		*out++ = tab[((in[i + 1] & 15) << 2) | (in[i + 2] >> 6)];
		*out++ = tab[in[i + 2] & 63];
	}
	if (i < n) {
		*out++ = tab[in[i] >> 2];
		*out++ = tab[((in[i] & 3) << 4) | (i + 1 < n ? in[i + 1] >> 4 : 0)];
		*out++ = i + 1 < n ? tab[(in[i + 1] & 15) << 2] : '=';
		*out++ = '=';
	}
	*out = '\0';
}

/*
 * @s in the rule's encoding, then base64: one string, or with base64offset
 * the three that the value shows as at each alignment inside a longer
 * base64 text (pySigma's algorithm). Strings appended to @out[*n].
 */
static int encode(struct policy_rule_ctx *c, const yaml_node_t *node, const char *s,
		  unsigned flags, char **out, size_t *n)
{
	size_t len = strlen(s), blen = 0;
	_cleanup_free_ unsigned char *bytes = malloc(2 * len + 4);

	if (!bytes)
		return -ENOMEM;
	if (flags & MOD_UTF16)
		bytes[blen++] = 0xff, bytes[blen++] = 0xfe;
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)s[i];

		if ((flags & MOD_ENCODINGS) && ch >= 0x80) {
			rule_error(c, node, "utf16 modifiers take ASCII values only");
			return -EINVAL;
		}
		if (flags & MOD_UTF16BE)
			bytes[blen++] = 0;
		bytes[blen++] = ch;
		if (flags & (MOD_UTF16LE | MOD_UTF16))
			bytes[blen++] = 0;
	}
	for (unsigned shift = 0; shift < ((flags & MOD_BASE64OFFSET) ? 3u : 1u); shift++) {
		static const size_t start[] = { 0, 2, 3 }, cut[] = { 0, 3, 2 };
		_cleanup_free_ unsigned char *pad = malloc(blen + 3);
		char *text = malloc(4 * (blen + 3) / 3 + 5);
		size_t tl, end;

		if (!pad || !text) {
			free(text);
			return -ENOMEM;
		}
		memset(pad, ' ', shift);
		memcpy(pad + shift, bytes, blen);
		b64(pad, blen + shift, text);
		if (flags & MOD_BASE64OFFSET) {
			tl = strlen(text);
			end = tl - cut[(blen + shift) % 3];
			memmove(text, text + start[shift], end - start[shift]);
			text[end - start[shift]] = '\0';
		}
		out[(*n)++] = text;
	}
	return 0;
}

/* The strings one YAML value stands for, in @out (caller frees each). */
static int variants(struct policy_rule_ctx *c, const yaml_node_t *node, const char *s,
		    unsigned flags, char **out, size_t *n)
{
	char *w[ARRAY_SIZE(dashes)] = {};
	const char *bases[ARRAY_SIZE(dashes)] = { s };
	size_t n_bases = 1;
	int r = 0;

	if (flags & MOD_WINDASH) {
		n_bases = ARRAY_SIZE(dashes);
		for (size_t i = 0; i < n_bases; i++) {
			bases[i] = w[i] = windash(s, dashes[i]);
			if (!w[i])
				r = -ENOMEM;
		}
	}
	for (size_t i = 0; r == 0 && i < n_bases; i++) {
		if (flags & MOD_B64_ANY)
			r = encode(c, node, bases[i], flags, out, n);
		else if (!(out[(*n)++] = strdup(bases[i])))
			r = -ENOMEM;
	}
	for (size_t i = 0; i < ARRAY_SIZE(dashes); i++)
		free(w[i]);
	if (r < 0) {
		for (size_t i = 0; i < *n; i++)
			free(out[i]);
		*n = 0;
	}
	return r;
}

static size_t n_variants(unsigned flags)
{
	return ((flags & MOD_WINDASH) ? ARRAY_SIZE(dashes) : 1) *
	       ((flags & MOD_BASE64OFFSET) ? 3 : 1);
}

/* ------------------------------------------------------- special values */

static int compile_cidr(struct policy_rule_ctx *c, struct policy_value *v, const yaml_node_t *n,
			const char *s)
{
	char addr[64];
	const char *slash = strchr(s, '/');
	uint64_t bits = 0;
	size_t len = slash ? (size_t)(slash - s) : strlen(s);
	unsigned max;

	if (len >= sizeof(addr))
		goto bad;
	memcpy(addr, s, len);
	addr[len] = '\0';
	v->family = strchr(addr, ':') ? AF_INET6 : AF_INET;
	max = v->family == AF_INET6 ? 128 : 32;
	if (inet_pton(v->family, addr, v->addr) != 1)
		goto bad;
	if (slash && parse_u64(slash + 1, 0, max, &bits) < 0)
		goto bad;
	v->prefix = slash ? (unsigned)bits : max;
	v->op = POLICY_OP_CIDR;
	return 0;
bad:
	rule_error(c, n, "expected an address range like '10.0.0.0/8' or 'fd00::/8' for "
		   "'cidr', got '%.64s'", s);
	return -EINVAL;
}

/* A scalar's compiled forms for the ops that take no transformation. */
static int compile_special(struct policy_rule_ctx *c, const struct field_key *key,
			   const char *key_text, const yaml_node_t *n, const char *s,
			   struct policy_value *v)
{
	v->op = key->op;
	switch (key->op) {
	case POLICY_OP_EXISTS:
		if (strcmp(s, "true") != 0 && strcmp(s, "false") != 0) {
			rule_error(c, n, "expected true or false for '%s', got '%.64s'",
				   key_text, s);
			return -EINVAL;
		}
		v->number = s[0] == 't';
		return 0;
	case POLICY_OP_CIDR:
		return compile_cidr(c, v, n, s);
	case POLICY_OP_FIELDREF:
		if (!valid_name(s, strlen(s))) {
			rule_error(c, n, "expected a field name for '%s', got '%.64s'",
				   key_text, s);
			return -EINVAL;
		}
		v->text = strdup(s);
		if (!v->text)
			return -ENOMEM;
		v->len = strlen(s);
		return 0;
	default:
		if (!policy_parse_i64(s, &v->number)) {
			rule_error(c, n, "expected an integer for '%s', got '%.64s'",
				   key_text, s);
			return -EINVAL;
		}
		return 0;
	}
}

/* One string (a value after its transformations) into @v. */
static int compile_string(struct policy_rule_ctx *c, const struct field_key *key,
			  const yaml_node_t *n, char *s, struct policy_value *v)
{
	_cleanup_free_ char *kw = NULL;

	switch (key->op) {
	case POLICY_OP_EQUAL:
		if (!key->field[0]) {
			/* A bare keyword is found anywhere in a field. */
			kw = malloc(strlen(s) + 3);
			if (!kw)
				return -ENOMEM;
			snprintf(kw, strlen(s) + 3, "*%s*", s);
			return compile_plain(c, v, kw);
		}
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

/*
 * Compile one scalar @n for @key into @v[0..*count). -EINVAL (reported),
 * -E2BIG (the value budget is spent, reported: stop parsing the rule) or
 * -ENOMEM.
 */
static int compile_value(struct policy_rule_ctx *c, const struct field_key *key,
			 const char *key_text, const yaml_node_t *n, struct policy_value *v,
			 size_t *count)
{
	char *strs[MAX_VARIANTS];
	size_t n_strs = 0;
	const char *s;
	int r = 0;

	*count = 0;
	if (!take_value_budget(c, n))
		return -E2BIG;
	if (policy_yaml_is_null(n)) {
		if (key->op_name) {
			rule_error(c, n, "null cannot be used with modifier '%s' in '%s'",
				   key->op_name, key_text);
			return -EINVAL;
		}
		v->op = POLICY_OP_NULL;
		*count = 1;
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
	if (op_is_numeric(key->op) || key->op == POLICY_OP_EXISTS || key->op == POLICY_OP_CIDR ||
	    key->op == POLICY_OP_FIELDREF) {
		*count = 1;
		return compile_special(c, key, key_text, n, s, v);
	}
	r = variants(c, n, s, key->flags, strs, &n_strs);
	if (r < 0)
		return r;
	for (size_t i = 0; i < n_strs; i++) {
		if (r == 0 && i > 0 && !take_value_budget(c, n))
			r = -E2BIG;
		if (r == 0) {
			r = compile_string(c, key, n, strs[i], &v[i]);
			v[i].alt_next = i + 1 < n_strs;	/* variants of one value */
			(*count)++;
		}
		free(strs[i]);
	}
	return r;
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

/* What the modifiers of one key may not do together; reported at @kn. */
static int check_combination(struct policy_rule_ctx *c, const yaml_node_t *kn,
			     const struct field_key *key)
{
	unsigned f = key->flags;
	const char *msg = NULL;

	if ((f & MOD_RE_FLAGS) && key->op != POLICY_OP_RE)
		msg = "modifiers 'i', 'm' and 's' only apply to 're'";
	else if ((f & MOD_BASE64) && (f & MOD_BASE64OFFSET))
		msg = "modifiers 'base64' and 'base64offset' cannot be combined";
	else if ((f & MOD_ENCODINGS) && !(f & MOD_B64_ANY))
		msg = "modifiers 'utf16', 'utf16le', 'utf16be' and 'wide' only apply before "
		      "'base64' or 'base64offset'";
	else if ((f & MOD_ENCODINGS) & ((f & MOD_ENCODINGS) - 1))
		msg = "only one of 'utf16', 'utf16le', 'utf16be' and 'wide'";
	else if ((f & MOD_BASE64OFFSET) && key->op != POLICY_OP_CONTAINS)
		msg = "modifier 'base64offset' needs 'contains' (the value sits inside a longer "
		      "base64 text)";
	else if ((f & (MOD_WINDASH | MOD_B64_ANY)) &&
		 (key->op == POLICY_OP_RE || key->op == POLICY_OP_EXISTS ||
		  key->op == POLICY_OP_CIDR || key->op == POLICY_OP_FIELDREF ||
		  op_is_numeric(key->op)))
		msg = "modifiers 'windash', 'base64' and 'base64offset' only apply to strings "
		      "compared as such (plain, contains, startswith, endswith)";
	else if (!key->field[0] && key->op != POLICY_OP_EQUAL && key->op != POLICY_OP_CONTAINS &&
		 key->op != POLICY_OP_STARTSWITH && key->op != POLICY_OP_ENDSWITH &&
		 key->op != POLICY_OP_RE)
		msg = "a keyword (no field name) cannot use a numeric, exists, cidr or fieldref "
		      "modifier";
	if (msg) {
		rule_error(c, kn, "%s", msg);
		return -EINVAL;
	}
	/* Placeholders are filled by a SIEM's pipeline: none here, never fires. */
	if ((f & MOD_EXPAND) && !c->rule->needs) {
		c->rule->needs = strdup("values for its 'expand' placeholders (a processing "
					"pipeline)");
		if (!c->rule->needs)
			return -ENOMEM;
	}
	return 0;
}

/* Where an entry named @field reads its value; see enum policy_field_src. */
static void field_source(const struct policy_rule_ctx *c, const char *field,
			 struct policy_field_match *m)
{
	uint64_t arg;

	if (!field[0])
		m->src = c->auditd ? POLICY_FIELD_ANY_EXECVE : POLICY_FIELD_ANY;
	else if (!c->auditd)
		m->src = POLICY_FIELD_NAMED;
	else if (strcmp(field, "type") == 0)
		m->src = POLICY_FIELD_EXECVE;
	else if (strcmp(field, "argc") == 0)
		m->src = POLICY_FIELD_ARGC;
	else if (field[0] == 'a' && parse_u64(field + 1, 0, 1000000, &arg) == 0 &&
		 (field[1] != '0' || !field[2]))
		m->src = POLICY_FIELD_ARG, m->arg = (unsigned)arg;
	else
		m->src = POLICY_FIELD_NONE;
}

/* "Field|mod|mod" → @key; the modifiers' combination is checked here. */
static int parse_field_key(struct policy_rule_ctx *c, const yaml_node_t *kn, struct field_key *key)
{
	const char *text = (const char *)kn->data.scalar.value;
	const char *bar = strchr(text, '|');
	size_t flen = bar ? (size_t)(bar - text) : strlen(text);
	unsigned n_mods = 0;

	*key = (struct field_key) { .op = POLICY_OP_EQUAL };
	if (flen > 0 && !valid_name(text, flen)) {
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
	return check_combination(c, kn, key);
}

/* --------------------------------------------------------------- selections */

/*
 * One "Field|mods: value(s)" entry into @m; or, with @kn NULL, a keyword
 * list (@vn a sequence of bare values found in any field).
 */
static int parse_field_match(struct policy_rule_ctx *c, yaml_node_t *kn, yaml_node_t *vn,
			     struct policy_field_match *m)
{
	const char *key_text = kn ? (const char *)kn->data.scalar.value : "keywords";
	struct field_key key = { .op = POLICY_OP_EQUAL };
	yaml_node_item_t *items = NULL;
	size_t n = 1;
	int r, ret = 0;

	r = kn ? parse_field_key(c, kn, &key) : 0;
	if (r < 0)
		return r;
	m->field = strdup(key.field);
	if (!m->field)
		return -ENOMEM;
	field_source(c, key.field, m);
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
	m->values = calloc(n * n_variants(key.flags), sizeof(*m->values));
	if (!m->values)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		yaml_node_t *item = items ? policy_yaml_node(c, items[i]) : vn;
		size_t added = 0;

		r = item ? compile_value(c, &key, key_text, item, &m->values[m->n_values], &added)
			 : -EINVAL;
		m->n_values += added;
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

/* Sigma keywords: a selection that lists bare values (no maps). */
static bool is_keyword_list(struct policy_rule_ctx *c, yaml_node_t *n)
{
	for (yaml_node_item_t *i = n->data.sequence.items.start; i < n->data.sequence.items.top;
	     i++) {
		yaml_node_t *item = policy_yaml_node(c, *i);

		if (!item || item->type != YAML_SCALAR_NODE)
			return false;
	}
	return true;
}

/* A keyword list: one map of one entry, any of the values in any field. */
static int parse_keywords(struct policy_rule_ctx *c, yaml_node_t *n, struct policy_selection *sel)
{
	struct policy_selection_map *map;

	sel->maps = calloc(1, sizeof(*sel->maps));
	if (!sel->maps)
		return -ENOMEM;
	sel->n_maps = 1;
	map = &sel->maps[0];
	map->matches = calloc(1, sizeof(*map->matches));
	if (!map->matches)
		return -ENOMEM;
	map->n_matches = 1;
	return parse_field_match(c, NULL, n, &map->matches[0]);
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
	if (is_keyword_list(c, n))
		return parse_keywords(c, n, sel);
	sel->maps = calloc(count, sizeof(*sel->maps));
	if (!sel->maps)
		return -ENOMEM;
	for (size_t i = 0; i < count; i++) {
		yaml_node_t *item = policy_yaml_node(c, items[i]);
		int r;

		if (!item)
			continue;
		if (item->type != YAML_MAPPING_NODE) {
			rule_error(c, item, "selection '%s' must list maps (field: value) or "
				   "only keywords, got %s among maps", sel->name,
				   policy_yaml_kind(item));
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

/*
 * The agent sees an exec as auditd's EXECVE record only. A rule that asks
 * for 'type' but accepts EXECVE in none of those entries wants other
 * records (SYSCALL, PATH, ...): it loads, and rule->needs says so.
 */
static void check_record_type(struct policy_rule_ctx *c, const struct policy_detection *d)
{
	const struct policy_field_match *first = NULL;
	char buf[128];

	for (size_t i = 0; i < d->n_selections; i++) {
		const struct policy_selection *sel = &d->selections[i];

		for (size_t j = 0; j < sel->n_maps; j++) {
			for (size_t k = 0; k < sel->maps[j].n_matches; k++) {
				const struct policy_field_match *m = &sel->maps[j].matches[k];

				if (m->src != POLICY_FIELD_EXECVE)
					continue;
				if (policy_field_value_matches(m, "EXECVE"))
					return;
				first = first ? first : m;
			}
		}
	}
	if (!first || c->rule->needs)
		return;
	snprintf(buf, sizeof(buf), "auditd %.64s records",
		 first->n_values && first->values[0].text ? first->values[0].text : "non-EXECVE");
	c->rule->needs = strdup(buf);
	if (!c->rule->needs)
		c->oom = true;
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
	if (c->auditd)
		check_record_type(c, d);
}
