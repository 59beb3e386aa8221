// SPDX-License-Identifier: GPL-2.0-only
/*
 * The probe status table (status.h): a fixed array of rows, filled in the
 * order the layers attach, never shrunk while the agent runs.
 */
#include <stdio.h>
#include <string.h>

#include "cleanup.h"
#include "log.h"
#include "status.h"

struct probe_status {
	enum sphinx_layer layer;
	const char *layer_name;		/* static, from layer.c's table */
	char name[64];			/* function or tracepoint */
	char where[512];		/* library path or tracepoint path */
	enum probe_state state;
	char why[128];
};

static struct probe_status rows[STATUS_MAX_ROWS];
static unsigned n_rows;

static const char *const state_names[] = {
	[PROBE_ATTACHED] = "attached",
	[PROBE_NOT_AVAILABLE] = "not available",
	[PROBE_FAILED] = "failed",
};
_Static_assert(ARRAY_SIZE(state_names) == PROBE_FAILED + 1, "a name for every probe state");

struct probe_status *status_add(enum sphinx_layer layer, const char *layer_name, const char *name,
				const char *where)
{
	struct probe_status *s;

	if (n_rows >= STATUS_MAX_ROWS)
		return NULL;
	s = &rows[n_rows++];
	memset(s, 0, sizeof(*s));
	s->layer = layer;
	s->layer_name = layer_name;
	s->state = PROBE_NOT_AVAILABLE;
	snprintf(s->name, sizeof(s->name), "%s", name);
	snprintf(s->where, sizeof(s->where), "%s", where);
	return s;
}

void status_set(struct probe_status *row, enum probe_state state, const char *why)
{
	if (!row)
		return;
	row->state = state;
	snprintf(row->why, sizeof(row->why), "%s", why ? why : "");
}

void status_rename(struct probe_status *row, const char *name)
{
	if (row)
		snprintf(row->name, sizeof(row->name), "%s", name);
}

enum probe_state status_state(const struct probe_status *row)
{
	return row ? row->state : PROBE_NOT_AVAILABLE;
}

const char *status_why(const struct probe_status *row)
{
	return row ? row->why : "";
}

struct probe_status *status_find(enum sphinx_layer layer, const char *where)
{
	for (unsigned i = 0; i < n_rows; i++)
		if (rows[i].layer == layer && strcmp(rows[i].where, where) == 0)
			return &rows[i];
	return NULL;
}

bool status_layer_active(enum sphinx_layer layer)
{
	for (unsigned i = 0; i < n_rows; i++)
		if (rows[i].layer == layer && rows[i].state == PROBE_ATTACHED)
			return true;
	return false;
}

void status_print_line(FILE *out, const char *layer_name, const char *name,
		       enum probe_state state, const char *where)
{
	fprintf(out, "%-7s %-42s %-14s %s\n", layer_name, name, state_names[state], where);
}

void status_print_rows(FILE *out)
{
	for (unsigned i = 0; i < n_rows; i++) {
		const struct probe_status *s = &rows[i];

		fprintf(out, "%-7s %-42s %-14s %s%s%s\n", s->layer_name, s->name,
			state_names[s->state], s->where, s->why[0] ? ": " : "", s->why);
	}
}

void status_log_unattached(void)
{
	for (unsigned i = 0; i < n_rows; i++)
		if (rows[i].state != PROBE_ATTACHED)
			log_info("%s layer: %s (%s) not attached: %s", rows[i].layer_name,
				 rows[i].name, rows[i].where, rows[i].why);
}
