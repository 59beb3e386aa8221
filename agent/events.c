// SPDX-License-Identifier: GPL-2.0-only
/*
 * From kernel records to detections. Each record updates the process table,
 * becomes a policy event (category + fields) that the policy matches, and
 * drives the process's capture session (session.c). Per record the work is
 * a table lookup and, for exec/open/first calls, one policy match.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"
#include "devices.h"
#include "api_names.h"
#include "attribution.h"
#include "compositor.h"
#include "log.h"
#include "session.h"
#include "sphinx.h"

static void hook_begin(void *ctx, struct proc *p)
{
	struct agent *a = ctx;
	struct capture_session *s = &p->session;

	attribution_user(p->pid, p->uid, s->user, sizeof(s->user));
	if (s->action == POLICY_ACTION_KILL && a->opts.enforce) {
		if (kill(p->pid, SIGKILL) == 0)
			log_warn("killed pid %u (%s) under rule %s", p->pid, p->comm, s->rule_id);
		else
			log_warn("cannot kill pid %u (%s): %s", p->pid, p->comm, strerror(errno));
	}
	output_capture(a, p, true, s->first_ns);
}

static void hook_end(void *ctx, struct proc *p, uint64_t end_ns)
{
	output_capture(ctx, p, false, end_ns);
}

static struct session_hooks hooks(struct agent *a)
{
	return (struct session_hooks){ .begin = hook_begin, .end = hook_end, .ctx = a };
}

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

static const struct policy_rule *match(struct agent *a, const struct policy_event *ev,
				       uint32_t pid, uint64_t ts)
{
	if (a->record)
		output_record(a, ev, pid, ts);
	return policy_match(a->policy, ev);
}

/* Match a process as it was exec'd: at its exec, or at agent start. */
static void match_process(struct agent *a, struct proc *p, uint64_t ts)
{
	struct session_hooks hk = hooks(a);
	struct policy_event ev;
	const struct policy_rule *rule;
	char uid[16], pid[16];

	policy_event_init(&ev, POLICY_CAT_PROCESS_CREATION);
	add_process_fields(&ev, p, proc_table_get(&a->procs, p->ppid), uid, sizeof(uid));
	snprintf(pid, sizeof(pid), "%u", p->pid);
	policy_event_set(&ev, "Pid", pid);
	rule = match(a, &ev, p->pid, ts);
	if (rule)
		session_start(&p->session, p, rule, "exec", NULL, NULL, ts, 0, &hk);
}

static void on_exec(struct agent *a, const struct sphinx_exec_event *e)
{
	const struct sphinx_event_hdr *h = &e->hdr;
	struct session_hooks hk = hooks(a);
	struct proc *p;
	char filename[SPHINX_PATH_LEN], comm[SPHINX_COMM_LEN];

	/* A process that exec's another image ends what the old one did. */
	p = proc_table_get(&a->procs, h->pid);
	if (p)
		session_finish(&p->session, p, h->ts, 0, &hk);

	snprintf(filename, sizeof(filename), "%s", e->filename);
	snprintf(comm, sizeof(comm), "%s", h->comm);
	p = proc_table_exec(&a->procs, h->pid, h->ppid, h->uid, e->start_ns, comm, filename,
			    e->args, e->args_size < SPHINX_ARGS_LEN ? e->args_size : SPHINX_ARGS_LEN);
	if (!p)
		return;
	if (is_xserver_exe(p->exe))
		loader_attach_xserver(a, p->pid);
	compositor_watch(a, p);
	match_process(a, p, h->ts);
}

/*
 * Recorders already running when the agent starts (a restart, an upgrade)
 * are caught by their command line at once, not only at their next call.
 */
void events_match_running(struct agent *a, uint64_t now_boot_ns)
{
	proc_table_for_each(&a->procs, i, p) {
		if (is_xserver_exe(p->exe))
			loader_attach_xserver(a, p->pid);
		compositor_watch(a, p);
		if (p->session.state == SESSION_NONE && p->pid != (uint32_t)getpid())
			match_process(a, p, now_boot_ns);
	}
}

static void on_exit_event(struct agent *a, const struct sphinx_exit_event *e)
{
	struct session_hooks hk = hooks(a);
	struct proc *p = proc_table_get(&a->procs, e->hdr.pid);

	devices_release(a, e->hdr.pid);
	if (!p)
		return;
	session_finish(&p->session, p, e->hdr.ts, e->calls, &hk);
	if (is_xserver_exe(p->exe))
		loader_forget_xserver(a, p->pid);
	compositor_forget(a, p->pid);
	proc_table_remove(&a->procs, e->hdr.pid);
}

static void on_open(struct agent *a, const struct sphinx_open_event *e)
{
	struct session_hooks hk = hooks(a);
	struct policy_event ev;
	const struct policy_rule *rule;
	struct proc *p;
	char uid[16], path[SPHINX_PATH_LEN], what[SPHINX_PATH_LEN + 8];

	p = proc_table_load(&a->procs, e->hdr.pid);
	if (!p)
		return;
	devices_name(e->major, e->minor, path, sizeof(path));
	devices_hold(a, p->pid, p->exe);
	policy_event_init(&ev, POLICY_CAT_FILE_ACCESS);
	add_process_fields(&ev, p, proc_table_get(&a->procs, p->ppid), uid, sizeof(uid));
	policy_event_set(&ev, "TargetFilename", path);
	policy_event_set(&ev, "Operation", "open");
	policy_event_set(&ev, "Access", open_access_name(e->flags));
	policy_event_set(&ev, "Success", e->ret >= 0 ? "true" : "false");
	rule = match(a, &ev, e->hdr.pid, e->hdr.ts);
	if (!rule || p->session.state != SESSION_NONE)
		return;
	/* Set before the start: a rule of fixed kind begins at once. */
	p->session.attempt = e->ret < 0;
	snprintf(what, sizeof(what), "open %s", path);
	session_start(&p->session, p, rule, "device", what, "device", e->hdr.ts, 0, &hk);
}

