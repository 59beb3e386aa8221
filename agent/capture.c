// SPDX-License-Identifier: GPL-2.0-only
/*
 * See capture.h for the state machine. Timestamps only ever come from the
 * kernel's records (or the tick's clock), so a replay gives the same result.
 */
#include <stdio.h>
#include <string.h>

#include "capture.h"

static void copy_str(char *dst, size_t len, const char *src)
{
	snprintf(dst, len, "%s", src ? src : "");
}

uint32_t capture_calls(const struct capture_session *s)
{
	return s->calls > s->calls_base ? s->calls - s->calls_base : 0;
}

static void begin(struct capture_session *s, struct proc *p, enum policy_kind kind,
		  const struct capture_hooks *h)
{
	s->kind = kind;
	s->state = CAPTURE_ACTIVE;
	h->begin(h->ctx, p);
}

static void end(struct capture_session *s, struct proc *p, uint64_t end_ns,
		const struct capture_hooks *h)
{
	h->end(h->ctx, p, end_ns);
	s->state = CAPTURE_NONE;
	s->attempt = false;
}

static bool threshold_met(const struct capture_session *s)
{
	return capture_calls(s) >= s->threshold_calls &&
	       s->last_ns - s->first_ns <= s->threshold_window_ns;
}

void capture_start(struct capture_session *s, struct proc *p, const struct policy_rule *rule,
		   enum sphinx_layer layer, const char *api, const char *target, uint64_t ts,
		   uint32_t calls, const struct capture_hooks *h)
{
	bool damage = s->damage_root;	/* survives between sessions */
	bool attempt = s->attempt;	/* set by the caller for this start */

	memset(s, 0, sizeof(*s));
	s->damage_root = damage;
	s->attempt = attempt;
	copy_str(s->rule_id, sizeof(s->rule_id), rule->id);
	copy_str(s->rule_title, sizeof(s->rule_title), rule->title);
	s->action = rule->action;
	s->layer = layer;
	copy_str(s->api, sizeof(s->api), api);
	copy_str(s->target, sizeof(s->target), target);
	s->threshold_calls = rule->threshold_calls ? rule->threshold_calls : 5;
	s->threshold_window_ns =
		(rule->threshold_window_ms ? rule->threshold_window_ms : 2000) * 1000000ull;
	s->first_ns = s->last_ns = ts;
	/* The call that matched is the session's first. */
	s->calls_base = calls ? calls - 1 : 0;
	s->calls = calls;
	s->until_exit = rule->category == POLICY_CAT_PROCESS_CREATION;

	if (rule->kind != POLICY_KIND_AUTO) {
		begin(s, p, rule->kind, h);
		return;
	}
	s->state = CAPTURE_PENDING;
	s->kind = POLICY_KIND_AUTO;
	if (s->damage_root || threshold_met(s)) {
		s->until_exit = s->damage_root;
		begin(s, p, POLICY_KIND_RECORDING, h);
	}
}

void capture_activity(struct capture_session *s, struct proc *p, uint64_t ts, uint32_t calls,
		      const struct capture_hooks *h)
{
	if (s->state == CAPTURE_NONE)
		return;
	if (ts > s->last_ns)
		s->last_ns = ts;
	if (calls > s->calls)
		s->calls = calls;
	if (s->state == CAPTURE_PENDING && threshold_met(s))
		begin(s, p, POLICY_KIND_RECORDING, h);
}

void capture_damage(struct capture_session *s, struct proc *p, uint64_t ts,
		    const struct capture_hooks *h)
{
	s->damage_root = true;
	if (s->state == CAPTURE_NONE)
		return;
	/* A damage watcher may sit still for minutes: it ends with the process. */
	s->until_exit = true;
	if (s->state == CAPTURE_PENDING)
		begin(s, p, POLICY_KIND_RECORDING, h);
}

/* Close a pending window: what it saw decides the kind. */
static void settle(struct capture_session *s, struct proc *p, uint64_t end_ns,
		   const struct capture_hooks *h)
{
	enum policy_kind kind = threshold_met(s) || s->damage_root ?
		POLICY_KIND_RECORDING : POLICY_KIND_SCREENSHOT;

	begin(s, p, kind, h);
	if (kind == POLICY_KIND_SCREENSHOT)
		end(s, p, end_ns, h);
}

void capture_tick(struct capture_session *s, struct proc *p, uint64_t now, uint64_t idle_ns,
		  const struct capture_hooks *h)
{
	if (s->state == CAPTURE_PENDING && now - s->first_ns >= s->threshold_window_ns)
		settle(s, p, s->last_ns, h);
	else if (s->state == CAPTURE_ACTIVE && !s->until_exit && now - s->last_ns >= idle_ns)
		end(s, p, s->last_ns, h);
}

void capture_finish(struct capture_session *s, struct proc *p, uint64_t ts, uint32_t calls,
		    const struct capture_hooks *h)
{
	if (calls > s->calls)
		s->calls = calls;
	if (s->state == CAPTURE_PENDING)
		settle(s, p, s->last_ns, h);
	if (s->state == CAPTURE_ACTIVE)
		end(s, p, ts, h);
	s->damage_root = false;
}
