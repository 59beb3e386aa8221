/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * sphinx-server configuration: one flat "key = value" file, '#' comments.
 * Every key is described once, in a table (config.c), with its type and its
 * default; the same table prints the documented example (--print-config),
 * so the file, the defaults and the docs cannot drift apart. Command-line
 * overrides go through config_set() exactly like file lines do.
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
	char *event_lib;		/* "poll" or "libev" */
	uint64_t max_connections;
	/* storage */
	char *data_dir;
	char *web_root;
	char *db_backend;		/* "sqlite" (postgresql: later) */
	char *db_synchronous;		/* "normal" or "full" */
	/* accounts */
	bool local_auth;
	bool signup;
	char *password_strength;	/* "interactive", "moderate", "min" */
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
