// SPDX-License-Identifier: GPL-2.0-only
/*
 * The detection condition: "selection and not (filter_a or filter_b)",
 * "1 of sel_*", "all of them". Parsed once at load into a tree, evaluated
 * for every event.
 *
 * Grammar (precedence not > and > or; all left-associative):
 *
 *   or      := and ("or" and)*
 *   and     := unary ("and" unary)*
 *   unary   := "not" unary | primary
 *   primary := "(" or ")" | NAME | ("1" | "all") "of" (PATTERN | "them")
 *
 * A tokenizer driven by two tables (character classes, keywords) feeds a
 * recursive-descent parser whose depth is capped at POLICY_MAX_COND_DEPTH.
 * Chains of and/or become one n-ary node, so a long flat condition is a
 * shallow tree; "1 of" / "all of" are expanded at parse time into an OR /
 * AND over the selections the pattern names (fnmatch(3), case-sensitive).
 *
 * The evaluator over the tree lives with the matcher (policy_match.c): it
 * is the matcher's last step, and this file only parses.
 */
#include <errno.h>
#include <fnmatch.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "policy_internal.h"

/* ------------------------------------------------------------- tokenizer */

enum tok_type {
	TOK_END,
	TOK_LPAREN,
	TOK_RPAREN,
	TOK_AND,
	TOK_OR,
	TOK_NOT,
	TOK_OF,
	TOK_ONE,
	TOK_ALL,
	TOK_THEM,
	TOK_NAME,	/* a selection name or name pattern */
	TOK_BAD,	/* a character no token starts with */
};

struct token {
	enum tok_type type;
	size_t offset, len;
};

enum char_class { CC_OTHER, CC_SPACE, CC_NAME, CC_LPAREN, CC_RPAREN };

static const unsigned char char_class[256] = {
	[' '] = CC_SPACE, ['\t'] = CC_SPACE, ['\n'] = CC_SPACE, ['\r'] = CC_SPACE,
	['('] = CC_LPAREN, [')'] = CC_RPAREN,
	['_'] = CC_NAME, ['.'] = CC_NAME, ['-'] = CC_NAME, ['*'] = CC_NAME, ['?'] = CC_NAME,
	['0' ... '9'] = CC_NAME, ['a' ... 'z'] = CC_NAME, ['A' ... 'Z'] = CC_NAME,
};

static const struct {
	const char *word;
	enum tok_type type;
} keywords[] = {
	{ "and", TOK_AND }, { "or", TOK_OR }, { "not", TOK_NOT }, { "of", TOK_OF },
	{ "1", TOK_ONE }, { "all", TOK_ALL }, { "them", TOK_THEM },
};

static struct token next_token(const char *text, size_t pos)
{
	struct token t = { .type = TOK_END };
	const unsigned char *s = (const unsigned char *)text;

	while (char_class[s[pos]] == CC_SPACE)
		pos++;
	t.offset = pos;
	if (!s[pos])
		return t;
	switch (char_class[s[pos]]) {
	case CC_LPAREN:
		t.type = TOK_LPAREN;
		t.len = 1;
		return t;
	case CC_RPAREN:
		t.type = TOK_RPAREN;
		t.len = 1;
		return t;
	case CC_NAME:
		break;
	default:
		t.type = TOK_BAD;
		t.len = 1;
		return t;
	}
	while (char_class[s[pos + t.len]] == CC_NAME)
		t.len++;
	t.type = TOK_NAME;
	for (size_t i = 0; i < ARRAY_SIZE(keywords); i++) {
		if (strlen(keywords[i].word) == t.len &&
		    memcmp(keywords[i].word, text + pos, t.len) == 0) {
			t.type = keywords[i].type;
			break;
		}
	}
	return t;
}

/* ---------------------------------------------------------------- parser */

struct parser {
	const char *text;
	struct token tok;
	const char *const *names;
	size_t n_names;
	struct policy_condition *cond;
	size_t cap_nodes;
	unsigned depth;
	struct policy_cond_error *err;
};

/* Every parse function returns a node index >= 0, or -EINVAL / -ENOMEM. */

