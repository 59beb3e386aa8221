// SPDX-License-Identifier: GPL-2.0-only
/*
 * From kernel records to detections (events.h). Per record the work is a
 * table lookup and, for exec/open/first calls, one policy match.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "api_names.h"
#include "attribution.h"
#include "capture.h"
#include "compositor.h"
#include "devices.h"
#include "events.h"
#include "layer.h"
#include "log.h"
#include "output.h"
#include "proc_table.h"
#include "sphinx.h"

static struct events_config cfg;
static const struct policy *policy;

void events_init(const struct events_config *c)
{
	cfg = *c;
}

void events_set_policy(const struct policy *p)
{
	policy = p;
}

static void hook_begin(void *ctx, struct proc *p)
{
	struct capture_session *s = &p->session;

	attribution_user(p->pid, p->uid, s->user, sizeof(s->user));
	if (s->action == POLICY_ACTION_KILL && cfg.enforce) {
		if (kill(p->pid, SIGKILL) == 0)
			log_warn("killed pid %u (%s) under rule %s", p->pid, p->comm, s->rule_id);
		else
			log_warn("cannot kill pid %u (%s): %s", p->pid, p->comm, strerror(errno));
	}
	output_capture(p, true, s->first_ns);
}

static void hook_end(void *ctx, struct proc *p, uint64_t end_ns)
{
	output_capture(p, false, end_ns);
}

static const struct capture_hooks hooks = { .begin = hook_begin, .end = hook_end };

/* Fields every category carries: who did it. Strings are borrowed from @p. */
static void add_process_fields(struct policy_event *ev, struct proc *p, struct proc *parent,
			       char *uid_buf, size_t uid_len)
{
	snprintf(uid_buf, uid_len, "%u", p->uid);
	policy_event_set(ev, "Image", p->exe ? p->exe : "");
	policy_event_set(ev, "CommandLine", p->cmdline ? p->cmdline : "");
	policy_event_set(ev, "Comm", p->comm);
	policy_event_set(ev, "User", p->user);
	policy_event_set(ev, "Uid", uid_buf);
	policy_event_set(ev, "ParentImage", parent && parent->exe ? parent->exe : "");
	policy_event_set(ev, "ParentCommandLine", parent && parent->cmdline ? parent->cmdline : "");
}

static const struct policy_rule *match(const struct policy_event *ev, uint32_t pid, uint64_t ts)
{
	output_record(ev, pid, ts);
	return policy_match(policy, ev);
}

/* Match a process as it was exec'd: at its exec, or at agent start. */
static void match_process(struct proc *p, uint64_t ts)
{
	struct policy_event ev;
	const struct policy_rule *rule;
	char uid[16], pid[16];

	policy_event_init(&ev, layer_category(LAYER_EXEC));
	add_process_fields(&ev, p, proc_table_get(cfg.procs, p->ppid), uid, sizeof(uid));
	snprintf(pid, sizeof(pid), "%u", p->pid);
	policy_event_set(&ev, "Pid", pid);
	policy_event_set_argv(&ev, (const char *const *)p->argv, p->argc);
	rule = match(&ev, p->pid, ts);
	if (rule)
		capture_start(&p->session, p, rule, LAYER_EXEC, NULL, NULL, ts, 0, &hooks);
}

static void on_exec(const struct sphinx_exec_event *e)
{
	const struct sphinx_event_hdr *h = &e->hdr;
	struct proc *p;
	char filename[SPHINX_PATH_LEN], comm[SPHINX_COMM_LEN];

	/* A process that exec's another image ends what the old one did. */
	p = proc_table_get(cfg.procs, h->pid);
	if (p)
		capture_finish(&p->session, p, h->ts, 0, &hooks);

	snprintf(filename, sizeof(filename), "%s", e->filename);
	snprintf(comm, sizeof(comm), "%s", h->comm);
	p = proc_table_exec(cfg.procs, h->pid, h->ppid, h->uid, e->start_ns, comm, filename,
			    e->args,
			    e->args_size < SPHINX_ARGS_LEN ? e->args_size : SPHINX_ARGS_LEN);
	if (!p)
		return;
	if (is_xserver_exe(p->exe))
		layer_xserver_attach(cfg.features, p->pid);
	compositor_watch(cfg.features, p);
	match_process(p, h->ts);
}

/*
 * Recorders already running when the agent starts (a restart, an upgrade)
 * are caught by their command line at once, not only at their next call.
 */
void events_match_running(uint64_t now_boot_ns)
{
	proc_table_for_each(cfg.procs, i, p) {
		if (is_xserver_exe(p->exe))
			layer_xserver_attach(cfg.features, p->pid);
		compositor_watch(cfg.features, p);
		if (p->session.state == CAPTURE_NONE && p->pid != (uint32_t)getpid())
			match_process(p, now_boot_ns);
	}
}

static void on_exit_event(const struct sphinx_exit_event *e)
{
	struct proc *p = proc_table_get(cfg.procs, e->hdr.pid);

	devices_release(e->hdr.pid);
	if (!p)
		return;
	capture_finish(&p->session, p, e->hdr.ts, e->calls, &hooks);
	if (is_xserver_exe(p->exe))
		layer_xserver_forget(p->pid);
	compositor_forget(p->pid);
	proc_table_remove(cfg.procs, e->hdr.pid);
}

