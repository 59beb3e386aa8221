// SPDX-License-Identifier: GPL-2.0-only
/*
 * Names of the policy enums, both ways. One table per enum, indexed by
 * value, so a name lookup is a short scan and a value lookup is an index.
 * The parser (which also wants the whole list, for "did you mean" and
 * "expected ..." messages), the event JSON and the tools all go through
 * these tables, so each spelling lives in exactly one place.
 */
#include <errno.h>
#include <string.h>

#include "cleanup.h"
#include "policy_internal.h"

static const char *const category_names[] = {
	[POLICY_CAT_PROCESS_CREATION] = "process_creation",
	[POLICY_CAT_FILE_ACCESS] = "file_access",
	[POLICY_CAT_SCREEN_CAPTURE] = "screen_capture",
};

static const char *const kind_names[] = {
	[POLICY_KIND_RECORDING] = "recording",
	[POLICY_KIND_SCREENSHOT] = "screenshot",
	[POLICY_KIND_AUTO] = "auto",
};

static const char *const level_names[] = {
	[POLICY_LEVEL_INFORMATIONAL] = "informational",
	[POLICY_LEVEL_LOW] = "low",
	[POLICY_LEVEL_MEDIUM] = "medium",
	[POLICY_LEVEL_HIGH] = "high",
	[POLICY_LEVEL_CRITICAL] = "critical",
};

static const char *const action_names[] = {
	[POLICY_ACTION_ALERT] = "alert",
	[POLICY_ACTION_KILL] = "kill",
};

/* A name per enum value: a value added without one fails to compile. */
_Static_assert(ARRAY_SIZE(category_names) == POLICY_CAT__MAX, "category_names");
_Static_assert(ARRAY_SIZE(kind_names) == POLICY_KIND_AUTO + 1, "kind_names");
_Static_assert(ARRAY_SIZE(level_names) == POLICY_LEVEL_CRITICAL + 1, "level_names");
_Static_assert(ARRAY_SIZE(action_names) == POLICY_ACTION_KILL + 1, "action_names");

const struct policy_names policy_category_names = { category_names, ARRAY_SIZE(category_names) };
const struct policy_names policy_kind_names = { kind_names, ARRAY_SIZE(kind_names) };
const struct policy_names policy_level_names = { level_names, ARRAY_SIZE(level_names) };
const struct policy_names policy_action_names = { action_names, ARRAY_SIZE(action_names) };

static const char *name_of(const char *const *table, size_t n, unsigned value)
{
	return value < n ? table[value] : NULL;
}

int policy_names_lookup(const struct policy_names *t, const char *name, unsigned *ret)
{
	if (!name)
		return -EINVAL;
	for (size_t i = 0; i < t->n; i++) {
		if (strcmp(t->names[i], name) == 0) {
			*ret = (unsigned)i;
			return 0;
		}
	}
	return -EINVAL;
}

const char *policy_category_name(enum policy_category category)
{
	return name_of(category_names, ARRAY_SIZE(category_names), (unsigned)category);
}

const char *policy_kind_name(enum policy_kind kind)
{
	return name_of(kind_names, ARRAY_SIZE(kind_names), (unsigned)kind);
}

const char *policy_level_name(enum policy_level level)
{
	return name_of(level_names, ARRAY_SIZE(level_names), (unsigned)level);
}

const char *policy_action_name(enum policy_action action)
{
	return name_of(action_names, ARRAY_SIZE(action_names), (unsigned)action);
}

int policy_category_from_name(const char *name, enum policy_category *ret)
{
	unsigned v;
	int r = policy_names_lookup(&policy_category_names, name, &v);

	if (r == 0)
		*ret = (enum policy_category)v;
	return r;
}
