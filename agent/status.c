// SPDX-License-Identifier: GPL-2.0-only
/*
 * The probe status table (status.h): a fixed array of rows, filled in the
 * order the layers attach, never shrunk while the agent runs, and a
 * generation number that every change moves on.
 */
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>

#include "cleanup.h"
#include "log.h"
#include "proto_agent.h"
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
static uint64_t generation = 1;	/* moved on by every change to a row */

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
	generation++;
	return s;
}

void status_set(struct probe_status *row, enum probe_state state, const char *why)
{
	char before[sizeof(row->why)];

	if (!row)
		return;
	snprintf(before, sizeof(before), "%s", row->why);
	snprintf(row->why, sizeof(row->why), "%s", why ? why : "");
	if (row->state != state || strcmp(before, row->why) != 0)
		generation++;
	row->state = state;
}

void status_rename(struct probe_status *row, const char *name)
{
	if (!row || strncmp(row->name, name, sizeof(row->name) - 1) == 0)
		return;
	snprintf(row->name, sizeof(row->name), "%s", name);
	generation++;
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

bool status_changed(uint64_t *seen)
{
	if (*seen == generation)
		return false;
	*seen = generation;
	return true;
}

/* ------------------------------------------------------- the report */

struct layer_sum {
	unsigned total, attached, failed;
	const struct probe_status *first_failed, *first_absent;
};

static void layer_sum(enum sphinx_layer layer, struct layer_sum *sum)
{
	memset(sum, 0, sizeof(*sum));
	for (unsigned i = 0; i < n_rows; i++) {
		const struct probe_status *s = &rows[i];

		if (s->layer != layer)
			continue;
		sum->total++;
		if (s->state == PROBE_ATTACHED) {
			sum->attached++;
		} else if (s->state == PROBE_FAILED) {
			if (!sum->failed++)
				sum->first_failed = s;
		} else if (!sum->first_absent) {
			sum->first_absent = s;
		}
	}
}

/* The state word and the sentence that says why, into @detail (cut at its end). */
static const char *layer_state(const struct layer_sum *sum, char *detail, size_t len)
{
	const struct probe_status *f = sum->first_failed, *a = sum->first_absent;

	/* where is cut to 200 bytes: the detail is a summary, --status has the rest */
	if (sum->failed) {
		snprintf(detail, len, "%u of %u probes refused by the kernel: %s (%.200s): %s%s",
			 sum->failed, sum->total, f->name, f->where,
			 f->why[0] ? f->why : "no reason given",
			 sum->failed > 1 ? " (and more, see --status)" : "");
		return PROTO_AGENT_LAYER_DEGRADED;
	}
	if (sum->attached) {
		snprintf(detail, len, "%u of %u probes attached", sum->attached, sum->total);
		return PROTO_AGENT_LAYER_ATTACHED;
	}
	if (a)
		snprintf(detail, len, "none of %u probes in place: %s (%.200s)%s%s", sum->total,
			 a->name, a->where, a->why[0] ? ": " : "", a->why);
	else
		snprintf(detail, len, "no probe in place");
	return PROTO_AGENT_LAYER_OFF;
}

json_t *status_report_json(void)
{
	struct utsname un;
	json_t *layers = json_array();

	if (uname(&un) < 0) {
		snprintf(un.release, sizeof(un.release), "unknown");
		snprintf(un.machine, sizeof(un.machine), "unknown");
	}
	for (unsigned l = 0; layers && l < LAYER__COUNT; l++) {
		char detail[PROTO_AGENT_STATUS_DETAIL_MAX + 1];
		struct layer_sum sum;
		const char *state;
		json_t *text, *row;

		layer_sum(l, &sum);
		state = layer_state(&sum, detail, sizeof(detail));
		text = json_string(detail);
		/* a path cut inside a UTF-8 sequence (or not UTF-8) is no JSON string: say less */
		if (!text)
			text = json_string("a probe's path is not UTF-8 text, see --status");
		row = json_pack("{s:s, s:s, s:o}", "name", layer_name(l), "state", state, "detail",
				text);
		if (json_array_append_new(layers, row) < 0) {
			json_decref(layers);
			layers = NULL;
		}
	}
	return layers ? json_pack("{s:s%, s:s%, s:o}", "kernel", un.release,
				    strnlen(un.release, sizeof(un.release)), "arch", un.machine,
				    strnlen(un.machine, sizeof(un.machine)), "layers", layers)
		      : NULL;
}
