/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Telling systemd how a daemon is doing (Type=notify units): READY=1 once
 * it works (the agent: every probe attached; the server: listening),
 * RELOADING=1 around a policy reload, WATCHDOG=1
 * from the main loop, STOPPING=1 on the way out. A thin layer over
 * libsystemd's sd_notify(): outside systemd (no $NOTIFY_SOCKET) every call
 * is a cheap no-op, so the daemons run the same from a shell.
 *
 * The watchdog interval comes from $WATCHDOG_USEC (WatchdogSec= in the
 * unit); notify_watchdog() may be called on every loop turn and sends at
 * most one ping per half interval. A loop that stops turning (a stuck ring
 * buffer callback, a deadlock) stops the pings and systemd restarts the
 * agent.
 *
 * Owns: the watchdog interval and the time of the last ping (file statics in
 * notify.c). Callers: agent/main.c and server/main.c only, on their main
 * thread.
 */
#ifndef SPHINX_NOTIFY_H
#define SPHINX_NOTIFY_H

/* Reads the watchdog interval. Call once at start. Returns 1 when the
 * watchdog is on, 0 when not, never fails. */
int notify_init(void);

/* READY=1 with STATUS=<status> (may be NULL). Also ends a reload. */
void notify_ready(const char *status);

/* RELOADING=1 before a policy reload; notify_ready() after it. */
void notify_reloading(void);

/* WATCHDOG=1, at most once per half interval. */
void notify_watchdog(void);

/* STOPPING=1 with STATUS=<status> (may be NULL). */
void notify_stopping(const char *status);

#endif
