/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Shared set-up for the sphinx-server fuzz targets: a real server context
 * (default config, SQLite store in a fresh temporary directory, two users,
 * a meeting, an enrolled machine) and connections without a socket
 * (conn->wsi == NULL: sends are queued, then drained here). Each input is
 * one complete WebSocket message handed to the real handler.
 */
#ifndef FUZZ_SERVER_HARNESS_H
#define FUZZ_SERVER_HARNESS_H

#include <stddef.h>
#include <stdint.h>

struct conn;

/* Build the context once. */
void harness_init(void);
/* A joined lobby connection of the organiser (recreated after a close). */
struct conn *harness_lobby(void);
/* An agent connection that has said hello (recreated after a close). */
struct conn *harness_agent(void);
/* Write out (and drop) everything queued on c; forget it when it closed. */
void harness_drain(struct conn **c);

#endif
