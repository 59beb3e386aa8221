// SPDX-License-Identifier: GPL-2.0-only
/*
 * Table-driven config parser. Each entry: name, type, offset into struct
 * config, default text, one-line description. Defaults are parsed through
 * the same path as file values, so a default can never be invalid silently.
 */
#include <ctype.h>
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "config.h"
#include "util.h"

enum ctype { C_STR, C_U64, C_BOOL, C_DUR };

struct ckey {
	const char *name;
	enum ctype type;
	size_t off;
	const char *def;
	uint64_t min, max;
	const char *help;
};

#define S(f, d, h) { #f, C_STR, offsetof(struct config, f), d, 0, 0, h }
#define U(f, d, lo, hi, h) { #f, C_U64, offsetof(struct config, f), d, lo, hi, h }
#define B(f, d, h) { #f, C_BOOL, offsetof(struct config, f), d, 0, 0, h }
#define D(n, f, d, h) { n, C_DUR, offsetof(struct config, f), d, 0, 0, h }

static const struct ckey keys[] = {
	S(listen_address, "", "address to bind; empty means every interface"),
	U(port, "8080", 1, 65535, "TCP port for HTTP, WebSocket and static files"),
	S(public_url, "", "origin browsers use, e.g. https://sphinx.example.org; empty: scheme://Host of each request"),
	S(allowed_origins, "",
	  "extra origins (space-separated) allowed for WebSocket upgrades and state-changing requests"),
	S(tls_cert, "", "PEM certificate chain; TLS is on when tls_cert and tls_key are both set"),
	S(tls_key, "", "PEM private key"),
	D("header_timeout", header_timeout_ms, "10s",
	  "a connection must send a whole request head within this (whole seconds, at least 1), or it is closed"),
	U(max_pending_per_address, "32", 1, 100000,
	  "connections one peer address may have open that have not finished sending their request head; more are "
	  "refused at accept"),
	S(trusted_proxies, "",
	  "reverse proxies (space-separated IP addresses) whose X-Forwarded-For names the client; empty: the socket's "
	  "peer is the client"),
	S(event_lib, "libev", "event loop: libev (epoll, best above a few thousand connections) or poll"),
	U(max_connections, "20000", 16, 1000000, "refuse connections above this many (needs ulimit -n above it)"),
	U(agent_reserved, "2000", 0, 1000000,
	  "connections kept for agents: lobby sockets are refused above max_connections minus this"),
	U(user_sockets, "64", 1, 1000000, "lobby connections one account may hold across all meetings (429 above)"),
	U(join_attempts, "10", 1, 1000000,
	  "unknown meeting codes one account may name; then one more every 6 minutes (429 meanwhile, on every route "
	  "taking a code)"),
	U(join_attempts_address, "60", 1, 1000000,
	  "unknown meeting codes one peer address may name; then one more a minute"),
	U(meetings_per_hour, "30", 1, 1000000, "meetings one account may create in an hour (429 above)"),
	S(data_dir, "/var/lib/sphinx", "directory for the database (sphinx.db, WAL mode)"),
	S(web_root, "",
	  "static files of the web app (served at /); empty: the checkout's server/web when run from a build "
	  "directory, else the web app installed with the binary (<prefix>/share/sphinx/web)"),
	S(store, "sqlite",
	  "store back end: sqlite (data_dir/sphinx.db) or postgresql (the database the postgresql key names)"),
	S(postgresql, "",
	  "libpq connection string of the postgresql store, e.g. \"host=/run/postgresql dbname=sphinx\" "
	  "(store = postgresql only; a password is better kept in ~/.pgpass or PGPASSFILE than here)"),
	S(node_name, "",
	  "this server's name among the nodes sharing one postgresql store (1 to 64 of A-Z a-z 0-9 . _ : -, unique "
	  "per node; logs, /api/health, the nodes table); empty: <host name>:<port>"),
	S(db_synchronous, "normal", "sqlite synchronous: normal (survives kill -9) or full (also power loss)"),
	U(drain_seconds, "10", 0, 3600,
	  "on SIGTERM, health answers 503, lobby and agent sockets are told to reconnect elsewhere (close 4503), and "
	  "the server exits once they are gone or after this many seconds; 0: stop at once"),
	B(local_auth, "yes", "allow local accounts (username + password, argon2id)"),
	B(signup, "no", "allow anyone to create a local account at /api/auth/signup"),
	S(password_strength, "interactive",
	  "argon2id cost: interactive (64 MiB, t=2), moderate (256 MiB, t=3), min (tests only)"),
	U(login_address_burst, "300", 0, 1000000,
	  "sign-in attempts one IP address may make at once (a class behind one NAT); 0: no limit"),
	U(login_address_per_min, "120", 1, 1000000,
	  "sign-in attempts per minute one IP address gets back after its burst"),
	U(login_account_failures, "10", 0, 1000,
	  "wrong passwords for one username before it is locked; 0: no lock-out"),
	D("login_lockout", login_lockout_ms, "15m",
	  "time in which login_account_failures wrong passwords lock a username (one more try every login_lockout / "
	  "login_account_failures)"),
	U(signup_address_burst, "100", 0, 1000000, "sign-ups one IP address may make at once; 0: no limit"),
	U(signup_address_per_min, "10", 1, 1000000, "sign-ups per minute one IP address gets back after its burst"),
	U(oidc_address_burst, "300", 0, 1000000,
	  "OpenID Connect sign-in starts one IP address may make at once; 0: no limit"),
	U(oidc_address_per_min, "300", 1, 1000000, "OpenID Connect sign-in starts per minute one IP address gets back"),
	U(worker_threads, "0", 0, 64,
	  "threads hashing passwords and calling the identity provider; 0: one per CPU (each hash holds 64 MiB at "
	  "interactive strength)"),
	U(worker_queue, "128", 1, 100000,
	  "sign-ins queued or running at once; more are answered 503 busy with Retry-After"),
	D("session_idle", session_idle_ms, "2h", "a session unused this long expires"),
	D("session_max", session_max_ms, "12h", "a session expires this long after login, used or not"),
	S(admin_users, "", "usernames (space-separated) allowed to use /api/admin/*"),
	S(oidc_preset, "", "identity provider preset: google, or empty for a custom issuer"),
	S(oidc_issuer, "", "OpenID Connect issuer URL; empty disables OIDC sign-in"),
	S(oidc_client_id, "", "client id registered at the issuer"),
	S(oidc_client_secret, "", "client secret (sent as client_secret_post)"),
	S(oidc_redirect_uri, "", "redirect URI registered at the issuer; empty: public_url + /auth/oidc/callback"),
	S(oidc_scopes, "openid email profile", "scopes requested"),
	S(oidc_authorization_endpoint, "", "override discovery's authorization_endpoint"),
	S(oidc_token_endpoint, "", "override discovery's token_endpoint"),
	S(oidc_jwks_uri, "", "override discovery's jwks_uri"),
	B(oidc_auto_create, "yes", "create an account on first OIDC sign-in"),
	B(oidc_link_by_email, "yes",
	  "sign a new OIDC identity into the existing account with the same verified e-mail"),
	D("ws_ping", ws_ping_ms, "15s", "WebSocket: ping a connection idle this long"),
	D("ws_timeout", ws_timeout_ms, "25s", "WebSocket: hang up a connection silent this long"),
	U(ws_max_message, "65536", 256, 65536, "largest WebSocket message accepted (close 1009 above)"),
	U(ws_rate, "20", 1, 100000, "messages per second a client may send, sustained"),
	U(ws_burst, "100", 1, 100000, "messages a client may send in a burst"),
	U(ws_queue_max, "1024", 16, 1000000,
	  "outgoing messages queued for one client before it is closed as too slow (4008)"),
	U(ws_rx_buffer, "128", 128, 65536,
	  "WebSocket receive chunk per connection in bytes; messages are reassembled up to ws_max_message, so this "
	  "only trades memory per idle connection against callbacks per large message"),
	U(lobby_user_sockets, "32", 1, 1000000,
	  "lobby connections one user may hold in one meeting (browser tabs); more are closed with 4029"),
	U(ws_queue_bytes, "1048576", 65536, 1073741824,
	  "outgoing bytes queued for one client before it is closed as too slow (4008); a shared message counts in "
	  "full in every queue it sits in"),
	U(lobby_page, "50", 1, 200,
	  "people in a lobby snapshot's first page (fewer when the 16 KiB snapshot budget is reached); the rest are "
	  "paged over HTTP"),
	U(lobby_chat_snapshot, "50", 0, 200,
	  "newest chat lines in a lobby snapshot (fewer when their bytes exceed the snapshot's chat budget); older "
	  "ones are paged over HTTP"),
	D("lobby_presence_tick", lobby_presence_tick_ms, "250ms",
	  "arrivals and departures in a lobby are announced together, in at most one presence event per this interval"),
	U(chat_max_per_meeting, "20000", 100, 100000000,
	  "chat lines stored per meeting; above it new lines are refused (chat_full)"),
	U(events_max_per_meeting, "100000", 1000, 100000000,
	  "lobby events kept per meeting for reconnect replay; older ones are dropped and a client that missed them "
	  "gets a fresh snapshot"),
	S(agent_user_map, "username", "map an agent's logged-in user to an account: username, or email@DOMAIN"),
	D("agent_heartbeat", agent_heartbeat_ms, "2s", "heartbeat interval told to agents (whole seconds, at least 1)"),
	U(agent_missed_heartbeats, "3", 1, 100,
	  "a machine whose agent sends nothing for this many heartbeat intervals (+0.5 s) is offline (silent) and its "
	  "users unmonitored"),
	U(observations_retention_days, "7", 0, 3650,
	  "days the events that opted-in agents share (share_observations = yes: program, argv, paths, API names) are "
	  "kept for `sphinx-policy test`; 0: refuse them and keep none"),
	U(observations_max, "1000000", 0, 1000000000,
	  "observations kept at most; past it the oldest are deleted (purged every few minutes, and early when many "
	  "arrive)"),
	S(log_level, "info", "err, warning, notice, info or debug"),
};