static int fail_at(struct parser *p, size_t offset, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail_at(struct parser *p, size_t offset, const char *fmt, ...)
{
	va_list ap;

	p->err->offset = offset;
	va_start(ap, fmt);
	vsnprintf(p->err->message, sizeof(p->err->message), fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static void advance(struct parser *p)
{
	p->tok = next_token(p->text, p->tok.offset + p->tok.len);
}

/* How the current token reads in a message. */
static int tok_len(const struct token *t)
{
	return t->len > 64 ? 64 : (int)t->len;
}

static int fail_unexpected(struct parser *p, const char *expected)
{
	const struct token *t = &p->tok;

	if (t->type == TOK_END)
		return fail_at(p, t->offset, "expected %s, got the end of the condition", expected);
	if (t->type == TOK_BAD && p->text[t->offset] == '|')
		return fail_at(p, t->offset, "aggregations ('| count() ...') are not supported");
	return fail_at(p, t->offset, "expected %s, got '%.*s'", expected, tok_len(t),
		       p->text + t->offset);
}

/* Append a node owning @kids (n_kids of them); returns its index. */
static int add_node(struct parser *p, enum policy_cond_type type, unsigned selection,
		    unsigned *kids, unsigned n_kids)
{
	struct policy_condition *c = p->cond;

	if (c->n_nodes == p->cap_nodes) {
		size_t cap = p->cap_nodes ? p->cap_nodes * 2 : 16;
		struct policy_cond_node *nodes = realloc(c->nodes, cap * sizeof(*nodes));

		if (!nodes) {
			free(kids);
			return -ENOMEM;
		}
		c->nodes = nodes;
		p->cap_nodes = cap;
	}
	c->nodes[c->n_nodes] = (struct policy_cond_node) {
		.type = type, .selection = selection, .n_kids = n_kids, .kids = kids,
	};
	return (int)c->n_nodes++;
}

static int add_selection(struct parser *p, unsigned idx)
{
	p->cond->used |= UINT64_C(1) << idx;
	return add_node(p, POLICY_COND_SELECTION, idx, NULL, 0);
}

/* A growing list of child indices for one n-ary node. */
struct kid_list {
	unsigned *items;
	unsigned n, cap;
};

static int kids_push(struct kid_list *k, int node)
{
	if (k->n == k->cap) {
		unsigned cap = k->cap ? k->cap * 2 : 4;
		unsigned *items = realloc(k->items, cap * sizeof(*items));

		if (!items)
			return -ENOMEM;
		k->items = items;
		k->cap = cap;
	}
	k->items[k->n++] = (unsigned)node;
	return 0;
}

/* One child is itself; more become one AND / OR node that owns the list. */
static int finish_list(struct parser *p, enum policy_cond_type type, struct kid_list *k)
{
	int r;

	if (k->n == 1) {
		r = (int)k->items[0];
		free(k->items);
		return r;
	}
	return add_node(p, type, 0, k->items, k->n);
}

static int parse_or(struct parser *p);

/* "1 of PATTERN", "all of them": the quantifier is the current token. */
static int parse_quantified(struct parser *p)
{
	struct token quant = p->tok, pat;
	struct kid_list k = {};
	char pattern[POLICY_MAX_NAME + 1];
	int r;

	advance(p);
	if (p->tok.type != TOK_OF)
		return fail_unexpected(p, quant.type == TOK_ONE ? "'of' after '1'"
							      : "'of' after 'all'");
	advance(p);
	pat = p->tok;
	if (pat.type != TOK_NAME && pat.type != TOK_THEM)
		return fail_unexpected(p, "a selection name pattern or 'them'");
	if (pat.len > POLICY_MAX_NAME)
		return fail_at(p, pat.offset, "pattern longer than %d characters", POLICY_MAX_NAME);
	memcpy(pattern, p->text + pat.offset, pat.len);
	pattern[pat.len] = '\0';
	advance(p);

	for (size_t i = 0; i < p->n_names; i++) {
		if (pat.type == TOK_NAME && fnmatch(pattern, p->names[i], 0) != 0)
			continue;
		r = add_selection(p, (unsigned)i);
		if (r < 0 || (r = kids_push(&k, r)) < 0) {
			free(k.items);
			return r;
		}
	}
	if (k.n == 0)
		return fail_at(p, quant.offset, "'%.*s of %s' matches no selection",
			       tok_len(&quant), p->text + quant.offset, pattern);
	return finish_list(p, quant.type == TOK_ONE ? POLICY_COND_OR : POLICY_COND_AND, &k);
}

static int parse_name(struct parser *p)
{
	struct token t = p->tok;
	char name[POLICY_MAX_NAME + 1];
	const char *hint;

	advance(p);
	if (p->tok.type == TOK_OF)
		return fail_at(p, t.offset, "only '1 of' and 'all of' are supported");
	if (t.len > POLICY_MAX_NAME)
		return fail_at(p, t.offset, "unknown selection '%.*s...'", POLICY_MAX_NAME,
			       p->text + t.offset);
	memcpy(name, p->text + t.offset, t.len);
	name[t.len] = '\0';
	if (strpbrk(name, "*?"))
		return fail_at(p, t.offset, "'%s' is a pattern: write '1 of %s' or 'all of %s'",
			       name, name, name);
	for (size_t i = 0; i < p->n_names; i++)
		if (strcmp(p->names[i], name) == 0)
			return add_selection(p, (unsigned)i);
	hint = policy_suggest(name, p->names, p->n_names);
	if (hint)
		return fail_at(p, t.offset, "unknown selection '%s' (did you mean '%s'?)", name,
			       hint);
	return fail_at(p, t.offset, "unknown selection '%s'", name);
}

static int parse_primary(struct parser *p)
{
	size_t open;
	int r;

	switch (p->tok.type) {
	case TOK_LPAREN:
		open = p->tok.offset;
		if (++p->depth > POLICY_MAX_COND_DEPTH)
			return fail_at(p, open, "nested more than %d deep", POLICY_MAX_COND_DEPTH);
		advance(p);
		r = parse_or(p);
		if (r < 0)
			return r;
		if (p->tok.type != TOK_RPAREN)
			return fail_unexpected(p, "')'");
		advance(p);
		p->depth--;
		return r;
	case TOK_ONE:
	case TOK_ALL:
		return parse_quantified(p);
	case TOK_NAME:
		return parse_name(p);
	case TOK_THEM:
		return fail_at(p, p->tok.offset, "'them' needs '1 of' or 'all of' before it");
	default:
		return fail_unexpected(p, "a selection name, '(', 'not', '1 of' or 'all of'");
	}
}

static int parse_unary(struct parser *p)
{
	unsigned *kid;
	int r;

	if (p->tok.type != TOK_NOT)
		return parse_primary(p);
	if (++p->depth > POLICY_MAX_COND_DEPTH)
		return fail_at(p, p->tok.offset, "nested more than %d deep", POLICY_MAX_COND_DEPTH);
	advance(p);
	r = parse_unary(p);
	if (r < 0)
		return r;
	p->depth--;
	kid = malloc(sizeof(*kid));
	if (!kid)
		return -ENOMEM;
	*kid = (unsigned)r;
	return add_node(p, POLICY_COND_NOT, 0, kid, 1);
}

/* operand (OP operand)*, for and (over unary) and or (over and). */
static int parse_chain(struct parser *p, enum tok_type op, int (*operand)(struct parser *),
		       enum policy_cond_type type)
{
	struct kid_list k = {};
	int r;

	for (;;) {
		r = operand(p);
		if (r < 0 || (r = kids_push(&k, r)) < 0) {
			free(k.items);
			return r;
		}
		if (p->tok.type != op)
			break;
		advance(p);
	}
	return finish_list(p, type, &k);
}

static int parse_and(struct parser *p)
{
	return parse_chain(p, TOK_AND, parse_unary, POLICY_COND_AND);
}

static int parse_or(struct parser *p)
{
	return parse_chain(p, TOK_OR, parse_and, POLICY_COND_OR);
}

void policy_condition_free(struct policy_condition *cond)
{
	if (!cond)
		return;
	for (size_t i = 0; i < cond->n_nodes; i++)
		free(cond->nodes[i].kids);
	free(cond->nodes);
	free(cond);
}

int policy_condition_parse(const char *text, const char *const *names, size_t n_names,
			   struct policy_condition **ret, struct policy_cond_error *err)
{
	struct parser p = { .text = text, .names = names, .n_names = n_names, .err = err };
	size_t len = strlen(text);
	int r;

	if (n_names > POLICY_MAX_SELECTIONS)
		return -E2BIG;
	if (len > POLICY_MAX_CONDITION) {
		err->offset = 0;
		snprintf(err->message, sizeof(err->message), "longer than %d characters",
			 POLICY_MAX_CONDITION);
		return -EINVAL;
	}
	p.cond = calloc(1, sizeof(*p.cond));
	if (!p.cond)
		return -ENOMEM;
	p.tok = next_token(text, 0);
	if (p.tok.type == TOK_END) {
		r = fail_at(&p, 0, "empty expression");
		goto fail;
	}
	r = parse_or(&p);
	if (r >= 0 && p.tok.type != TOK_END)
		r = fail_unexpected(&p, "'and', 'or' or the end of the condition");
	if (r < 0)
		goto fail;
	p.cond->root = (unsigned)r;
	*ret = p.cond;
	return 0;
fail:
	policy_condition_free(p.cond);
	return r;
}
