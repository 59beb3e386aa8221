// SPDX-License-Identifier: GPL-2.0-only
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>

#include "broadcast.h"
#include "config.h"
#include "fuzz_server_harness.h"
#include "lobby.h"
#include "log.h"
#include "server.h"
#include "store.h"
#include "ws.h"
#include "ws_agent.h"
#include "ws_lobby.h"

static struct server the_server;
static struct config cfg;
static int64_t organiser, attendee, machine;
static char code[8];

void server_check_stop(void) {}

static void new_meeting(void)
{
	int64_t id;
	struct meeting m = { 0 };

	for (unsigned n = 0;; n++) {
		snprintf(code, sizeof(code), "%06u", (unsigned)randombytes_uniform(1000000));
		if (store_call(srv->store, meeting_create, code, "Fuzz", NULL, JOIN_ANYONE, organiser, now_ms(), &id) == 0)
			break;
		if (n > 100)
			abort();
	}
	store_call(srv->store, member_add, id, attendee, now_ms());
	meeting_clear(&m);
}

void harness_init(void)
{
	char dir[] = "/tmp/sphinx-fuzz-XXXXXX";

	if (srv)
		return;
	log_init("fuzz", LOG_EMERG);	/* quiet */
	if (sodium_init() < 0 || config_init(&cfg) < 0 || !mkdtemp(dir))
		abort();
	srv = &the_server;
	srv->cfg = &cfg;
	srv->cookie_name = "sphinx_session";
	srv->pw_ops = 1;
	srv->pw_mem = 8192;
	if (store_sqlite_open(dir, false, &srv->store) < 0)
		abort();
	store_call(srv->store, user_create, "olga", "olga@example.org", "Olga", NULL, NULL, NULL, NULL, now_ms(), &organiser);
	store_call(srv->store, user_create, "alice", "alice@example.org", "Alice", NULL, NULL, NULL, NULL, now_ms(), &attendee);
	store_call(srv->store, machine_create, "lab-1", "0000", now_ms(), &machine);
	new_meeting();
}

struct conn *harness_lobby(void)
{
	struct conn *c = calloc(1, sizeof(*c));

	c->user_id = organiser;
	ws_lobby_open(c, code, -1);
	if (c->closing) {	/* the meeting was ended by an earlier input */
		ws_lobby_closed(c);
		conn_release(c);
		free(c);
		new_meeting();
		c = calloc(1, sizeof(*c));
		c->user_id = organiser;
		ws_lobby_open(c, code, -1);
	}
	return c;
}

struct conn *harness_agent(void)
{
	static const char hello[] = "{\"type\":\"hello\",\"v\":1,\"machine\":\"lab-1\",\"boot_id\":\"boot-1\"}";
	struct conn *c = calloc(1, sizeof(*c));

	if (ws_agent_open(c, machine, "lab-1") < 0)
		abort();
	ws_dispatch(c, hello, sizeof(hello) - 1);
	return c;
}

void harness_drain(struct conn **cp)
{
	struct conn *c = *cp;

	while (c->qlen)
		conn_writeable(c);
	if (c->closing) {
		if (c->kind == CONN_LOBBY)
			ws_lobby_closed(c);
		else
			ws_agent_closed(c);
		conn_release(c);
		free(c);
		*cp = NULL;
	}
}