static void on_capture(struct agent *a, const struct sphinx_capture_event *e)
{
	struct session_hooks hk = hooks(a);
	bool device = e->target == SPHINX_TARGET_DEVICE;
	bool xserver = e->api >= SPHINX_API_XSERVER_GET_IMAGE && e->api <= SPHINX_API_XSERVER_COMPOSITE;
	struct capture_session *s;
	struct policy_event ev;
	const struct policy_rule *rule;
	struct proc *p;
	char uid[16], calls[16], what[SPHINX_API_FIELD_LEN];

	log_debug("capture call: pid %u api %s target %s drawable 0x%llx calls %u", e->hdr.pid,
		  api_name(e->api), target_name(e->target), (unsigned long long)e->drawable, e->calls);
	p = proc_table_load(&a->procs, e->hdr.pid);
	if (!p)
		return;
	s = &p->session;
	if (s->state != SESSION_NONE) {
		session_activity(s, p, e->hdr.ts, e->calls, &hk);
		return;
	}
	snprintf(calls, sizeof(calls), "%u", e->calls);
	policy_event_init(&ev, device ? POLICY_CAT_FILE_ACCESS : POLICY_CAT_SCREEN_CAPTURE);
	add_process_fields(&ev, p, proc_table_get(&a->procs, p->ppid), uid, sizeof(uid));
	if (device) {
		policy_event_set(&ev, "Operation", api_name(e->api));
	} else {
		policy_event_set(&ev, "Api", api_name(e->api));
		policy_event_set(&ev, "Target", target_name(e->target));
	}
	policy_event_set(&ev, "Calls", calls);
	rule = match(a, &ev, e->hdr.pid, e->hdr.ts);
	if (!rule)
		return;
	/* The first counted call dates the session; later ones say "now". */
	compositor_describe_capture(a, e, what, sizeof(what));
	session_start(s, p, rule, device ? "device" : xserver ? "xserver" : "api", what,
		      target_name(e->target), e->calls == 1 ? e->first_ns : e->hdr.ts,
		      e->calls, &hk);
	session_activity(s, p, e->hdr.ts, e->calls, &hk);
}

static void on_damage(struct agent *a, const struct sphinx_capture_event *e)
{
	struct session_hooks hk = hooks(a);
	struct proc *p = proc_table_load(&a->procs, e->hdr.pid);

	if (p)
		session_damage(&p->session, p, e->hdr.ts, &hk);
}

int events_handle(void *ctx, void *data, size_t size)
{
	const struct sphinx_event_hdr *h = data;
	struct agent *a = ctx;

	if (size < sizeof(*h))
		return 0;
	switch (h->type) {
	case SPHINX_EV_EXEC:
		if (size >= sizeof(struct sphinx_exec_event))
			on_exec(a, data);
		break;
	case SPHINX_EV_EXIT:
		if (size >= sizeof(struct sphinx_exit_event))
			on_exit_event(a, data);
		break;
	case SPHINX_EV_OPEN:
		if (size >= sizeof(struct sphinx_open_event))
			on_open(a, data);
		break;
	case SPHINX_EV_CAPTURE:
		if (size >= sizeof(struct sphinx_capture_event))
			on_capture(a, data);
		break;
	case SPHINX_EV_DAMAGE:
		if (size >= sizeof(struct sphinx_capture_event))
			on_damage(a, data);
		break;
	case SPHINX_EV_COMPOSITOR:
		if (size >= sizeof(struct sphinx_compositor_event))
			compositor_event(a, data);
		break;
	default:
		log_debug("unknown record type %u", h->type);
	}
	return 0;
}

bool events_capture(struct agent *a, struct proc *p, struct policy_event *ev, const char *layer,
		    const char *api, const char *target, uint64_t ts)
{
	struct session_hooks hk = hooks(a);
	const struct policy_rule *rule;
	char uid[16];

	add_process_fields(ev, p, proc_table_get(&a->procs, p->ppid), uid, sizeof(uid));
	rule = match(a, ev, p->pid, ts);
	if (!rule)
		return false;
	if (p->session.state != SESSION_NONE) {
		session_activity(&p->session, p, ts, p->session.calls, &hk);
		return true;
	}
	session_start(&p->session, p, rule, layer, api, target, ts, 0, &hk);
	if (p->session.state == SESSION_ACTIVE && p->session.kind == POLICY_KIND_SCREENSHOT)
		session_finish(&p->session, p, ts, 0, &hk);
	return true;
}

void events_capture_end(struct agent *a, struct proc *p, uint64_t ts)
{
	struct session_hooks hk = hooks(a);

	session_finish(&p->session, p, ts, 0, &hk);
}

void events_tick(struct agent *a, uint64_t now_boot_ns)
{
	struct session_hooks hk = hooks(a);

	compositor_tick(a);
	proc_table_for_each(&a->procs, i, p)
		if (p->session.state != SESSION_NONE)
			session_tick(&p->session, p, now_boot_ns, a->opts.idle_ns, &hk);
}

/* The agent is stopping: every open capture ends now, so nothing dangles. */
void events_shutdown(struct agent *a)
{
	struct session_hooks hk = hooks(a);
	struct timespec ts;
	uint64_t now;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	now = (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
	proc_table_for_each(&a->procs, i, p)
		if (p->session.state != SESSION_NONE)
			session_finish(&p->session, p, now, 0, &hk);
}
