// SPDX-License-Identifier: GPL-2.0-only
/*
 * Sigma's `re` values are written for PCRE; the matcher uses POSIX EREs
 * (regcomp(3)), so SigmaHQ rules would otherwise fail on their first
 * `(?:`. This file rewrites the PCRE spellings that have an exact ERE
 * equivalent, once, at load:
 *
 *   (?:x)             (x)
 *   \d \D \s \S \w \W  [0-9] [^0-9] [[:space:]] [^[:space:]] [[:alnum:]_] [^...]
 *   inside [...]      \d \s \w as classes, \X as the character X ('-' and ']'
 *                     moved where POSIX reads them literally)
 *   \t \n \r          the control character
 *   x*? x+? x?? {n,m}?  the same without '?': a yes/no search cannot tell
 *   leading (?i) (?m) (?s)  REG_ICASE, REG_NEWLINE, nothing (POSIX '.' already
 *                     matches a newline)
 *
 * Anything else PCRE-only — lookaround, named or atomic groups, inline flags
 * elsewhere, \x escapes, backreferences — is refused with a message naming
 * it, rather than silently matching something else. glibc's own extensions
 * (\b \B \< \> \` \') pass through unchanged.
 */
#include <errno.h>
#include <regex.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "policy_internal.h"

struct out {
	char *buf;
	size_t len, cap;
};

static void put(struct out *o, const char *s)
{
	size_t n = strlen(s);

	if (o->len + n < o->cap) {
		memcpy(o->buf + o->len, s, n);
		o->len += n;
		o->buf[o->len] = '\0';
	} else {
		o->len = o->cap;	/* overflow: reported by the caller */
	}
}

static void putc_(struct out *o, char c)
{
	char s[2] = { c, '\0' };

	put(o, s);
}

/* One [...] expression starting at @p (at '['); returns the char after ']' or NULL. */
static const char *bracket(const char *p, struct out *o, char *err, size_t errlen)
{
	char body[POLICY_MAX_STRING * 2 + 1];
	struct out b = { body, 0, sizeof(body) };
	bool neg = false, dash = false, rbracket = false;

	body[0] = '\0';
	p++;
	if (*p == '^') {
		neg = true;
		p++;
	}
	if (*p == ']') {
		rbracket = true;
		p++;
	}
	for (; *p && *p != ']'; p++) {
		if (p[0] == '[' && p[1] == ':') {
			const char *end = strstr(p, ":]");

			if (!end) {
				snprintf(err, errlen, "unterminated [: in a bracket expression");
				return NULL;
			}
			for (; p < end + 1; p++)
				putc_(&b, *p);
			putc_(&b, ']');
			continue;
		}
		if (*p == '-' && (b.len == 0 || p[1] == ']')) {
			dash = true;	/* literal at either end */
			continue;
		}
		if (*p != '\\') {
			putc_(&b, *p);
			continue;
		}
		p++;
		switch (*p) {
		case 'd': put(&b, "0-9"); break;
		case 's': put(&b, "[:space:]"); break;
		case 'w': put(&b, "[:alnum:]_"); break;
		case 't': putc_(&b, '\t'); break;
		case 'n': putc_(&b, '\n'); break;
		case 'r': putc_(&b, '\r'); break;
		case '-': dash = true; break;
		case ']': rbracket = true; break;
		case '\0':
			snprintf(err, errlen, "'\\' at the end of the expression");
			return NULL;
		default:
			if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
			    (*p >= '0' && *p <= '9')) {
				snprintf(err, errlen, "'\\%c' inside [...] has no POSIX equivalent",
					 *p);
				return NULL;
			}
			putc_(&b, *p);	/* \. \/ \\ \[ ... : the character itself */
		}
	}
	if (*p != ']') {
		snprintf(err, errlen, "unterminated [...]");
		return NULL;
	}
	if (b.len >= b.cap) {
		snprintf(err, errlen, "expression too long");
		return NULL;
	}
	put(o, neg ? "[^" : "[");
	if (rbracket)
		putc_(o, ']');
	put(o, body);
	if (dash)
		putc_(o, '-');
	putc_(o, ']');
	return p + 1;
}

