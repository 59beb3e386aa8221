/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The server-wide context shared by every module: configuration, store,
 * lws context and vhost, TLS and cookie name, password-hash costs, the
 * stopping flag. There is one instance (struct server *srv), used only from
 * the event-loop thread, so nothing here needs locking.
 *
 * Owns: nothing itself (server.c holds the srv pointer and the wall clock).
 * main.c fills the instance at start and alone writes it (ctx, stopping);
 * every server module reads it. Tests and the fuzz harness fill their own.
 */
#ifndef SPHINX_SERVER_H
#define SPHINX_SERVER_H

#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "store.h"

struct lws_context;
struct lws_vhost;

struct server {
	struct config *cfg;
	struct store *store;
	struct lws_context *ctx;
	struct lws_vhost *vhost;
	bool tls;
	const char *cookie_name;	/* "__Host-sphinx_session" under TLS, else "sphinx_session" */
	unsigned long long pw_ops;
	size_t pw_mem;
	uint64_t connections;
	bool stopping;
};

extern struct server *srv;

/* In the loop thread: begin shutting down if a stop signal arrived (main.c). */
void server_check_stop(void);

/* Milliseconds since the epoch. */
int64_t now_ms(void);

#endif