static void *field(struct config *c, const struct ckey *k) { return (char *)c + k->off; }

static const struct ckey *find_key(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(keys); i++)
		if (strcmp(keys[i].name, name) == 0)
			return &keys[i];
	return NULL;
}

static int parse_bool(const char *v, bool *ret)
{
	static const char *const yes[] = { "yes", "true", "on", "1" };
	static const char *const no[] = { "no", "false", "off", "0" };

	for (size_t i = 0; i < ARRAY_SIZE(yes); i++) {
		if (strcasecmp(v, yes[i]) == 0) { *ret = true; return 0; }
		if (strcasecmp(v, no[i]) == 0) { *ret = false; return 0; }
	}
	return -EINVAL;
}

int config_set(struct config *c, const char *key, const char *value, char *err, size_t errlen)
{
	const struct ckey *k = find_key(key);
	uint64_t u;
	bool b;

	if (!k) {
		if (err)
			snprintf(err, errlen, "unknown key '%s'", key);
		return -EINVAL;
	}
	switch (k->type) {
	case C_STR: {
		char *s = strdup(value), **dst = field(c, k);
		if (!s)
			return -ENOMEM;
		free(*dst);
		*dst = s;
		return 0;
	}
	case C_U64:
		if (parse_u64(value, k->min, k->max, &u) < 0) {
			if (err)
				snprintf(err, errlen, "%s: expected a number from %llu to %llu, got '%s'", key,
					 (unsigned long long)k->min, (unsigned long long)k->max, value);
			return -EINVAL;
		}
		*(uint64_t *)field(c, k) = u;
		return 0;
	case C_DUR:
		if (parse_duration_ms(value, &u) < 0) {
			if (err)
				snprintf(err, errlen, "%s: expected a duration like 30s, 5m or 2h, got '%s'", key,
					 value);
			return -EINVAL;
		}
		*(uint64_t *)field(c, k) = u;
		return 0;
	case C_BOOL:
		if (parse_bool(value, &b) < 0) {
			if (err)
				snprintf(err, errlen, "%s: expected yes or no, got '%s'", key, value);
			return -EINVAL;
		}
		*(bool *)field(c, k) = b;
		return 0;
	}
	return -EINVAL;
}

