// SPDX-License-Identifier: GPL-2.0-only
/*
 * The drain's state machine (drain.h): a flag, a start time and one lws
 * timer that looks every 50 ms (DRAIN_TICK_US) whether the node may stop yet.
 * srv->connections counts the open WebSockets (ws.c): the drain is done
 * when it reaches 0.
 */
#include <libwebsockets.h>

#include "drain.h"
#include "log.h"
#include "server.h"
#include "ws.h"

#define DRAIN_TICK_US (50 * LWS_US_PER_MS)

static bool draining;
static int64_t began_ms;
static uint64_t refused;	/* upgrades refused while draining */
static void (*stop_fn)(void);
static lws_sorted_usec_list_t drain_sul;

bool drain_active(void) { return draining; }

void drain_refused(void) { refused++; }

static void drain_tick(lws_sorted_usec_list_t *sul)
{
	int64_t took = now_ms() - began_ms;

	if (srv->connections == 0) {
		log_info("drain: every socket moved in %lld ms (%llu new upgrade(s) refused meanwhile): stopping",
			 (long long)took, (unsigned long long)refused);
	} else if (took >= (int64_t)srv->cfg->drain_seconds * 1000) {
		log_warn("drain: %llu socket(s) still open after drain_seconds (%llu s; %llu new upgrade(s) refused "
			 "meanwhile): cutting them", (unsigned long long)srv->connections,
			 (unsigned long long)srv->cfg->drain_seconds, (unsigned long long)refused);
	} else {
		lws_sul_schedule(srv->ctx, 0, &drain_sul, drain_tick, DRAIN_TICK_US);
		return;
	}
	stop_fn();
}

bool drain_begin(void (*stop)(void))
{
	size_t told;

	if (draining)
		return false;
	draining = true;
	stop_fn = stop;
	began_ms = now_ms();
	if (srv->cfg->drain_seconds == 0 || !srv->ctx) {
		log_info("drain: %s: stopping at once", srv->ctx ? "drain_seconds is 0" : "not serving yet");
		stop();
		return true;
	}
	told = ws_drain();
	log_info("drain: health answers 503; %zu socket(s) told to reconnect elsewhere (4503); stopping within %llu s",
		 told, (unsigned long long)srv->cfg->drain_seconds);
	lws_sul_schedule(srv->ctx, 0, &drain_sul, drain_tick, told ? DRAIN_TICK_US : 1);
	return true;
}
