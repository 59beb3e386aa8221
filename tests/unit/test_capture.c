// SPDX-License-Identifier: GPL-2.0-only
/*
 * The capture-session state machine, driven with synthetic timestamps:
 * recording vs screenshot, damage watchers, idle ends, exits, and exec
 * rules that last until the process exits.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "capture.h"

#define MS 1000000ull

struct recorder {
	int begins, ends;
	enum policy_kind kind_at_begin;
	uint64_t end_ns;
	uint32_t calls_at_end;
};

static void on_begin(void *ctx, struct proc *p)
{
	struct recorder *r = ctx;
	struct capture_session *s = (struct capture_session *)p;

	r->begins++;
	r->kind_at_begin = s->kind;
}

static void on_end(void *ctx, struct proc *p, uint64_t end_ns)
{
	struct recorder *r = ctx;

	r->ends++;
	r->end_ns = end_ns;
	r->calls_at_end = capture_calls((struct capture_session *)p);
}

/* The session doubles as the "proc" handle: the hooks only need it back. */
#define P(s) ((struct proc *)(s))

static struct policy_rule rule(enum policy_category cat, enum policy_kind kind)
{
	struct policy_rule r = {
		.id = "t.rule", .title = "test rule", .category = cat, .kind = kind,
		.threshold_calls = 5, .threshold_window_ms = 2000,
	};
	return r;
}

static void recording_when_threshold_met(void **state)
{
	struct recorder r = {};
	struct capture_hooks h = { on_begin, on_end, &r };
	struct capture_session s = {};
	struct policy_rule ru = rule(POLICY_CAT_SCREEN_CAPTURE, POLICY_KIND_AUTO);

	capture_start(&s, P(&s), &ru, LAYER_API, NULL, NULL, 1000 * MS, 1, &h);
	assert_int_equal(s.state, CAPTURE_PENDING);
	for (uint32_t c = 2; c <= 4; c++)
		capture_activity(&s, P(&s), (1000 + 33 * c) * MS, c, &h);
	assert_int_equal(r.begins, 0);
	capture_activity(&s, P(&s), 1165 * MS, 5, &h);
	assert_int_equal(r.begins, 1);
	assert_int_equal(r.kind_at_begin, POLICY_KIND_RECORDING);
	/* 1 refresh per second keeps it alive; idle ends it at the last call. */
	capture_activity(&s, P(&s), 2200 * MS, 35, &h);
	capture_tick(&s, P(&s), 4000 * MS, 3000 * MS, &h);
	assert_int_equal(r.ends, 0);
	capture_tick(&s, P(&s), 5300 * MS, 3000 * MS, &h);
	assert_int_equal(r.ends, 1);
	assert_int_equal(r.end_ns, 2200 * MS);
	assert_int_equal(r.calls_at_end, 35);
	assert_int_equal(s.state, CAPTURE_NONE);
}

static void single_grab_is_screenshot(void **state)
{
	struct recorder r = {};
	struct capture_hooks h = { on_begin, on_end, &r };
	struct capture_session s = {};
	struct policy_rule ru = rule(POLICY_CAT_SCREEN_CAPTURE, POLICY_KIND_AUTO);

	capture_start(&s, P(&s), &ru, LAYER_API, NULL, NULL, 1000 * MS, 1, &h);
	capture_tick(&s, P(&s), 2000 * MS, 3000 * MS, &h);
	assert_int_equal(r.begins, 0);
	/* The window (2 s from the first call) is still open just before 3 s. */
	capture_tick(&s, P(&s), 2999 * MS, 3000 * MS, &h);
	assert_int_equal(r.begins, 0);
	capture_tick(&s, P(&s), 3000 * MS, 3000 * MS, &h);
	assert_int_equal(r.begins, 1);
	assert_int_equal(r.kind_at_begin, POLICY_KIND_SCREENSHOT);
	assert_int_equal(r.ends, 1);
}

