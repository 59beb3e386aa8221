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

int policy_regex_translate(const char *re, char *out, size_t outlen, int *cflags, char *err,
			   size_t errlen)
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
	return 0;
}