/* Leading inline flags: (?i), (?m), (?s) and combinations. */
static const char *leading_flags(const char *p, int *cflags)
{
	const char *q;

	if (strncmp(p, "(?", 2) != 0)
		return p;
	for (q = p + 2; *q == 'i' || *q == 'm' || *q == 's'; q++)
		;
	if (*q != ')' || q == p + 2)
		return p;
	for (q = p + 2; *q != ')'; q++) {
		if (*q == 'i')
			*cflags |= REG_ICASE;
		else if (*q == 'm')
			*cflags |= REG_NEWLINE;
	}
	return q + 1;
}

static int escape(const char **pp, struct out *o, char *err, size_t errlen)
{
	const char *p = *pp + 1;

	switch (*p) {
	case 'd': put(o, "[0-9]"); break;
	case 'D': put(o, "[^0-9]"); break;
	case 's': put(o, "[[:space:]]"); break;
	case 'S': put(o, "[^[:space:]]"); break;
	case 'w': put(o, "[[:alnum:]_]"); break;
	case 'W': put(o, "[^[:alnum:]_]"); break;
	case 't': putc_(o, '\t'); break;
	case 'n': putc_(o, '\n'); break;
	case 'r': putc_(o, '\r'); break;
	case 'b': case 'B': case '<': case '>': case '`': case '\'':
		putc_(o, '\\');
		putc_(o, *p);
		break;
	case '\0':
		snprintf(err, errlen, "'\\' at the end of the expression");
		return -EINVAL;
	default:
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9')) {
			snprintf(err, errlen, "'\\%c' has no POSIX equivalent", *p);
			return -EINVAL;
		}
		putc_(o, '\\');
		putc_(o, *p);
	}
	*pp = p + 1;
	return 0;
}

/* ------------------------------------------------------- what regcomp costs */

/*
 * glibc's regcomp() copies a repeated piece once per repetition, and the
 * copies of a repeated group that holds a repetition multiply: a policy
 * with 't++++...' or '((a{99}){99}){99}' took 23 GB before the OOM killer
 * came. So, on the ERE about to be compiled: no quantifier right after
 * another (PCRE's possessive 'a++' has no POSIX meaning anyway), and the
 * pieces it expands to — each atom counted once per copy regcomp() makes
 * of it — at most MAX_PIECES, and at most MAX_REPEAT optional copies in
 * one {n,m} ({0,19000} alone took 2.8 GB). Nested optional repetitions still cost more than
 * their pieces ('((a{0,16}){0,16}){0,16}' is some 40 MB), so the loader
 * also caps the pieces of a whole policy (POLICY_MAX_RE_PIECES).
 */
#define MAX_PIECES	4096
#define MAX_REPEAT	255	/* {n,m}: m - n; regcomp is quadratic in it */
#define MAX_GROUPS	32

/* The end of the bracket expression starting at @p ('['), or NULL. */
static const char *skip_bracket(const char *p)
{
	p++;
	if (*p == '^')
		p++;
	if (*p == ']')
		p++;
	for (; *p && *p != ']'; p++) {
		if (p[0] == '[' && (p[1] == ':' || p[1] == '.' || p[1] == '=')) {
			const char *end = strchr(p + 2, p[1]);

			while (end && end[1] != ']')
				end = strchr(end + 1, p[1]);
			if (!end)
				return NULL;
			p = end + 1;
		}
	}
	return *p ? p + 1 : NULL;
}

/*
 * "{n}", "{n,}", "{n,m}" at *@pp: the copies it makes (at least 1), and in
 * *@optional how many of them are optional (m - n); moves past it.
 */
