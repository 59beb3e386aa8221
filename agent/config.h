/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The agent's configuration file (/etc/sphinx/agent.conf): `key = value`
 * lines, `#` comments, every key optional. Errors name file:line and the key.
 *
 *   server_url = wss://sphinx.example.edu/agent   # wss://; ws:// only with insecure = yes
 *   insecure   = no                               # yes: accept ws:// (token in clear)
 *   token      = <enrollment token>               # from `sphinx-server enroll-machine`
 *   ca_file    = /etc/sphinx/ca.pem               # TLS trust for wss:// (default: system)
 *   policy     = /etc/sphinx/policy.d             # file or directory
 *   policy_source = server | local                # server (default with a server_url):
 *                                                 # the server's bundles; local: policy only
 *   server_policy_dir = /var/lib/sphinx-agent/policy  # the last good server bundle
 *   spool_dir  = /var/lib/sphinx-agent/spool
 *   spool_max  = 10000                            # events kept while the server is away
 *   machine    = lab-12                           # default: the host name
 *   user_map   = username | email@DOMAIN          # how users are named to the server
 *   users      = alice, bob                       # monitored users when logind has no sessions
 *   share_observations = no                       # yes: send what the policy sees (see below)
 *
 * Owns: the parsed struct agent_config (strings malloc'd; free with
 * agent_config_free()). Callers: main.c; uplink_start() copies what it needs.
 */
#ifndef SPHINX_AGENT_CONFIG_H
#define SPHINX_AGENT_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define AGENT_CONFIG_DEFAULT "/etc/sphinx/agent.conf"
#define AGENT_SPOOL_DEFAULT "/var/lib/sphinx-agent/spool"
#define AGENT_SERVER_POLICY_DEFAULT "/var/lib/sphinx-agent/policy"
#define AGENT_CONFIG_MAX_USERS 32

struct agent_config {
	char *server_url;
	char *token;
	char *ca_file;
	char *policy;
	char *server_policy_dir;	/* the last good server bundle (agent/bundle.h) */
	char *spool_dir;
	char *machine;
	char *email_domain;		/* user_map = email@DOMAIN */
	char *users[AGENT_CONFIG_MAX_USERS + 1];	/* NULL-terminated */
	uint64_t spool_max;
	/* ws:// accepted: the token and events cross the network in clear. It
	 * never weakens wss:// (the certificate is verified all the same). */
	bool insecure;
	/* policy_source = local: the server's bundles are ignored (and reported so) */
	bool policy_local;
	/*
	 * Send the server every event the policy saw (what --record writes:
	 * program, argv, paths, API names) for `sphinx-policy test`: opt-in,
	 * best-effort, never spooled. The server may still refuse them.
	 */
	bool share_observations;
};

/*
 * Read @path into @cfg (zeroed first; defaults filled in). 0, or -errno
 * with "file:line: message" in @err. A ws:// server_url is refused unless
 * the file also says `insecure = yes`. The caller frees with
 * agent_config_free() either way.
 */
int agent_config_load(const char *path, struct agent_config *cfg, char *err, size_t errlen);
void agent_config_free(struct agent_config *cfg);

#endif
