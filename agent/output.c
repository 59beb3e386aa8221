// SPDX-License-Identifier: GPL-2.0-only
/*
 * Where detections go (output.h). Spool first, then the uplink: the spool
 * is durable, so nothing is lost to an outage.
 */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "capture.h"
#include "layer.h"
#include "log.h"
#include "output.h"
#include "policy.h"
#include "proc_table.h"
#include "proto_agent.h"
#include "proto_ws.h"
#include "spool.h"
#include "uplink.h"
#include "util.h"

static struct {
	char boot_id[40];
	uint64_t boot_to_wall_ns;
	uint64_t seq;
	bool to_stdout, enforce;
	bool share;			/* the uplink sends observations (share_observations) */
	const char *email_domain;
	FILE *record;
	struct spool *spool;
	struct uplink *uplink;
} out;

void output_init(const struct output_config *cfg)
{
	snprintf(out.boot_id, sizeof(out.boot_id), "%s", cfg->boot_id);
	output_follow_wall_clock();
	out.seq = cfg->first_seq;
	out.to_stdout = cfg->to_stdout;
	out.enforce = cfg->enforce;
	out.email_domain = cfg->email_domain;
	out.record = cfg->record;
}

void output_set_link(struct spool *spool, struct uplink *uplink)
{
	out.spool = spool;
	out.uplink = uplink;
	out.share = uplink_shares_observations(uplink);
}

void output_follow_wall_clock(void)
{
	out.boot_to_wall_ns = boottime_to_realtime_offset_ns();
}

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

static void deliver(json_t *obj)
{
	char *text = json_dumps(obj, JSON_COMPACT);
	int err;

	if (!text)
		return;
	err = spool_append(out.spool, text, NULL);
	if (err < 0)
		log_err("cannot spool an event (%s): it is not delivered to the server",
			strerror(-err));
	free(text);
	uplink_kick(out.uplink);
}

void output_capture(struct proc *p, bool begin, uint64_t ts_boot_ns)
{
	const struct capture_session *s = &p->session;
	char id[64], capture[96];
	json_t *obj;

	static_assert(sizeof(id) <= PROTO_AGENT_ID_MAX, "the server refuses longer ids");
	static_assert(sizeof(capture) <= PROTO_AGENT_CAPTURE_MAX, "the server refuses longer ones");

	snprintf(id, sizeof(id), "%s:%llu", out.boot_id, (unsigned long long)++out.seq);
	snprintf(capture, sizeof(capture), "%s:%u:%llu", out.boot_id, p->pid,
		 (unsigned long long)s->first_ns);
	obj = json_pack("{s:s, s:i, s:s, s:s, s:s, s:I, s:i, s:i, s:s, s:s, s:o, s:i, s:s,"
			" s:{s:s, s:s}, s:s}",
			PROTO_WS_F_TYPE,
			begin ? PROTO_AGENT_MSG_CAPTURE_BEGIN : PROTO_AGENT_MSG_CAPTURE_END,
			PROTO_WS_F_VERSION, PROTO_AGENT_VERSION,
			"id", id,
			"capture", capture,
			"kind", policy_kind_name(s->kind),
			"ts", (json_int_t)(ts_boot_ns + out.boot_to_wall_ns),
			"pid", (int)p->pid,
			"ppid", (int)p->ppid,
			"comm", p->comm,
			"exe", p->exe ? p->exe : "",
			"argv", argv_json(p),
			"uid", (int)p->uid,
			"user", s->user[0] ? s->user : p->user,
			"rule", "id", s->rule_id, "title", s->rule_title,
			"layer", layer_name(s->layer));
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
	if (out.email_domain)
		json_object_set_new(
			obj, "email",
			json_sprintf("%s@%s", s->user[0] ? s->user : p->user, out.email_domain));
	json_object_set_new(obj, "action", json_string(s->action == POLICY_ACTION_KILL &&
						       out.enforce ? "kill" : "alert"));
	if (!begin) {
		uint64_t ms = ts_boot_ns > s->first_ns ? (ts_boot_ns - s->first_ns) / 1000000 : 0;

		json_object_set_new(obj, "duration_ms", json_integer((json_int_t)ms));
		json_object_set_new(obj, "calls", json_integer(capture_calls(s)));
	}

	log_info("%s %s pid=%u comm=%s user=%s rule=%s layer=%s",
		 begin ? PROTO_AGENT_MSG_CAPTURE_BEGIN : PROTO_AGENT_MSG_CAPTURE_END,
		 policy_kind_name(s->kind), p->pid, p->comm, p->user, s->rule_id,
		 layer_name(s->layer));
	if (out.to_stdout)
		write_line(stdout, obj);
	if (out.spool)
		deliver(obj);
	json_decref(obj);
}

void output_record(const struct policy_event *ev, uint32_t pid, uint64_t ts_boot_ns)
{
	json_t *obj;

	if (!out.record && !out.share)
		return;
	obj = policy_event_to_json(ev);
	if (!obj)
		return;
	json_object_set_new(obj, "ts",
			    json_integer((json_int_t)(ts_boot_ns + out.boot_to_wall_ns)));
	json_object_set_new(obj, "pid", json_integer(pid));
	if (out.record)
		write_line(out.record, obj);
	/* the same object, for the server (uplink.h: best-effort, not spooled) */
	if (out.share)
		uplink_observe(out.uplink, json_dumps(obj, JSON_COMPACT | JSON_ENSURE_ASCII));
	json_decref(obj);
}
