// SPDX-License-Identifier: GPL-2.0-only
/*
 * A table of keys, each with a setter: no strcmp chain. Values are trimmed;
 * a key given twice keeps the last value; an unknown key is an error (a
 * typo must not silently fall back to a default).
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "config.h"
#include "util.h"

#define LINE_MAX_LEN 4096

typedef int (*setter_fn)(struct agent_config *cfg, char *value, char *err, size_t errlen);

static int set_str(char **slot, const char *value)
{
	char *copy = strdup(value);

	if (!copy)
		return -ENOMEM;
	free(*slot);
	*slot = copy;
	return 0;
}

static int set_server_url(struct agent_config *c, char *v, char *err, size_t len)
{
	if (strncmp(v, "ws://", 5) != 0 && strncmp(v, "wss://", 6) != 0) {
		snprintf(err, len,
			 "server_url: expected ws://HOST[:PORT]/PATH or wss://..., got '%s'", v);
		return -EINVAL;
	}
	return set_str(&c->server_url, v);
}

static int set_insecure(struct agent_config *c, char *v, char *err, size_t len)
{
	if (strcmp(v, "yes") == 0 || strcmp(v, "no") == 0) {
		c->insecure = v[0] == 'y';
		return 0;
	}
	snprintf(err, len, "insecure: expected 'yes' or 'no', got '%s'", v);
	return -EINVAL;
}

static int set_share_observations(struct agent_config *c, char *v, char *err, size_t len)
{
	if (strcmp(v, "yes") == 0 || strcmp(v, "no") == 0) {
		c->share_observations = v[0] == 'y';
		return 0;
	}
	snprintf(err, len, "share_observations: expected 'yes' or 'no', got '%s'", v);
	return -EINVAL;
}

static int set_token(struct agent_config *c, char *v, char *err, size_t len)
{
	return set_str(&c->token, v);
}

static int set_ca_file(struct agent_config *c, char *v, char *err, size_t len)
{
	if (access(v, R_OK) != 0) {
		snprintf(err, len, "ca_file: cannot read '%s': %s", v, strerror(errno));
		return -EINVAL;
	}
	return set_str(&c->ca_file, v);
}

static int set_policy(struct agent_config *c, char *v, char *err, size_t len)
{
	return set_str(&c->policy, v);
}

static int set_policy_source(struct agent_config *c, char *v, char *err, size_t len)
{
	if (strcmp(v, "server") == 0 || strcmp(v, "local") == 0) {
		c->policy_local = v[0] == 'l';
		return 0;
	}
	snprintf(err, len, "policy_source: expected 'server' or 'local', got '%s'", v);
	return -EINVAL;
}

static int set_server_policy_dir(struct agent_config *c, char *v, char *err, size_t len)
{
	if (v[0] != '/' || strlen(v) < 2 || v[strlen(v) - 1] == '/') {
		snprintf(err, len,
			 "server_policy_dir: expected an absolute path not ending in '/', "
			 "got '%s'", v);
		return -EINVAL;
	}
	return set_str(&c->server_policy_dir, v);
}

static int set_spool_dir(struct agent_config *c, char *v, char *err, size_t len)
{
	return set_str(&c->spool_dir, v);
}

static int set_machine(struct agent_config *c, char *v, char *err, size_t len)
{
	return set_str(&c->machine, v);
}

static int set_spool_max(struct agent_config *c, char *v, char *err, size_t len)
{
	if (parse_u64(v, 1, 10000000, &c->spool_max) < 0) {
		snprintf(err, len,
			 "spool_max: expected a number of events from 1 to 10000000, got '%s'", v);
		return -EINVAL;
	}
	return 0;
}

static int set_user_map(struct agent_config *c, char *v, char *err, size_t len)
{
	if (strcmp(v, "username") == 0) {
		free(c->email_domain);
		c->email_domain = NULL;
		return 0;
	}
	if (strncmp(v, "email@", 6) == 0 && v[6] && !strchr(v + 6, '@'))
		return set_str(&c->email_domain, v + 6);
	snprintf(err, len, "user_map: expected 'username' or 'email@DOMAIN', got '%s'", v);
	return -EINVAL;
}

static int set_users(struct agent_config *c, char *v, char *err, size_t len)
{
	size_t n = 0;

	for (size_t i = 0; c->users[i]; i++)
		free(c->users[i]);
	memset(c->users, 0, sizeof(c->users));
	for (char *save = NULL, *tok = strtok_r(v, ", \t", &save); tok;
	     tok = strtok_r(NULL, ", \t", &save)) {
		if (n == AGENT_CONFIG_MAX_USERS) {
			snprintf(err, len, "users: at most %d names", AGENT_CONFIG_MAX_USERS);
			return -EINVAL;
		}
		c->users[n] = strdup(tok);
		if (!c->users[n++])
			return -ENOMEM;
	}
	return 0;
}

static const struct { const char *key; setter_fn set;
} keys[] = {
	{ "server_url", set_server_url }, { "insecure", set_insecure },
	{ "token", set_token },		  { "ca_file", set_ca_file },
	{ "policy", set_policy },	  { "spool_dir", set_spool_dir },
	{ "spool_max", set_spool_max },	  { "machine", set_machine },
	{ "user_map", set_user_map },	  { "users", set_users },
	{ "policy_source", set_policy_source }, { "server_policy_dir", set_server_policy_dir },
	{ "share_observations", set_share_observations },
};

static char *trim(char *s)
{
	char *end;

	while (isspace((unsigned char)*s))
		s++;
	end = s + strlen(s);
	while (end > s && isspace((unsigned char)end[-1]))
		*--end = '\0';
	return s;
}

static int parse_line(struct agent_config *cfg, char *line, char *msg, size_t len)
{
	char *eq, *key, *value, *hash = strchr(line, '#');

	if (hash)
		*hash = '\0';
	line = trim(line);
	if (!*line)
		return 0;
	eq = strchr(line, '=');
	if (!eq) {
		snprintf(msg, len, "expected 'key = value', got '%s'", line);
		return -EINVAL;
	}
	*eq = '\0';
	key = trim(line);
	value = trim(eq + 1);
	for (size_t i = 0; i < ARRAY_SIZE(keys); i++)
		if (strcmp(key, keys[i].key) == 0)
			return keys[i].set(cfg, value, msg, len);
	snprintf(msg, len, "unknown key '%s'", key);
	return -EINVAL;
}

int agent_config_load(const char *path, struct agent_config *cfg, char *err, size_t errlen)
{
	_cleanup_fclose_ FILE *f = NULL;
	char line[LINE_MAX_LEN], msg[512], host[256];
	unsigned lineno = 0;

	memset(cfg, 0, sizeof(*cfg));
	cfg->spool_max = 10000;
	f = fopen(path, "re");
	if (!f) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -errno;
	}
	while (fgets(line, sizeof(line), f)) {
		int r;

		lineno++;
		if (!strchr(line, '\n') && !feof(f)) {
			snprintf(err, errlen, "%s:%u: line longer than %d bytes", path, lineno,
				 LINE_MAX_LEN);
			return -EINVAL;
		}
		msg[0] = '\0';
		r = parse_line(cfg, line, msg, sizeof(msg));
		if (r < 0) {
			snprintf(err, errlen, "%s:%u: %s", path, lineno,
				 msg[0] ? msg : strerror(-r));
			return r;
		}
	}
	if (cfg->server_url && !cfg->token) {
		snprintf(err, errlen, "%s: server_url is set but token is not (enroll the machine: "
			 "sphinx-server enroll-machine NAME)", path);
		return -EINVAL;
	}
	/* After the whole file: `insecure` may come after server_url. */
	if (cfg->server_url && strncmp(cfg->server_url, "ws://", 5) == 0 && !cfg->insecure) {
		snprintf(
			err, errlen,
			"%s: server_url = %s: ws:// sends this machine's enrollment token "
			"and every event in clear; use wss:// (with ca_file for a private CA), "
			"or add "
			"'insecure = yes' to accept that on a network you trust",
			path, cfg->server_url);
		return -EINVAL;
	}
	if (!cfg->spool_dir && set_str(&cfg->spool_dir, AGENT_SPOOL_DEFAULT) < 0)
		return -ENOMEM;
	if (!cfg->server_policy_dir &&
	    set_str(&cfg->server_policy_dir, AGENT_SERVER_POLICY_DEFAULT) < 0)
		return -ENOMEM;
	if (!cfg->machine) {
		if (gethostname(host, sizeof(host)) < 0)
			snprintf(host, sizeof(host), "unknown");
		host[sizeof(host) - 1] = '\0';
		if (set_str(&cfg->machine, host) < 0)
			return -ENOMEM;
	}
	return 0;
}

void agent_config_free(struct agent_config *cfg)
{
	free(cfg->server_url);
	free(cfg->token);
	free(cfg->ca_file);
	free(cfg->policy);
	free(cfg->server_policy_dir);
	free(cfg->spool_dir);
	free(cfg->machine);
	free(cfg->email_domain);
	for (size_t i = 0; cfg->users[i]; i++)
		free(cfg->users[i]);
	memset(cfg, 0, sizeof(*cfg));
}
