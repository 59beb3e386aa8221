// SPDX-License-Identifier: GPL-2.0-only
/*
 * sd_notify() for the agent and the server; see notify.h. State is two numbers: the
 * watchdog interval and when the last ping went out (CLOCK_MONOTONIC, the
 * clock systemd measures the watchdog with).
 */
#include <stdint.h>
#include <time.h>

#include <systemd/sd-daemon.h>

#include "notify.h"

static uint64_t watchdog_usec;	/* 0: off */
static uint64_t last_ping_usec;

static uint64_t monotonic_usec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000ull + (uint64_t)ts.tv_nsec / 1000;
}

int notify_init(void)
{
	uint64_t usec = 0;

	/* unset_environment=0: a child we exec (none today) may need it. */
	if (sd_watchdog_enabled(0, &usec) <= 0)
		usec = 0;
	watchdog_usec = usec;
	last_ping_usec = 0;
	return watchdog_usec > 0;
}

void notify_ready(const char *status)
{
	if (status)
		sd_notifyf(0, "READY=1\nSTATUS=%s", status);
	else
		sd_notify(0, "READY=1");
}

void notify_reloading(void)
{
	sd_notify(0, "RELOADING=1\nSTATUS=reloading the policy");
}

void notify_watchdog(void)
{
	uint64_t now;

	if (!watchdog_usec)
		return;
	now = monotonic_usec();
	if (last_ping_usec && now - last_ping_usec < watchdog_usec / 2)
		return;
	sd_notify(0, "WATCHDOG=1");
	last_ping_usec = now;
}

void notify_stopping(const char *status)
{
	if (status)
		sd_notifyf(0, "STOPPING=1\nSTATUS=%s", status);
	else
		sd_notify(0, "STOPPING=1");
}
