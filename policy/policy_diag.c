// SPDX-License-Identifier: GPL-2.0-only
/*
 * Load-time diagnostics: the list of "file:line:col: message" errors that
 * policy_load() hands back, and the "did you mean" helper behind the hints
 * for misspelt keys, modifiers and selection names.
 *
 * The list grows by doubling and stops at POLICY_MAX_DIAGS entries (plus
 * one saying so), so a hostile file cannot make it grow without bound. The
 * loader counts errors separately, so a NULL list still fails the load.
 * Suggestions use the Levenshtein distance over two rows of a fixed-size
 * table: words longer than POLICY_MAX_NAME get no suggestion.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "policy_internal.h"

static int diags_push(struct policy_diags *diags, const char *file, unsigned line,
		      unsigned col, char *message)
{
	struct policy_diag *d;

	/* No capacity field: the array holds 8, 16, 32... and is full exactly
	 * when count is such a power of two. */
	if (diags->count == 0 || (diags->count >= 8 && (diags->count & (diags->count - 1)) == 0)) {
		size_t cap = diags->count ? diags->count * 2 : 8;
		struct policy_diag *items = realloc(diags->items, cap * sizeof(*items));

		if (!items)
			return -ENOMEM;
		diags->items = items;
	}
	d = &diags->items[diags->count];
	d->file = strdup(file ? file : "");
	if (!d->file)
		return -ENOMEM;
	d->line = line;
	d->column = col;
	d->message = message;
	diags->count++;
	return 0;
}

void policy_error(struct policy_loader *l, const char *file, unsigned line, unsigned col,
		  const char *fmt, ...)
{
	_cleanup_free_ char *message = NULL;
	va_list ap;
	int r;

	l->n_errors++;
	if (!l->diags || l->diags->count > POLICY_MAX_DIAGS)
		return;
	if (l->diags->count == POLICY_MAX_DIAGS) {
		message = strdup("too many errors; giving up on reporting the rest");
		if (!message || diags_push(l->diags, file, 0, 0, message) < 0)
			goto oom;
		TAKE_PTR(message);
		return;
	}
	va_start(ap, fmt);
	r = vasprintf(&message, fmt, ap);
	va_end(ap);
	if (r < 0) {
		message = NULL;
		goto oom;
	}
	if (diags_push(l->diags, file, line, col, message) < 0)
		goto oom;
	TAKE_PTR(message);
	return;
oom:
	if (!l->io_error)
		l->io_error = -ENOMEM;
}

bool policy_loader_quiet(const struct policy_loader *l)
{
	return !l->diags || l->diags->count >= POLICY_MAX_DIAGS;
}

void policy_diags_clear(struct policy_diags *diags)
{
	if (!diags)
		return;
	for (size_t i = 0; i < diags->count; i++) {
		free(diags->items[i].file);
		free(diags->items[i].message);
	}
	free(diags->items);
	diags->items = NULL;
	diags->count = 0;
}

/* Unknown positions (0) sort last: they are summaries. */
static bool diag_before(const struct policy_diag *a, const struct policy_diag *b)
{
	unsigned la = a->line ? a->line : ~0u, lb = b->line ? b->line : ~0u;

	return la < lb || (la == lb && a->column < b->column);
}

void policy_diags_sort(struct policy_diags *diags, size_t first)
{
	/* Insertion sort: a rule's handful of errors, mostly in order already. */
	for (size_t i = first + 1; i < diags->count; i++) {
		struct policy_diag d = diags->items[i];
		size_t j = i;

		for (; j > first && diag_before(&d, &diags->items[j - 1]); j--)
			diags->items[j] = diags->items[j - 1];
		diags->items[j] = d;
	}
}

const char *policy_diag_format(const struct policy_diag *d, char *buf, size_t len)
{
	if (!buf || len == 0)
		return buf;
	if (d->line && d->column)
		snprintf(buf, len, "%s:%u:%u: %s", d->file, d->line, d->column, d->message);
	else if (d->line)
		snprintf(buf, len, "%s:%u: %s", d->file, d->line, d->message);
	else
		snprintf(buf, len, "%s: %s", d->file, d->message);
	return buf;
}

/* ----------------------------------------------------------- suggestions */

static size_t min3(size_t a, size_t b, size_t c)
{
	size_t m = a < b ? a : b;

	return m < c ? m : c;
}

/* Edit distance; both words at most POLICY_MAX_NAME bytes. */
static size_t levenshtein(const char *a, size_t la, const char *b, size_t lb)
{
	size_t rows[2][POLICY_MAX_NAME + 1];
	size_t *prev = rows[0], *cur = rows[1];

	for (size_t j = 0; j <= lb; j++)
		prev[j] = j;
	for (size_t i = 1; i <= la; i++) {
		size_t *tmp;

		cur[0] = i;
		for (size_t j = 1; j <= lb; j++)
			cur[j] = min3(prev[j] + 1, cur[j - 1] + 1,
				      prev[j - 1] + (a[i - 1] != b[j - 1]));
		tmp = prev;
		prev = cur;
		cur = tmp;
	}
	return prev[lb];
}

const char *policy_suggest(const char *word, const char *const *candidates, size_t n)
{
	size_t lw = strlen(word), best_d = 3;
	const char *best = NULL;

	if (lw == 0 || lw > POLICY_MAX_NAME)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		size_t lc = strlen(candidates[i]), d;

		if (lc > POLICY_MAX_NAME || (lc > lw ? lc - lw : lw - lc) > 2)
			continue;
		d = levenshtein(word, lw, candidates[i], lc);
		if (d < best_d && d < lw) {
			best_d = d;
			best = candidates[i];
		}
	}
	return best;
}
