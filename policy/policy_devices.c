// SPDX-License-Identifier: GPL-2.0-only
/*
 * The kernel side filters opens by path prefix before any event reaches
 * user space; this derives that prefix table from the file_access rules,
 * so the policy stays the one place that names capture devices.
 *
 * Taken: TargetFilename|startswith values as written, and plain
 * TargetFilename values up to their first wildcard ("/dev/dri/card*" →
 * "/dev/dri/card"; escapes undone). Skipped: contains / endswith / re /
 * numeric / null values (no prefix to give) and values that begin with a
 * wildcard (the prefix would be everything). A selection used under `not`
 * still contributes: the table only has to be a superset.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "policy_internal.h"

#define TARGET_FIELD	"TargetFilename"

int policy_strv_add(struct policy_strv *v, const char *s, size_t len)
{
	char *copy;

	if (len == 0)
		return 0;
	for (size_t i = 0; i < v->n; i++)
		if (strlen(v->items[i]) == len && memcmp(v->items[i], s, len) == 0)
			return 0;
	if (v->n + 1 >= v->cap) {
		size_t cap = v->cap ? v->cap * 2 : 8;
		char **items = realloc(v->items, cap * sizeof(*items));

		if (!items)
			return -ENOMEM;
		v->items = items;
		v->cap = cap;
	}
	copy = strndup(s, len);
	if (!copy)
		return -ENOMEM;
	v->items[v->n++] = copy;
	v->items[v->n] = NULL;
	return 0;
}

/* The literal text before the first unescaped wildcard of a fnmatch pattern. */
static int add_glob_prefix(struct policy_strv *v, const char *pattern)
{
	char buf[POLICY_MAX_STRING + 1];
	size_t n = 0;

	for (const char *p = pattern; *p && *p != '*' && *p != '?' && n < POLICY_MAX_STRING; p++) {
		if (*p == '\\' && p[1])
			p++;
		buf[n++] = *p;
	}
	return policy_strv_add(v, buf, n);
}

static int add_value(struct policy_strv *v, const struct policy_value *val)
{
	switch (val->op) {
	case POLICY_OP_EQUAL:
	case POLICY_OP_STARTSWITH:
		return policy_strv_add(v, val->text, val->len);
	case POLICY_OP_GLOB:
		return add_glob_prefix(v, val->text);
	default:
		return 0;
	}
}

static int add_detection(struct policy_strv *v, const struct policy_detection *d)
{
	for (size_t s = 0; s < d->n_selections; s++) {
		const struct policy_selection *sel = &d->selections[s];

		for (size_t m = 0; m < sel->n_maps; m++) {
			const struct policy_selection_map *map = &sel->maps[m];

			for (size_t f = 0; f < map->n_matches; f++) {
				const struct policy_field_match *fm = &map->matches[f];

				if (strcmp(fm->field, TARGET_FIELD) != 0)
					continue;
				for (size_t i = 0; i < fm->n_values; i++) {
					int r = add_value(v, &fm->values[i]);

					if (r < 0)
						return r;
				}
			}
		}
	}
	return 0;
}

void policy_strv_free(char **strv)
{
	if (!strv)
		return;
	for (char **p = strv; *p; p++)
		free(*p);
	free(strv);
}

int policy_device_prefixes(const struct policy *policy, char ***ret)
{
	struct policy_strv v = {};
	int r;

	v.items = calloc(1, sizeof(*v.items));
	if (!v.items)
		return -ENOMEM;
	v.cap = 1;
	for (size_t i = 0; policy && i < policy->n_rules; i++) {
		if (policy->rules[i].category != POLICY_CAT_FILE_ACCESS || policy->rules[i].needs)
			continue;
		r = add_detection(&v, policy->rules[i].detection);
		if (r < 0) {
			policy_strv_free(v.items);
			return r;
		}
	}
	*ret = v.items;
	return (int)v.n;
}