static void on_open(const struct sphinx_open_event *e)
{
	struct policy_event ev;
	const struct policy_rule *rule;
	struct proc *p;
	char uid[16], path[SPHINX_PATH_LEN], what[SPHINX_PATH_LEN + 8];

	p = proc_table_load(cfg.procs, e->hdr.pid);
	if (!p)
		return;
	devices_name(e->major, e->minor, path, sizeof(path));
	devices_hold(p->pid, p->exe);
	policy_event_init(&ev, layer_category(LAYER_DEVICE));
	add_process_fields(&ev, p, proc_table_get(cfg.procs, p->ppid), uid, sizeof(uid));
	policy_event_set(&ev, "TargetFilename", path);
	policy_event_set(&ev, "Operation", "open");
	policy_event_set(&ev, "Access", open_access_name(e->flags));
	policy_event_set(&ev, "Success", e->ret >= 0 ? "true" : "false");
	rule = match(&ev, e->hdr.pid, e->hdr.ts);
	if (!rule || p->session.state != CAPTURE_NONE)
		return;
	/* Set before the start: a rule of fixed kind begins at once. */
	p->session.attempt = e->ret < 0;
	snprintf(what, sizeof(what), "open %s", path);
	capture_start(&p->session, p, rule, LAYER_DEVICE, what, target_name(SPHINX_TARGET_DEVICE),
		      e->hdr.ts, 0, &hooks);
}

static void on_capture(const struct sphinx_capture_event *e)
{
	enum sphinx_layer layer = api_layer(e->api);
	struct capture_session *s;
	struct policy_event ev;
	const struct policy_rule *rule;
	struct proc *p;
	char uid[16], calls[16], what[SPHINX_API_FIELD_LEN];

	log_debug("capture call: pid %u api %s target %s drawable 0x%llx calls %u", e->hdr.pid,
		  api_name(e->api), target_name(e->target), (unsigned long long)e->drawable,
		  e->calls);
	p = proc_table_load(cfg.procs, e->hdr.pid);
	if (!p)
		return;
	s = &p->session;
	if (s->state != CAPTURE_NONE) {
		capture_activity(s, p, e->hdr.ts, e->calls, &hooks);
		return;
	}
	snprintf(calls, sizeof(calls), "%u", e->calls);
	policy_event_init(&ev, layer_category(layer));
	add_process_fields(&ev, p, proc_table_get(cfg.procs, p->ppid), uid, sizeof(uid));
	if (layer == LAYER_DEVICE) {
		policy_event_set(&ev, "Operation", api_name(e->api));
	} else {
		policy_event_set(&ev, "Api", api_name(e->api));
		policy_event_set(&ev, "Target", target_name(e->target));
	}
	policy_event_set(&ev, "Calls", calls);
	rule = match(&ev, e->hdr.pid, e->hdr.ts);
	if (!rule)
		return;
	/* The first counted call dates the session; later ones say "now". */
	compositor_describe_capture(cfg.procs, e, what, sizeof(what));
	capture_start(s, p, rule, layer, what, target_name(e->target),
		      e->calls == 1 ? e->first_ns : e->hdr.ts,
		      e->calls, &hooks);
	capture_activity(s, p, e->hdr.ts, e->calls, &hooks);
}

static void on_damage(const struct sphinx_capture_event *e)
{
	struct proc *p = proc_table_load(cfg.procs, e->hdr.pid);

	if (p)
		capture_damage(&p->session, p, e->hdr.ts, &hooks);
}

int events_handle(void *ctx, void *data, size_t size)
{
	const struct sphinx_event_hdr *h = data;

	if (size < sizeof(*h))
		return 0;
	switch (h->type) {
	case SPHINX_EV_EXEC:
		if (size >= sizeof(struct sphinx_exec_event))
			on_exec(data);
		break;
	case SPHINX_EV_EXIT:
		if (size >= sizeof(struct sphinx_exit_event))
			on_exit_event(data);
		break;
	case SPHINX_EV_OPEN:
		if (size >= sizeof(struct sphinx_open_event))
			on_open(data);
		break;
	case SPHINX_EV_CAPTURE:
		if (size >= sizeof(struct sphinx_capture_event))
			on_capture(data);
		break;
	case SPHINX_EV_DAMAGE:
		if (size >= sizeof(struct sphinx_capture_event))
			on_damage(data);
		break;
	case SPHINX_EV_COMPOSITOR:
		if (size >= sizeof(struct sphinx_compositor_event))
			compositor_event(cfg.procs, data);
		break;
	default:
		log_debug("unknown record type %u", h->type);
	}
	return 0;
}

bool events_capture(struct proc *p, struct policy_event *ev, enum sphinx_layer layer,
		    const char *api, const char *target, uint64_t ts)
{
	const struct policy_rule *rule;
	char uid[16];

	add_process_fields(ev, p, proc_table_get(cfg.procs, p->ppid), uid, sizeof(uid));
	rule = match(ev, p->pid, ts);
	if (!rule)
		return false;
	if (p->session.state != CAPTURE_NONE) {
		capture_activity(&p->session, p, ts, p->session.calls, &hooks);
		return true;
	}
	capture_start(&p->session, p, rule, layer, api, target, ts, 0, &hooks);
	if (p->session.state == CAPTURE_ACTIVE && p->session.kind == POLICY_KIND_SCREENSHOT)
		capture_finish(&p->session, p, ts, 0, &hooks);
	return true;
}

void events_capture_end(struct proc *p, uint64_t ts)
{
	capture_finish(&p->session, p, ts, 0, &hooks);
}

void events_tick(uint64_t now_boot_ns)
{
	compositor_tick(cfg.features);

	proc_table_for_each(cfg.procs, i, p)
		if (p->session.state != CAPTURE_NONE)
			capture_tick(&p->session, p, now_boot_ns, cfg.idle_ns, &hooks);
}

/* The agent is stopping: every open capture ends now, so nothing dangles. */
void events_shutdown(void)
{
	struct timespec ts;
	uint64_t now;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	now = (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
	proc_table_for_each(cfg.procs, i, p)
		if (p->session.state != CAPTURE_NONE)
			capture_finish(&p->session, p, now, 0, &hooks);
}