static void exit_settles_pending_window(void **state)
{
	struct recorder r = {};
	struct capture_hooks h = { on_begin, on_end, &r };
	struct capture_session s = {};
	struct policy_rule ru = rule(POLICY_CAT_SCREEN_CAPTURE, POLICY_KIND_AUTO);

	capture_start(&s, P(&s), &ru, LAYER_API, NULL, NULL, 1000 * MS, 1, &h);
	capture_finish(&s, P(&s), 1010 * MS, 1, &h);
	assert_int_equal(r.begins, 1);
	assert_int_equal(r.kind_at_begin, POLICY_KIND_SCREENSHOT);
	assert_int_equal(r.ends, 1);
}

static void damage_watcher_is_recording_until_exit(void **state)
{
	struct recorder r = {};
	struct capture_hooks h = { on_begin, on_end, &r };
	struct capture_session s = {};
	struct policy_rule ru = rule(POLICY_CAT_SCREEN_CAPTURE, POLICY_KIND_AUTO);

	/* Damage set up before the first grab (ximagesrc does this). */
	capture_damage(&s, P(&s), 900 * MS, &h);
	assert_int_equal(r.begins, 0);
	capture_start(&s, P(&s), &ru, LAYER_API, NULL, NULL, 1000 * MS, 1, &h);
	assert_int_equal(r.begins, 1);
	assert_int_equal(r.kind_at_begin, POLICY_KIND_RECORDING);
	/* A still screen: no calls for a minute, still recording. */
	capture_tick(&s, P(&s), 61000 * MS, 3000 * MS, &h);
	assert_int_equal(r.ends, 0);
	capture_finish(&s, P(&s), 62000 * MS, 3, &h);
	assert_int_equal(r.ends, 1);
	assert_int_equal(r.end_ns, 62000 * MS);
}

static void exec_rule_lasts_until_exit(void **state)
{
	struct recorder r = {};
	struct capture_hooks h = { on_begin, on_end, &r };
	struct capture_session s = {};
	struct policy_rule ru = rule(POLICY_CAT_PROCESS_CREATION, POLICY_KIND_SCREENSHOT);

	capture_start(&s, P(&s), &ru, LAYER_EXEC, NULL, NULL, 1000 * MS, 0, &h);
	assert_int_equal(r.begins, 1);
	assert_int_equal(r.kind_at_begin, POLICY_KIND_SCREENSHOT);
	capture_tick(&s, P(&s), 9000 * MS, 3000 * MS, &h);
	assert_int_equal(r.ends, 0);
	capture_activity(&s, P(&s), 1100 * MS, 1, &h);
	capture_finish(&s, P(&s), 9500 * MS, 1, &h);
	assert_int_equal(r.ends, 1);
	assert_int_equal(r.calls_at_end, 1);
}

static void resumed_capture_counts_from_its_own_start(void **state)
{
	struct recorder r = {};
	struct capture_hooks h = { on_begin, on_end, &r };
	struct capture_session s = {};
	struct policy_rule ru = rule(POLICY_CAT_SCREEN_CAPTURE, POLICY_KIND_AUTO);

	/* The kernel's count is cumulative: a session resumed at call 245. */
	capture_start(&s, P(&s), &ru, LAYER_API, NULL, NULL, 1000 * MS, 245, &h);
	capture_activity(&s, P(&s), 2000 * MS, 275, &h);
	assert_int_equal(r.begins, 1);
	assert_int_equal(capture_calls(&s), 31);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(recording_when_threshold_met),
		cmocka_unit_test(single_grab_is_screenshot),
		cmocka_unit_test(exit_settles_pending_window),
		cmocka_unit_test(damage_watcher_is_recording_until_exit),
		cmocka_unit_test(exec_rule_lasts_until_exit),
		cmocka_unit_test(resumed_capture_counts_from_its_own_start),
	};

	return cmocka_run_group_tests_name("session", tests, NULL, NULL);
}
