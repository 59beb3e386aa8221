/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * sphinx-server configuration: one flat "key = value" file, '#' comments.
 * Every key is described once, in a table (config.c), with its type and its
 * default; the same table prints the documented example (--print-config),
 * so the file, the defaults and the docs cannot drift apart. Command-line
 * overrides go through config_set() exactly like file lines do.
 *
 * Owns: the key table and the struct config the caller passes (config_free()
 * releases its strings); no global state. Callers: main.c fills it before the
 * event loop starts (defaults, file, command line, validate, --print-config);
 * after that every module reads it through srv->cfg and none writes it.
 */
#ifndef SPHINX_SERVER_CONFIG_H
#define SPHINX_SERVER_CONFIG_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

struct config {
	/* network */
	char *listen_address;		/* "" = every interface */
	uint64_t port;
	char *public_url;		/* origin browsers use; "" = derived from Host */
	char *allowed_origins;		/* space-separated extra origins */
	char *tls_cert;
	char *tls_key;
	uint64_t header_timeout_ms;	/* whole request head must arrive within this */
	uint64_t max_pending_per_address;	/* connections of one peer address still sending headers */
	char *trusted_proxies;		/* space-separated proxy addresses */
	char *event_lib;		/* "poll" or "libev" */
	uint64_t max_connections;
	uint64_t agent_reserved;	/* connections lobby sockets may never take */
	uint64_t user_sockets;		/* lobby sockets of one account across all meetings */
	/* meetings */
	uint64_t join_attempts;		/* unknown meeting codes an account may name before it is slowed */
	uint64_t join_attempts_address;	/* the same per peer address */
	uint64_t meetings_per_hour;	/* meetings one account may create in an hour */
	/* storage */
	char *data_dir;
	char *web_root;
	char *store;			/* "sqlite" or "postgresql" */
	char *node_name;		/* this node among those of one store; main.c fills "" with host:port */
	char *postgresql;		/* libpq connection string (store = postgresql) */
	char *db_synchronous;		/* "normal" or "full" */
	/* several nodes */
	uint64_t drain_seconds;		/* SIGTERM: sockets moved, then exit within this (0: stop at once) */
	/* accounts */
	bool local_auth;
	bool signup;
	char *password_strength;	/* "interactive", "moderate", "min" */
	uint64_t login_address_burst;	/* sign-in rate limits (0 burst: off) */
	uint64_t login_address_per_min;
	uint64_t login_account_failures;
	uint64_t login_lockout_ms;
	uint64_t signup_address_burst;
	uint64_t signup_address_per_min;
	uint64_t oidc_address_burst;
	uint64_t oidc_address_per_min;
	uint64_t worker_threads;	/* 0: one per CPU */
	uint64_t worker_queue;		/* jobs queued or running */
	uint64_t session_idle_ms;
	uint64_t session_max_ms;
	char *admin_users;		/* space-separated usernames */
	/* OpenID Connect */
	char *oidc_preset;		/* "", "google" */
	char *oidc_issuer;
	char *oidc_client_id;
	char *oidc_client_secret;
	char *oidc_redirect_uri;
	char *oidc_scopes;
	char *oidc_authorization_endpoint;
	char *oidc_token_endpoint;
	char *oidc_jwks_uri;
	bool oidc_auto_create;
	bool oidc_link_by_email;
	/* WebSocket limits */
	uint64_t ws_ping_ms;
	uint64_t ws_timeout_ms;
	uint64_t ws_max_message;
	uint64_t ws_rate;		/* messages per second, sustained */
	uint64_t ws_burst;
	uint64_t ws_queue_max;		/* queued outgoing messages before "slow" */
	uint64_t ws_rx_buffer;
	uint64_t lobby_user_sockets;	/* lobby sockets of one user in one meeting */
	/* lobby scale (ws_lobby.c, lobby.c, lobby_view.c) */
	uint64_t ws_queue_bytes;	/* queued outgoing bytes before "slow" */
	uint64_t lobby_page;		/* people in a snapshot's first page */
	uint64_t lobby_chat_snapshot;	/* chat lines in a snapshot */
	uint64_t lobby_presence_tick_ms;	/* presence changes coalesced this long */
	uint64_t chat_max_per_meeting;	/* chat lines stored per meeting, then chat_full */
	uint64_t events_max_per_meeting;	/* lobby events kept per meeting, oldest dropped */
	/* agents */
	char *agent_user_map;		/* "username" or "email@DOMAIN" */
	uint64_t agent_heartbeat_ms;
	uint64_t agent_missed_heartbeats;	/* silent after this many intervals without a message */
	/* observations (what opted-in agents' policies saw, for sphinx-policy test) */
	uint64_t observations_retention_days;	/* 0: refused, none kept */
	uint64_t observations_max;		/* rows kept at most, oldest deleted */
	/* logging */
	char *log_level;
};

/* Fill every key with its default. Returns 0 or -ENOMEM. */
int config_init(struct config *c);
void config_free(struct config *c);

/*
 * Set one key from text, as a config line would. On failure returns -EINVAL
 * (unknown key or bad value) and, when err is non-NULL, writes a message
 * naming the key and what was expected.
 */
int config_set(struct config *c, const char *key, const char *value, char *err, size_t errlen);

/*
 * Read a config file. Errors name file:line. Returns 0, -errno when the file
 * cannot be read, -EINVAL on a bad line (message in err).
 */
int config_load(struct config *c, const char *path, char *err, size_t errlen);

/* Check cross-key constraints after loading (TLS pair, map rule, ...). */
int config_validate(const struct config *c, char *err, size_t errlen);

/* Write every key, its default and its description as a commented file. */
void config_print_example(FILE *f);

#endif
