/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Shared set-up for the sphinx-server fuzz targets (tests/fuzz/fuzz_server_*.c),
 * and nothing else may call it: a real server context (default config with
 * admin_users = olga, SQLite store in a fresh temporary directory, an
 * organiser "olga", an attendee "alice", a meeting both belong to, an
 * enrolled machine "lab-1") and connections without a socket
 * (conn->wsi == NULL: sends are queued, then drained here). The rate
 * limits that would answer 429 to every input after the first few (sign-in,
 * sign-up, meetings per hour, join attempts) are off. Every message
 * goes to the real handler through ws_dispatch(), exactly as the transport
 * hands over one reassembled WebSocket message.
 *
 * The entry points are narrow on purpose: a target names a role and hands
 * over bytes; which server functions open, feed and close a connection is
 * known here only.
 */
#ifndef FUZZ_SERVER_HARNESS_H
#define FUZZ_SERVER_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct conn;

/* Separates the messages of one input (ASCII RS: never valid in JSON text). */
#define HARNESS_MSG_SEP 0x1e
/* Largest message the transport hands over (it closes bigger ones with 1009). */
#define HARNESS_MAX_MSG 65536

/* Build the context once; later calls do nothing. */
void harness_init(void);

/* The accounts: the meeting's organiser (also an admin) and an attendee. */
int64_t harness_user(bool organiser);
/* The code of the current meeting (a new one once an input ends it). */
const char *harness_meeting_code(void);

/* A joined lobby connection of the organiser or of the attendee. */
struct conn *harness_lobby(bool organiser);
/* An agent connection of lab-1, after its hello when hello is true. */
struct conn *harness_agent(bool hello);

/*
 * Feed data to *c as messages separated by HARNESS_MSG_SEP, draining the
 * queue after each; stops early when the connection closes (*c is then
 * NULL).
 */
void harness_messages(struct conn **c, const uint8_t *data, size_t size);
/* Write out (and drop) everything queued on *c; forget it when it closed. */
void harness_drain(struct conn **c);
/* Close *c as the transport does when the socket goes away. */
void harness_close(struct conn **c);

#endif
