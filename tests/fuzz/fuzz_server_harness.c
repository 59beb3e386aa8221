// SPDX-License-Identifier: GPL-2.0-only
/* The server fuzz targets' context and socketless connections: see fuzz_server_harness.h. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
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
static char data_dir[] = "/tmp/sphinx-fuzz-XXXXXX";

void server_check_stop(void) {}

static void new_meeting(void)
{
	int64_t id;

	for (unsigned n = 0;; n++) {
		snprintf(code, sizeof(code), "%06u", (unsigned)randombytes_uniform(1000000));
		if (store_call(srv->store, meeting_create, code, "Fuzz", NULL, JOIN_ANYONE, organiser, now_ms(),
			       &id) == 0)
			break;
		if (n > 100)
			abort();
	}
	if (store_call(srv->store, member_add, id, attendee, now_ms()) < 0)
		abort();
}

/* At exit: the store's files and directory (a crash leaves them for a look). */
static void remove_data_dir(void)
{
	DIR *d = opendir(data_dir);
	struct dirent *e;
	char path[sizeof(data_dir) + 256];

	while (d && (e = readdir(d))) {
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
			snprintf(path, sizeof(path), "%s/%s", data_dir, e->d_name);
			unlink(path);
		}
	}
	if (d)
		closedir(d);
	rmdir(data_dir);
}

void harness_init(void)
{
	/* limits that would otherwise answer 429 to every input after the first few */
	static const char *const settings[][2] = {
		{ "admin_users", "olga" }, { "signup", "yes" },
		{ "login_address_burst", "0" }, { "login_account_failures", "0" }, { "signup_address_burst", "0" },
		{ "meetings_per_hour", "1000000" }, { "join_attempts", "1000000" },
		{ "join_attempts_address", "1000000" },
	};
	char err[256];

	if (srv)
		return;
	log_init("fuzz", LOG_EMERG);	/* quiet */
	if (sodium_init() < 0 || config_init(&cfg) < 0 || !mkdtemp(data_dir))
		abort();
	atexit(remove_data_dir);
	for (size_t i = 0; i < sizeof(settings) / sizeof(settings[0]); i++)
		if (config_set(&cfg, settings[i][0], settings[i][1], err, sizeof(err)) < 0)
			abort();
	srv = &the_server;
	srv->cfg = &cfg;
	srv->cookie_name = "sphinx_session";
	srv->pw_ops = 1;
	srv->pw_mem = 8192;
	if (store_sqlite_open(data_dir, false, &srv->store) < 0)
		abort();
	store_call(srv->store, user_create, "olga", "olga@example.org", "Olga", NULL, NULL, NULL, NULL, now_ms(),
		   &organiser);
	store_call(srv->store, user_create, "alice", "alice@example.org", "Alice", NULL, NULL, NULL, NULL, now_ms(),
		   &attendee);
	store_call(srv->store, machine_create, "lab-1", "0000", now_ms(), &machine);
	if (!organiser || !attendee || !machine)
		abort();
	new_meeting();
}

int64_t harness_user(bool as_organiser)
{
	return as_organiser ? organiser : attendee;
}

const char *harness_meeting_code(void)
{
	return code;
}

static struct conn *lobby_open(int64_t user)
{
	struct conn *c = calloc(1, sizeof(*c));

	if (!c)
		abort();
	c->user_id = user;
	ws_lobby_open(c, code, -1, NULL);	/* NULL: it reads the meeting itself */
	return c;
}

struct conn *harness_lobby(bool as_organiser)
{
	struct conn *c = lobby_open(harness_user(as_organiser));

	if (c->closing) {	/* the meeting was ended (or the user banned) by an earlier input */
		harness_close(&c);
		new_meeting();
		c = lobby_open(harness_user(as_organiser));
	}
	return c;
}

struct conn *harness_agent(bool hello)
{
	static const char hello_msg[] = "{\"type\":\"hello\",\"v\":1,\"machine\":\"lab-1\",\"boot_id\":\"boot-1\"}";
	struct conn *c = calloc(1, sizeof(*c));

	if (!c || ws_agent_open(c, machine, "lab-1") < 0)
		abort();
	if (hello)
		ws_dispatch(c, hello_msg, sizeof(hello_msg) - 1);
	return c;
}

void harness_messages(struct conn **cp, const uint8_t *data, size_t size)
{
	const uint8_t *p = data, *end = data + size;

	while (*cp && p <= end) {
		const uint8_t *sep = memchr(p, HARNESS_MSG_SEP, (size_t)(end - p));
		size_t n = (size_t)((sep ? sep : end) - p);

		if (n <= HARNESS_MAX_MSG)
			ws_dispatch(*cp, (const char *)p, n);
		harness_drain(cp);
		if (!sep)
			break;
		p = sep + 1;
	}
}

static void forget(struct conn **cp)
{
	struct conn *c = *cp;

	if (c->kind == CONN_LOBBY)
		ws_lobby_closed(c);
	else if (c->kind == CONN_AGENT)
		ws_agent_closed(c);
	conn_release(c);
	free(c);
	*cp = NULL;
}

void harness_drain(struct conn **cp)
{
	struct conn *c = *cp;

	while (c->qlen)
		conn_writeable(c);
	if (c->closing)
		forget(cp);
}

void harness_close(struct conn **cp)
{
	if (!*cp)
		return;
	harness_drain(cp);
	if (*cp)
		forget(cp);
}