static unsigned long interval(const char **pp, unsigned long *optional)
{
	const char *p = *pp + 1;
	unsigned long n = 0, m;

	for (; *p >= '0' && *p <= '9'; p++)
		n = n > MAX_PIECES ? n : n * 10 + (unsigned long)(*p - '0');
	m = n;
	if (*p == ',') {
		p++;
		m = *p == '}' ? n + 1 : 0;	/* {n,}: n copies and a star */
		for (; *p >= '0' && *p <= '9'; p++)
			m = m > MAX_PIECES ? m : m * 10 + (unsigned long)(*p - '0');
	}
	*pp = *p == '}' ? p + 1 : p;
	*optional = m > n ? m - n : 0;
	m = m > n ? m : n;
	return m ? m : 1;	/* {0} is still a quantifier */
}

static int too_big(char *err, size_t errlen)
{
	snprintf(err, errlen, "its repetitions expand to more than %d pieces", MAX_PIECES);
	return -EINVAL;
}

static int check_cost(const char *p, size_t *pieces, char *err, size_t errlen)
{
	unsigned long size[MAX_GROUPS + 1] = { 0 }, last = 0, f, optional;
	unsigned depth = 0;
	bool quantified = false;

	while (*p) {
		f = optional = 0;
		if (*p == '*' || *p == '?')
			f = 1, p++;
		else if (*p == '+')
			f = 2, p++;
		else if (*p == '{' && p[1] >= '0' && p[1] <= '9')
			f = interval(&p, &optional);
		if (f) {
			if (quantified) {
				snprintf(err, errlen, "a quantifier cannot follow another (PCRE's "
					 "possessive 'a++' has no POSIX equivalent)");
				return -EINVAL;
			}
			quantified = true;
			if (optional > MAX_REPEAT) {
				snprintf(err, errlen, "more than %d optional repetitions ({n,m} "
					 "with m - n > %d)", MAX_REPEAT, MAX_REPEAT);
				return -EINVAL;
			}
			if (last * (f - 1) > MAX_PIECES)
				return too_big(err, errlen);
			size[depth] += last * (f - 1);	/* the piece itself is counted */
			if (size[depth] > MAX_PIECES)
				return too_big(err, errlen);
			continue;
		}
		quantified = false;
		if (*p == '(') {
			if (++depth > MAX_GROUPS) {
				snprintf(err, errlen, "more than %d nested groups", MAX_GROUPS);
				return -EINVAL;
			}
			size[depth] = 0;
			last = 0;
			p++;
			continue;
		}
		if (*p == '|') {
			last = 0;
			p++;
			continue;
		}
		if (*p == ')') {
			last = depth ? size[depth--] : 1;
			p++;
		} else if (*p == '[') {
			p = skip_bracket(p);
			if (!p)
				return 0;	/* regcomp() names the problem */
			last = 1;
		} else {
			p += *p == '\\' && p[1] ? 2 : 1;
			last = 1;
		}
		size[depth] += last;
		if (size[depth] > MAX_PIECES)
			return too_big(err, errlen);
	}
	*pieces = size[0];
	return 0;
}

int policy_regex_translate(const char *re, char *out, size_t outlen, int *cflags,
			   size_t *pieces, char *err, size_t errlen)
{
	struct out o = { out, 0, outlen };
	const char *p = leading_flags(re, cflags);

	out[0] = '\0';
	while (*p) {
		if (*p == '\\') {
			if (escape(&p, &o, err, errlen) < 0)
				return -EINVAL;
		} else if (*p == '[') {
			p = bracket(p, &o, err, errlen);
			if (!p)
				return -EINVAL;
		} else if (p[0] == '(' && p[1] == '?') {
			if (p[2] != ':') {
				snprintf(err, errlen, "'(?%c' (lookaround, named group or inline "
					 "flag) has no POSIX equivalent", p[2] ? p[2] : ' ');
				return -EINVAL;
			}
			putc_(&o, '(');
			p += 3;
		} else if ((*p == '*' || *p == '+' || *p == '?' || *p == '}') && p[1] == '?') {
			putc_(&o, *p);	/* lazy quantifier: same yes/no answer */
			p += 2;
		} else {
			putc_(&o, *p++);
		}
		if (o.len >= o.cap) {
			snprintf(err, errlen, "expression too long");
			return -EINVAL;
		}
	}
	return check_cost(out, pieces, err, errlen);
}