int config_init(struct config *c)
{
	memset(c, 0, sizeof(*c));
	for (size_t i = 0; i < ARRAY_SIZE(keys); i++) {
		int r = config_set(c, keys[i].name, keys[i].def, NULL, 0);
		if (r < 0)
			return r;
	}
	return 0;
}

void config_free(struct config *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < ARRAY_SIZE(keys); i++) {
		if (keys[i].type == C_STR) {
			char **p = field(c, &keys[i]);
			free(*p);
			*p = NULL;
		}
	}
}

static char *trim(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

int config_load(struct config *c, const char *path, char *err, size_t errlen)
{
	_cleanup_fclose_ FILE *f = fopen(path, "re");
	_cleanup_free_ char *line = NULL;
	size_t cap = 0;
	unsigned lineno = 0;
	char sub[256];

	if (!f) {
		int e = errno;
		snprintf(err, errlen, "%s: %s", path, strerror(e));
		return -e;
	}
	while (getline(&line, &cap, f) >= 0) {
		char *s, *eq, *key, *val;

		lineno++;
		s = trim(line);
		if (*s == '\0' || *s == '#')
			continue;
		eq = strchr(s, '=');
		if (!eq) {
			snprintf(err, errlen, "%s:%u: expected 'key = value'", path, lineno);
			return -EINVAL;
		}
		*eq = '\0';
		key = trim(s);
		val = trim(eq + 1);
		/* Optional double quotes keep leading/trailing spaces; one alone is a mistake. */
		size_t n = strlen(val);
		if (n >= 2 && val[0] == '"' && val[n - 1] == '"') {
			val[n - 1] = '\0';
			val++;
		} else if (n && (val[0] == '"' || val[n - 1] == '"')) {
			snprintf(err, errlen, "%s:%u: unterminated quote in the value of '%s'", path, lineno, key);
			return -EINVAL;
		}
		if (config_set(c, key, val, sub, sizeof(sub)) < 0) {
			snprintf(err, errlen, "%s:%u: %s", path, lineno, sub);
			return -EINVAL;
		}
	}
	return 0;
}

int config_validate(const struct config *c, char *err, size_t errlen)
{
	static const char *const levels[] = { "err", "warning", "notice", "info", "debug" };
	bool ok = false;

	if (!!c->tls_cert[0] != !!c->tls_key[0]) {
		snprintf(err, errlen, "tls_cert and tls_key must be set together");
		return -EINVAL;
	}
	if (strcmp(c->event_lib, "poll") && strcmp(c->event_lib, "libev")) {
		snprintf(err, errlen, "event_lib: expected poll or libev, got '%s'", c->event_lib);
		return -EINVAL;
	}
	if (strcmp(c->store, "sqlite") && strcmp(c->store, "postgresql")) {
		snprintf(err, errlen, "store: expected sqlite or postgresql, got '%s'", c->store);
		return -EINVAL;
	}
	if (strcmp(c->store, "postgresql") == 0 && !c->postgresql[0]) {
		snprintf(err, errlen, "store = postgresql needs a connection string in postgresql");
		return -EINVAL;
	}
	if (strlen(c->node_name) > 64 ||
	    strspn(c->node_name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._:-") !=
		    strlen(c->node_name)) {
		snprintf(err, errlen, "node_name: expected at most 64 of A-Z a-z 0-9 . _ : -, got '%s'", c->node_name);
		return -EINVAL;
	}
	if (strcmp(c->db_synchronous, "normal") && strcmp(c->db_synchronous, "full")) {
		snprintf(err, errlen, "db_synchronous: expected normal or full, got '%s'", c->db_synchronous);
		return -EINVAL;
	}
	if (strcmp(c->password_strength, "interactive") && strcmp(c->password_strength, "moderate") &&
	    strcmp(c->password_strength, "min")) {
		snprintf(err, errlen, "password_strength: expected interactive, moderate or min, got '%s'",
			 c->password_strength);
		return -EINVAL;
	}
	if (strcmp(c->agent_user_map, "username") &&
	    !(str_has_prefix(c->agent_user_map, "email@") && c->agent_user_map[6])) {
		snprintf(err, errlen, "agent_user_map: expected 'username' or 'email@DOMAIN', got '%s'",
			 c->agent_user_map);
		return -EINVAL;
	}
	if (strcmp(c->oidc_preset, "") && strcmp(c->oidc_preset, "google")) {
		snprintf(err, errlen, "oidc_preset: expected google or empty, got '%s'", c->oidc_preset);
		return -EINVAL;
	}
	if ((c->oidc_issuer[0] || c->oidc_preset[0]) && !c->oidc_client_id[0]) {
		snprintf(err, errlen, "oidc_client_id must be set when an OIDC issuer is configured");
		return -EINVAL;
	}
	if (c->header_timeout_ms < 1000) {
		snprintf(err, errlen, "header_timeout: at least 1s");
		return -EINVAL;
	}
	if (c->ws_timeout_ms <= c->ws_ping_ms) {
		snprintf(err, errlen, "ws_timeout must be longer than ws_ping");
		return -EINVAL;
	}
	for (size_t i = 0; i < ARRAY_SIZE(levels); i++)
		ok |= strcmp(c->log_level, levels[i]) == 0;
	if (!ok) {
		snprintf(err, errlen, "log_level: expected err, warning, notice, info or debug, got '%s'",
			 c->log_level);
		return -EINVAL;
	}
	return 0;
}

void config_print_example(FILE *f)
{
	fprintf(f, "# sphinx-server configuration. Every key is shown with its default,\n"
		   "# commented out. Durations take ms, s, m or h. Booleans: yes/no.\n");
	for (size_t i = 0; i < ARRAY_SIZE(keys); i++)
		fprintf(f, "\n# %s\n#%s = %s\n", keys[i].help, keys[i].name, keys[i].def);
}
