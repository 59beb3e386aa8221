// SPDX-License-Identifier: GPL-2.0-only
/*
 * The rule container: the rule array a policy owns, its unique ids, the
 * per-category index the matcher walks, and freeing it all. The parser
 * adds rules (policy_add_rule), the loader builds the index once every
 * file is in (policy_build_index), the matcher and sphinx-policy read.
 * Nothing here parses or logs.
 *
 * Ids are checked with a small open-addressing hash (FNV-1a, twice as
 * many slots as POLICY_MAX_RULES), so a large policy loads in linear time.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "policy_internal.h"

#define ID_SLOTS	(2 * POLICY_MAX_RULES)	/* a power of two */

/* ------------------------------------------------------------ freeing */

void policy_detection_free(struct policy_detection *d)
{
	if (!d)
		return;
	for (size_t i = 0; i < d->n_selections; i++) {
		struct policy_selection *sel = &d->selections[i];

		for (size_t j = 0; j < sel->n_maps; j++) {
			struct policy_selection_map *map = &sel->maps[j];

			for (size_t k = 0; k < map->n_matches; k++) {
				struct policy_field_match *m = &map->matches[k];

				for (size_t v = 0; v < m->n_values; v++) {
					free(m->values[v].text);
					if (m->values[v].re) {
						regfree(m->values[v].re);
						free(m->values[v].re);
					}
				}
				free(m->values);
				free(m->field);
			}
			free(map->matches);
		}
		free(sel->maps);
		free(sel->name);
	}
	free(d->selections);
	policy_condition_free(d->condition);
	free(d);
}

void policy_rule_clear(struct policy_rule *rule)
{
	free(rule->id);
	free(rule->title);
	free(rule->description);
	free(rule->needs);
	free(rule->file);
	policy_detection_free(rule->detection);
	*rule = (struct policy_rule) {};
}

void policy_free(struct policy *policy)
{
	if (!policy)
		return;
	for (size_t i = 0; i < policy->n_rules; i++)
		policy_rule_clear(&policy->rules[i]);
	free(policy->rules);
	for (size_t c = 0; c < POLICY_CAT__MAX; c++)
		free(policy->by_category[c]);
	free(policy->id_slots);
	free(policy);
}

/* ---------------------------------------------------------------- ids */

static size_t id_hash(const char *id)
{
	uint32_t h = 2166136261u;

	for (; *id; id++)
		h = (h ^ (unsigned char)*id) * 16777619u;
	return h & (ID_SLOTS - 1);
}

/* The slot holding @id, or the empty slot where it would go. */
static uint32_t *id_slot(const struct policy *policy, const char *id)
{
	for (size_t i = id_hash(id);; i = (i + 1) & (ID_SLOTS - 1)) {
		uint32_t *slot = &policy->id_slots[i];

		if (*slot == 0 || strcmp(policy->rules[*slot - 1].id, id) == 0)
			return slot;
	}
}

const struct policy_rule *policy_find_rule(const struct policy *policy, const char *id)
{
	uint32_t *slot;

	if (!policy || !policy->id_slots || !id)
		return NULL;
	slot = id_slot(policy, id);
	return *slot ? &policy->rules[*slot - 1] : NULL;
}

int policy_add_rule(struct policy *policy, struct policy_rule *rule)
{
	uint32_t *slot;

	if (policy->n_rules >= POLICY_MAX_RULES)
		return -E2BIG;
	if (!policy->id_slots) {
		policy->id_slots = calloc(ID_SLOTS, sizeof(*policy->id_slots));
		if (!policy->id_slots)
			return -ENOMEM;
	}
	slot = id_slot(policy, rule->id);
	if (*slot)
		return -EEXIST;
	if (policy->n_rules == policy->cap_rules) {
		size_t cap = policy->cap_rules ? policy->cap_rules * 2 : 16;
		struct policy_rule *rules = realloc(policy->rules, cap * sizeof(*rules));

		if (!rules)
			return -ENOMEM;
		policy->rules = rules;
		policy->cap_rules = cap;
	}
	policy->rules[policy->n_rules] = *rule;
	*slot = (uint32_t)++policy->n_rules;
	*rule = (struct policy_rule) {};
	return 0;
}

/* ------------------------------------------------------------- the set */

int policy_build_index(struct policy *policy)
{
	/* Rules that never fire (rule->needs) stay out of the index. */
	for (size_t i = 0; i < policy->n_rules; i++)
		if (!policy->rules[i].needs)
			policy->n_by_category[policy->rules[i].category]++;
	for (size_t c = 0; c < POLICY_CAT__MAX; c++) {
		policy->by_category[c] = calloc(policy->n_by_category[c] + 1, sizeof(size_t));
		if (!policy->by_category[c])
			return -ENOMEM;
		policy->n_by_category[c] = 0;
	}
	for (size_t i = 0; i < policy->n_rules; i++) {
		enum policy_category c = policy->rules[i].category;

		if (policy->rules[i].needs)
			continue;
		policy->by_category[c][policy->n_by_category[c]++] = i;
	}
	return 0;
}

size_t policy_rule_count(const struct policy *policy)
{
	return policy ? policy->n_rules : 0;
}

const struct policy_rule *policy_rule_at(const struct policy *policy, size_t i)
{
	return policy && i < policy->n_rules ? &policy->rules[i] : NULL;
}
