// SPDX-License-Identifier: GPL-2.0-only
/*
 * Where detections go: one JSON object per line on stdout (--stdout), the
 * log, the server (through the spool and the uplink thread), and — with
 * --record — every policy event the matcher saw, in the format
 * `sphinx-policy test` replays.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "agent.h"
#include "log.h"
#include "policy.h"
#include "spool.h"
#include "uplink.h"

static json_t *argv_json(const struct proc *p)
{
	json_t *arr = json_array();

	for (size_t i = 0; p->argv && i < p->argc; i++)
		json_array_append_new(arr, json_string(p->argv[i]));
	return arr;
}

static void write_line(FILE *f, json_t *obj)
{
	char *line = json_dumps(obj, JSON_COMPACT | JSON_ENSURE_ASCII);

	if (!line)
		return;
	fputs(line, f);
	fputc('\n', f);
	fflush(f);
	free(line);
}

/* Spool first (durable), then wake the uplink: nothing is lost to an outage. */
static void deliver(struct agent *a, json_t *obj)
{
	char *text = json_dumps(obj, JSON_COMPACT);
	int err;

	if (!text)
		return;
	err = spool_append(a->spool, text, NULL);
	if (err < 0)
		log_err("cannot spool an event (%s): it is not delivered to the server", strerror(-err));
	free(text);
	uplink_kick(a->uplink);
}

void output_capture(struct agent *a, struct proc *p, bool begin, uint64_t ts_boot_ns)
{
	const struct capture_session *s = &p->session;
	char id[64], capture[96];
	json_t *obj;

	snprintf(id, sizeof(id), "%s:%llu", a->boot_id, (unsigned long long)++a->seq);
	snprintf(capture, sizeof(capture), "%s:%u:%llu", a->boot_id, p->pid,
		 (unsigned long long)s->first_ns);
	obj = json_pack("{s:s, s:i, s:s, s:s, s:s, s:I, s:i, s:i, s:s, s:s, s:o, s:i, s:s,"
			" s:{s:s, s:s}, s:s}",
			"type", begin ? "capture.begin" : "capture.end",
			"v", 1,
			"id", id,
			"capture", capture,
			"kind", policy_kind_name(s->kind),
			"ts", (json_int_t)(ts_boot_ns + a->boot_to_wall_ns),
			"pid", (int)p->pid,
			"ppid", (int)p->ppid,
			"comm", p->comm,
			"exe", p->exe ? p->exe : "",
			"argv", argv_json(p),
			"uid", (int)p->uid,
			"user", s->user[0] ? s->user : p->user,
			"rule", "id", s->rule_id, "title", s->rule_title,
			"layer", s->layer ? s->layer : "");
	if (!obj)
		return;
	if (s->api[0])
		json_object_set_new(obj, "api", json_string(s->api));
	if (s->target[0])
		json_object_set_new(obj, "target", json_string(s->target));
	if (s->attempt)
		json_object_set_new(obj, "attempt", json_true());
	/* The person at the screen may not own the process (ssh, a service). */
	if (s->user[0] && strcmp(s->user, p->user) != 0)
		json_object_set_new(obj, "process_user", json_string(p->user));
	if (a->cfg.email_domain)
		json_object_set_new(obj, "email", json_sprintf("%s@%s", s->user[0] ? s->user : p->user,
							       a->cfg.email_domain));
	json_object_set_new(obj, "action", json_string(s->action == POLICY_ACTION_KILL &&
						       a->opts.enforce ? "kill" : "alert"));
	if (!begin) {
		uint64_t ms = ts_boot_ns > s->first_ns ? (ts_boot_ns - s->first_ns) / 1000000 : 0;

		json_object_set_new(obj, "duration_ms", json_integer((json_int_t)ms));
		json_object_set_new(obj, "calls", json_integer(session_calls(s)));
	}

	log_info("%s %s pid=%u comm=%s user=%s rule=%s layer=%s", begin ? "capture.begin" : "capture.end",
		 policy_kind_name(s->kind), p->pid, p->comm, p->user, s->rule_id, s->layer);
	if (a->opts.to_stdout)
		write_line(stdout, obj);
	if (a->spool)
		deliver(a, obj);
	json_decref(obj);
}

void output_record(struct agent *a, const struct policy_event *ev, uint32_t pid, uint64_t ts_boot_ns)
{
	json_t *obj = policy_event_to_json(ev);

	if (!obj)
		return;
	json_object_set_new(obj, "ts", json_integer((json_int_t)(ts_boot_ns + a->boot_to_wall_ns)));
	json_object_set_new(obj, "pid", json_integer(pid));
	write_line(a->record, obj);
	json_decref(obj);
}
